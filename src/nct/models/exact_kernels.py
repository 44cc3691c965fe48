"""M1's compiled kernels (numba): per-row int8 quantization, the integer CDF, and the whole cached
step of a small batch, with the same integers as the engine's PyTorch path.

A step of a few rows is a few thousand multiply-adds per operation, and ``M1.step`` runs about a
hundred PyTorch operations, so for small batches (decoding a small file: 4 rows of 1,024 bytes)
their dispatch costs several times the arithmetic. This routine does the same operations in the
same order, each with the same correctly rounded fp32 arithmetic or exact integer sums
(invariant 2, README), in one compiled call: int8 x int8 products summed in int32 (exact in any order, as
``torch._int_mm``), the per-row quantization and the integer CDF below (which the PyTorch
path calls too), and the attention of ``nct.models.exact_attention`` itself. So its CDFs are the engine's, bit for
bit, which the tests check against the full-sequence and the PyTorch step paths. Large batches
stay on PyTorch, whose int8 GEMMs are faster there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .exact_attention import attend_step

QMAX = 127.0  # int8 grid
OUT_LUT_STEPS = 256  # steps per nat of the output distribution's exp table


@njit(cache=True, inline="always")
def _quantize(x: np.ndarray, normalize: bool, q: np.ndarray) -> np.float32:
    """One row of ``quantize_int8``: int8 q of x, and the row's scale."""
    k = len(x)
    amax = np.float32(1e-30)
    for j in range(k):
        amax = max(amax, abs(x[j]))
    inv = (np.float32(1.0) / amax) * np.float32(QMAX)
    total = 0
    for j in range(k):
        v = np.rint(x[j] * inv)
        q[j] = np.int8(v)
        total += np.int64(v) * np.int64(v)
    if normalize:
        return np.float32(1.0) / np.sqrt(np.float32(max(total, 1)) * np.float32(1.0 / k))
    return amax * np.float32(1.0 / QMAX)


@njit(cache=True)
def quantize_int8(x: np.ndarray, normalize: bool, q: np.ndarray, r: np.ndarray) -> None:
    """``quantize_rows`` of each row of x into int8 q, with the same fp32 operations: amax =
    max(max |x|, 1e-30), q = round(x * ((1 / amax) * 127)); r = amax * (1 / 127), or with
    ``normalize`` RMSNorm's scale 1 / sqrt(max(sum(q^2), 1) * (1 / k)) (the sum exact: integers below
    2^24; then correctly rounded fp32 operations: torch's vectorized sqrt is not correctly rounded
    on every CPU, so it is not used)."""
    for n in range(len(x)):
        r[n, 0] = _quantize(x[n], normalize, q[n])


@njit(cache=True)
def integer_cdf(z: np.ndarray, r: np.ndarray, lut: np.ndarray, spare: int, out: np.ndarray) -> None:
    """out[n] = the integer CDF of logits z[n] * r[n]: e = lut[min(round((max z - z) * (r * 256)),
    last)] (fp32 operations, rounding half to even), frequencies e * spare // sum(e) + 1 (int64),
    and their running sums after a leading 0."""
    last = np.float32(len(lut) - 1)
    e = np.empty(z.shape[1], np.int64)
    for n in range(len(z)):
        top, s = z[n, 0], r[n, 0] * np.float32(OUT_LUT_STEPS)
        for v in range(z.shape[1]):
            top = max(top, z[n, v])
        total = 0
        for v in range(z.shape[1]):
            e[v] = lut[np.int64(min(np.rint((top - z[n, v]) * s), last))]
            total += e[v]
        acc = 0
        out[n, 0] = 0
        for v in range(z.shape[1]):
            acc += e[v] * spare // total + 1
            out[n, v + 1] = acc


@njit(cache=True)
def _matmul(x: np.ndarray, normalize: bool, w: np.ndarray, w_s: np.ndarray, q: np.ndarray, acc: np.ndarray,
            y: np.ndarray, r: np.ndarray) -> None:
    """M1._matmul of rows x [B, K] with int8 weights w [K, N] and column scales w_s [N]: y = the
    exact int32 sums as fp32 times w_s, r [B, 1] the rows' scales (q, acc: scratch)."""
    rows, k_len = x.shape
    n_len = w.shape[1]
    for b in range(rows):
        r[b, 0] = _quantize(x[b], normalize, q[b])
        for n in range(n_len):
            acc[b, n] = 0
        for k in range(k_len):
            a = np.int32(q[b, k])
            if a != 0:
                for n in range(n_len):
                    acc[b, n] += a * np.int32(w[k, n])
        for n in range(n_len):
            y[b, n] = np.float32(acc[b, n]) * w_s[n]


