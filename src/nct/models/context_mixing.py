"""Context mixing: M1's predictions mixed with adaptive models of the file itself, in integers only.

A byte is coded as 8 binary decisions, most significant bit first (paq's decomposition). For each
decision every model gives a probability that the bit is 1, and a logistic mixer combines them
(Mahoney's lpaq): ``p = squash(sum_i w_i * stretch(p_i))`` with weights learnt online. The models:

* **M1**: its integer CDF read as a binary tree, p(bit | bits so far) = the CDF mass of the subtree;
* **order-n context models** (n = 0 and ``orders``): adaptive bit probabilities in hashed tables,
  indexed by the last n bytes of the lane and the bits of the current byte;
* a **match model**: the longest earlier occurrence of the lane's last ``match_min`` bytes predicts
  the byte that followed it, trusted by how long the match has held (an adaptive table).

Many lanes (blocks of a file) are coded together in lockstep, and they share every table: at step
t each lane predicts its byte t from tables that hold every lane's bytes before t, so a repetition
in another block is found as well as one earlier in the same block, while lanes still decode in
parallel. Updates of one step are applied together: where several lanes touch the same table entry
the entry moves by the mean of their updates, so the result does not depend on the lanes' order.

Everything is integer numpy arithmetic (tables from integer formulas, wrap-around uint64 hashes),
so encoder and decoder compute identical probabilities on every machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

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


@dataclass(frozen=True)
class MixConfig:
    """The mixing model's parameters (stored in archives: both sides must use the same)."""

    orders: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12)
    table_bits: int = 22  # entries per context table: 2^table_bits
    match_min: int = 6  # bytes of context a match must share
    match_bits: int = 20  # entries of the match model's hash table
    rate_limit: int = 255  # context counters adapt at 1/(n + 1.5), n capped here
    lr: int = 3  # mixer learning rate
    version: int = 2  # 1: no APM stage

    def __post_init__(self) -> None:
        if not self.orders or any(not 1 <= k <= _HISTORY_PAD for k in self.orders) or list(self.orders) != sorted(set(self.orders)):
            raise ValueError(f"context orders must be distinct, increasing, in 1..{_HISTORY_PAD}")
        if not 10 <= self.table_bits <= 24 or not 10 <= self.match_bits <= 24:
            raise ValueError("table sizes must be 2^10 .. 2^24 entries")
        if not 2 <= self.match_min <= _HISTORY_PAD:
            raise ValueError(f"match_min must be in 2..{_HISTORY_PAD}")
        if not 1 <= self.rate_limit <= 255 or not 1 <= self.lr <= 64:
            raise ValueError("rate_limit must be in 1..255 and lr in 1..64")
        if self.version not in (1, 2):
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


def match_bucket(length: np.ndarray) -> np.ndarray:
    """Match-length buckets 0 (no match) .. 15."""
    return np.minimum(length, 15)


