"""The compressed-file format (DESIGN invariant 3): self-describing, checked before and after decoding.

Layout (integers little-endian)::

    magic      4 bytes  b"\\x89NCT"
    version    1 byte   FORMAT_VERSION
    header     u32 length, then UTF-8 JSON: method, params, model fingerprint, original length, SHA-256
    payload    u64 length, then the compressor's payload
    crc32      u32 over everything before it

A wrong magic, an unknown version, a truncated file, any flipped byte, a different model, or
output that does not match the recorded checksum each raise ``ArchiveError`` with a one-line
message; nothing is ever returned that was not verified.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass

from .errors import ArchiveError

__all__ = ["ArchiveError", "Header", "checksum", "pack", "unpack", "verify"]

MAGIC = b"\x89NCT"
FORMAT_VERSION = 1
_FIXED = struct.Struct("<4sBI")


@dataclass(frozen=True)
class Header:
    """What an archive says about itself."""

    method: str
    params: dict
    model: str | None  # fingerprint of the model the payload needs, if any
    length: int
    sha256: str

    def to_json(self) -> bytes:
        """Canonical JSON."""
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":")).encode()


def pack(header: Header, payload: bytes) -> bytes:
    """Build an archive from its header and payload."""
    head = header.to_json()
    body = _FIXED.pack(MAGIC, FORMAT_VERSION, len(head)) + head + struct.pack("<Q", len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body))


def unpack(archive: bytes) -> tuple[Header, bytes]:
    """Check an archive's framing and checksum; return its header and payload."""
    if len(archive) < 4 or archive[:4] != MAGIC:
        raise ArchiveError("not an nct archive (bad magic number)")
    if len(archive) < _FIXED.size:
        raise ArchiveError("archive is truncated")
    _, version, head_len = _FIXED.unpack_from(archive)
    if version != FORMAT_VERSION:
        raise ArchiveError(f"unsupported archive format version {version} (this nct reads version {FORMAT_VERSION})")
    pos = _FIXED.size + head_len
    if len(archive) < pos + 8:
        raise ArchiveError("archive is truncated")
    (payload_len,) = struct.unpack_from("<Q", archive, pos)
    end = pos + 8 + payload_len
    if len(archive) < end + 4:
        raise ArchiveError(f"archive is truncated ({len(archive)} bytes, expected {end + 4})")
    if len(archive) > end + 4:
        raise ArchiveError(f"archive has {len(archive) - end - 4} unexpected trailing bytes")
    (crc,) = struct.unpack_from("<I", archive, end)
    if zlib.crc32(archive[:end]) != crc:
        raise ArchiveError("archive is corrupt (checksum mismatch)")
    try:
        fields = json.loads(archive[_FIXED.size : _FIXED.size + head_len])
        header = Header(**fields)
    except (ValueError, TypeError) as e:
        raise ArchiveError(f"archive header is unreadable: {e}") from None
    return header, archive[pos + 8 : end]


def checksum(data: bytes) -> str:
    """SHA-256 of the original data, hex."""
    return hashlib.sha256(data).hexdigest()


def verify(header: Header, data: bytes) -> bytes:
    """``data`` if it matches the header's length and checksum, else ArchiveError."""
    if len(data) != header.length or checksum(data) != header.sha256:
        raise ArchiveError("decoded data does not match the archive's checksum (wrong model or software version?)")
    return data
