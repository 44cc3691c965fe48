"""Media baselines of LMIC: PNG for images and FLAC for audio, over the bytes ``nct.data.media`` makes.

``png`` reads the bytes as an 8-bit grayscale image 64 pixels wide (a 2048-byte chunk is one
32 x 64 patch) and writes it with Pillow (``optimize=True``: zlib level 9).
A length that is not a multiple of 64 is padded with zeros to a whole last row; the payload is one
byte giving the padding (0..63), then the PNG file. Every chunk's CRC is checked when decoding.

``flac`` reads the bytes as 8-bit unsigned PCM (128 = silence), mono, 16 kHz, and writes FLAC with
soundfile (libFLAC at its strongest level, as ``flac -8``). The stream holds the sample count and
the MD5 of the samples, both checked when decoding (bytes after the last frame are skipped, as by
any FLAC decoder).

Both map empty input to an empty payload. Their *fixed cost*, counted once in chunked benchmarks, is
what every payload carries whatever the input: for PNG the padding byte, the signature, the IHDR and
IEND chunks, the IDAT chunk's framing and the zlib wrapper; for FLAC the stream marker and its
metadata blocks (STREAMINFO, and the VORBIS_COMMENT with libFLAC's vendor string).
They are benchmark baselines: ``nct compress`` does not offer them (``nct.compress`` does).
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib

import numpy as np

from .base import CorruptPayload, register

WIDTH = 64  # pixels per row: a 2048-byte chunk is one 32 x 64 patch
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZLIB_WRAPPER = 6  # 2-byte header + Adler-32
FLAC_RATE = 16_000
STREAMINFO_MD5 = slice(26, 42)  # the first metadata block, STREAMINFO (type 0, 34 bytes), ends with the samples' MD5


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a PNG file, up to IEND; CorruptPayload on a bad signature,
    a bad CRC, a truncated chunk or bytes after IEND."""
    if not png.startswith(PNG_SIGNATURE):
        raise CorruptPayload("png payload is corrupt: no PNG signature")
    chunks: list[tuple[bytes, bytes]] = []
    i = len(PNG_SIGNATURE)
    while not chunks or chunks[-1][0] != b"IEND":
        if i + 12 > len(png):
            raise CorruptPayload("png payload is corrupt: truncated")
        (n,) = struct.unpack(">I", png[i : i + 4])
        body, crc = png[i + 4 : i + 8 + n], png[i + 8 + n : i + 12 + n]
        if len(crc) != 4 or zlib.crc32(body) != int.from_bytes(crc, "big"):
            raise CorruptPayload(f"png payload is corrupt: bad or truncated {body[:4]!r} chunk")
        chunks.append((body[:4], body[4:]))
        i += 12 + n
    if i != len(png):
        raise CorruptPayload("png payload is corrupt: bytes after IEND")
    return chunks


