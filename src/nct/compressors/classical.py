"""Classical baselines: gzip, bzip2, xz, zstd and brotli at their strongest standard settings."""

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
        lambda d, level: lzma.compress(d, preset=level), lzma.decompress, (lzma.LZMAError, EOFError), 9, "xz -9 (LZMA2)"
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
