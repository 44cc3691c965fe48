"""The vectorised binary arithmetic coder: every lane decodes to its own bits, at any probability."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.coding.binary import BinaryDecoderBatch, BinaryEncoderBatch


def _round_trip(bits: np.ndarray, probs: np.ndarray, active: np.ndarray) -> np.ndarray:
    lanes, steps = bits.shape
    enc = BinaryEncoderBatch(lanes, 8 * steps)
    for t in range(steps):
        enc.encode(bits[:, t], probs[:, t], active[:, t])
    dec = BinaryDecoderBatch(enc.finish())
    out = np.zeros_like(bits)
    for t in range(steps):
        out[:, t] = dec.decode(probs[:, t], active[:, t])
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 300), st.integers(0, 2**32 - 1), st.sampled_from(["uniform", "extreme", "wrong"]))
def test_lanes_decode_their_bits(lanes, steps, seed, kind):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (lanes, steps))
    if kind == "uniform":
        probs = rng.integers(1, 4096, (lanes, steps))
    elif kind == "extreme":  # confident and right
        probs = np.where(bits == 1, 4095, 1)
    else:  # confident and wrong: the interval shrinks fastest
        probs = np.where(bits == 1, 1, 4095)
    active = rng.random((lanes, steps)) < 0.9
    out = _round_trip(bits, probs, active)
    assert (out == np.where(active, bits, 0)).all()


def test_cost_is_close_to_the_information():
    rng = np.random.default_rng(0)
    p = 600  # P(1) = 600/4096
    bits = (rng.integers(0, 4096, (4, 20000)) < p).astype(np.int64)
    enc = BinaryEncoderBatch(4, 20000)
    for t in range(bits.shape[1]):
        enc.encode(bits[:, t], np.full(4, p), np.ones(4, bool))
    sizes = [len(s) for s in enc.finish()]
    q = p / 4096
    ideal = -(bits * np.log2(q) + (1 - bits) * np.log2(1 - q)).sum(axis=1) / 8
    assert all(s <= i * 1.002 + 2 for s, i in zip(sizes, ideal))