@dataclass
class ContextMixer:
    """The adaptive models and mixer for ``lanes`` lanes of at most ``length`` bytes each."""

    lanes: int
    length: int
    cfg: MixConfig = field(default_factory=MixConfig)

    def __post_init__(self) -> None:
        cfg, lanes = self.cfg, self.lanes
        self.n_models = len(cfg.orders) + 1  # order 0 too
        size = 1 << table_bits(cfg, self.lanes * self.length)
        self._mask = np.uint64(size - 1)
        self._offsets = (np.arange(self.n_models, dtype=np.int64) * size)[None, :]
        self.prob = np.full(self.n_models * size, 1 << 15, np.int32)  # 16-bit P(bit = 1)
        self.count = np.zeros(self.n_models * size, np.uint8)
        self.history = np.full((lanes, self.length + _HISTORY_PAD), 256, np.int64)
        # match model
        self._match_table = np.zeros(1 << cfg.match_bits, np.int64)  # t * lanes + lane + 1; 0 = empty
        self.match_lane = np.zeros(lanes, np.int64)
        self.match_pos = np.zeros(lanes, np.int64)
        self.match_len = np.zeros(lanes, np.int64)
        self.match_byte = np.zeros(lanes, np.int64)
        self.match_prob = np.full(16 * 8, 3 << 14, np.int64)  # P(predicted bit right) by length, bit
        # mixer: inputs M1, the context models, the match model, a bias; weight sets by match length and bit
        self.n_inputs = self.n_models + 3
        w = np.zeros((16 * 8 * 3, self.n_inputs), np.int64)
        w[:, 0] = 1 << 16  # start by trusting M1 alone
        self.weights = w
        # APM (secondary estimation, lpaq): the mixer's output refined by the previous byte and the
        # bits of this one, interpolating 33 points of stretch(p) per context
        points = SQUASH[np.clip((np.arange(33) - 16) * 128, -2047, 2047) + 2047] * 16
        self.apm = np.tile(points, 257 * 256).astype(np.int32)
        self._rows = np.arange(lanes)

    # ----- per byte ---------------------------------------------------------------------------
    def begin_byte(self, t: int, active: np.ndarray) -> None:
        """Before coding byte ``t`` of every lane (its bytes before t are in ``history``)."""
        cfg = self.cfg
        h = self.history[:, t : t + _HISTORY_PAD].astype(np.uint64) + np.uint64(1)  # last 16 bytes, oldest first
        mixed = h[:, ::-1] * _HASH_MULT[None, :]  # newest first
        acc = np.cumsum(mixed, axis=1, dtype=np.uint64)  # acc[:, k-1]: hash of the last k bytes
        ks = np.array(cfg.orders) - 1
        hashes = acc[:, ks] + (np.array(cfg.orders, dtype=np.uint64) * _BIT_MULT)[None, :]
        self._ctx = np.concatenate([np.zeros((self.lanes, 1), np.uint64), hashes ^ (hashes >> np.uint64(29))], axis=1)
        self._active = active
        self._match(t, acc[:, cfg.match_min - 1], active)
        self._c0 = np.ones(self.lanes, np.int64)
        self._bit = 0
        self._apm_ctx = self.history[:, t + _HISTORY_PAD - 1] * 256 * 33

    def _match(self, t: int, key: np.ndarray, active: np.ndarray) -> None:
        """Follow or find each lane's match; insert the lane's context ending before ``t``."""
        cfg = self.cfg
        if t > 0:  # the byte just coded confirms or ends each match
            ok = (self.match_len > 0) & (self.history[:, t - 1 + _HISTORY_PAD] == self.match_byte)
            self.match_len = np.where(ok, self.match_len + 1, 0)
            self.match_pos = np.where(ok, self.match_pos + 1, self.match_pos)
        if t < cfg.match_min:
            return
        slot = ((key ^ (key >> np.uint64(31))) & np.uint64((1 << cfg.match_bits) - 1)).astype(np.int64)
        look = (self.match_len == 0) & active
        entry = self._match_table[slot]
        found = look & (entry > 0)
        if found.any():
            lane = (entry - 1) % self.lanes
            pos = (entry - 1) // self.lanes
            idx = np.arange(-cfg.match_min, 0)
            ctx_here = self.history[:, t + _HISTORY_PAD + idx]
            ctx_there = self.history[lane[:, None], np.maximum(pos, 0)[:, None] + _HISTORY_PAD + idx]
            found &= (ctx_here == ctx_there).all(axis=1)
            self.match_lane = np.where(found, lane, self.match_lane)
            self.match_pos = np.where(found, pos, self.match_pos)
            self.match_len = np.where(found, cfg.match_min, self.match_len)
        rows = self._rows[active]
        np.maximum.at(self._match_table, slot[rows], t * self.lanes + rows + 1)
        has = self.match_len > 0
        self.match_byte = np.where(has, self.history[self.match_lane, np.minimum(self.match_pos, self.length - 1) + _HISTORY_PAD], -1)

    # ----- per bit ----------------------------------------------------------------------------
    def predict(self, p_m1: np.ndarray) -> np.ndarray:
        """12-bit P(next bit = 1) of every lane, given M1's 12-bit probabilities ``p_m1``."""
        j, c0 = self._bit, self._c0
        idx = ((self._ctx ^ (c0.astype(np.uint64) * _BIT_MULT)[:, None]) & self._mask).astype(np.int64) + self._offsets
        idx[:, 0] = c0 + self._offsets[0, 0]  # order 0: the bits of this byte alone
        self._idx = idx
        pk = self.prob[idx]
        st = np.empty((self.lanes, self.n_inputs), np.int64)
        st[:, 0] = STRETCH[p_m1]
        st[:, 1 : self.n_models + 1] = STRETCH[pk >> 4]
        # match: does the predicted byte agree with this byte's bits so far?
        expect = (self.match_byte + 256) >> (8 - j)
        on = (self.match_len > 0) & (expect == c0)
        bit = (self.match_byte >> (7 - j)) & 1
        mslot = match_bucket(self.match_len) * 8 + j
        self._mslot, self._mon, self._mbit = mslot, on, bit
        mst = STRETCH[self.match_prob[mslot] >> 4]
        st[:, self.n_models + 1] = np.where(on, np.where(bit == 1, mst, -mst), 0)
        st[:, self.n_models + 2] = 256
        conf = np.abs(st[:, 0]) >> 10  # M1's confidence: 0 or 1 (|stretch| >= 1024)
        wset = (np.where(on, match_bucket(self.match_len), 0) * 8 + j) * 3 + np.minimum(conf, 1) + (st[:, 0] > 0)
        self._st, self._wset = st, wset
        dot = (st * self.weights[wset]).sum(axis=1) >> 16
        p = SQUASH[np.clip(dot, -2047, 2047) + 2047]
        self._p = np.clip(p, 1, 4095)
        s = STRETCH[self._p] + 2048
        lo, w = s >> 7, s & 127
        base = self._apm_ctx + c0 * 33 + lo
        refined = (self.apm[base] * (128 - w) + self.apm[base + 1] * w) >> 11
        self._apm_idx = base + (w >> 6)
        self._final = np.clip((self._p + 3 * refined) >> 2, 1, 4095) if self.cfg.version >= 2 else self._p
        return self._final

    def update(self, bits: np.ndarray) -> None:
        """Learn from the coded bit of every active lane, then move to the next bit."""
        act = self._active
        rows = slice(None) if act.all() else self._rows[act]  # a slice: no copies when all are active
        y = bits[rows]
        # mixer: mean gradient step per weight set
        err = ((y << 12) - self._p[rows]) * self.cfg.lr
        grad = (self._st[rows] * err[:, None]) >> 10
        sets, total, n = _group_sums(self._wset[rows], grad)
        self.weights[sets] += total // n
        # context models: P += (target - P) / (n + 1.5), mean over lanes sharing an entry
        idx = self._idx[rows].ravel()
        p = self.prob[idx].astype(np.int64)
        cnt = self.count[idx].astype(np.int64)
        target = np.repeat(y << 16, self.n_models)
        delta = (target - p) * 2 // (2 * cnt + 3)
        _mean_update(self.prob, idx, delta, 32, 65535 - 32)
        if self.cfg.version >= 2:
            a = self._apm_idx[rows]
            _mean_update(self.apm, a, ((y << 16) - self.apm[a]) >> 6, 16, 65535 - 16)
        self.count[idx] = np.minimum(cnt + 1, self.cfg.rate_limit)
        # match model: was the predicted bit right?
        on = self._mon[rows]
        if on.any():
            ms = self._mslot[rows][on]
            right = (self._mbit[rows][on] == y[on]).astype(np.int64) << 16
            _mean_update(self.match_prob, ms, (right - self.match_prob[ms]) >> 6, 64, 65535 - 64)
        self._c0 = self._c0 * 2 + bits
        self._bit += 1

    def end_byte(self, t: int, values: np.ndarray) -> None:
        """Record byte ``t`` of every lane (``values``; only active lanes' matter)."""
        self.history[:, t + _HISTORY_PAD] = np.where(self._active, values, 256)


