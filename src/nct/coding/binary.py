"""Binary arithmetic coding of many independent streams at once (one lane per stream).

The carry-less 32-bit coder of lpaq/paq8 (Mahoney), vectorised with numpy across lanes: every lane
codes one bit per call with its own probability, so lanes that are decoded in lockstep share each
numpy operation. ``p`` is the 12-bit probability that the bit is 1 (1..4095); bit 1 takes the low
part of the interval. Pure integer arithmetic: the same streams on every machine.

A stream ends with one byte (the top byte of the interval's high end); the decoder reads zeros past
the end of a stream, so that byte identifies a point inside the final interval.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

PROB_BITS = 12
MASK32 = np.uint64(0xFFFFFFFF)
_TOP = np.uint64(24)
_BYTE = np.uint64(8)
_FF = np.uint64(0xFF)


def _split(x1: np.ndarray, x2: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The interval's split point for a 12-bit probability of bit 1: bit 1 keeps [x1, mid]."""
    return x1 + (((x2 - x1) * p.astype(np.uint64)) >> np.uint64(PROB_BITS))


class BinaryEncoderBatch:
    """Encoders for ``lanes`` streams of at most ``capacity`` bytes each (a lane that would write
    more keeps counting, so ``lengths`` tells it; its bytes past ``capacity`` are dropped)."""

    def __init__(self, lanes: int, capacity: int):
        self.x1 = np.zeros(lanes, np.uint64)
        self.x2 = np.full(lanes, 0xFFFFFFFF, np.uint64)
        self.out = np.zeros((lanes, capacity + 1), np.uint8)
        self.lengths = np.zeros(lanes, np.int64)
        self._rows = np.arange(lanes)
        self._capacity = capacity

    def encode(self, bits: np.ndarray, p: np.ndarray, active: np.ndarray) -> None:
        """Code one bit per active lane with probability ``p`` (of a 1) in 12 bits."""
        mid = _split(self.x1, self.x2, p)
        one = bits.astype(bool) & active
        zero = ~bits.astype(bool) & active
        self.x2 = np.where(one, mid, self.x2)
        self.x1 = np.where(zero, mid + np.uint64(1), self.x1)
        self._renormalise()

    def _renormalise(self) -> None:
        """Shift out leading bytes that the interval's ends share."""
        while True:
            same = ((self.x1 ^ self.x2) >> _TOP) == 0
            if not same.any():
                return
            rows = self._rows[same]
            self._emit(rows, (self.x2[same] >> _TOP).astype(np.uint8))
            self.x1[same] = (self.x1[same] << _BYTE) & MASK32
            self.x2[same] = ((self.x2[same] << _BYTE) & MASK32) | _FF

    def _emit(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Append one byte to each of ``rows``."""
        self.out[rows, np.minimum(self.lengths[rows], self._capacity)] = values
        self.lengths[rows] += 1

    def finish(self) -> list[bytes]:
        """End every stream; each lane's bytes (at most ``capacity`` + 1 of them)."""
        self._emit(self._rows, (self.x2 >> _TOP).astype(np.uint8))
        return [self.out[i, : min(n, self._capacity + 1)].tobytes() for i, n in enumerate(self.lengths.tolist())]


class BinaryDecoderBatch:
    """Decoders for a batch of streams written by ``BinaryEncoderBatch``."""

    def __init__(self, streams: Sequence[bytes]):
        lanes = len(streams)
        width = max((len(s) for s in streams), default=0) + 5
        self.buf = np.zeros((lanes, width), np.uint8)
        for i, s in enumerate(streams):
            self.buf[i, : len(s)] = np.frombuffer(s, np.uint8)
        b = self.buf[:, :4].astype(np.uint64)
        self.x = (b[:, 0] << np.uint64(24)) | (b[:, 1] << np.uint64(16)) | (b[:, 2] << _BYTE) | b[:, 3]
        self.ptr = np.full(lanes, 4, np.int64)
        self.x1 = np.zeros(lanes, np.uint64)
        self.x2 = np.full(lanes, 0xFFFFFFFF, np.uint64)
        self._rows = np.arange(lanes)
        self._last = width - 1  # a zero column: reads past a stream's end give zeros

    def decode(self, p: np.ndarray, active: np.ndarray) -> np.ndarray:
        """The next bit of every lane (0 where inactive), decoded with 12-bit probabilities ``p``."""
        mid = _split(self.x1, self.x2, p)
        bits = (self.x <= mid) & active
        zero = ~bits & active
        self.x2 = np.where(bits, mid, self.x2)
        self.x1 = np.where(zero, mid + np.uint64(1), self.x1)
        while True:
            same = ((self.x1 ^ self.x2) >> _TOP) == 0
            if not same.any():
                break
            rows = self._rows[same]
            self.x1[same] = (self.x1[same] << _BYTE) & MASK32
            self.x2[same] = ((self.x2[same] << _BYTE) & MASK32) | _FF
            nxt = self.buf[rows, np.minimum(self.ptr[rows], self._last)].astype(np.uint64)
            self.x[same] = ((self.x[same] << _BYTE) & MASK32) | nxt
            self.ptr[rows] += 1
        return bits.astype(np.int64)
