"""The compressed-file format (invariants 3 and 5, README): self-describing, checked before and after decoding.

Layout (integers little-endian)::

    magic      4 bytes  b"\\x89NCT"
    version    1 byte   FORMAT_VERSION
    header     u32 length, then UTF-8 JSON: method, params, model fingerprint, original length, SHA-256
    payload    u64 length, then the compressor's payload
    crc32      u32 over everything before it

An archive is untrusted input: the CRC only shows that the bytes are what some writer wrote. So the
header is held to a schema before anything reads it (at most ``MAX_HEADER`` bytes and
``MAX_DEPTH`` levels of nesting, checked before the JSON parser runs; exactly the five keys, each
of its type and range; no duplicate keys), and ``verify`` compares what was decoded with the
stated length and checksum. A wrong magic, an unknown version, a truncated file, any flipped byte,
a malformed header or output that does not match raise an ``ArchiveError`` subclass with a
one-line message; nothing is ever returned that was not verified.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass

from .errors import ArchiveError, CorruptArchive, UnsupportedArchive

__all__ = ["ArchiveError", "Header", "checksum", "pack", "unpack", "verify"]

MAGIC = b"\x89NCT"
FORMAT_VERSION = 1
MAX_HEADER = 1 << 16  # bytes of header JSON (real headers have ~300)
MAX_DEPTH = 6  # nesting of the header JSON (real headers have 4: header, params, mix, orders)
MAX_LENGTH = 1 << 48  # the largest original length a header may state
_FIXED = struct.Struct("<4sBI")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_METHOD = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


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
    """Check an archive's framing, checksum and header schema; return its header and payload."""
    if len(archive) < 4 or archive[:4] != MAGIC:
        raise CorruptArchive("not an nct archive (bad magic number)")
    if len(archive) < _FIXED.size:
        raise CorruptArchive("archive is truncated")
    _, version, head_len = _FIXED.unpack_from(archive)
    if version != FORMAT_VERSION:
        raise UnsupportedArchive(f"unsupported archive format version {version} (this nct reads version {FORMAT_VERSION})")
    pos = _FIXED.size + head_len
    if len(archive) < pos + 8:
        raise CorruptArchive("archive is truncated")
    (payload_len,) = struct.unpack_from("<Q", archive, pos)
    end = pos + 8 + payload_len
    if len(archive) < end + 4:
        raise CorruptArchive(f"archive is truncated ({len(archive)} bytes, expected {end + 4})")
    if len(archive) > end + 4:
        raise CorruptArchive(f"archive has {len(archive) - end - 4} unexpected trailing bytes")
    (crc,) = struct.unpack_from("<I", archive, end)
    if zlib.crc32(archive[:end]) != crc:
        raise CorruptArchive("archive is corrupt (checksum mismatch)")
    if head_len > MAX_HEADER:
        raise CorruptArchive(f"archive header is {head_len} bytes, more than the {MAX_HEADER} allowed")
    return parse_header(archive[_FIXED.size : pos]), archive[pos + 8 : end]


def parse_header(head: bytes) -> Header:
    """The header JSON, held to the schema: CorruptArchive naming the first thing wrong."""
    depth = json_depth(head)
    if depth > MAX_DEPTH:
        raise CorruptArchive(f"archive header is nested {depth} deep, more than the {MAX_DEPTH} allowed")
    try:
        fields = json.loads(head.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:  # json.JSONDecodeError, UnicodeDecodeError, our hooks' errors
        raise CorruptArchive(f"archive header is unreadable: {e}") from None
    if not isinstance(fields, dict) or set(fields) != set(Header.__dataclass_fields__):
        keys = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
        raise CorruptArchive(f"archive header must have exactly method, params, model, length, sha256 (has {keys})")
    method, params, model, length, sha = (fields[k] for k in ("method", "params", "model", "length", "sha256"))
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise CorruptArchive(f"archive header's method is not a method name: {str(method)[:40]!r}")
    if not isinstance(params, dict):
        raise CorruptArchive(f"archive header's params must be an object, not {type(params).__name__}")
    if model is not None and not (isinstance(model, str) and _HEX64.fullmatch(model)):
        raise CorruptArchive("archive header's model must be a SHA-256 fingerprint (64 hex digits) or null")
    if not isinstance(length, int) or isinstance(length, bool) or not 0 <= length <= MAX_LENGTH:
        raise CorruptArchive(f"archive header's length must be an integer in 0..2^48, not {str(length)[:40]}")
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        raise CorruptArchive("archive header's sha256 must be 64 hex digits")
    return Header(method, params, model, length, sha)


def json_depth(text: bytes) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (brackets inside strings not counted):
    found without parsing, so that deep nesting cannot exhaust the parser's recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:  # quote
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif c in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are all different."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key appears twice")
    return out


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not allowed")


def checksum(data: bytes) -> str:
    """SHA-256 of the original data, hex."""
    return hashlib.sha256(data).hexdigest()


def verify(header: Header, data: bytes) -> bytes:
    """``data`` if it matches the header's length and checksum, else CorruptArchive."""
    if len(data) != header.length or checksum(data) != header.sha256:
        raise CorruptArchive("decoded data does not match the archive's checksum (wrong model or software version?)")
    return data