def _mean_update(table: np.ndarray, idx: np.ndarray, delta: np.ndarray, lo: int, hi: int) -> None:
    """table[i] += mean of the deltas aimed at i, clipped to [lo, hi]: an entry hit by several lanes
    moves once, whatever their order."""
    keys, sums, counts = _group_sums(idx, delta)
    table[keys] = np.clip(table[keys] + sums // counts, lo, hi)


def _group_sums(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct keys, the sum of ``values`` rows per key, how many rows had each key)."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    first = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1]]))
    counts = np.diff(np.append(first, len(k)))
    sums = np.add.reduceat(values[order], first, axis=0)
    return k[first], sums, counts if values.ndim == 1 else counts[:, None]


def m1_bit_probabilities(cdf: np.ndarray, c0: np.ndarray, bit: int) -> np.ndarray:
    """12-bit P(bit = 1) from integer CDFs [..., 257] for the subtree of partial bytes ``c0``
    (a leading 1 followed by the ``bit`` bits coded so far)."""
    prefix = c0 - (1 << bit)
    lo = prefix << (8 - bit)
    mid = lo + (1 << (7 - bit))
    hi = lo + (1 << (8 - bit))
    c_lo = np.take_along_axis(cdf, lo[..., None], -1)[..., 0]
    c_mid = np.take_along_axis(cdf, mid[..., None], -1)[..., 0]
    c_hi = np.take_along_axis(cdf, hi[..., None], -1)[..., 0]
    return np.clip((c_hi - c_mid) * 4096 // (c_hi - c_lo), 1, 4095)
