"""Context mixing: M1's predictions mixed with adaptive models of the file itself, in integers only.

A byte is coded as 8 binary decisions, most significant bit first (paq's decomposition). For each
decision every model gives a probability that the bit is 1, and a logistic mixer combines them
(Mahoney's lpaq): ``p = squash(sum_i w_i * stretch(p_i))`` with weights learnt online. The models:

* **M1**: its integer CDF read as a binary tree, p(bit | bits so far) = the CDF mass of the subtree;
* **order-n context models** (n = 0 and ``orders``): adaptive bit probabilities in hashed tables,
  indexed by the last n bytes of the lane and the bits of the current byte;
* from version 3, **column models** (the bytes above in the last line) and from version 4 **word
  models** (the letters of the current word, alone and with the word before);
* a **match model**: the longest earlier occurrence of the lane's last ``match_min`` bytes predicts
  the byte that followed it, trusted by how long the match has held (an adaptive table).

Many lanes (blocks of a file) are coded together in lockstep, and they share every table: at step
t each lane predicts its byte t from tables that hold every lane's bytes before t, so a repetition
in another block is found as well as one earlier in the same block, while M1 still runs on all lanes
at once. From version 4 (the default) the lanes of a step are coded one after another, each learning
at once from its bits, so lane i also benefits from what lanes 0..i-1 taught the tables in the same
step (into one binary stream per segment); the mixer's rate decays per weight set, and two word
models (the current word, and with the word before) join the inputs. Up to version 3 the updates of
one step were applied together, an entry touched by several lanes moving by the mean of their
updates: 200 lanes meeting the same context taught it once (7-15% larger on logs and CSV).

Everything is integer arithmetic (tables from integer formulas, wrap-around uint64 hashes), in
loops compiled with numba that code a whole byte of every lane per call (the binary coder inside,
``nct.coding.binary``), so encoder and decoder compute identical probabilities on every machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..coding.binary import BinaryDecoderBatch, BinaryEncoderBatch, decode_bit, encode_bit

# squash(d) = 4096 / (1 + e^-d/256) by interpolation of 33 integers (lpaq1), and stretch = its inverse.
_SQUASH_POINTS = np.array(
    [1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047, 2549, 2994, 3348, 3607,
     3785, 3901, 3975, 4022, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094],
    dtype=np.int64,
)


def _squash_table() -> np.ndarray:
    """squash(d) for d = -2047..2047 (index d + 2047), 12-bit probabilities."""
    d = np.arange(-2047, 2048, dtype=np.int64)
    w = d & 127
    i = (d >> 7) + 16
    return (_SQUASH_POINTS[i] * (128 - w) + _SQUASH_POINTS[i + 1] * w + 64) >> 7


SQUASH = _squash_table()


def _stretch_table() -> np.ndarray:
    """stretch(p) for 12-bit p: the smallest d with squash(d) >= p (inverse of ``SQUASH``)."""
    return np.clip(np.searchsorted(SQUASH, np.arange(4096), side="left") - 2047, -2047, 2047).astype(np.int64)


STRETCH = _stretch_table()

_HASH_MULT = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                       0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9,
                       0xDB9C559891948D23, 0x78BC927DED35455D, 0xAAD71E75CDE2B88F, 0x6280938AD5A104F3,
                       0xCAA69C1E0798FF49, 0xB9F5A07176645A03, 0xF3F8751C656739AF, 0xCDF6C4E563D8E22D],
                      dtype=np.uint64)  # odd 64-bit constants (the last 8 from splitmix64, seed 2026)
_BIT_MULT = np.uint64(0x2545F4914F6CDD1D)
_HISTORY_PAD = 16  # positions before a lane's start read as 256 (no byte)


def _compiled(**options):
    """numba's ``njit`` for the mixing loops: cached, and without reference counting (they allocate
    nothing): with it, every read of a field of the state tuple counts its array up and down
    through an atomic call, which took two thirds of the coding time."""
    return njit(cache=True, _nrt=False, **options)


@dataclass(frozen=True)
class MixConfig:
    """The mixing model's parameters (stored in archives: both sides must use the same)."""

    orders: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12)
    table_bits: int = 22  # entries per context table: 2^table_bits
    match_min: int = 6  # bytes of context a match must share
    match_bits: int = 20  # entries of the match model's hash table
    rate_limit: int = 255  # context counters adapt at 1/(n + 1.5), n capped here
    lr: int = 3  # mixer learning rate
    version: int = 4  # 1: no APM stage; 2: no column models (the bytes above, in the last line);
    # 3: lanes learn together (a mean update per step), a stream per block, no word models

    def __post_init__(self) -> None:
        if not self.orders or any(not 1 <= k <= _HISTORY_PAD for k in self.orders) or list(self.orders) != sorted(set(self.orders)):
            raise ValueError(f"context orders must be distinct, increasing, in 1..{_HISTORY_PAD}")
        if not 10 <= self.table_bits <= 24 or not 10 <= self.match_bits <= 24:
            raise ValueError("table sizes must be 2^10 .. 2^24 entries")
        if not 2 <= self.match_min <= _HISTORY_PAD:
            raise ValueError(f"match_min must be in 2..{_HISTORY_PAD}")
        if not 1 <= self.rate_limit <= 255 or not 1 <= self.lr <= 64:
            raise ValueError("rate_limit must be in 1..255 and lr in 1..64")
        if self.version not in (1, 2, 3, 4):
            raise ValueError(f"unknown mixing model version {self.version}")

    def to_dict(self) -> dict:
        """Plain values for an archive's parameters."""
        d = asdict(self)
        d["orders"] = list(self.orders)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MixConfig":
        """Inverse of ``to_dict`` (unknown keys are an error: they would change the model)."""
        d = dict(d)
        if "orders" in d:
            d["orders"] = tuple(d["orders"])
        return cls(**d)


