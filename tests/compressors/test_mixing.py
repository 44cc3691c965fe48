"""CM: round trips on any bytes, stored fallback, lockstep sharing, damaged payloads."""

import os
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.compressors import get
from nct.compressors.base import CorruptPayload
from nct.compressors.mixing import segment_size

SMALL = {"table_bits": 14, "match_bits": 12}


def _cm(tiny_m1, block=64, **kw):
    return get("cm", model=tiny_m1, block=block, mix=SMALL, workers=1, **kw)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_round_trip(tiny_m1, data):
    c = _cm(tiny_m1, block=48)
    assert c.decompress(c.compress(data)) == data


def test_column_models_learn_records(tiny_m1):
    """Version 3's models of the line above pay on fixed-width records (and cost little elsewhere)."""
    rng = np.random.default_rng(3)
    records = b"".join(b"%05.1f,2010/%02d/%02d %02d:00\n" % (40 + rng.integers(0, 200) / 10, 1 + i // 744, 1 + i // 24 % 31, i % 24) for i in range(400))
    sizes = {v: len(get("cm", model=tiny_m1, block=256, mix={**SMALL, "version": v}, workers=1).compress(records)) for v in (2, 3)}
    assert sizes[3] < 0.9 * sizes[2]
    c = get("cm", model=tiny_m1, block=256, mix={**SMALL, "version": 3}, workers=1)
    assert c.decompress(c.compress(records)) == records


def test_text_round_trip_and_repetition_pays(tiny_m1):
    text = b"".join(b"line %d: status ok, value=%d\n" % (i % 7, i % 3) for i in range(120))
    c = _cm(tiny_m1)
    payload = c.compress(text)
    assert c.decompress(payload) == text
    ac = get("ac", model=tiny_m1, block=64)
    assert len(payload) < 0.5 * len(ac.compress(text))


def test_random_bytes_are_stored_and_cost_at_most_8_05_bits(tiny_m1):
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    c = _cm(tiny_m1, block=256)
    payload = c.compress(data)
    assert 8 * len(payload) / len(data) <= 8.05
    assert c.decompress(payload) == data


def test_workers_do_not_change_the_payload(tiny_m1):
    data = b"abcabcabd" * 2000  # 18 KB in blocks of 16: two segments of at most 1024 blocks
    assert segment_size(len(data), 16) < len(data)
    one = get("cm", model=tiny_m1, block=16, mix=SMALL, workers=1).compress(data)
    two = get("cm", model=tiny_m1, block=16, mix=SMALL, workers=2).compress(data)
    assert one == two
    assert get("cm", model=tiny_m1, block=16, mix=SMALL, workers=2).decompress(one) == data


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
@pytest.mark.parametrize("version", [3, 4])
def test_a_segment_decodes_with_its_m1_steps_over_two_processes(tiny_m1, monkeypatch, version):
    from nct.compressors import mixing

    groups = []

    @contextmanager
    def recorded(*args, **kwargs):
        with mixing_step_group(*args, **kwargs) as group:
            groups.append(len(group.children))
            yield group

    mixing_step_group = mixing.step_group
    monkeypatch.setattr(mixing, "step_group", recorded)
    data = bytes(np.random.default_rng(1).integers(97, 100, 6000, dtype=np.uint8))  # one segment of 375 blocks
    coder = get("cm", model=tiny_m1, block=16, mix={**SMALL, "version": version}, workers=2)
    payload = coder.compress(data)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert coder.decompress(payload) == data
    finally:
        torch.set_num_threads(threads)
    assert groups == [1]  # one child beside this process


def test_segments_depend_on_length_only():
    assert segment_size(1000, 1024) == 1024
    assert segment_size(200 * 1024, 1024) == 200 * 1024  # one segment up to 1024 blocks
    assert segment_size(3 << 20, 1024) == 1 << 20
    assert segment_size((1 << 20) + 1, 1024) == 513 * 1024


@pytest.mark.parametrize("cut", [1, 3, 10])
def test_truncated_or_padded_payload_is_corrupt(tiny_m1, cut):
    c = _cm(tiny_m1)
    payload = c.compress(b"hello world, hello world " * 10)
    with pytest.raises(CorruptPayload):
        c.decompress(payload[:-cut])
    with pytest.raises(CorruptPayload):
        c.decompress(payload + b"\x00" * cut)


@pytest.mark.parametrize(
    "fixture, source, size, block, mix",
    [
        ("cm-v4-airports.payload", ["airports.csv"], 5000, 1024, {}),  # the default
        ("cm-v3-airports.payload", ["airports.csv"], 5000, 1024, {"version": 3}),
        ("cm-default-alice.payload", ["airports.csv"], 3000, 1024, {"version": 2}),  # the default until version 3
        # a small v1 config (no APM) over random bytes then text: stored and coded blocks
        ("cm-v1-mixed.payload", ["random", "bash.1.ja"], 16000, 256,
         {"orders": [1, 2, 5], "table_bits": 12, "match_min": 4, "match_bits": 12, "rate_limit": 30, "lr": 5, "version": 1}),
    ],
)
def test_payloads_of_every_version_are_reproduced_and_decode(fixture, source, size, block, mix):
    """Recorded payloads of each mixing-model version, under the shipped default M1: the same bytes
    today, and they decode. (v1 and v2 were recorded with the numpy implementation, before the
    compiled loops, and re-recorded with v3 and v4 when M1 was made exact on every instruction set.)"""
    from pathlib import Path

    from nct.data.suites import load_suite

    suite = load_suite("unseen")
    if source[0] == "random":
        data = np.random.default_rng(7).integers(0, 256, 9000, dtype=np.uint8).tobytes() + suite[source[1]][:7000]
    else:
        data = suite[source[0]][:size]
    payload = (Path(__file__).parent.parent / "fixtures" / fixture).read_bytes()
    c = get("cm", block=block, mix=mix, workers=1)
    assert c.coder.compress(data) == payload
    assert c.coder.decompress(payload) == data


@pytest.mark.parametrize("version", [3, 4])
def test_streams_that_claim_more_than_they_hold_stop_early(tiny_m1, version):
    """16 blocks of 64 KiB from random streams (version 3: 20 bytes per block; 4: 400 bytes for the
    segment): each decoder runs past its stream long before its block is done, and decoding stops
    there (not after a million steps)."""
    import time

    from nct.coding.varint import write_varint

    block, lanes = 1 << 16, 16
    rng = np.random.default_rng(5)
    payload = write_varint(block * lanes) + write_varint(block) + write_varint(block * lanes)
    for k in [20] * lanes if version == 3 else [400]:
        payload += write_varint(k + 1) + rng.integers(0, 256, k, dtype=np.uint8).tobytes()
    c = get("cm", model=tiny_m1, block=block, mix={**SMALL, "version": version}, workers=1)
    start = time.perf_counter()
    with pytest.raises(CorruptPayload, match="ends before"):
        c.coder.decompress(payload)
    assert time.perf_counter() - start < 20
