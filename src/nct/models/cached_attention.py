"""M1's attention for one new token per sequence over its key/value cache, compiled with numba.

A decoding step reads every cached key and value once per layer; held as int8-valued fp32 and
multiplied by ``torch.bmm`` with 2 query rows per key/value head, that read is the step's main cost.
Here the cache holds int8 and the kernel makes the same computation as the engine's ``_attend``,
operation for operation: dot products of int8-valued numbers (integers below 2^24, exact in fp32 in
any order, as on the full-sequence path), then the same correctly rounded fp32 multiplications,
additions, rounding (half to even), exp-table lookup, reciprocal and floor, and P @ V sums that are
again integers below 2^24 (summed in any order: exact). So its output is bit-identical to the teacher-forced path's at every
position, which the engine's tests check.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"reassoc", "contract"})
def _weighted_sums(w: np.ndarray, vt: np.ndarray, span: int, out: np.ndarray) -> None:
    """out[d] = sum_j w[j] * vt[d, j] for j < span: attention weights (integers summing to at most
    2^16) times int8 values, integers below 2^24 in every partial sum, so any order is exact. The
    one place where reordering is allowed (it lets the sums run in vector registers)."""
    for d in range(vt.shape[0]):
        total = np.float32(0.0)
        row = vt[d]
        for j in range(span):
            total += w[j] * np.float32(row[j])
        out[d] = total


@njit(cache=True)
def attend_step(q, q_s, k_new, k_s_new, v_new, k, k_s, v, pos, span, bias_by_distance, lut, v_out, out) -> None:
    """Store each sequence's new key k_new[b * kv + h, 0] (int-valued fp32 [dh], scale
    k_s_new[b * kv + h, 0, 0]) and value v_new[b * kv + h, 0] in slot pos[b] mod S of the ring
    caches, then out[b, h, gi] = attention of query q[b * kv + h, gi] ([dh], int-valued fp32, scale
    q_s[b * kv + h, gi, 0]) over their first ``span`` slots. The caches: keys k (int8 [B, kv, dh, S],
    transposed so that the dot products run along slots), key scales k_s [B, kv, 1, S], values v
    (int8 [B, kv, dh, S], transposed alike). Slot j holds position p = j (mod S) at distance
    (pos - j) mod S; slots past ``pos`` are masked. ``bias_by_distance`` [heads, distances] is in
    exp-table steps, ``lut`` the exp table, ``v_out`` [kv, 1, dh] the values' output scale."""
    n, kv, dh, slots = k.shape
    g = q.shape[1]
    for b in range(n):
        here = pos[b] % slots
        for h in range(kv):
            row = b * kv + h
            k_s[b, h, 0, here] = k_s_new[row, 0, 0]
            for d in range(dh):
                k[b, h, d, here] = np.int8(k_new[row, 0, d])
                v[b, h, d, here] = np.int8(v_new[row, 0, d])
    last = np.float32(len(lut) - 1)
    logits = np.empty((g, span), np.float32)
    acc = np.empty(dh, np.float32)
    for b in range(n):
        p_b = pos[b]
        here = p_b % slots  # the slot of position p_b: distance here - j, or + slots past it
        for h in range(kv):
            row = b * kv + h
            logits[:] = 0
            for d in range(dh):  # integer sums below 2^24, in a fixed order
                kd = k[b, h, d]
                for gi in range(g):
                    qd = q[row, gi, d]
                    for j in range(span):
                        logits[gi, j] += qd * np.float32(kd[j])
            for gi in range(g):
                top = np.float32(-np.inf)
                for j in range(span):
                    if j > p_b:
                        x = np.float32(-np.inf)
                    else:
                        x = (logits[gi, j] * q_s[row, gi, 0]) * k_s[b, h, 0, j]
                        x = x + bias_by_distance[h * g + gi, here - j if j <= here else here - j + slots]
                    logits[gi, j] = x
                    if x > top:
                        top = x
                total = np.float32(0.0)
                for j in range(span):  # the exp table's entries, in place of the logits
                    logits[gi, j] = lut[np.int64(min(np.rint(-(logits[gi, j] - top)), last))]
                    total += logits[gi, j]
                r = (np.float32(1.0) / total) * np.float32(65536.0)
                for j in range(span):
                    logits[gi, j] = np.floor(logits[gi, j] * r)
                _weighted_sums(logits[gi], v[b, h], span, acc)
                for d in range(dh):
                    out[b, h, gi, d] = acc[d] * v_out[h, 0, d]
