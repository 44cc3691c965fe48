"""The exact Llama engine's compiled kernels (numba): attention weights, and the output
distribution's token intervals, each the same integers on every path (invariant 2, README).

Attention weights: for query row ``q`` of ``logits`` (integer dot products of int8 queries and
keys, exact in fp32), in this order and each a correctly rounded fp32 operation: the logit in
exp-table steps (dot x query scale) x key scale, the table entry at round-half-to-even(max - logit)
(at most the last, zero, entry), their sum (integers below 2^24: exact in any order), then the
weights floor((entry x (2^16 / sum)) x (value scale / largest value scale seen)): integers summing
to at most 2^16 + 1, so that the weighted sums of int8 values are exact fp32 GEMMs. Only the
first ``visible[q]`` keys count (causal masking; a cached step sees every slot it has filled).
The teacher-forced sequence and the cached step call this one routine, so they agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .exact_kernels import integer_cdf

ATTN_ONE = np.float32(65536.0)  # attention weights are integers summing to at most 2^16 (+1)


@njit(cache=True, parallel=True)
def attention_weights(logits, q_s, k_s, v_s, visible, lut, w, v_top) -> None:
    """w[r, q, j] = query (r, q)'s integer weight of key j, v_top[r, q] its largest value scale:
    ``logits`` [R, Q, K] integer dot products, q_s [R, Q] query scales (in exp-table steps),
    k_s and v_s [R, K] key and value scales, visible [Q] keys each query sees, ``lut`` the exp
    table (fp32 integers)."""
    rows, queries, keys = logits.shape
    last = np.float32(len(lut) - 1)
    for i in prange(rows * queries):
        r, q = i // queries, i % queries
        n = visible[q]
        s = q_s[r, q]
        row = w[r, q]
        top = np.float32(-np.inf)
        vmax = np.float32(0.0)
        for j in range(n):
            x = (logits[r, q, j] * s) * k_s[r, j]
            row[j] = x
            top = max(top, x)
            vmax = max(vmax, v_s[r, j])
        total = np.float32(0.0)
        for j in range(n):
            e = lut[np.int64(min(np.rint(top - row[j]), last))]
            row[j] = e
            total += e
        scale = (np.float32(1.0) / total) * ATTN_ONE
        for j in range(n):
            row[j] = np.floor((row[j] * scale) * (v_s[r, j] / vmax))
        for j in range(n, keys):
            row[j] = np.float32(0.0)
        v_top[r, q] = vmax


@njit(cache=True, parallel=True)
def int8_rows(x, wt, out) -> None:
    """out [B, N] = x [B, K] @ wt.T for int8 x and wt [N, K], in int32: exact (|product| <= 127^2
    fits int16, sums of up to 2^17 of them fit int32). For the few rows of a decoding step, where
    reading the weights once as int8 beats reading them as fp32 for a GEMM."""
    rows, k_len = x.shape
    for n in prange(wt.shape[0]):
        wn = wt[n]
        for b in range(rows):
            xb = x[b]
            acc = np.int32(0)
            for k in range(k_len):
                acc += np.int32(np.int16(xb[k]) * np.int16(wn[k]))
            out[b, n] = acc


@njit(cache=True, parallel=True)
def token_intervals(z, r, lut, spare, tokens, low, high, total) -> None:
    """The intervals of ``tokens`` [N] under the integer CDFs of logits z [N, V] x r [N, 1]
    (``exact_kernels.integer_cdf``'s, one row at a time, so never [N, V+1] of them at once):
    low[n] = cdf[token], high[n] = cdf[token + 1], total[n] = cdf[V]."""
    for n in prange(len(z)):
        cdf = np.empty((1, z.shape[1] + 1), np.int64)
        integer_cdf(z[n : n + 1], r[n : n + 1], lut, spare, cdf)
        low[n], high[n], total[n] = cdf[0, tokens[n]], cdf[0, tokens[n] + 1], cdf[0, -1]
