"""The exact Llama engine's compiled kernels: exact integer dot products and weighted sums for any shape."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.models.llama_kernels import CHUNK, ROW_BLOCK, _dots, _weighted, int8_rows

SHAPES = st.tuples(st.integers(1, 2 * ROW_BLOCK + 3), st.integers(1, 3 * CHUNK + 5), st.integers(1, 9))


@settings(max_examples=40, deadline=None)
@given(SHAPES, st.integers(0, 2**32 - 1))
def test_int8_rows_are_exact_integer_products(shape, seed):
    rows, k, n = shape
    rng = np.random.default_rng(seed)
    x = rng.integers(-127, 128, (rows, k)).astype(np.int16)
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    out = np.empty((rows, n), np.int32)
    int8_rows(x, w, out)
    assert np.array_equal(out, x.astype(np.int64) @ w.astype(np.int64).T)


def test_int8_rows_reach_the_extremes_without_overflow():
    x, w = np.full((3, 1536), -127, np.int16), np.full((5, 1536), -127, np.int8)
    out = np.empty((3, 5), np.int32)
    int8_rows(x, w, out)
    assert (out == 127 * 127 * 1536).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2 * CHUNK + 9), st.integers(1, 11), st.integers(0, 2**32 - 1))
def test_cached_attention_dots_are_exact(rows, group, dh, keys, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(-127, 128, (rows, group, dh)).astype(np.int8)
    k = rng.integers(-127, 128, (rows, keys + 2, dh)).astype(np.int8)
    dots = np.zeros((rows, group, keys + 2), np.float32)
    _dots(q, k, keys, dots)
    expected = np.einsum("rgd,rsd->rgs", q.astype(np.int64), k.astype(np.int64))[:, :, :keys]
    assert np.array_equal(dots[:, :, :keys], expected)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 7), st.integers(1, 3 * 2 * CHUNK + 5), st.integers(1, 11), st.integers(0, 2**32 - 1))
def test_cached_attention_weighted_sums_are_exact(kv, group, dh, keys, seed):
    rng = np.random.default_rng(seed)
    rows = 2 * kv
    w = np.floor(rng.random((rows, group, keys + 1)) * (65537 / keys)).astype(np.float32)  # integers summing to <= 2^16 + 1
    v = rng.integers(-127, 128, (rows, keys + 2, dh)).astype(np.int8)
    v_top = rng.random((rows, group)).astype(np.float32)
    attention = np.empty((2, kv * group * dh), np.float32)
    _weighted(w, v, v_top, keys, kv, attention)
    sums = np.einsum("rgt,rtd->rgd", w[:, :, :keys].astype(np.int64), v[:, :keys].astype(np.int64)).astype(np.float32)
    assert np.array_equal(attention, (sums * (v_top * np.float32(1 / 65536))[..., None]).reshape(2, -1))
