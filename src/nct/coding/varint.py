"""LEB128 unsigned varints for lengths in payloads."""

from __future__ import annotations


def write_varint(n: int) -> bytes:
    """Encode a non-negative integer, 7 bits per byte, low bits first."""
    if n < 0:
        raise ValueError("varints are non-negative")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); raises IndexError if ``buf`` ends inside the varint."""
    n = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return n, pos
        if shift > 63:
            raise ValueError("varint too long")