def table_bits(cfg: MixConfig, size: int) -> int:
    """Entries (log2) of each context table for ``size`` bytes: 16 per byte, at most the config's."""
    return max(12, min(cfg.table_bits, (16 * max(1, size) - 1).bit_length()))


_COLUMN_MODELS = 2  # version 3: (column, byte above) and (the 3 bytes around the one above, last byte)
_WORD_MODELS = 2  # version 4: (this word so far) and (this word so far, the word before)
_WEIGHT_SETS = 16 * 8 * 3  # by match length bucket, bit of the byte, and M1's sign and confidence
_MATCH_SLOTS = 16 * 8
_LR_T = 256  # version 4: a weight set's rate falls from 4 lr to lr over its first thousands of updates


class _State(NamedTuple):
    """What the compiled loops read and update: tables, per-lane state, scratch, sizes."""

    slots: np.ndarray  # uint16 [models * size, 2]: each context slot's 16-bit P(bit = 1) and how
    # many updates it has seen (the adaptation rate), side by side: one cache line per slot
    history: np.ndarray  # int64 [lanes, length + 16]: each lane's bytes; 256 before its start
    match_table: np.ndarray  # int64 [2^match_bits]: t * lanes + lane + 1 of a context's latest end
    m_lane: np.ndarray  # int64 [lanes] each lane's match: where (lane, position), how long, which byte
    m_pos: np.ndarray
    m_len: np.ndarray
    m_byte: np.ndarray
    match_prob: np.ndarray  # int64 [16 * 8]: P(the predicted bit is right) by match length and bit
    weights: np.ndarray  # int64 [weight sets, inputs]: the mixer's, 16 fractional bits
    apm: np.ndarray  # uint16 [257 * 256 * 33]: the APM's interpolation points
    orders: np.ndarray  # int64 context orders
    ctx: np.ndarray  # uint64 [lanes, models]: this byte's context hashes
    c0: np.ndarray  # int64 [lanes]: a leading 1 and the bits of this byte so far
    apm_ctx: np.ndarray
    line: np.ndarray  # int64 [lanes]: where the lane's current line starts
    above_line: np.ndarray  # and the line before it (-1: none in this block)
    word: np.ndarray  # uint64 [lanes, 2]: hashes of the lane's current word so far and the word before
    bits: np.ndarray  # int64 [lanes]: the bit just coded
    mslots: np.ndarray  # int64 [lanes]: each lane's entry in the match table this step
    idx: np.ndarray  # int64 [lanes, models]: the slots predicted from, kept for the update
    saved: np.ndarray  # int64 [lanes, models]: their counts before the update
    st: np.ndarray  # int64 [lanes, inputs]: the mixer's inputs (stretched probabilities)
    p: np.ndarray  # int64 [lanes]: the mixer's output
    wset: np.ndarray
    apm_idx: np.ndarray
    mslot: np.ndarray
    mon: np.ndarray  # bool [lanes]: the match model predicts this bit
    mbit: np.ndarray
    final: np.ndarray  # int64 [lanes, 8]: the probabilities each bit of the byte was coded with
    hkeys: np.ndarray  # int64 [H]: open-addressing map slot -> table index (-1: empty)
    hsum: np.ndarray
    hcnt: np.ndarray
    hused: np.ndarray
    wsum: np.ndarray  # int64 [weight sets, inputs], wcnt [weight sets]: gradient sums per set
    wcnt: np.ndarray
    wseen: np.ndarray  # int64 [weight sets]: version 4: updates each set has had (its rate decays)
    wtouched: np.ndarray
    msum: np.ndarray
    mcnt: np.ndarray
    mask: np.uint64  # context table slots - 1
    size: int
    match_min: int
    match_mask: np.uint64
    rate_limit: int
    lr: int
    version: int


