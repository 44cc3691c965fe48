"""Exact bit-level arithmetic coding with integer state (Witten, Neal & Cleary 1987).

``precision`` is the width of the coder's state in bits (32 as LMIC, 16 for a TLNCT-like coder).
A symbol is given as its integer interval ``[low, high)`` of a CDF whose ``total`` is at most
2^(precision-2); every symbol must have a frequency of at least 1.

Encoder and Decoder share one interval-narrowing routine, so they cannot drift apart. The encoder
ends a stream with the *shortest* bit string whose dyadic interval lies inside the final interval,
and can say at any time how long the stream would be if ended now (``finished_length``):
Equal-Info Windows use that to fill windows of exactly b bits. The decoder reads zeros past the
end of its input, so zero padding is harmless.
"""

from __future__ import annotations

import bisect
import functools
from typing import Iterator, Sequence

import numpy as np

DEFAULT_PRECISION = 32


def max_total(precision: int = DEFAULT_PRECISION) -> int:
    """Largest CDF total a coder of this precision accepts."""
    return 1 << (precision - 2)


@functools.lru_cache(maxsize=1 << 16)
def _bit_list(value: int, n: int) -> tuple[int, ...]:
    """The ``n`` low bits of ``value``, most significant first."""
    return tuple((value >> (n - 1 - i)) & 1 for i in range(n))


def _renormalised(low: int, high: int, precision: int) -> tuple[int, int, int, int]:
    """(shifts, straddles, low, high): the renormalisation of a narrowed interval [low, high], all
    at once rather than a bit per loop turn.

    First come the ``shifts`` leading bits that low and high share (each one decided: shifted out);
    then the interval straddles the middle (low < 1/2 <= high), and each *straddle* step (low in
    [1/4, 1/2), high in [1/2, 3/4): doubled about the middle, the bit it decides still pending)
    removes the second bit of both, for as long as low's next bit is 1 and high's is 0. No shift
    can follow a straddle (low stays below 1/2, high at or above it)."""
    mask, half = (1 << precision) - 1, 1 << (precision - 1)
    shifts = precision - (low ^ high).bit_length()
    if shifts:
        low = (low << shifts) & mask
        high = ((high << shifts) & mask) | ((1 << shifts) - 1)
    straddles = precision - 1 - (~(low & ~high) & (half - 1)).bit_length()
    if straddles:  # x -> 2x - 1/2, t times: 2^t x - (2^t - 1)/2 (high shifts in ones)
        grow = (1 << straddles) - 1
        low = (low << straddles) - half * grow
        high = (high << straddles) - (half - 1) * grow
    return shifts, straddles, low, high


