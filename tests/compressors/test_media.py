"""PNG and FLAC baselines: exact round trips, readable standard files, damage detected, fixed costs."""

import io

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from nct.cli import build_parser
from nct.compressors import get
from nct.compressors.base import CorruptPayload, fixed_cost
from nct.compressors.media import flac_metadata_end, png_chunks

SAMPLES = [b"", b"a", b"\x00" * 1000, bytes(range(256)) * 8, bytes(range(100)), b"\xff\x80" * 1500]


@pytest.mark.parametrize("name", ["png", "flac"])
@pytest.mark.parametrize("data", SAMPLES)
def test_round_trip(name, data):
    c = get(name)
    assert c.decompress(c.compress(data)) == data


@pytest.mark.parametrize("name", ["png", "flac"])
@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=3000))
def test_round_trip_property(name, data):
    c = get(name)
    assert c.decompress(c.compress(data)) == data


def test_png_payload_is_a_64_pixel_wide_grayscale_png():
    data = bytes(range(256)) * 8 + b"tail"
    payload = get("png").compress(data)
    assert payload[0] == 60  # padding to a whole row of 64
    with Image.open(io.BytesIO(payload[1:])) as im:
        assert (im.mode, im.size) == ("L", (64, 33)) and im.tobytes()[: len(data)] == data


def test_flac_payload_is_8_bit_mono_16k_flac():
    data = bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8))
    info = sf.info(io.BytesIO(get("flac").compress(data)))
    assert (info.format, info.subtype, info.channels, info.samplerate, info.frames) == ("FLAC", "PCM_S8", 1, 16000, 3000)


@pytest.mark.parametrize("name", ["png", "flac"])
def test_damaged_payloads_are_reported(name):
    c = get(name)
    payload = c.compress(bytes(np.random.default_rng(0).integers(100, 160, 4096, dtype=np.uint8)))
    flipped = bytearray(payload)
    flipped[len(payload) // 2] ^= 0x10
    trailing = [payload + b"x"] if name == "png" else []  # FLAC decoders skip bytes after the last frame
    for bad in [payload[: len(payload) // 2], bytes(flipped), b"garbage", *trailing]:
        with pytest.raises(CorruptPayload):
            c.decompress(bad)


def test_png_padding_byte_is_checked():
    payload = get("png").compress(b"x" * 64)
    with pytest.raises(CorruptPayload):
        get("png").decompress(bytes([64]) + payload[1:])


def test_fixed_costs_are_the_format_overheads():
    png, flac = get("png"), get("flac")
    assert fixed_cost(png) == 1 + 8 + 25 + 12 + 12 + 6  # padding byte, signature, IHDR, IDAT framing, IEND, zlib wrapper
    payload = png.compress(bytes(2048))
    assert [kind for kind, _ in png_chunks(payload[1:])] == [b"IHDR", b"IDAT", b"IEND"]
    payload = flac.compress(bytes(range(256)) * 8)
    assert fixed_cost(flac) == flac_metadata_end(payload) >= 4 + 4 + 34  # marker, STREAMINFO, ...
    assert payload[fixed_cost(flac) : fixed_cost(flac) + 2] == b"\xff\xf8"  # a frame starts there
    assert fixed_cost(get("gzip")) == len(get("gzip").compress(b""))  # the default


def test_media_formats_are_not_offered_by_nct_compress():
    for method in ("png", "flac"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["compress", "x", "--method", method])
