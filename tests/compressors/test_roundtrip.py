"""Invariant 1 (README): decompress(compress(x)) == x for every method and every byte string."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.compressors import available, get
from nct.compressors.base import Compressor, CorruptPayload
from nct.compressors.neural import Unigram
from nct.data.corpus import embedded

CLASSICAL = ["gzip", "bz2", "xz", "zstd", "brotli"]
SAMPLES = [b"", b"a", b"\x00" * 1000, bytes(range(256)) * 4, "naïve café — 日本語 ✓".encode(), b"\xff\xfe\x80 invalid utf8 \xc3"]


def _neural(name, tiny_m1, block):
    return get(name, model=tiny_m1 if name == "ac" else Unigram.fit(b"hello world"), block=block)


def test_registry_lists_every_method():
    assert set(CLASSICAL) | {"ac", "static-ac"} <= set(available())
    with pytest.raises(ValueError, match="unknown compression method"):
        get("nope")


@pytest.mark.parametrize("name", CLASSICAL)
@pytest.mark.parametrize("data", SAMPLES)
def test_classical_round_trip(name, data):
    c = get(name)
    assert isinstance(c, Compressor)
    assert c.decompress(c.compress(data)) == data


@pytest.mark.parametrize("name", ["ac", "static-ac"])
@pytest.mark.parametrize("data", SAMPLES)
def test_neural_round_trip(name, data, tiny_m1):
    c = _neural(name, tiny_m1, block=100)
    assert c.decompress(c.compress(data)) == data


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=300), block=st.integers(1, 120))
def test_ac_round_trip_property(tiny_m1, data, block):
    c = _neural("ac", tiny_m1, block)
    assert c.decompress(c.compress(data)) == data


def test_ac_on_real_text_in_lockstep_batches(tiny_m1):
    text = embedded("validation").documents[0].data[:3000]
    c = get("ac", model=tiny_m1, block=256, batch=4)  # 12 blocks in 3 lockstep groups
    assert c.decompress(c.compress(text)) == text


def test_block_length_is_capped_by_a_full_attention_context(tiny_m1_full):
    c = get("ac", model=tiny_m1_full, block=4096)
    assert c.params()["block"] == tiny_m1_full.cfg.context
    data = bytes(range(200))
    assert c.decompress(c.compress(data)) == data


def test_static_ac_compresses_skewed_data():
    c = get("static-ac")
    text = embedded("validation").documents[0].data[:20000]
    assert 8 * len(c.compress(text)) / len(text) < 5.0


@pytest.mark.parametrize("name", CLASSICAL + ["ac"])
def test_damaged_payload_is_reported(name, tiny_m1):
    c = _neural(name, tiny_m1, 64) if name == "ac" else get(name)
    payload = c.compress(b"some text to compress " * 20)
    with pytest.raises(CorruptPayload):
        c.decompress(payload[: len(payload) // 2])
