"""Classical baselines: gzip, bzip2, xz, zstd, brotli, zpaq and PPMd at their strongest standard settings.

zpaq (PyPI ``zpaq``) and PPMd (PyPI ``pyppmd``) are the ``bench`` extra's, imported when used.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import lzma
import zlib
from dataclasses import dataclass
from typing import Callable

import brotli
import zstandard

from .base import CorruptPayload, register

XZ_9E = 9 | lzma.PRESET_EXTREME  # liblzma's preset number for ``xz -9e``; decoding needs no preset

# PPMd variant H (7-Zip's Ppmd7). The level is the model order; order 8 with 256 MiB codes text
# best of those verified: pyppmd 1.3.1 decoded every suite file at orders 6, 8 and 10 but not at
# 16 (a wrong byte, then a heap abort). The payload states the order and memory, so decoding
# never depends on the parameters it is called with: order (1 byte), log2 of the memory in bytes
# (1 byte), the original length (LEB128), then the Ppmd7 range-coder stream (no end mark).
PPMD_ORDER, PPMD_MEM_LOG2 = 8, 28
_PPMD_ORDERS, _PPMD_MEM_LOG2S = range(2, 65), range(11, 29)  # what a payload may ask for (<= 256 MiB)


class _Damaged(Exception):
    """A payload whose own header is inconsistent."""


def _ppmd_compress(data: bytes, order: int) -> bytes:
    """PPMd-H payload of ``data`` at model ``order`` (header, then the stream)."""
    import pyppmd

    if order not in _PPMD_ORDERS:
        raise ValueError(f"PPMd order must be in 2..64, not {order}")
    n, head = len(data), bytearray([order, PPMD_MEM_LOG2])
    while True:
        head.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            break
    enc = pyppmd.Ppmd7Encoder(order, 1 << PPMD_MEM_LOG2)
    return bytes(head) + enc.encode(data) + enc.flush(endmark=False)


def _ppmd_decompress(payload: bytes) -> bytes:
    """Inverse of ``_ppmd_compress``; an inconsistent header or a short stream raises ``_Damaged``."""
    import pyppmd

    if len(payload) < 3 or payload[0] not in _PPMD_ORDERS or payload[1] not in _PPMD_MEM_LOG2S:
        raise _Damaged("bad PPMd header")
    n = shift = 0
    for i in range(2, min(len(payload), 12)):
        n |= (payload[i] & 0x7F) << shift
        shift += 7
        if not payload[i] & 0x80:
            break
    else:
        raise _Damaged("bad PPMd length")
    out = pyppmd.Ppmd7Decoder(payload[0], 1 << payload[1]).decode(payload[i + 1 :], n) if n else b""
    if len(out) != n:
        raise _Damaged(f"PPMd stream holds {len(out)} of {n} bytes")
    return out


def _zpaq_compress(data: bytes, level: int) -> bytes:
    """zpaq payload of ``data`` (one thread: deterministic, and the best ratio)."""
    import zpaq

    return zpaq.compress(data, level, threads=1)


def _zpaq_decompress(payload: bytes) -> bytes:
    """Inverse of ``_zpaq_compress``; zpaq's errors are re-raised as ``_Damaged``."""
    import zpaq

    try:
        return zpaq.decompress(payload)
    except zpaq.Error as e:
        raise _Damaged(str(e)) from None


@dataclass(frozen=True)
class Codec:
    """A classical format: how to compress at a level, decompress, and which errors mean damage."""

    compress: Callable[[bytes, int], bytes]
    decompress: Callable[[bytes], bytes]
    errors: tuple[type[BaseException], ...]
    default_level: int
    description: str


CODECS: dict[str, Codec] = {
    "gzip": Codec(
        lambda d, level: gzip.compress(d, level, mtime=0),  # mtime fixed: reproducible output
        gzip.decompress,
        (OSError, EOFError, zlib.error),
        9,
        "gzip -9 (DEFLATE with the gzip header)",
    ),
    "bz2": Codec(bz2.compress, bz2.decompress, (OSError, EOFError, ValueError), 9, "bzip2 -9"),
    "xz": Codec(
        lambda d, level: lzma.compress(d, preset=level), lzma.decompress, (lzma.LZMAError, EOFError), XZ_9E, "xz -9e (LZMA2)"
    ),
    "zstd": Codec(
        lambda d, level: zstandard.ZstdCompressor(level=level).compress(d),
        lambda p: zstandard.ZstdDecompressor().decompress(p),
        (zstandard.ZstdError,),
        22,
        "zstd --ultra -22",
    ),
    "brotli": Codec(
        lambda d, level: brotli.compress(d, quality=level), brotli.decompress, (brotli.error,), 11, "brotli -q 11"
    ),
    "zpaq": Codec(_zpaq_compress, _zpaq_decompress, (_Damaged,), 5, "zpaq -m5 (one thread)"),
    "ppmd": Codec(
        _ppmd_compress, _ppmd_decompress, (_Damaged, ValueError, EOFError), PPMD_ORDER,
        f"PPMd var. H, order {PPMD_ORDER}, {1 << PPMD_MEM_LOG2 - 20} MiB",
    ),
}


@dataclass
class Classical:
    """A classical compressor from ``CODECS`` at a given level."""

    name: str
    level: int

    @property
    def codec(self) -> Codec:
        """The format's functions."""
        return CODECS[self.name]

    def params(self) -> dict:
        """The level."""
        return {"level": self.level}

    def compress(self, data: bytes) -> bytes:
        """Compressed payload of ``data``."""
        return self.codec.compress(data, self.level)

    def decompress(self, payload: bytes) -> bytes:
        """Inverse of ``compress``; a damaged payload raises ``CorruptPayload``."""
        try:
            return self.codec.decompress(payload)
        except self.codec.errors as e:
            raise CorruptPayload(f"{self.name} payload is corrupt: {e}") from None


def classical(name: str, level: int | None = None) -> Classical:
    """The classical compressor ``name`` at ``level`` (default: its strongest standard setting)."""
    return Classical(name, CODECS[name].default_level if level is None else level)


for _name in CODECS:
    register(_name)(functools.partial(classical, _name))
