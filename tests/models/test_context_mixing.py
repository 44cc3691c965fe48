"""The mixing model: integer tables, shared updates (order-independent up to version 3, lane after
lane from version 4), and a match model that learns."""

import numpy as np
import pytest

from nct.coding.binary import BinaryEncoderBatch
from nct.models.context_mixing import SQUASH, STRETCH, ContextMixer, MixConfig, m1_bit_probabilities


def test_squash_and_stretch_are_inverse_integer_tables():
    assert SQUASH.dtype == np.int64 and STRETCH.dtype == np.int64
    assert SQUASH[0] >= 0 and SQUASH[-1] <= 4095 and (np.diff(SQUASH) >= 0).all()
    for p in range(1, 4095, 7):
        assert abs(int(SQUASH[STRETCH[p] + 2047]) - p) <= max(2, p // 40, (4096 - p) // 40)


def test_m1_bit_probabilities_are_the_subtree_masses():
    freq = np.arange(1, 257)
    cdf = np.concatenate([[0], np.cumsum(freq)])[None, :]
    p = m1_bit_probabilities(cdf, np.array([0b10010110]))[0]
    assert p[0] == int(freq[128:].sum() * 4096 // freq.sum())  # P(byte >= 128)
    lo, mid, hi = 0b10000000, 0b10100000, 0b11000000  # within 0b10xxxxxx: P(third bit = 1)
    assert p[2] == int(freq[mid:hi].sum() * 4096 // freq[lo:hi].sum())
    assert p[7] == int(freq[0b10010111] * 4096 // freq[0b10010110 : 0b10011000].sum())


def _run(data: np.ndarray, cfg: MixConfig, order: np.ndarray | None = None) -> np.ndarray:
    """Code lanes of bytes with M1 uniform; the mixer's probabilities [lanes, T, 8], lanes in ``order``."""
    lanes, length = data.shape
    order = np.arange(lanes) if order is None else order
    mixer = ContextMixer(lanes, length, cfg)
    enc = BinaryEncoderBatch(lanes, length)
    out = np.zeros((lanes, length, 8), np.int64)
    columns = np.ascontiguousarray(data[order].T)
    p_m1 = np.full((lanes, length, 8), 2048, np.int16)
    for t in range(length):
        mixer.encode_byte(t, np.ones(lanes, bool), columns[t], p_m1, enc)
        out[:, t] = mixer.probabilities
    inverse = np.argsort(order)
    return out[inverse]


def test_lane_order_does_not_change_any_probability_up_to_version_3():
    rng = np.random.default_rng(1)
    text = np.frombuffer(b"the cat sat on the mat; the dog sat on the log. " * 8, np.uint8).astype(np.int64)
    data = np.stack([np.roll(text, k)[:96] for k in range(5)])
    data[3] = rng.integers(0, 256, 96)
    cfg = MixConfig(table_bits=14, match_bits=12, version=3)
    a = _run(data, cfg)
    b = _run(data, cfg, order=np.array([3, 0, 4, 1, 2]))
    assert (a == b).all()


def _cost(data: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Bits each byte cost [lanes, T] under the mixer's probabilities ``p`` [lanes, T, 8]."""
    bits = (data[..., None] >> (7 - np.arange(8))) & 1
    return -np.log2(np.where(bits == 1, p, 4096 - p) / 4096).sum(axis=-1)


@pytest.mark.parametrize("version", [3, 4])
def test_from_version_4_a_lane_learns_from_the_lanes_before_it_in_the_same_step(version):
    rng = np.random.default_rng(2)
    data = np.repeat(rng.integers(0, 256, (1, 64)), 2, axis=0)  # two identical random lanes
    cost = _cost(data, _run(data, MixConfig(table_bits=14, match_bits=12, version=version)))
    if version >= 4:  # lane 1 codes each byte after lane 0 has taught the tables that very byte
        assert cost[1, 8:].mean() < cost[0, 8:].mean() - 2
    else:  # both lanes predict from the same tables
        assert (cost[0] == cost[1]).all()


def test_repetition_is_learnt():
    text = np.frombuffer(b"0123456789abcdefghij" * 20, np.uint8).astype(np.int64)[None, :]
    p = _run(text, MixConfig(table_bits=14, match_bits=12))
    bits = (text[0, :, None] >> (7 - np.arange(8))) & 1
    cost = -np.log2(np.where(bits == 1, p[0], 4096 - p[0]) / 4096).sum(axis=1)
    assert cost[:20].mean() > 6  # first pass: M1 says uniform
    assert cost[-100:].mean() < 0.5  # the match and context models have it


@pytest.mark.parametrize("bad", [{"orders": [3, 2]}, {"orders": [17]}, {"table_bits": 30}, {"match_min": 1}, {"lr": 0}, {"version": 5}, {"nope": 1}])
def test_bad_configs_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        MixConfig.from_dict(bad)
