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
  windows are counted (``Encoding.ambiguous``) and never silent.
* ``delay``: no window ends with bytes that add no bits; they move to the next window. A prefix
  *matches* when it re-encodes to the identical padded window; the window ends at its shortest
  matching prefix and the decoder stops at the first match. Exact, with fewer bytes per window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..coding.arithmetic import DEFAULT_PRECISION, Encoder
from ..coding.symbols import GreedyReader, Interval, bit_array, encode_intervals, interval, stopping_window
from ..errors import UsageError
from ..models.m1 import M1
from ..parallel import available_workers, map_batches
from .base import BaseTokenizer, Decoding, Encoding, as_bytes, bits_to_tokens, tokens_to_bits
from .methods import Options

RULES = ("greedy", "delay")


def matches(enc: Encoder, window: np.ndarray) -> bool:
    """Whether finishing ``enc`` now gives exactly ``window`` (its bits, then zero padding)."""
    tail = enc.tail()
    start, end = len(enc.bits), len(enc.bits) + len(tail)
    if end > len(window):
        return False
    return bool(np.array_equal(window[start:end], tail) and not window[end:].any() and np.array_equal(window[:start], enc.bits))


def window_of(intervals: Sequence[Interval], bits: int) -> np.ndarray:
    """The window (``bits`` bits, zero-padded) of a sequence of coded byte intervals."""
    return bit_array(encode_intervals(intervals).finish(), bits)