class ContextMixer:
    """The adaptive models and mixer for ``lanes`` lanes of at most ``length`` bytes each, coding one
    byte of every lane per call."""

    def __init__(self, lanes: int, length: int, cfg: MixConfig | None = None):
        self.cfg = cfg = cfg if cfg is not None else MixConfig()
        n_models = len(cfg.orders) + 1 + (_COLUMN_MODELS if cfg.version >= 3 else 0) + (_WORD_MODELS if cfg.version >= 4 else 0)  # order 0 too
        n_inputs = n_models + 3  # M1, the context models, the match model, a bias
        size = 1 << table_bits(cfg, lanes * length)
        weights = np.zeros((_WEIGHT_SETS, n_inputs), np.int64)
        weights[:, 0] = 1 << 16  # start by trusting M1 alone
        # APM (secondary estimation, lpaq): the mixer's output refined by the previous byte and the
        # bits of this one, interpolating 33 points of stretch(p) per context
        points = SQUASH[np.clip((np.arange(33) - 16) * 128, -2047, 2047) + 2047] * 16
        h = 1 << max(4, (4 * lanes * n_models - 1).bit_length())  # the map's load stays under 1/4

        def z(*shape: int, dtype=np.int64) -> np.ndarray:
            return np.zeros(shape, dtype)

        self.state = _State(
            slots=np.tile(np.array([1 << 15, 0], np.uint16), (n_models * size, 1)),
            history=np.full((lanes, length + _HISTORY_PAD), 256, np.int64),
            match_table=z(1 << cfg.match_bits),
            m_lane=z(lanes), m_pos=z(lanes), m_len=z(lanes), m_byte=z(lanes),
            match_prob=np.full(_MATCH_SLOTS, 3 << 14, np.int64),
            weights=weights,
            apm=np.tile(points, 257 * 256).astype(np.uint16),
            orders=np.array(cfg.orders, np.int64),
            ctx=z(lanes, n_models, dtype=np.uint64),
            c0=np.ones(lanes, np.int64), apm_ctx=z(lanes), bits=z(lanes),
            word=z(lanes, 2, dtype=np.uint64), line=z(lanes), above_line=np.full(lanes, -1, np.int64),
            mslots=z(lanes), idx=z(lanes, n_models), saved=z(lanes, n_models), st=z(lanes, n_inputs),
            p=z(lanes), wset=z(lanes), apm_idx=z(lanes), mslot=z(lanes), mon=z(lanes, dtype=np.bool_), mbit=z(lanes),
            final=z(lanes, 8),
            hkeys=np.full(h, -1, np.int64), hsum=z(h), hcnt=z(h), hused=z(h),
            wsum=z(_WEIGHT_SETS, n_inputs), wcnt=z(_WEIGHT_SETS), wseen=z(_WEIGHT_SETS), wtouched=z(_WEIGHT_SETS),
            msum=z(_MATCH_SLOTS), mcnt=z(_MATCH_SLOTS),
            mask=np.uint64(size - 1), size=size, match_min=cfg.match_min,
            match_mask=np.uint64((1 << cfg.match_bits) - 1), rate_limit=cfg.rate_limit, lr=cfg.lr, version=cfg.version,
        )

    @property
    def probabilities(self) -> np.ndarray:
        """[lanes, 8]: the 12-bit P(bit = 1) each bit of the last byte was coded with (active lanes)."""
        return self.state.final

    def encode_byte(self, t: int, active: np.ndarray, values: np.ndarray, p_m1: np.ndarray, enc: BinaryEncoderBatch) -> None:
        """Code byte ``t`` of every active lane (``values`` [lanes]) into ``enc``, M1's bit
        probabilities for it being ``p_m1[:, t]`` ([lanes, length, 8], 12-bit)."""
        _encode_byte(self.state, t, active, values, p_m1, enc.x1, enc.x2, enc.buf, enc.pos, enc.limit)

    def decode_byte(self, t: int, active: np.ndarray, stored: np.ndarray, values: np.ndarray, cdf: np.ndarray, dec: BinaryDecoderBatch) -> None:
        """Decode byte ``t`` of every active lane into ``values`` (stored lanes' are given there and
        not decoded), under M1's integer CDFs ``cdf`` [lanes, 257] for it."""
        _decode_byte(self.state, t, active, stored, values, cdf, dec.x, dec.x1, dec.x2, dec.buf, dec.pos, dec.limit)

    def begin(self, t: int, active: np.ndarray) -> None:
        """Version 4, decoding byte ``t`` in parts: the step's contexts and matches, before any lane."""
        _begin(self.state, t, active)

    def decode_lanes(self, lo: int, hi: int, active: np.ndarray, stored: np.ndarray, values: np.ndarray, cdf: np.ndarray, dec: BinaryDecoderBatch) -> None:
        """Version 4: decode lanes ``lo`` .. ``hi`` - 1 of the byte ``begin`` started, as ``decode_byte`` would."""
        _decode_lanes(self.state, lo, hi, active, stored, values, cdf, dec.x, dec.x1, dec.x2, dec.buf, dec.pos, dec.limit)

    def end(self, t: int, active: np.ndarray, values: np.ndarray) -> None:
        """Version 4: record byte ``t`` of every lane once all its lanes are decoded."""
        _end(self.state, t, active, values)


