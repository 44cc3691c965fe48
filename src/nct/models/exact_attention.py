"""M1's attention, exact and compiled with numba: the same integers on every path.

Keys and values are int8 (the engine quantizes them so); queries are int8-valued fp32 with a scale
per row. For one query the kernel takes, in this order: integer dot products with its keys (exact
in fp32: integers below 2^24, so the order of the sums does not matter), times the query's scale,
times each key's scale, plus the relative-position bias (each a correctly rounded fp32 operation);
the exp table indexed by round-half-to-even(max - logit) (at most the table's last, zero, entry);
weights floor(e * (65536 / sum e)); then the weighted sums of the values (integers below 2^24 again,
any order) times the values' output scale. A full sequence (teacher forcing) and a cached step
(one new token per sequence over a ring cache) call the same routine for each query, so they agree
bit for bit at every position, in any batch, on any CPU.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"reassoc", "contract"})
def _weighted_sums(w: np.ndarray, vt: np.ndarray, out: np.ndarray) -> None:
    """out[d] = sum_j w[j] * vt[d, j]: attention weights (integers summing to at most 2^16) times
    int8 values, integers below 2^24 in every partial sum, so any order is exact. The one place
    where reordering is allowed (it lets the sums run in vector registers)."""
    for d in range(vt.shape[0]):
        total = np.float32(0.0)
        row = vt[d]
        for j in range(len(w)):
            total += w[j] * np.float32(row[j])
        out[d] = total


@njit(cache=True)
def _dots(q, kt, logits) -> None:
    """logits[gi, j] = q[gi] . kt[:, j]: sums of int8-valued products, exact."""
    n = kt.shape[1]
    for gi in range(q.shape[0]):
        row = logits[gi]
        row[:n] = 0
        for d in range(kt.shape[0]):
            qd, kd = q[gi, d], kt[d]
            for j in range(n):
                row[j] += qd * np.float32(kd[j])


@njit(cache=True)
def _attend(logits, j0, here, wrap, q_s, k_s, bias, lut, vt, v_out, out) -> None:
    """out = attention given a query's dot products ``logits`` with keys j0 + i (i < len(k_s)),
    at distance here - j0 - i (plus ``wrap`` past ``here``: a ring), scale q_s and key scales k_s;
    vt [dh, len(k_s)] are their values; ``bias`` [distances] is the head's, in exp-table steps.
    ``logits`` is overwritten."""
    n = len(k_s)
    top = np.float32(-np.inf)
    for i in range(n):
        j = j0 + i
        x = (logits[i] * q_s) * k_s[i] + bias[here - j + (wrap if j > here else 0)]
        logits[i] = x
        if x > top:
            top = x
    last = np.float32(len(lut) - 1)
    total = np.float32(0.0)
    for i in range(n):  # the exp table's entries, in place of the logits
        logits[i] = lut[np.int64(min(np.rint(-(logits[i] - top)), last))]
        total += logits[i]
    r = (np.float32(1.0) / total) * np.float32(65536.0)
    for i in range(n):
        logits[i] = np.floor(logits[i] * r)
    _weighted_sums(logits[:n], vt, out)
    for d in range(len(out)):
        out[d] = out[d] * v_out[d]


@njit(cache=True)
def attend_sequence(q, q_s, kt, k_s, vt, window, bias_by_distance, lut, v_out, out) -> None:
    """Teacher forcing: out[b, t, h, gi] = attention of query q[b * kv + h, t, gi] (int-valued
    fp32 [dh], scale q_s[b * kv + h, t, gi]) over the keys kt[b * kv + h] (int8 [dh, T]; scales
    k_s[b * kv + h, 0]) and values vt (int8 [dh, T]) at positions t - window < p <= t (all p <= t
    when ``window`` is 0)."""
    n, t_len, kv, g, _ = out.shape
    logits = np.empty((g, t_len), np.float32)
    for row in range(n * kv):
        b, h = row // kv, row % kv
        for t in range(t_len):
            a0 = max(0, t - window + 1) if window else 0
            _dots(q[row, t], kt[row, :, a0 : t + 1], logits)
            for gi in range(g):
                _attend(logits[gi], a0, t, 0, q_s[row, t, gi], k_s[row, 0, a0 : t + 1], bias_by_distance[h * g + gi], lut,
                        vt[row, :, a0 : t + 1], v_out[h, 0], out[b, t, h, gi])


@njit(cache=True)
def attend_step(q, q_s, k_new, k_s_new, v_new, k, k_s, v, pos, bias_by_distance, lut, v_out, out) -> None:
    """A cached step: store each sequence's new key k_new[b * kv + h, 0] (int-valued fp32 [dh],
    scale k_s_new[b * kv + h, 0, 0]) and value v_new[b * kv + h, 0] in slot pos[b] mod S of the
    ring caches k, v (int8 [B, kv, dh, S]) and k_s ([B, kv, 1, S]), then out[b, h, gi] = attention
    of query q[b * kv + h, gi] (scale q_s[b * kv + h, gi, 0]) over the slots holding positions
    pos[b] - S < p <= pos[b] (slot j holds p = j mod S)."""
    n, kv, dh, slots = k.shape
    g = q.shape[1]
    logits = np.empty((g, slots), np.float32)
    for b in range(n):
        p = pos[b]
        here = p % slots
        span = slots if p >= slots else here + 1  # past ``here``: the oldest positions, once wrapped
        for h in range(kv):
            row = b * kv + h
            k_s[b, h, 0, here] = k_s_new[row, 0, 0]
            for d in range(dh):
                k[b, h, d, here] = np.int8(k_new[row, 0, d])
                v[b, h, d, here] = np.int8(v_new[row, 0, d])
            _dots(q[row], k[b, h, :, :span], logits)
            for gi in range(g):
                _attend(logits[gi], 0, here, slots, q_s[row, gi, 0], k_s[b, h, 0, :span], bias_by_distance[h * g + gi], lut,
                        v[b, h, :, :span], v_out[h, 0], out[b, h, gi])