class _Interval:
    """The coder's current interval [low, high] (inclusive) of ``precision``-bit integers."""

    __slots__ = ("precision", "low", "high", "_half", "_quarter", "_mask")

    def __init__(self, precision: int):
        if not 4 <= precision <= 62:
            raise ValueError("precision must be between 4 and 62 bits")
        self.precision = precision
        self.low = 0
        self.high = (1 << precision) - 1
        self._half = 1 << (precision - 1)
        self._quarter = 1 << (precision - 2)
        self._mask = (1 << precision) - 1

    def _narrowed(self, low: int, high: int, total: int) -> tuple[int, int]:
        """The symbol's sub-interval [low, high) of ``total`` inside the current interval, before
        renormalisation."""
        if not 0 <= low < high <= total <= self._quarter:
            raise ValueError(f"bad symbol interval [{low}, {high}) of {total} (precision {self.precision})")
        rng = self.high - self.low + 1
        return self.low + rng * low // total, self.low + rng * high // total - 1

    def _narrow(self, low: int, high: int, total: int) -> None:
        """Shrink the interval to the symbol's sub-interval [low, high) of ``total``, then renormalise
        (``_narrowed`` and ``_commit`` in one, as this is the hot path)."""
        if not 0 <= low < high <= total <= self._quarter:
            raise ValueError(f"bad symbol interval [{low}, {high}) of {total} (precision {self.precision})")
        rng = self.high - self.low + 1
        lo = self.low + rng * low // total
        shifts, straddles, self.low, self.high = _renormalised(lo, self.low + rng * high // total - 1, self.precision)
        if shifts:
            self._shift(shifts, lo >> (self.precision - shifts))
        if straddles:
            self._straddle(straddles)

    def _commit(self, narrowed_low: int, shifts: int, straddles: int, low: int, high: int) -> None:
        """Take the renormalised interval; the shifted-out bits are ``narrowed_low``'s leading ones."""
        self.low, self.high = low, high
        if shifts:
            self._shift(shifts, narrowed_low >> (self.precision - shifts))
        if straddles:
            self._straddle(straddles)

    def _shift(self, n: int, bits: int) -> None:
        """``n`` decided bits (``bits``, MSB first) were shifted out."""
        raise NotImplementedError

    def _straddle(self, n: int) -> None:
        """``n`` straddle steps were taken."""
        raise NotImplementedError


def _shortest(low: int, high: int, pending: int, precision: int) -> tuple[int, int]:
    """(k, v): the shortest dyadic interval [v, v+1) * 2^(P-k) inside [low, high] (at least one
    bit while straddles are pending: they need a decided bit)."""
    p = precision
    first = max(1 if pending else 0, p + 1 - (high - low + 1).bit_length())
    for k in range(first, p + 1):
        unit = 1 << (p - k)
        v = -(-low // unit)
        if (v + 1) * unit <= high + 1:
            return k, v
    raise AssertionError("unreachable: a P-bit interval always holds a P-bit point")


class Encoder(_Interval):
    """Arithmetic encoder: ``encode`` symbol intervals, then ``finish`` for the bits."""

    __slots__ = ("bits", "pending")

    def __init__(self, precision: int = DEFAULT_PRECISION):
        super().__init__(precision)
        self.bits: list[int] = []
        self.pending = 0

    encode = _Interval._narrow  # code one symbol whose CDF interval is [low, high) out of ``total``

    def _shift(self, n: int, bits: int) -> None:
        out = self.bits
        if self.pending:  # the first decided bit settles the pending straddles: their bits are its opposite
            first = bits >> (n - 1)
            out.append(first)
            out.extend([first ^ 1] * self.pending)
            self.pending = 0
            n -= 1
            bits &= (1 << n) - 1
        out.extend(_bit_list(bits, n))

    def _straddle(self, n: int) -> None:
        self.pending += n

    def fits(self, low: int, high: int, total: int, limit: int) -> bool:
        """Whether the stream, with the symbol [low, high) of ``total`` coded too, would still
        finish within ``limit`` bits. The encoder is not changed (nothing is copied)."""
        lo, hi = self._narrowed(low, high, total)
        return self._length_after(*_renormalised(lo, hi, self.precision)) <= limit

    def encode_within(self, low: int, high: int, total: int, limit: int) -> bool:
        """Code the symbol if the stream would still finish within ``limit`` bits (then True);
        otherwise leave the encoder as it was and return False."""
        lo, hi = self._narrowed(low, high, total)
        after = _renormalised(lo, hi, self.precision)
        if self._length_after(*after) > limit:
            return False
        self._commit(lo, *after)
        return True

    def _length_after(self, shifts: int, straddles: int, low: int, high: int) -> int:
        """The finished length if the coder renormalised this way to [low, high] now."""
        emitted = len(self.bits) + (shifts + self.pending if shifts else 0)
        pending = (0 if shifts else self.pending) + straddles
        k, _ = _shortest(low, high, pending, self.precision)
        return emitted + (k + pending if k else 0)

    def _shortest(self) -> tuple[int, int]:
        """(k, v): the shortest dyadic interval [v, v+1) * 2^(P-k) inside [low, high]."""
        return _shortest(self.low, self.high, self.pending, self.precision)

    def tail(self) -> list[int]:
        """The bits ``finish`` would append now (the stream would be ``bits + tail()``)."""
        k, v = self._shortest()
        if not k:
            return []
        first = v >> (k - 1)
        return [first] + [first ^ 1] * self.pending + [(v >> (k - 1 - i)) & 1 for i in range(1, k)]

    def finished_length(self) -> int:
        """Length in bits of the stream if it were finished now."""
        k, _ = self._shortest()
        return len(self.bits) + (k + self.pending if k else 0)

    def finish(self) -> list[int]:
        """End the stream; returns all its bits (the encoder must not be used afterwards)."""
        self.bits.extend(self.tail())
        self.pending = 0
        return self.bits

    def next_target(self, total: int) -> int:
        """The CDF value a decoder would select next if the stream were finished now (then zeros):
        the finished stream's point, v * 2^(P-k) in window coordinates, read as ``Decoder.target``."""
        k, v = self._shortest()
        point = v << (self.precision - k)
        return ((point - self.low + 1) * total - 1) // (self.high - self.low + 1)

    def _placement(self, width: int) -> tuple[int, int]:
        """(base, shift): the current interval, as a fraction of the whole stream's, runs from
        (base + low) to (base + high), inclusive, in units of 2^-(width + shift).

        The interval is the emitted bits, then the window [low, high] seen through ``pending``
        straddle steps, each of which halved it around 1/2: in units of 2^-(e+p+P) it runs from
        E*2^(p+P) + low + 2^(P-1)*(2^p - 1) to the same with high."""
        p, e, prec = self.pending, len(self.bits), self.precision
        prefix = int("".join(map(str, self.bits)), 2) if self.bits else 0
        base = (prefix << (p + prec)) + (1 << (prec - 1)) * ((1 << p) - 1)
        return base, e + p + prec - width

    def lowest_point(self, width: int) -> int | None:
        """The smallest multiple of 2^-width inside the current interval, as a ``width``-bit integer
        (a stream of those ``width`` bits, then anything, decodes every symbol coded so far), or None."""
        base, shift = self._placement(width)
        lo, hi = base + self.low, base + self.high
        if shift <= 0:
            return lo << -shift
        v = -(-lo >> shift)
        return v if v << shift <= hi else None

    def points_by_symbol(self, width: int, cdf: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(point, symbol) in increasing order, for every next symbol (under ``cdf``) whose
        sub-interval holds a multiple of 2^-width: the lowest one, as a ``width``-bit integer. Those
        ``width`` bits, then zeros, decode every symbol coded so far and then ``symbol``."""
        base, shift = self._placement(width)
        total, rng = cdf[-1], self.high - self.low + 1
        start = self.low  # where the next symbol's sub-interval starts (window coordinates)
        while start <= self.high:
            if shift <= 0:
                v, local = (base + start) << -shift, start
            else:
                v = -(-(base + start) >> shift)
                local = (v << shift) - base
                if local > self.high:
                    return
            symbol = bisect.bisect_right(cdf, ((local - self.low + 1) * total - 1) // rng) - 1
            yield v, symbol
            start = self.low + rng * cdf[symbol + 1] // total

    def copy(self) -> "Encoder":
        """An independent copy (to try a symbol without committing to it)."""
        e = Encoder(self.precision)
        e.low, e.high, e.pending, e.bits = self.low, self.high, self.pending, list(self.bits)
        return e


class Decoder(_Interval):
    """Arithmetic decoder over a bit sequence: ``target`` -> find the symbol -> ``decode`` it."""

    __slots__ = ("_bits", "_pos", "value")

    def __init__(self, bits: Sequence[int], precision: int = DEFAULT_PRECISION):
        super().__init__(precision)
        self._bits = bits
        self._pos = 0
        self.value = self._next_bits(precision)

    def _next_bits(self, n: int) -> int:
        """The next ``n`` bits of the input as an integer (zeros past its end)."""
        pos = self._pos
        self._pos = pos + n
        value = 0
        chunk = self._bits[pos : pos + n]
        for bit in chunk:
            value = (value << 1) | int(bit)
        return value << (n - len(chunk))

    def target(self, total: int) -> int:
        """The CDF value in [0, total) that selects the next symbol."""
        return ((self.value - self.low + 1) * total - 1) // (self.high - self.low + 1)

    decode = _Interval._narrow  # consume the symbol whose interval [low, high) contains ``target(total)``

    def _shift(self, n: int, bits: int) -> None:
        self.value = ((self.value << n) & self._mask) | self._next_bits(n)

    def _straddle(self, n: int) -> None:
        self.value = (self.value << n) - self._half * ((1 << n) - 1) + self._next_bits(n)

    @property
    def bits_read(self) -> int:
        """Bits consumed so far, counting the ``precision`` bits of look-ahead."""
        return self._pos


class DecoderBatch:
    """Many independent decoders advanced together with NumPy: the same integer arithmetic as
    ``Decoder`` (``_renormalised``: the shared leading bits, then the straddles, each all at once),
    a handful of vector operations per symbol for the whole batch.

    The streams stay packed, 8 bits a byte. Precision is at most 32 bits and CDF totals at most
    2^30, so every product fits in int64. ``pos`` counts the bits each decoder has read; a caller
    decoding a damaged stream should stop it once it has read ``precision`` bits past its end (beyond
    that the zeros run out: IndexError).
    """

    _WINDOW = 5  # bytes read at once: the (up to 7) bits before a position and 32 after it

    def __init__(self, streams: Sequence[bytes], precision: int = DEFAULT_PRECISION):
        if not 4 <= precision <= 32:
            raise ValueError("DecoderBatch supports precisions of 4 to 32 bits")
        self.precision = precision
        n = len(streams)
        # zeros after each stream: enough for one more symbol (up to 2 * precision bits) from a decoder
        # that has read up to ``precision`` bits past its stream's end
        width = max((len(s) for s in streams), default=0) + -(-3 * precision // 8) + self._WINDOW
        self._packed = np.zeros((n, width), dtype=np.uint8)
        for i, s in enumerate(streams):
            self._packed[i, : len(s)] = np.frombuffer(s, dtype=np.uint8)
        self._rows = np.arange(n)[:, None]
        self.low = np.zeros(n, dtype=np.int64)
        self.high = np.full(n, (1 << precision) - 1, dtype=np.int64)
        self.pos = np.zeros(n, dtype=np.int64)
        self.value = self._read(np.full(n, precision, dtype=np.int64))

    def _read(self, n: np.ndarray) -> np.ndarray:
        """Per stream, its next ``n`` (0 to 32) bits as an integer; advances ``pos``."""
        start = self.pos >> 3
        window = self._packed[self._rows, start[:, None] + np.arange(self._WINDOW)].astype(np.int64)
        word = window @ (1 << np.arange(8 * (self._WINDOW - 1), -1, -8, dtype=np.int64))
        bits = (word >> (8 * self._WINDOW - (self.pos & 7) - n)) & ((1 << n) - 1)
        self.pos = self.pos + n
        return bits

    def targets(self, totals: np.ndarray) -> np.ndarray:
        """Per stream, the CDF value in [0, total) that selects its next symbol."""
        return ((self.value - self.low + 1) * totals - 1) // (self.high - self.low + 1)

    def decode(self, low: np.ndarray, high: np.ndarray, totals: np.ndarray, active: np.ndarray | None = None) -> None:
        """Consume one symbol per active stream, given each symbol's interval [low, high) of ``totals``
        (an inactive stream's interval is already renormalised, so nothing moves for it)."""
        act = np.ones(len(self.low), dtype=bool) if active is None else active
        rng = self.high - self.low + 1
        hi = np.where(act, self.low + rng * high // totals - 1, self.high)
        lo = np.where(act, self.low + rng * low // totals, self.low)
        p, mask, half = self.precision, (1 << self.precision) - 1, 1 << (self.precision - 1)
        shifts = p - _bit_length(lo ^ hi)
        keep = mask >> shifts  # the bits that stay in the window (shifting first could overflow int64)
        lo = (lo & keep) << shifts
        hi = ((hi & keep) << shifts) | ((1 << shifts) - 1)
        value = ((self.value & keep) << shifts) | self._read(shifts)
        straddles = p - 1 - _bit_length(~(lo & ~hi) & (half - 1))
        grow = (1 << straddles) - 1
        self.low = (lo << straddles) - half * grow
        self.high = (hi << straddles) - (half - 1) * grow
        self.value = (value << straddles) - half * grow + self._read(straddles)


def _bit_length(x: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of each non-negative int64 below 2^53 (exact through float64's exponent)."""
    return np.frexp(x.astype(np.float64))[1].astype(np.int64)


def pack_bits(bits: Sequence[int]) -> bytes:
    """Bits (MSB first) to bytes, zero-padded to a whole byte."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()


def unpack_bits(data: bytes) -> list[int]:
    """Bytes to bits, MSB first."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tolist()