# ----- the compiled loops ----------------------------------------------------------------------
@_compiled()
def _begin(s: _State, t: int, active: np.ndarray) -> None:
    """Before coding byte ``t`` of every lane: context hashes; follow, end or find each match."""
    lanes, n_orders = s.history.shape[0], len(s.orders)
    slots = s.mslots
    for i in range(lanes):
        if not active[i]:
            continue
        acc, k, key = np.uint64(0), 0, np.uint64(0)
        for m in range(_HISTORY_PAD):  # the hash of the last m + 1 bytes, newest first
            acc += np.uint64(s.history[i, t + _HISTORY_PAD - 1 - m] + 1) * _HASH_MULT[m]
            if k < n_orders and s.orders[k] == m + 1:
                h = acc + np.uint64(m + 1) * _BIT_MULT
                s.ctx[i, k + 1] = h ^ (h >> np.uint64(29))
                k += 1
            if m + 1 == s.match_min:
                key = acc
        s.c0[i] = 1
        s.apm_ctx[i] = s.history[i, t + _HISTORY_PAD - 1] * 256 * 33
        if s.version >= 3:
            _column_contexts(s, i, t, n_orders + 1)
        if s.version >= 4:
            _word_contexts(s, i, t, n_orders + 1 + _COLUMN_MODELS)
        if t > 0:  # the byte just coded confirms or ends the match
            if s.m_len[i] > 0 and s.history[i, t - 1 + _HISTORY_PAD] == s.m_byte[i]:
                s.m_len[i] += 1
                s.m_pos[i] += 1
            else:
                s.m_len[i] = 0
        if t < s.match_min:
            continue
        slot = np.int64((key ^ (key >> np.uint64(31))) & s.match_mask)
        slots[i] = slot
        entry = s.match_table[slot]  # no lane's context of this step is in the table yet
        if s.m_len[i] == 0 and entry > 0:
            lane, pos = (entry - 1) % lanes, (entry - 1) // lanes
            same = True
            for d in range(1, s.match_min + 1):
                if s.history[i, t + _HISTORY_PAD - d] != s.history[lane, pos + _HISTORY_PAD - d]:
                    same = False
                    break
            if same:
                s.m_lane[i], s.m_pos[i], s.m_len[i] = lane, pos, s.match_min
        if s.m_len[i] > 0:
            s.m_byte[i] = s.history[s.m_lane[i], min(s.m_pos[i], s.history.shape[1] - _HISTORY_PAD - 1) + _HISTORY_PAD]
        else:
            s.m_byte[i] = -1
    if t >= s.match_min:
        for i in range(lanes):  # insert every lane's context ending before t (the latest lane wins)
            if active[i]:
                s.match_table[slots[i]] = max(s.match_table[slots[i]], t * lanes + i + 1)


