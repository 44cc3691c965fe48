"""Binary arithmetic coding of many independent streams at once (one lane per stream).

The carry-less 32-bit coder of lpaq/paq8 (Mahoney): every lane codes one bit per call with its own
probability. ``p`` is the 12-bit probability that the bit is 1 (1..4095); bit 1 takes the low part
of the interval. Pure integer arithmetic (int64 holding 32-bit values), compiled with numba: the
same streams on every machine. ``encode_bit`` and ``decode_bit`` work on one lane of a coder's
arrays, so other compiled loops (the context mixer's) can code inside their own.

A stream ends with one byte (the top byte of the interval's high end); the decoder reads zeros past
the end of a stream, so that byte identifies a point inside the final interval.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numba import njit

PROB_BITS = 12
_MASK32 = 0xFFFFFFFF


@njit(cache=True, inline="always")
def encode_bit(x1: np.ndarray, x2: np.ndarray, buf: np.ndarray, pos: np.ndarray, limit: int, i: int, bit: int, p: int) -> None:
    """Code ``bit`` with 12-bit probability ``p`` (of a 1) in lane ``i``; bytes past ``limit`` are
    counted in ``pos`` but not written."""
    mid = x1[i] + (((x2[i] - x1[i]) * p) >> PROB_BITS)
    if bit:
        x2[i] = mid
    else:
        x1[i] = mid + 1
    while ((x1[i] ^ x2[i]) >> 24) == 0:  # the leading byte is settled: shift it out
        buf[i, min(pos[i], limit)] = x2[i] >> 24
        pos[i] += 1
        x1[i] = (x1[i] << 8) & _MASK32
        x2[i] = ((x2[i] << 8) & _MASK32) | 0xFF


@njit(cache=True, inline="always")
def decode_bit(x: np.ndarray, x1: np.ndarray, x2: np.ndarray, buf: np.ndarray, pos: np.ndarray, limit: int, i: int, p: int) -> int:
    """The next bit of lane ``i``, decoded with 12-bit probability ``p``; reads at ``limit`` or past
    it give the zero column there."""
    mid = x1[i] + (((x2[i] - x1[i]) * p) >> PROB_BITS)
    bit = 1 if x[i] <= mid else 0
    if bit:
        x2[i] = mid
    else:
        x1[i] = mid + 1
    while ((x1[i] ^ x2[i]) >> 24) == 0:
        x1[i] = (x1[i] << 8) & _MASK32
        x2[i] = ((x2[i] << 8) & _MASK32) | 0xFF
        x[i] = ((x[i] << 8) & _MASK32) | buf[i, min(pos[i], limit)]
        pos[i] += 1
    return bit


@njit(cache=True)
def _encode_lanes(x1, x2, buf, pos, limit, bits, p, active) -> None:
    """One bit per active lane."""
    for i in range(len(x1)):
        if active[i]:
            encode_bit(x1, x2, buf, pos, limit, i, bits[i], p[i])


@njit(cache=True)
def _decode_lanes(x, x1, x2, buf, pos, limit, p, active, out) -> None:
    """One bit per active lane into ``out`` (0 where inactive)."""
    for i in range(len(x1)):
        out[i] = decode_bit(x, x1, x2, buf, pos, limit, i, p[i]) if active[i] else 0


class BinaryEncoderBatch:
    """Encoders for ``lanes`` streams of at most ``capacity`` bytes each (a lane that would write
    more keeps counting in ``pos``; its bytes past ``capacity`` are dropped).
    ``x1, x2, buf, pos, limit`` are what ``encode_bit`` works on."""

    def __init__(self, lanes: int, capacity: int):
        self.x1 = np.zeros(lanes, np.int64)
        self.x2 = np.full(lanes, _MASK32, np.int64)
        self.buf = np.zeros((lanes, capacity + 1), np.uint8)
        self.pos = np.zeros(lanes, np.int64)
        self.limit = capacity

    def encode(self, bits: np.ndarray, p: np.ndarray, active: np.ndarray) -> None:
        """Code one bit per active lane with probability ``p`` (of a 1) in 12 bits."""
        _encode_lanes(self.x1, self.x2, self.buf, self.pos, self.limit, np.asarray(bits, np.int64), np.asarray(p, np.int64), np.asarray(active, np.bool_))

    def finish(self) -> list[bytes]:
        """End every stream; each lane's bytes (at most ``capacity`` + 1 of them)."""
        rows = np.arange(len(self.x1))
        self.buf[rows, np.minimum(self.pos, self.limit)] = (self.x2 >> 24).astype(np.uint8)
        self.pos += 1
        return [self.buf[i, : min(n, self.limit + 1)].tobytes() for i, n in enumerate(self.pos.tolist())]


class BinaryDecoderBatch:
    """Decoders for a batch of streams written by ``BinaryEncoderBatch`` (``x, x1, x2, buf, pos,
    limit`` are what ``decode_bit`` works on)."""

    def __init__(self, streams: Sequence[bytes]):
        lanes = len(streams)
        width = max((len(s) for s in streams), default=0) + 5
        self.buf = np.zeros((lanes, width), np.uint8)
        for i, s in enumerate(streams):
            self.buf[i, : len(s)] = np.frombuffer(s, np.uint8)
        b = self.buf[:, :4].astype(np.int64)
        self.x = (b[:, 0] << 24) | (b[:, 1] << 16) | (b[:, 2] << 8) | b[:, 3]
        self.pos = np.full(lanes, 4, np.int64)
        self.x1 = np.zeros(lanes, np.int64)
        self.x2 = np.full(lanes, _MASK32, np.int64)
        self.limit = width - 1  # a zero column: reads past a stream's end give zeros

    def decode(self, p: np.ndarray, active: np.ndarray) -> np.ndarray:
        """The next bit of every lane (0 where inactive), decoded with 12-bit probabilities ``p``."""
        out = np.empty(len(self.x1), np.int64)
        _decode_lanes(self.x, self.x1, self.x2, self.buf, self.pos, self.limit, np.asarray(p, np.int64), np.asarray(active, np.bool_), out)
        return out
