import lzma

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.compressors import get
from nct.compressors.base import CorruptPayload
from nct.compressors.classical import CODECS, XZ_9E, classical


@pytest.mark.parametrize("name", sorted(CODECS))
@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=600))
def test_every_codec_round_trips(name, data):
    c = get(name)
    assert c.decompress(c.compress(data)) == data


@pytest.mark.parametrize("name", sorted(CODECS))
def test_damage_is_reported_as_corrupt(name):
    c = get(name)
    payload = c.compress(b"The quick brown fox jumps over the lazy dog. " * 20)
    for bad in (payload[: len(payload) // 2], b"\x00garbage\xff" * 3):
        try:
            out = c.decompress(bad)
        except CorruptPayload:
            continue
        assert out != c.decompress(payload) or name == "ppmd"  # PPMd has no check of its own: the container's catches it


def test_defaults_are_the_strongest_settings():
    assert {n: classical(n).level for n in ("xz", "zpaq", "ppmd")} == {"xz": XZ_9E, "zpaq": 5, "ppmd": 8}
    assert CODECS["xz"].description == "xz -9e (LZMA2)"
    data = bytes(range(256)) * 40
    assert get("xz").compress(data) == lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    assert get("xz", level=9).decompress(lzma.compress(data, preset=9)) == data  # archives made at -9 still decode


def test_ppmd_payload_states_order_and_memory():
    data = b"abracadabra " * 50
    p = get("ppmd", level=6).compress(data)
    assert p[:2] == bytes([6, 28]) and get("ppmd").decompress(p) == data  # decodes whatever the level asked
    with pytest.raises(CorruptPayload):
        get("ppmd").decompress(bytes([6, 40]) + p[2:])  # memory beyond 256 MiB: refused
    with pytest.raises(CorruptPayload):
        get("ppmd").decompress(p[:3] + p[3:5])  # stream short of the stated length


@pytest.mark.parametrize("name", sorted(CODECS))
@settings(max_examples=15, deadline=None)
@given(data=st.binary(min_size=1, max_size=600))
def test_the_limit_is_the_length_exactly(name, data):
    c = get(name)
    payload = c.compress(data)
    assert c.decompress(payload, limit=len(data)) == data
    with pytest.raises(CorruptPayload):
        c.decompress(payload, limit=len(data) - 1)
