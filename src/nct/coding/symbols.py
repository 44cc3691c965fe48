"""Plumbing between integer CDFs and the arithmetic coder, shared by every caller.

A symbol is coded as its ``Interval`` ``(low, high, total)`` of a CDF (``cdf[s], cdf[s + 1],
cdf[-1]``). ``symbol_intervals`` gathers them for a whole sequence (or a batch) of teacher-forced
CDFs, ``encode_intervals`` codes a sequence of them, ``find_symbol`` picks the symbol a decoder's
target selects (``mixed_interval`` and ``find_mixed``: the same once some symbols have bonus
frequency), and ``GreedyReader`` decodes a stream of a known length while re-encoding alongside,
stopping before the first symbol the stream could not hold (Equal-Info windows and arithmetic-coded
token streams, which carry no length); ``stopping_window`` is the writing side of that: the b-bit
stream for what an encoder has coded at which such a reader stops exactly.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from .arithmetic import DEFAULT_PRECISION, Decoder, Encoder

if TYPE_CHECKING:
    import torch

Interval = tuple[int, int, int]  # a symbol's [low, high) of a CDF whose total is the third
Bonuses = list[tuple[int, int]]  # (symbol, extra frequency) by increasing symbol: ``mixed_interval``


def interval(cdf: "Sequence[int] | np.ndarray", symbol: int) -> Interval:
    """The interval of ``symbol`` in one CDF (a list, array or 1-D tensor of V + 1 integers)."""
    return int(cdf[symbol]), int(cdf[symbol + 1]), int(cdf[-1])


def symbol_intervals(cdf: "torch.Tensor", symbols: "torch.Tensor") -> list:
    """The intervals of ``symbols`` ([..., T] long) in their CDFs ([..., T, V + 1]): a list of T
    intervals for one sequence, a list of such lists for a batch of them."""
    y = symbols[..., None]
    low, high, total = (t.tolist() for t in (cdf.gather(-1, y)[..., 0], cdf.gather(-1, y + 1)[..., 0], cdf[..., -1]))
    if symbols.dim() == 1:
        return list(zip(low, high, total))
    return [list(zip(*row)) for row in zip(low, high, total)]


def encode_intervals(intervals: Iterable[Interval], precision: int = DEFAULT_PRECISION) -> Encoder:
    """An encoder that has coded every interval, in order (``finish()`` gives the stream)."""
    enc = Encoder(precision)
    encode = enc.encode
    for low, high, total in intervals:
        encode(low, high, total)
    return enc


def find_symbol(cdf: "Sequence[int] | np.ndarray", target: int) -> int:
    """The symbol whose interval of ``cdf`` holds ``target`` (a decoder's ``target(cdf[-1])``)."""
    return bisect.bisect_right(cdf, target) - 1


def mixed_interval(base: Interval, token: int, bonuses: "Sequence[tuple[int, int]]") -> Interval:
    """``token``'s interval (``base`` in a CDF) once each (token, bonus) of ``bonuses`` (by increasing
    token) has that much more frequency: a mixture of the CDF with a few tokens' point masses."""
    low, high, total = base
    before = sum(b for x, b in bonuses if x < token)
    own = next((b for x, b in bonuses if x == token), 0)
    return low + before, high + before + own, total + sum(b for _, b in bonuses)


def find_mixed(cdf: "Sequence[int] | np.ndarray", target: int, bonuses: "Sequence[tuple[int, int]]") -> int:
    """The token whose ``mixed_interval`` holds ``target`` (a decoder's target of the mixed total)."""
    before = 0
    for x, b in bonuses:
        if target < cdf[x] + before:
            break
        if target < cdf[x + 1] + before + b:
            return x
        before += b
    return find_symbol(cdf, target - before)


class GreedyReader:
    """Decodes symbols from a stream of ``limit`` bits (zeros beyond its end), re-encoding each one,
    and stops before the first symbol whose re-encoded stream would finish past ``limit``: the
    decoding side of a stream that ends wherever its writer's next symbol would not have fitted."""

    __slots__ = ("decoder", "encoder", "limit")

    def __init__(self, bits: Sequence[int], limit: int, precision: int = DEFAULT_PRECISION):
        self.decoder = Decoder(bits, precision)
        self.encoder = Encoder(precision)
        self.limit = limit

    def read(self, cdf: Sequence[int]) -> int | None:
        """The next symbol under ``cdf`` (a list of V + 1 ints), or None where it would not fit (the
        reader is then unchanged)."""
        y = find_symbol(cdf, self.decoder.target(cdf[-1]))
        low, high, total = cdf[y], cdf[y + 1], cdf[-1]
        if not self.encoder.encode_within(low, high, total, self.limit):
            return None
        self.decoder.decode(low, high, total)
        return y


def bit_array(stream: Sequence[int], bits: int) -> np.ndarray:
    """``stream`` zero-padded to ``bits`` bits."""
    out = np.zeros(bits, dtype=np.uint8)
    out[: len(stream)] = stream
    return out


def stopping_window(enc: Encoder, next_cdf: Sequence[int], bits: int) -> np.ndarray | None:
    """The ``bits``-bit window for the bytes ``enc`` has coded at which the greedy decoder stops
    exactly after them.

    Any ``bits``-bit point of the final interval decodes these bytes; the decoder stops when the next
    byte it decodes (under ``next_cdf``) would need more than ``bits`` bits. The paper's window — the
    shortest terminating string, zero-padded — is used when its next byte does not fit; otherwise
    the lowest point, in the final interval, of the first byte value that would not fit. None if no
    such point exists (then the window is ambiguous)."""
    y = find_symbol(next_cdf, enc.next_target(next_cdf[-1]))
    if not enc.fits(*interval(next_cdf, y), bits):
        return bit_array(enc.bits + enc.tail(), bits)
    for point, z in enc.points_by_symbol(bits, next_cdf):
        if not enc.fits(*interval(next_cdf, z), bits):
            return np.array([(point >> (bits - 1 - i)) & 1 for i in range(bits)], dtype=np.uint8)
    return None