@_compiled()
def _column_contexts(s: _State, i: int, t: int, k: int) -> None:
    """Context hashes k, k + 1 of lane ``i`` at byte ``t`` from the line above (records, tables,
    indented code): (column, the byte above) and (the byte above, the ones after and before it,
    the last byte)."""
    if t > 0 and s.history[i, t - 1 + _HISTORY_PAD] == 10:  # a new line starts at t
        s.above_line[i] = s.line[i]
        s.line[i] = t
    col = t - s.line[i]
    a = s.above_line[i] + col
    above = s.history[i, a + _HISTORY_PAD] if s.above_line[i] >= 0 and a < s.line[i] else 256
    after = s.history[i, a + 1 + _HISTORY_PAD] if s.above_line[i] >= 0 and a + 1 < s.line[i] else 256
    left = s.history[i, a - 1 + _HISTORY_PAD] if s.above_line[i] >= 0 and a - 1 < s.line[i] else 256
    last = s.history[i, t - 1 + _HISTORY_PAD]
    h = np.uint64(min(col, 255) * 257 + above + 1) * _HASH_MULT[3] + np.uint64(17) * _BIT_MULT
    s.ctx[i, k] = h ^ (h >> np.uint64(29))
    h = np.uint64(((above * 257 + after) * 257 + last) * 257 + left + 1) * _HASH_MULT[5] + np.uint64(18) * _BIT_MULT
    s.ctx[i, k + 1] = h ^ (h >> np.uint64(29))


@_compiled()
def _word_contexts(s: _State, i: int, t: int, k: int) -> None:
    """Context hashes k, k + 1 of lane ``i`` at byte ``t``: the letters and digits of the current
    word so far (case folded), alone and with the word before it."""
    if t > 0:
        c = s.history[i, t - 1 + _HISTORY_PAD]
        if 65 <= c <= 90:
            c += 32
        if 97 <= c <= 122 or 48 <= c <= 57 or c >= 128:
            s.word[i, 0] = (s.word[i, 0] + np.uint64(c + 1)) * _HASH_MULT[7]
        elif s.word[i, 0] != 0:
            s.word[i, 1] = s.word[i, 0]
            s.word[i, 0] = np.uint64(0)
    h = s.word[i, 0] * _HASH_MULT[9] + np.uint64(19) * _BIT_MULT
    s.ctx[i, k] = h ^ (h >> np.uint64(29))
    h = (s.word[i, 0] + s.word[i, 1] * _HASH_MULT[11]) * _HASH_MULT[13] + np.uint64(20) * _BIT_MULT
    s.ctx[i, k + 1] = h ^ (h >> np.uint64(29))


@_compiled()
def _m1_bit(cdf: np.ndarray, i: int, c0: int, j: int) -> int:
    """12-bit P(bit j = 1) from the integer CDF row ``cdf[i]`` within the subtree of ``c0``."""
    lo = (c0 - (1 << j)) << (8 - j)
    mid, hi = lo + (1 << (7 - j)), lo + (1 << (8 - j))
    p = (cdf[i, hi] - cdf[i, mid]) * 4096 // (cdf[i, hi] - cdf[i, lo])
    return min(max(p, 1), 4095)


@_compiled()
def _predict(s: _State, i: int, j: int, p1: int) -> int:
    """Lane ``i``'s 12-bit P(bit j = 1) given M1's ``p1``; keeps what the update needs."""
    c0, nm = s.c0[i], s.idx.shape[1]
    cb = np.uint64(c0) * _BIT_MULT
    st0 = STRETCH[p1]
    s.st[i, 0] = st0
    s.idx[i, 0] = c0  # order 0: the bits of this byte alone
    s.st[i, 1] = STRETCH[s.slots[c0, 0] >> 4]
    for k in range(1, nm):
        e = np.int64((s.ctx[i, k] ^ cb) & s.mask) + k * s.size
        s.idx[i, k] = e
        s.st[i, k + 1] = STRETCH[s.slots[e, 0] >> 4]
    # match: does the predicted byte agree with this byte's bits so far?
    mb, ml = s.m_byte[i], min(s.m_len[i], 15)
    on = s.m_len[i] > 0 and ((mb + 256) >> (8 - j)) == c0
    bit = (mb >> (7 - j)) & 1
    mslot = ml * 8 + j
    mst = STRETCH[s.match_prob[mslot] >> 4]
    s.st[i, nm + 1] = (mst if bit == 1 else -mst) if on else 0
    s.st[i, nm + 2] = 256
    w = ((ml if on else 0) * 8 + j) * 3 + min(abs(st0) >> 10, 1) + (1 if st0 > 0 else 0)
    dot = 0
    for k in range(nm + 3):
        dot += s.st[i, k] * s.weights[w, k]
    p = min(max(SQUASH[min(max(dot >> 16, -2047), 2047) + 2047], 1), 4095)
    a = STRETCH[p] + 2048
    base = s.apm_ctx[i] + c0 * 33 + (a >> 7)
    refined = (np.int64(s.apm[base]) * (128 - (a & 127)) + np.int64(s.apm[base + 1]) * (a & 127)) >> 11
    s.p[i], s.wset[i], s.mslot[i], s.mon[i], s.mbit[i] = p, w, mslot, on, bit
    s.apm_idx[i] = base + ((a & 127) >> 6)
    final = min(max((p + 3 * refined) >> 2, 1), 4095) if s.version >= 2 else p
    s.final[i, j] = final
    return final