def _rows_as_lists(cdf: torch.Tensor, rows: list[int]) -> list[list[int]]:
    """The given rows of a [B, V+1] CDF tensor as Python lists (NumPy converts faster than torch)."""
    return cdf.numpy()[rows].tolist()


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
    known: dict[int, np.ndarray] = field(default_factory=dict)  # byte index -> M1's CDF for it
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
            raise UsageError(f"rule must be one of {RULES}")
        self.freq_bits = min(14, bits - 2) if freq_bits is None else freq_bits
        if self.freq_bits > bits - 2 or self.freq_bits < 9:
            raise UsageError("every byte must fit in a window: freq_bits must be in 9..bits-2")
        if reset_every < 0:
            raise UsageError("reset_every must be >= 0 (0: never reset M1's context)")
        self.m1, self.bits, self.token_bits, self.rule = m1, bits, token_bits, rule
        self.reset_every, self.batch, self.progress = reset_every, batch, progress
        self.vocab_size = 1 << token_bits
        self.name = f"EqualInfoAC[b={bits}, v={self.vocab_size}]"

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
    def encode_result(self, texts: Sequence[str | bytes]) -> Encoding:
        """Token ids of many texts, encoded in lockstep batches, and the ambiguous windows."""
        windows, ambiguous = self._windows(texts)
        return Encoding([bits_to_tokens(np.concatenate(w) if w else [], self.token_bits) for w in windows], ambiguous)

    def windows_batch(self, texts: Sequence[str | bytes]) -> list[list[np.ndarray]]:
        """The b-bit windows (uint8 bit arrays) of every text: ``batch`` texts in lockstep per
        piece, the pieces spread over the worker processes (``encode_result`` counts the ambiguous ones)."""
        return self._windows(texts)[0]

    def _windows(self, texts: Sequence[str | bytes]) -> tuple[list[list[np.ndarray]], int]:
        """(the windows of every text, ambiguous windows)."""
        data = [as_bytes(t) for t in texts]
        out: list[list[np.ndarray]] = []
        total = 0
        with tqdm(total=sum(map(len, data)), unit="B", unit_scale=True, desc="encode", disable=not self.progress) as bar:
            for windows, ambiguous in map_batches(self._encode_texts, data, self.batch, available_workers(), bar.update):
                out += windows
                total += ambiguous
        return out, total

    def _encode_texts(self, texts: Sequence[bytes], progress: Callable[[int], object] | None) -> tuple[list, int]:
        """(windows of every text, ambiguous windows) for texts encoded in one lockstep batch."""
        rows = [_Row(t) for t in texts]
        self._encode_rows(rows, progress)
        return [r.windows for r in rows], sum(r.ambiguous for r in rows)

    def _encode_rows(self, rows: list[_Row], progress: Callable[[int], object] | None) -> None:
        """Run every row's text through M1 in lockstep; each step gives every row one more CDF."""
        m1 = self.m1
        cache = m1.start(len(rows))
        tokens = torch.full((len(rows),), m1.bos, dtype=torch.long)
        fed = [0] * len(rows)  # per row: index of the byte the next M1 step predicts
        active = [bool(r.text) for r in rows]
        while any(active):
            live = [r for r, a in enumerate(active) if a]
            cdfs = m1.step(cache, tokens, self.freq_bits).numpy()  # rows become lists only where a window ends
            restart = [r for r, a in enumerate(active) if not a]  # idle rows stay at position 0
            for r, cdf in zip(live, cdfs[live]):
                row = rows[r]
                row.known[fed[r]] = cdf
                committed = row.start
                token = self._advance(row)
                if progress:
                    progress(row.start - committed)
                if token is None:
                    active[r] = False
                    token = m1.bos
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
                iv = interval(cdf, row.text[row.i])
                if row.enc.encode_within(*iv, self.bits):
                    row.intervals.append(iv)
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
        window: np.ndarray | None
        if self.rule == "delay":  # end at the first byte that completes the window's bits
            window = bit_array(row.enc.bits + row.enc.tail(), self.bits)  # the finished stream
            keep = first_match(ivs, window)
        else:
            keep = len(ivs)
            window = stopping_window(row.enc, row.known[row.start + keep].tolist(), self.bits)
            while window is None and keep > 1:
                keep -= 1
                window = stopping_window(encode_intervals(ivs[:keep]), row.known[row.start + keep].tolist(), self.bits)
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

    def decode_result(self, batch_ids: Sequence[Sequence[int]]) -> Decoding:
        """Texts of many token sequences. Windows decode in lockstep batches: every window alone when
        M1's context resets at each window, else each run of windows between resets in order.
        Undecodable: windows no prefix re-encodes to (delay rule; e.g. in sampled tokens)."""
        groups: list[tuple[int, list[np.ndarray]]] = []
        for k, ids in enumerate(batch_ids):
            windows = self.split_windows(ids)
            step = self.reset_every or max(1, len(windows))
            groups += [(k, windows[j : j + step]) for j in range(0, len(windows), step)]
        runs = [w for _, w in groups]
        with tqdm(total=sum(map(len, runs)), unit="win", desc="decode", disable=not self.progress) as bar:
            pieces = map_batches(self._decode_runs, runs, 8 * self.batch, available_workers(), bar.update)
            decoded = list(pieces)
        out = [b""] * len(batch_ids)
        for (k, _), text in zip(groups, (t for texts, _ in decoded for t in texts)):
            out[k] += text
        return Decoding(out, sum(u for _, u in decoded))

    def _decode_runs(self, runs: Sequence[list[np.ndarray]], progress: Callable[[int], object] | None) -> tuple[list[bytes], int]:
        """(text of every run of windows, undecodable windows). ``batch`` runs decode in lockstep
        (M1's context is shared within a run); a row whose run ends takes the next run at once, so
        short windows keep every row of M1's batch busy."""
        m1 = self.m1
        pending = iter(enumerate(runs))
        rows: list[tuple[int, _Reader] | None] = [None] * min(self.batch, len(runs))
        texts = [b""] * len(runs)
        undecodable = 0

        def refill(r: int) -> None:
            nxt = next(pending, None)
            rows[r] = None if nxt is None else (nxt[0], _Reader(nxt[1]))

        for r in range(len(rows)):
            refill(r)
        cache = m1.start(len(rows))
        tokens = torch.full((len(rows),), m1.bos, dtype=torch.long)
        while any(rows):
            live = [r for r, row in enumerate(rows) if row]
            restart = [r for r, row in enumerate(rows) if not row]  # idle rows stay at position 0
            for r, cdf in zip(live, _rows_as_lists(m1.step(cache, tokens, self.freq_bits), live)):
                entry = rows[r]
                assert entry is not None  # a live row
                k, row = entry
                token = self._read(row, cdf, progress)
                if token is None:
                    texts[k], undecodable = bytes(row.out), undecodable + row.undecodable
                    refill(r)
                    restart.append(r)
                    token = m1.bos
                tokens[r] = token
            if restart:
                m1.reset(cache, torch.tensor(restart))
        return texts, undecodable

    def _read(self, row: "_Reader", cdf: list[int], progress: Callable[[int], object] | None) -> int | None:
        """Decode from M1's CDF for the row's next byte (M1's context runs on across the row's
        windows). Returns the byte M1 reads next, or None when the row is done."""
        while True:
            y = None if self.rule == "delay" and row.matched else row.reader.read(cdf)
            if y is not None:
                row.out.append(y)
                row.matched = self.rule == "delay" and matches(row.reader.encoder, row.windows[row.w])
                if not row.matched:
                    return y
            # the window ends here
            ended_on_match = row.matched
            row.undecodable += self.rule == "delay" and not ended_on_match
            if progress:
                progress(1)
            if not row.next_window():
                return None
            if ended_on_match:
                return row.out[-1]  # delay: the byte that completed the window still has to reach M1


def equal_info_tokenizer(options: Options) -> EqualInfoAC:
    """The ``equal-info`` method."""
    return EqualInfoAC(options.m1, bits=options.bits, token_bits=options.token_bits, rule=options.rule,
                       reset_every=options.reset_every, batch=options.batch, progress=options.progress)


class _Reader:
    """Decoding state of one run of windows."""

    def __init__(self, windows: list[np.ndarray]):
        self.windows = windows
        self.w = 0
        self.out: list[int] = []
        self.undecodable = 0
        self._start()

    def _start(self) -> None:
        window = self.windows[self.w]
        self.reader = GreedyReader(window.tolist(), len(window))
        self.matched = False

    def next_window(self) -> bool:
        """Move to the next window; False after the last."""
        self.w += 1
        if self.w == len(self.windows):
            return False
        self._start()
        return True
