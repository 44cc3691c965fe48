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

from ..errors import CorruptPayload, UnsupportedArchive
from .base import register

XZ_9E = 9 | lzma.PRESET_EXTREME  # liblzma's preset number for ``xz -9e``; decoding needs no preset
XZ_MEMLIMIT = 256 << 20  # xz -9e decodes with 65 MiB; a stream asking for more than this is refused

# PPMd variant H (7-Zip's Ppmd7). The level is the model order; order 8 with 256 MiB codes text
# best of those verified: pyppmd 1.3.1 decoded every suite file at orders 6, 8 and 10 but not at
# 16 (a wrong byte, then a heap abort). The payload states the order and memory, so decoding
# never depends on the parameters it is called with: order (1 byte), log2 of the memory in bytes
# (1 byte), the original length (LEB128), then the Ppmd7 range-coder stream (no end mark).
PPMD_ORDER, PPMD_MEM_LOG2 = 8, 28
_PPMD_ORDERS, _PPMD_MEM_LOG2S = range(2, 65), range(11, 29)  # what a payload may ask for (<= 256 MiB)


MAX_OUTPUT = 1 << 48  # what ``decompress`` allows without a limit (an archive's largest length)


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


def _ppmd_decompress(payload: bytes, limit: int) -> bytes:
    """Inverse of ``_ppmd_compress``; an inconsistent header, a length over ``limit`` or a short
    stream raises ``_Damaged``."""
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
    if n > limit:
        raise _Damaged(f"it claims {n} bytes, more than the {limit} expected")
    out = pyppmd.Ppmd7Decoder(payload[0], 1 << payload[1]).decode(payload[i + 1 :], n) if n else b""
    if len(out) != n:
        raise _Damaged(f"PPMd stream holds {len(out)} of {n} bytes")
    return out


def _zpaq_compress(data: bytes, level: int) -> bytes:
    """zpaq payload of ``data`` (one thread: deterministic, and the best ratio)."""
    import zpaq

    return zpaq.compress(data, level, threads=1)


def _zpaq_decompress(payload: bytes, limit: int) -> bytes:
    """Inverse of ``_zpaq_compress``; zpaq's errors are re-raised as ``_Damaged``.

    libzpaq has no output cap, a ZPAQ block states its own model sizes (up to 2^32 entries) and
    runs its own ZPAQL programs, so an archive's payload is decoded in a forked child process
    with a memory limit and a time limit, its output capped at ``limit`` bytes."""
    import zpaq

    from ..util import ContainedFailure, run_contained

    try:
        return run_contained(lambda: zpaq.decompress(payload, threads=1), limit, seconds=30 + limit / 100_000)
    except ContainedFailure as e:
        raise _Damaged(str(e)) from None


def _capped(decoder, payload: bytes, limit: int) -> bytes:
    """``decoder.decompress(payload, max_length)`` (zlib, bz2, lzma decompressor objects) stopped
    at ``limit`` + 1 bytes: more is damage, found without inflating the rest."""
    out = decoder.decompress(payload, limit + 1)
    if len(out) > limit:
        raise _Damaged(f"it decodes to more than the {limit} bytes expected")
    if not decoder.eof:
        raise _Damaged("truncated")
    return out


def _zstd_decompress(payload: bytes, limit: int) -> bytes:
    """One zstd frame, fed 64 bytes at a time (at most 16 blocks of 128 KiB each: the overshoot is
    bounded), stopped once it passes ``limit`` bytes."""
    d, out = zstandard.ZstdDecompressor().decompressobj(), bytearray()
    for i in range(0, len(payload), 64):
        out += d.decompress(payload[i : i + 64])
        if len(out) > limit:
            raise _Damaged(f"it decodes to more than the {limit} bytes expected")
        if d.eof:
            break
    if not d.eof:
        raise _Damaged("truncated")
    return bytes(out)


def _brotli_decompress(payload: bytes, limit: int) -> bytes:
    """brotli with its output buffer limited (brotli >= 1.2), fed 64 KiB at a time, stopped at
    ``limit`` + 1 bytes."""
    d, out = brotli.Decompressor(), bytearray()
    limited = hasattr(d, "can_accept_more_data")  # brotli 1.2's output_buffer_limit
    for i in range(0, max(1, len(payload)), 1 << 16):
        chunk = payload[i : i + (1 << 16)]
        if limited:
            out += d.process(chunk, output_buffer_limit=limit + 1 - len(out))
            while len(out) <= limit and not d.can_accept_more_data():
                out += d.process(b"", output_buffer_limit=limit + 1 - len(out))
        else:
            out += d.process(chunk)
        if len(out) > limit:
            raise _Damaged(f"it decodes to more than the {limit} bytes expected")
    if not d.is_finished():
        raise _Damaged("truncated")
    return bytes(out)


@dataclass(frozen=True)
class Codec:
    """A classical format: how to compress at a level, decompress, and which errors mean damage."""

    compress: Callable[[bytes, int], bytes]
    decompress: Callable[[bytes, int], bytes]  # (payload, most bytes the output may have)
    errors: tuple[type[BaseException], ...]
    default_level: int
    description: str


CODECS: dict[str, Codec] = {
    "gzip": Codec(
        lambda d, level: gzip.compress(d, level, mtime=0),  # mtime fixed: reproducible output
        lambda p, limit: _capped(zlib.decompressobj(16 + zlib.MAX_WBITS), p, limit),
        (_Damaged, zlib.error),
        9,
        "gzip -9 (DEFLATE with the gzip header)",
    ),
    "bz2": Codec(
        bz2.compress, lambda p, limit: _capped(bz2.BZ2Decompressor(), p, limit), (_Damaged, OSError), 9, "bzip2 -9"
    ),
    "xz": Codec(
        lambda d, level: lzma.compress(d, preset=level),
        lambda p, limit: _capped(lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT), p, limit),
        (_Damaged, lzma.LZMAError),
        XZ_9E,
        "xz -9e (LZMA2)",
    ),
    "zstd": Codec(
        lambda d, level: zstandard.ZstdCompressor(level=level).compress(d),
        _zstd_decompress,
        (_Damaged, zstandard.ZstdError),
        22,
        "zstd --ultra -22",
    ),
    "brotli": Codec(
        lambda d, level: brotli.compress(d, quality=level), _brotli_decompress, (_Damaged, brotli.error), 11, "brotli -q 11"
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

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress``; a damaged payload, or one that decodes to more than ``limit``
        bytes (default: no limit), raises ``CorruptPayload``."""
        try:
            return self.codec.decompress(payload, MAX_OUTPUT if limit is None else limit)
        except self.codec.errors as e:
            raise CorruptPayload(f"{self.name} payload is corrupt: {e}") from None
        except ImportError as e:  # zpaq and PPMd are optional packages
            raise UnsupportedArchive(f"{self.name} payloads need the {e.name} package: pip install 'nct[bench]'") from None


def classical(name: str, level: int | None = None) -> Classical:
    """The classical compressor ``name`` at ``level`` (default: its strongest standard setting)."""
    return Classical(name, CODECS[name].default_level if level is None else level)


for _name in CODECS:
    register(_name)(functools.partial(classical, _name))