@register("png")
class PNG:
    """Bytes as a grayscale image 64 pixels wide, stored as PNG (see the module docstring)."""

    name = "png"
    kinds = ("image",)  # benchmarked on image data only

    def params(self) -> dict:
        """No parameters."""
        return {}

    def compress(self, data: bytes) -> bytes:
        """One padding byte, then the PNG of ``data`` (zero-padded to whole rows)."""
        from PIL import Image

        if not data:
            return b""
        pad = -len(data) % WIDTH
        out = io.BytesIO()
        Image.frombytes("L", (WIDTH, (len(data) + pad) // WIDTH), data + bytes(pad)).save(out, "PNG", optimize=True)
        return bytes([pad]) + out.getvalue()

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress``; a damaged payload, or an image of more than ``limit`` bytes
        (read from its IHDR chunk before Pillow inflates anything), raises ``CorruptPayload``."""
        from PIL import Image

        if not payload:
            return b""
        pad, png = payload[0], payload[1:]
        chunks = png_chunks(png)
        ihdr = chunks[0][1] if chunks[0][0] == b"IHDR" and len(chunks[0][1]) == 13 else b""
        if not ihdr:
            raise CorruptPayload("png payload is corrupt: no IHDR chunk first")
        width, height = struct.unpack(">II", ihdr[:8])
        if width != WIDTH or pad >= WIDTH or (limit is not None and width * height - pad > limit):
            raise CorruptPayload(f"png payload is corrupt: a {width} x {height} image, padding {pad}, for {limit} bytes")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked above
                with Image.open(io.BytesIO(png), formats=["PNG"]) as im:
                    im.load()
                    mode, width, pixels = im.mode, im.width, im.tobytes()
        except (OSError, SyntaxError, ValueError, EOFError, zlib.error, Image.DecompressionBombError) as e:
            raise CorruptPayload(f"png payload is corrupt: {e}") from None
        if mode != "L" or width != WIDTH or pad >= WIDTH:
            raise CorruptPayload(f"png payload is corrupt: {mode} image {width} wide, padding {pad}")
        return pixels[: len(pixels) - pad]

    def fixed_cost(self) -> int:
        """Payload bytes outside the deflate stream of the pixels."""
        payload = self.compress(bytes(WIDTH))
        idat = sum(len(data) for kind, data in png_chunks(payload[1:]) if kind == b"IDAT")
        return len(payload) - idat + ZLIB_WRAPPER


def flac_metadata_end(payload: bytes) -> int:
    """Offset of a FLAC stream's first audio frame (after the marker and the metadata blocks, the
    first of which must be STREAMINFO); CorruptPayload if there is no such stream."""
    if payload[:4] != b"fLaC" or len(payload) < 42 or payload[4] & 0x7F or payload[5:8] != b"\x00\x00\x22":
        raise CorruptPayload("flac payload is corrupt: no fLaC marker and STREAMINFO block")
    i, last = 4, False
    while not last:
        if i + 4 > len(payload):
            raise CorruptPayload("flac payload is corrupt: truncated metadata")
        last = bool(payload[i] & 0x80)
        i += 4 + int.from_bytes(payload[i + 1 : i + 4], "big")
    return i


@register("flac")
class FLAC:
    """Bytes as 8-bit unsigned mono PCM at 16 kHz, stored as FLAC (see the module docstring)."""

    name = "flac"
    kinds = ("audio",)  # benchmarked on audio data only

    def params(self) -> dict:
        """No parameters."""
        return {}

    def compress(self, data: bytes) -> bytes:
        """The FLAC stream of ``data`` as 8-bit samples (empty input: empty payload)."""
        import soundfile as sf

        if not data:
            return b""
        out = io.BytesIO()
        samples = (np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8  # 8-bit PCM in 16-bit words
        sf.write(out, samples, FLAC_RATE, subtype="PCM_S8", format="FLAC", compression_level=1.0)
        return out.getvalue()

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress``; a damaged payload, or one whose STREAMINFO states more than
        ``limit`` samples, raises ``CorruptPayload``."""
        import soundfile as sf

        if not payload:
            return b""
        flac_metadata_end(payload)
        total = int.from_bytes(payload[21:26], "big") & ((1 << 36) - 1)  # STREAMINFO's 36-bit sample count
        if limit is not None and total != limit:
            raise CorruptPayload(f"flac payload is corrupt: it states {total} samples, not {limit}")
        try:
            with sf.SoundFile(io.BytesIO(payload)) as f:
                frames, channels, subtype = f.frames, f.channels, f.subtype
                samples = f.read(dtype="int16", always_2d=True)
        except (RuntimeError, ValueError, TypeError) as e:
            raise CorruptPayload(f"flac payload is corrupt: {e}") from None
        if (subtype, channels) != ("PCM_S8", 1) or len(samples) != frames:
            raise CorruptPayload(f"flac payload is corrupt: {len(samples)} of {frames} samples, {subtype} x {channels}")
        signed = (samples[:, 0] >> 8).astype(np.int8)
        if hashlib.md5(signed.tobytes()).digest() != payload[STREAMINFO_MD5]:
            raise CorruptPayload("flac payload is corrupt: the samples do not match the stream's MD5")
        return (signed.view(np.uint8) ^ 0x80).tobytes()

    def fixed_cost(self) -> int:
        """Payload bytes before the first audio frame (marker and metadata blocks)."""
        return flac_metadata_end(self.compress(b"\x80"))
