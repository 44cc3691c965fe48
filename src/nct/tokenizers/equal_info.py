"""Equal-Info Windows (TLNCT): text cut into windows that each compress to exactly ``bits`` bits.

Encoding a window: code byte after byte with M1 + arithmetic coding; stop before the byte that
would make the finished stream longer than ``bits``; end with the shortest bit string that
identifies the interval; pad with zeros to ``bits``. At every window boundary the coder restarts,
and M1's context restarts too (every ``reset_every`` windows; 1 = every window, as the paper's
default, so each window decodes alone from its bits and M1). The bits of all windows are cut into
``token_bits``-bit tokens (windows and tokens need not align).

Where a window ends, and how the decoder finds out (``rule``):

* ``greedy`` (the paper's default): the encoder packs the most bytes; the decoder decodes bytes
  from the window's bits (zeros beyond), re-encoding alongside, and stops before the first byte that
  would need more than ``bits`` bits. The window's bits are the paper's (the shortest string that
  identifies the final interval, zero-padded) whenever the decoder then stops at the right byte.
  Sometimes the zero padding decodes as a further byte that still fits; as every ``bits``-bit point
  of the final interval decodes the same bytes, the encoder then takes a point inside the interval
  of a next byte value that would not fit (``stopping_window``). If no byte value offers one, even
  after moving bytes to the next window, the window is *ambiguous* (it would read back longer); such
  windows are counted in ``last_ambiguous`` and never silent.
* ``delay``: no window ends with bytes that add no bits; they move to the next window. A prefix
  *matches* when it re-encodes to the identical padded window; the window ends at its shortest
  matching prefix and the decoder stops at the first match. Exact, with fewer bytes per window.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..coding.arithmetic import DEFAULT_PRECISION, Decoder, Encoder
from ..models.m1 import M1
from .base import BaseTokenizer, as_bytes, bits_to_tokens, tokens_to_bits

RULES = ("greedy", "delay")
Interval = tuple[int, int, int]


def matches(enc: Encoder, window: np.ndarray) -> bool:
    """Whether finishing ``enc`` now gives exactly ``window`` (its bits, then zero padding)."""
    tail = enc.tail()
    start, end = len(enc.bits), len(enc.bits) + len(tail)
    if end > len(window):
        return False
    return bool(np.array_equal(window[start:end], tail) and not window[end:].any() and np.array_equal(window[:start], enc.bits))


def _interval(cdf: Sequence[int], symbol: int) -> Interval:
    return cdf[symbol], cdf[symbol + 1], cdf[-1]


def encoder_of(intervals: Sequence[Interval]) -> Encoder:
    """An encoder that has coded these intervals."""
    enc = Encoder()
    for iv in intervals:
        enc.encode(*iv)
    return enc


def window_of(intervals: Sequence[Interval], bits: int) -> np.ndarray:
    """The window (``bits`` bits, zero-padded) of a sequence of coded byte intervals."""
    return _bit_array(encoder_of(intervals).finish(), bits)


def stopping_window(enc: Encoder, next_cdf: Sequence[int], bits: int) -> np.ndarray | None:
    """The ``bits``-bit window for the bytes ``enc`` has coded at which the greedy decoder stops
    exactly after them.

    Any ``bits``-bit point of the final interval decodes these bytes; the decoder stops when the next
    byte it decodes (under ``next_cdf``) would need more than ``bits`` bits. The paper's window — the
    shortest terminating string, zero-padded — is used when its next byte does not fit; otherwise
    the lowest point inside the interval of the first byte value that would not fit. None if no
    byte value offers such a point (then the window is ambiguous)."""
    y = bisect.bisect_right(next_cdf, enc.next_target(next_cdf[-1])) - 1
    trial = enc.copy()
    trial.encode(*_interval(next_cdf, y))
    if trial.finished_length() > bits:
        return _bit_array(enc.bits + enc.tail(), bits)
    for z in range(len(next_cdf) - 1):
        trial = enc.copy()
        trial.encode(*_interval(next_cdf, z))
        if trial.finished_length() > bits:
            point = trial.lowest_point(bits)
            if point is not None:
                return np.array([(point >> (bits - 1 - i)) & 1 for i in range(bits)], dtype=np.uint8)
    return None


def _bit_array(stream: Sequence[int], bits: int) -> np.ndarray:
    """``stream`` zero-padded to ``bits`` bits."""
    out = np.zeros(bits, dtype=np.uint8)
    out[: len(stream)] = stream
    return out


def first_match(intervals: Sequence[Interval], window: np.ndarray) -> int:
    """Length of the shortest non-empty prefix of ``intervals`` that re-encodes to ``window``."""
    enc = Encoder()
    for n, iv in enumerate(intervals, 1):
        enc.encode(*iv)
        if matches(enc, window):
            return n
    raise ValueError("no prefix re-encodes to the window")


@dataclass
class _Row:
    """Encoding state of one example."""

    text: bytes
    start: int = 0  # first byte of the current window
    intervals: list[Interval] = field(default_factory=list)  # coded bytes of the current window
    enc: Encoder = field(default_factory=Encoder)
    known: dict[int, list[int]] = field(default_factory=dict)  # byte index -> M1's CDF for it
    windows: list[np.ndarray] = field(default_factory=list)
    since_reset: int = 0
    ambiguous: int = 0  # windows the decoder reads back too long

    @property
    def i(self) -> int:
        """Next byte to code."""
        return self.start + len(self.intervals)


class EqualInfoAC(BaseTokenizer):
    """``EqualInfoAC[b=bits, v=2^token_bits]``: M1 + AC in windows of exactly ``bits`` bits."""

    def __init__(
        self,
        m1: M1,
        bits: int = 16,
        token_bits: int = 16,
        rule: str = "greedy",
        reset_every: int = 1,
        freq_bits: int | None = None,
        batch: int = 256,
        progress: bool = False,
    ):
        if rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}")
        self.freq_bits = min(14, bits - 2) if freq_bits is None else freq_bits
        if self.freq_bits > bits - 2 or self.freq_bits < 9:
            raise ValueError("every byte must fit in a window: freq_bits must be in 9..bits-2")
        if reset_every < 0:
            raise ValueError("reset_every must be >= 0 (0: never reset M1's context)")
        self.m1, self.bits, self.token_bits, self.rule = m1, bits, token_bits, rule
        self.reset_every, self.batch, self.progress = reset_every, batch, progress
        self.vocab_size = 1 << token_bits
        self.name = f"EqualInfoAC[b={bits}, v={self.vocab_size}]"
        self.last_ambiguous = 0  # ambiguous windows in the last encode call

    def params(self) -> dict:
        """Everything that determines the tokens (the M1 is identified by its fingerprint)."""
        return {
            "bits": self.bits, "token_bits": self.token_bits, "rule": self.rule, "reset_every": self.reset_every,
            "freq_bits": self.freq_bits, "precision": DEFAULT_PRECISION, "m1": self.m1.fingerprint,
        }

    def _resets(self, since_reset: int) -> bool:
        """Whether M1's context restarts after ``since_reset`` windows."""
        return self.reset_every > 0 and since_reset % self.reset_every == 0

    # ----- encoding -------------------------------------------------------------------------
    def encode_batch(self, texts: Sequence[str | bytes]) -> list[list[int]]:
        """Token ids of many texts, encoded in lockstep batches."""
        return [bits_to_tokens(np.concatenate(w) if w else [], self.token_bits) for w in self.windows_batch(texts)]

    def windows_batch(self, texts: Sequence[str | bytes]) -> list[list[np.ndarray]]:
        """The b-bit windows (uint8 bit arrays) of every text."""
        out: list[list[np.ndarray]] = []
        self.last_ambiguous = 0
        total = sum(len(as_bytes(t)) for t in texts)
        with tqdm(total=total, unit="B", unit_scale=True, desc="encode", disable=not self.progress) as bar:
            for first in range(0, len(texts), self.batch):
                rows = [_Row(as_bytes(t)) for t in texts[first : first + self.batch]]
                self._encode_rows(rows, bar)
                out += [r.windows for r in rows]
                self.last_ambiguous += sum(r.ambiguous for r in rows)
        return out

    def _encode_rows(self, rows: list[_Row], bar: tqdm) -> None:
        """Run every row's text through M1 in lockstep; each step gives every row one more CDF."""
        m1 = self.m1
        cache = m1.start(len(rows))
        tokens = torch.full((len(rows),), m1.bos, dtype=torch.long)
        fed = [0] * len(rows)  # per row: index of the byte the next M1 step predicts
        active = [bool(r.text) for r in rows]
        while any(active):
            cdfs = m1.step(cache, tokens, self.freq_bits).tolist()
            restart = []
            for r, row in enumerate(rows):
                if not active[r]:
                    continue
                row.known[fed[r]] = cdfs[r]
                committed = row.start
                token = self._advance(row)
                bar.update(row.start - committed)
                if token is None:
                    active[r] = False
                    continue
                if token == m1.bos:
                    restart.append(r)
                fed[r] = row.i
                tokens[r] = token
            if restart:
                m1.reset(cache, torch.tensor(restart))

    def _advance(self, row: _Row) -> int | None:
        """Code the row's bytes while M1's CDF for the next one is known. Returns the token M1 must
        read next (the last coded byte, or BOS after a context reset), or None when the row is done."""
        while row.i in row.known:
            cdf = row.known[row.i]
            if row.i == len(row.text):
                if not self._close(row):
                    return None
            else:
                trial = row.enc.copy()
                trial.encode(*_interval(cdf, row.text[row.i]))
                if trial.finished_length() <= self.bits:
                    row.enc = trial
                    row.intervals.append(_interval(cdf, row.text[row.i]))
                    continue
                self._close(row)
            if self._resets(row.since_reset):
                row.known.clear()
                return self.m1.bos
        return row.text[row.i - 1]

    def _close(self, row: _Row) -> int:
        """End the current window where the rule says; returns how many coded bytes move on to the
        next window. Those keep their CDFs unless M1's context restarts."""
        ivs = row.intervals
        if self.rule == "delay":  # end at the first byte that completes the window's bits
            window = _bit_array(row.enc.copy().finish(), self.bits)
            keep = first_match(ivs, window)
        else:
            keep = len(ivs)
            window = stopping_window(row.enc, row.known[row.start + keep], self.bits)
            while window is None and keep > 1:
                keep -= 1
                window = stopping_window(encoder_of(ivs[:keep]), row.known[row.start + keep], self.bits)
            if window is None:
                row.ambiguous += 1
                window = window_of(ivs[:keep], self.bits)
        row.windows.append(window)
        row.start += keep
        row.intervals = []
        row.enc = Encoder()
        row.since_reset += 1
        for j in [j for j in row.known if j < row.start]:
            del row.known[j]
        return len(ivs) - keep

    # ----- decoding -------------------------------------------------------------------------
    def split_windows(self, ids: Sequence[int]) -> list[np.ndarray]:
        """Token ids -> the b-bit windows they carry (a trailing partial window is token padding)."""
        bits = tokens_to_bits(ids, self.token_bits)
        n = len(bits) // self.bits
        return [bits[k * self.bits : (k + 1) * self.bits] for k in range(n)]

    def decode_batch(self, batch_ids: Sequence[Sequence[int]]) -> list[bytes]:
        """Texts of many token sequences. Windows decode in lockstep batches: every window alone when
        M1's context resets at each window, else each run of windows between resets in order.
        ``last_undecodable`` counts windows no prefix re-encodes to (e.g. in sampled tokens)."""
        groups: list[tuple[int, list[np.ndarray]]] = []
        for k, ids in enumerate(batch_ids):
            windows = self.split_windows(ids)
            step = self.reset_every or max(1, len(windows))
            groups += [(k, windows[j : j + step]) for j in range(0, len(windows), step)]
        pieces: list[bytes] = []
        self.last_undecodable = 0
        with tqdm(total=sum(len(w) for _, w in groups), unit="win", desc="decode", disable=not self.progress) as bar:
            for first in range(0, len(groups), self.batch):
                pieces += self._decode_groups([w for _, w in groups[first : first + self.batch]], bar)
        out = [b""] * len(batch_ids)
        for (k, _), piece in zip(groups, pieces):
            out[k] += piece
        return out

    def _decode_groups(self, groups: list[list[np.ndarray]], bar: tqdm) -> list[bytes]:
        """Decode runs of windows (sharing M1's context within a run) in lockstep."""
        m1 = self.m1
        rows = [_Reader(g) for g in groups]
        cache = m1.start(len(rows))
        tokens = torch.full((len(rows),), m1.bos, dtype=torch.long)
        active = [bool(g) for g in groups]
        while any(active):
            cdfs = m1.step(cache, tokens, self.freq_bits).tolist()
            for r, row in enumerate(rows):
                if active[r]:
                    token = self._read(row, cdfs[r], bar)
                    active[r] = token is not None
                    tokens[r] = token if token is not None else 0
        return [bytes(row.out) for row in rows]

    def _read(self, row: "_Reader", cdf: list[int], bar: tqdm) -> int | None:
        """Decode from M1's CDF for the row's next byte (M1's context runs on across the row's
        windows). Returns the byte M1 reads next, or None when the row is done."""
        while True:
            window = row.windows[row.w]
            y = bisect.bisect_right(cdf, row.dec.target(cdf[-1])) - 1
            trial = row.enc.copy()
            trial.encode(*_interval(cdf, y))
            if trial.finished_length() <= self.bits and not (self.rule == "delay" and row.matched):
                row.dec.decode(*_interval(cdf, y))
                row.enc = trial
                row.out.append(y)
                row.matched = self.rule == "delay" and matches(trial, window)
                if not row.matched:
                    return y
            # the window ends here
            ended_on_match = row.matched
            self.last_undecodable += self.rule == "delay" and not ended_on_match
            bar.update(1)
            if not row.next_window():
                return None
            if ended_on_match:
                return row.out[-1]  # delay: the byte that completed the window still has to reach M1


class _Reader:
    """Decoding state of one run of windows."""

    def __init__(self, windows: list[np.ndarray]):
        self.windows = windows
        self.w = 0
        self.out: list[int] = []
        self._start()

    def _start(self) -> None:
        self.dec = Decoder(self.windows[self.w].tolist())
        self.enc = Encoder()
        self.matched = False

    def next_window(self) -> bool:
        """Move to the next window; False after the last."""
        self.w += 1
        if self.w == len(self.windows):
            return False
        self._start()
        return True