@njit(cache=True)
def step(tokens, pos, embed, weights, scales, v_inv, v_out, k_cache, k_scale, v_cache, bias, attn_lut, out_lut,
         n_heads, q_scale, spare, out) -> None:
    """``M1.step``'s CDFs into ``out`` [B, V+1] (int64) for ``tokens`` [B] at positions ``pos``:
    ``weights`` and ``scales`` hold qkv, o, w1, w2 of every layer then the head; caches as
    ``Cache`` holds them (numpy views), updated in place."""
    rows = len(tokens)
    d = embed.shape[1]
    layers = len(k_cache)
    kv, dh = k_cache[0].shape[1], k_cache[0].shape[2]
    g = n_heads // kv
    end = (n_heads + kv) * dh
    qkv, mlp, vocab = weights[0].shape[1], weights[2].shape[1], weights[-1].shape[1]
    x = np.empty((rows, d), np.float32)
    for b in range(rows):
        x[b] = embed[tokens[b]]
    # scratch of every shape (C-contiguous, so the matmuls' inner loops vectorize)
    q8, q8_mlp = np.empty((rows, d), np.int8), np.empty((rows, mlp), np.int8)
    acc_qkv, acc_d = np.empty((rows, qkv), np.int32), np.empty((rows, d), np.int32)
    acc_mlp, acc_vocab = np.empty((rows, mlp), np.int32), np.empty((rows, vocab), np.int32)
    y_qkv, y_d = np.empty((rows, qkv), np.float32), np.empty((rows, d), np.float32)
    h, z = np.empty((rows, mlp), np.float32), np.empty((rows, vocab), np.float32)
    r = np.empty((rows, 1), np.float32)
    r1 = np.empty((rows, 1), np.float32)
    head_q = np.empty(dh, np.int8)
    q = np.empty((rows * kv, g, dh), np.float32)
    q_s = np.empty((rows * kv, g, 1), np.float32)
    k_new = np.empty((rows * kv, 1, dh), np.float32)
    k_s_new = np.empty((rows * kv, 1, 1), np.float32)
    v_new = np.empty((rows * kv, 1, dh), np.float32)
    attention = np.empty((rows, kv, g, dh), np.float32)
    for layer in range(layers):
        w = 4 * layer
        _matmul(x, True, weights[w], scales[w], q8, acc_qkv, y_qkv, r)
        for b in range(rows):
            for head in range(n_heads + kv):  # queries and keys: quantized per token and head
                s = _quantize(y_qkv[b, head * dh : (head + 1) * dh], False, head_q) * r[b, 0]
                if head < n_heads:
                    row, gi = b * kv + head // g, head % g
                    q_s[row, gi, 0] = s * q_scale
                    for j in range(dh):
                        q[row, gi, j] = np.float32(head_q[j])
                else:
                    row = b * kv + head - n_heads
                    k_s_new[row, 0, 0] = s
                    for j in range(dh):
                        k_new[row, 0, j] = np.float32(head_q[j])
            for c in range(kv * dh):  # values on their fixed per-channel grid
                v = np.rint((y_qkv[b, end + c] * r[b, 0]) * v_inv[layer][c])
                v_new[b * kv + c // dh, 0, c % dh] = min(max(v, np.float32(-QMAX)), np.float32(QMAX))
        attend_step(q, q_s, k_new, k_s_new, v_new, k_cache[layer], k_scale[layer], v_cache[layer], pos, bias, attn_lut,
                    v_out[layer], attention)
        _matmul(attention.reshape(rows, d), False, weights[w + 1], scales[w + 1], q8, acc_d, y_d, r)
        for b in range(rows):
            for j in range(d):
                x[b, j] = x[b, j] + y_d[b, j] * r[b, 0]
        _matmul(x, True, weights[w + 2], scales[w + 2], q8, acc_mlp, h, r1)
        for b in range(rows):
            for j in range(mlp):
                h[b, j] = max(h[b, j], np.float32(0.0))
        _matmul(h, False, weights[w + 3], scales[w + 3], q8_mlp, acc_d, y_d, r)
        for b in range(rows):
            rb = r[b, 0] * r1[b, 0]
            for j in range(d):
                x[b, j] = x[b, j] + y_d[b, j] * rb
    _matmul(x, True, weights[-1], scales[-1], q8, acc_vocab, z, r)
    integer_cdf(z, r, out_lut, spare, out)