@_compiled()
def _add(s: _State, key: int, delta: int, used: int) -> int:
    """Add ``delta`` to the map's sum for ``key``; the number of keys in the map."""
    mask = len(s.hkeys) - 1
    h = ((key * 0x9E3779B1) >> 20) & mask
    while True:
        k = s.hkeys[h]
        if k == key:
            s.hsum[h] += delta
            s.hcnt[h] += 1
            return used
        if k < 0:
            s.hkeys[h], s.hsum[h], s.hcnt[h] = key, delta, 1
            s.hused[used] = h
            return used + 1
        h = (h + 1) & mask


@_compiled()
def _apply(s: _State, table: np.ndarray, used: int, lo: int, hi: int) -> None:
    """table[key] += the floor mean of its deltas in the map, clipped to [lo, hi]; empties the map:
    an entry hit by several lanes moves once, whatever their order."""
    for q in range(used):
        h = s.hused[q]
        key = s.hkeys[h]
        table[key] = min(max(table[key] + s.hsum[h] // s.hcnt[h], lo), hi)
        s.hkeys[h] = -1


_SLOT_LO, _SLOT_HI = 32, 65535 - 32  # the 16-bit probabilities' bounds: context slots, APM, match model
_APM_LO, _APM_HI = 16, 65535 - 16
_MATCH_LO, _MATCH_HI = 64, 65535 - 64


@_compiled(inline="always")
def _slot_step(bit: int, q: int, c: int) -> int:
    """A context slot's update: (target - P) / (n + 1.5), for P = ``q`` after ``c`` updates."""
    return ((bit << 16) - q) * 2 // (2 * c + 3)


@_compiled(inline="always")
def _apm_step(bit: int, a: int) -> int:
    """An APM point's update towards the bit: 1/64 of the way."""
    return ((bit << 16) - a) >> 6


@_compiled(inline="always")
def _match_step(right: bool, p: int) -> int:
    """The match model's update of P(right) = ``p``: 1/64 of the way to whether it was."""
    return ((65536 if right else 0) - p) >> 6


@_compiled()
def _update(s: _State, active: np.ndarray) -> None:
    """Learn from the bit every active lane coded (``s.bits``), then move to the next bit."""
    lanes, nm, ni = len(s.c0), s.idx.shape[1], s.st.shape[1]
    touched = 0  # mixer: a mean gradient step per weight set
    for i in range(lanes):
        if active[i]:
            err = ((s.bits[i] << 12) - s.p[i]) * s.lr
            w = s.wset[i]
            if s.wcnt[w] == 0:
                s.wtouched[touched] = w
                touched += 1
            s.wcnt[w] += 1
            for k in range(ni):
                s.wsum[w, k] += (s.st[i, k] * err) >> 10
    for q in range(touched):
        w = s.wtouched[q]
        for k in range(ni):
            s.weights[w, k] += s.wsum[w, k] // s.wcnt[w]
            s.wsum[w, k] = 0
        s.wcnt[w] = 0
    used = 0  # context models: P += (target - P) / (n + 1.5)
    for i in range(lanes):
        if active[i]:
            for k in range(nm):
                e = s.idx[i, k]
                c = np.int64(s.slots[e, 1])
                s.saved[i, k] = c
                used = _add(s, e, _slot_step(s.bits[i], np.int64(s.slots[e, 0]), c), used)
    _apply(s, s.slots[:, 0], used, _SLOT_LO, _SLOT_HI)
    if s.version >= 2:
        used = 0
        for i in range(lanes):
            if active[i]:
                a = s.apm_idx[i]
                used = _add(s, a, _apm_step(s.bits[i], np.int64(s.apm[a])), used)
        _apply(s, s.apm, used, _APM_LO, _APM_HI)
    for i in range(lanes):
        if active[i]:
            for k in range(nm):
                s.slots[s.idx[i, k], 1] = min(s.saved[i, k] + 1, s.rate_limit)
            if s.mon[i]:  # match model: was the predicted bit right?
                m = s.mslot[i]
                s.msum[m] += _match_step(s.mbit[i] == s.bits[i], s.match_prob[m])
                s.mcnt[m] += 1
            s.c0[i] = s.c0[i] * 2 + s.bits[i]
    for m in range(_MATCH_SLOTS):
        if s.mcnt[m]:
            s.match_prob[m] = min(max(s.match_prob[m] + s.msum[m] // s.mcnt[m], _MATCH_LO), _MATCH_HI)
            s.msum[m], s.mcnt[m] = 0, 0


@_compiled()
def _update_lane(s: _State, i: int) -> None:
    """Version 4: learn at once from the bit lane ``i`` just coded (``s.bits[i]``), then move to
    its next bit; lanes are coded one after another, each seeing what the ones before it taught."""
    nm, bit, w = s.idx.shape[1], s.bits[i], s.wset[i]
    err = ((bit << 12) - s.p[i]) * (s.lr + 3 * s.lr * _LR_T // (_LR_T + s.wseen[w]))
    s.wseen[w] = min(s.wseen[w] + 1, 1 << 40)
    for k in range(s.st.shape[1]):
        s.weights[w, k] += (s.st[i, k] * err) >> 12
    for k in range(nm):  # context models: P += (target - P) / (n + 1.5)
        e = s.idx[i, k]
        c = np.int64(s.slots[e, 1])
        q = np.int64(s.slots[e, 0])
        s.slots[e, 0] = min(max(q + _slot_step(bit, q, c), _SLOT_LO), _SLOT_HI)
        s.slots[e, 1] = min(c + 1, s.rate_limit)
    a = s.apm_idx[i]
    s.apm[a] = min(max(np.int64(s.apm[a]) + _apm_step(bit, np.int64(s.apm[a])), _APM_LO), _APM_HI)
    if s.mon[i]:  # match model: was the predicted bit right?
        m = s.mslot[i]
        s.match_prob[m] = min(max(s.match_prob[m] + _match_step(s.mbit[i] == bit, s.match_prob[m]), _MATCH_LO), _MATCH_HI)
    s.c0[i] = s.c0[i] * 2 + bit


@intrinsic
def _prefetch(typingctx, table, index):
    """Have the CPU load ``table[index]`` (of a 1-D array; of a 2-D one, row ``index``) into its
    cache ahead of use: a hint, with no effect on any value."""

    def codegen(context, builder, signature, args):
        table_t = signature.args[0]
        ary = context.make_array(table_t)(context, builder, args[0])
        indices = [args[1]] + [context.get_constant(types.intp, 0)] * (table_t.ndim - 1)
        ptr = cgutils.get_item_pointer(context, builder, table_t, ary, indices, wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])  # read, keep, data
        return context.get_dummy_value()

    return types.void(table, types.intp), codegen


@_compiled(inline="always")
def _prefetch_bit(s: _State, i: int, c0: int) -> None:
    """Prefetch what lane ``i`` reads for the bit after ``c0``'s (the bits of its byte so far): its
    context slots and its APM points. Version 4 codes a lane's bits one after another, each
    waiting on the last one's tables, so the loads of the next bit are started one bit early."""
    cb = np.uint64(c0) * _BIT_MULT
    for k in range(1, s.idx.shape[1]):
        _prefetch(s.slots, np.int64((s.ctx[i, k] ^ cb) & s.mask) + k * s.size)  # type: ignore[call-arg]  # (numba supplies typingctx)
    row = s.apm_ctx[i] + c0 * 33
    _prefetch(s.apm, row)  # type: ignore[call-arg]
    _prefetch(s.apm, row + 32)  # type: ignore[call-arg]


@_compiled()
def _end(s: _State, t: int, active: np.ndarray, values: np.ndarray) -> None:
    """Record byte ``t`` of every lane (256 where inactive)."""
    for i in range(len(values)):
        s.history[i, t + _HISTORY_PAD] = values[i] if active[i] else 256


@_compiled()
def _encode_byte(s, t, active, values, p_m1, x1, x2, buf, pos, limit) -> None:
    """One byte of every active lane: predict, encode and learn each of its 8 bits (version 4: lane
    after lane, into one stream; before: bit after bit across the lanes, a stream per lane)."""
    _begin(s, t, active)
    if s.version >= 4:
        for i in range(len(values)):
            if active[i]:
                if i + 1 < len(values):
                    _prefetch_bit(s, i + 1, 1)
                for j in range(8):
                    bit = (values[i] >> (7 - j)) & 1
                    if j < 7:
                        _prefetch_bit(s, i, s.c0[i] * 2 + bit)
                    encode_bit(x1, x2, buf, pos, limit, 0, bit, _predict(s, i, j, p_m1[i, t, j]))
                    s.bits[i] = bit
                    _update_lane(s, i)
        _end(s, t, active, values)
        return
    for j in range(8):
        for i in range(len(values)):
            if active[i]:
                bit = (values[i] >> (7 - j)) & 1
                encode_bit(x1, x2, buf, pos, limit, i, bit, _predict(s, i, j, p_m1[i, t, j]))
                s.bits[i] = bit
        _update(s, active)
    _end(s, t, active, values)


@_compiled()
def _decode_byte(s, t, active, stored, values, cdf, x, x1, x2, buf, pos, limit) -> None:
    """One byte of every active lane: predict, decode (or read, if stored) and learn each bit (in
    ``_encode_byte``'s order)."""
    _begin(s, t, active)
    if s.version >= 4:
        _decode_lanes(s, 0, len(values), active, stored, values, cdf, x, x1, x2, buf, pos, limit)
        _end(s, t, active, values)
        return
    for j in range(8):
        for i in range(len(values)):
            if active[i]:
                p = _predict(s, i, j, _m1_bit(cdf, i, s.c0[i], j))
                s.bits[i] = (values[i] >> (7 - j)) & 1 if stored[i] else decode_bit(x, x1, x2, buf, pos, limit, i, p)
        _update(s, active)
    for i in range(len(values)):
        if active[i] and not stored[i]:
            values[i] = s.c0[i] - 256
    _end(s, t, active, values)


@_compiled()
def _decode_lanes(s, lo, hi, active, stored, values, cdf, x, x1, x2, buf, pos, limit) -> None:
    """Version 4: lanes ``lo`` .. ``hi`` - 1 of a byte, one after another, after ``_begin``."""
    for i in range(lo, hi):
        if active[i]:
            if i + 1 < len(values):
                _prefetch_bit(s, i + 1, 1)
            for j in range(8):
                if j < 7:  # the bit is not known yet: both ways
                    _prefetch_bit(s, i, s.c0[i] * 2)
                    _prefetch_bit(s, i, s.c0[i] * 2 + 1)
                p = _predict(s, i, j, _m1_bit(cdf, i, s.c0[i], j))
                s.bits[i] = (values[i] >> (7 - j)) & 1 if stored[i] else decode_bit(x, x1, x2, buf, pos, limit, 0, p)
                _update_lane(s, i)
            if not stored[i]:
                values[i] = s.c0[i] - 256


@_compiled()
def _m1_bits(cdf: np.ndarray, ys: np.ndarray, out: np.ndarray) -> None:
    """out[n, j] = M1's P(bit j = 1) along byte ys[n]'s path, from CDF rows cdf[n]."""
    for n in range(len(ys)):
        c0 = 1
        for j in range(8):
            out[n, j] = _m1_bit(cdf, n, c0, j)
            c0 = c0 * 2 + ((ys[n] >> (7 - j)) & 1)


def m1_bit_probabilities(cdf: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """M1's 12-bit P(bit = 1) [..., 8] along the path of every byte ``ys`` [...], from integer CDFs
    [..., 257] (teacher forcing: the bits before each are the byte's own)."""
    flat = np.ascontiguousarray(cdf.reshape(-1, cdf.shape[-1]), np.int64)
    out = np.empty((flat.shape[0], 8), np.int16)
    _m1_bits(flat, np.ascontiguousarray(ys.reshape(-1), np.int64), out)
    return out.reshape(*ys.shape, 8)
