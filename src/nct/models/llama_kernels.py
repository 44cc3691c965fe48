"""The exact Llama engine's compiled kernels (numba) for the CPU: attention weights, the output
distribution's token intervals, the per-row quantization, heads and SwiGLU of the teacher-forced
sequence, and the whole cached step in one call; each gives the integers of the PyTorch operations
``nct.models.llama`` runs on a GPU (invariant 2, README; the tests compare them).

The cached step (``step``) is what decoding runs once per token: PyTorch's per-operation dispatch
over 30 layers cost ~40 ms a step at one row, four times the arithmetic, so it runs compiled, its
matmuls in ``int8_rows`` (int8 weights read once per step) and its attention over int8 caches.

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
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .exact_kernels import _quantize, integer_cdf

ATTN_ONE = np.float32(65536.0)  # attention weights are integers summing to at most 2^16 (+1)
SIGMOID_STEPS, SIGMOID_RADIUS = 256, 32  # the SiLU's sigmoid table: steps per unit, over [-32, 32]


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


def _chunk_loads(builder, array, first, count: int, kind: ir.IntType):  # noqa: ANN001, ANN202
    """For rows first .. first + count - 1 of a C-order 2-D array of ``kind`` integers: a function
    (builder, chunk index) -> each row's vector of its chunk's CHUNK entries (unaligned loads)."""
    base = builder.bitcast(array.data, ir.PointerType(ir.IntType(8)))
    stride = builder.extract_value(array.strides, 0)
    starts = [builder.gep(base, [builder.mul(builder.add(first, ir.Constant(first.type, i)), stride)]) for i in range(count)]
    vector = ir.PointerType(ir.VectorType(kind, CHUNK))

    def loads(builder, chunk):  # noqa: ANN001, ANN202
        offset = builder.mul(chunk, ir.Constant(chunk.type, CHUNK * kind.width // 8))
        return [builder.load(builder.bitcast(builder.gep(p, [offset]), vector), align=1) for p in starts]

    return loads


def _dots_block(rows: int, cols: int):  # noqa: ANN202 (a numba intrinsic)
    """A numba intrinsic ``(x, b, w, n, chunks)``: the rows x cols int32 dot products (row-major
    tuple) of the int16 rows x[b : b + rows] and the int8 rows w[n : n + cols] over their first
    CHUNK x chunks entries, in LLVM vector operations (CHUNK lanes sign-extended to int32,
    multiplied, even and odd lanes added, accumulated) that x86 compiles to 256-bit ``vpmaddwd``;
    each loaded chunk serves a whole row or column of the block. Exact integers on any CPU."""
    i32 = ir.IntType(32)
    wide, half = ir.VectorType(i32, CHUNK), ir.VectorType(i32, CHUNK // 2)
    even, odd = ir.Constant(half, list(range(0, CHUNK, 2))), ir.Constant(half, list(range(1, CHUNK, 2)))

    @intrinsic
    def dots(typingctx, x, b, w, n, chunks):  # noqa: ANN001, ANN202
        def c_matrix(a, dtype) -> bool:  # noqa: ANN001
            return isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C" and a.dtype == dtype

        if not (c_matrix(x, types.int16) and c_matrix(w, types.int8)):
            return None
        result = types.UniTuple(types.int32, rows * cols)

        def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
            x_at = _chunk_loads(builder, context.make_array(signature.args[0])(context, builder, args[0]), args[1], rows, ir.IntType(16))
            w_at = _chunk_loads(builder, context.make_array(signature.args[2])(context, builder, args[2]), args[3], cols, ir.IntType(8))
            accs = [cgutils.alloca_once_value(builder, ir.Constant(half, None)) for _ in range(rows * cols)]
            with cgutils.for_range(builder, args[4]) as loop:
                xv = [builder.sext(v, wide) for v in x_at(builder, loop.index)]
                wv = [builder.sext(v, wide) for v in w_at(builder, loop.index)]
                for i in range(rows):
                    for j in range(cols):
                        p = builder.mul(xv[i], wv[j])
                        pairs = builder.add(builder.shuffle_vector(p, p, even), builder.shuffle_vector(p, p, odd))
                        acc = accs[i * cols + j]
                        builder.store(builder.add(builder.load(acc), pairs), acc)
            sums = []
            for acc in accs:
                v = builder.load(acc)
                total = builder.extract_element(v, ir.Constant(i32, 0))
                for lane in range(1, CHUNK // 2):
                    total = builder.add(total, builder.extract_element(v, ir.Constant(i32, lane)))
                sums.append(total)
            return context.make_tuple(builder, result, sums)

        return result(x, b, w, n, chunks), codegen

    return dots


def _weighted_block(queries: int):  # noqa: ANN202 (a numba intrinsic)
    """A numba intrinsic ``(w, i, v, j, keys, acc)``: acc[i + q, j : j + 2 CHUNK] = the sum over
    t < keys of w[i + q, t] x v[t, j : j + 2 CHUNK] for q < queries, w [G, keys] fp32 integer
    weights, v [S, dh] int8 values, acc [G, dh] fp32 (all C order): each value row converted once
    for the block's queries, which keep their sums in registers. Every product and sum is an
    integer below 2^24, so exact in fp32 in any order."""
    f32, i32 = ir.FloatType(), ir.IntType(32)
    width = 2 * CHUNK
    vec = ir.VectorType(f32, width)
    splat = ir.Constant(ir.VectorType(i32, width), [0] * width)

    @intrinsic
    def weighted(typingctx, w, i, v, j, keys, acc):  # noqa: ANN001, ANN202
        def c_matrix(a, dtype) -> bool:  # noqa: ANN001
            return isinstance(a, types.Array) and a.ndim == 2 and a.layout == "C" and a.dtype == dtype

        if not (c_matrix(w, types.float32) and c_matrix(v, types.int8) and c_matrix(acc, types.float32)):
            return None

        def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
            wa, va, aa = (context.make_array(signature.args[n])(context, builder, args[n]) for n in (0, 2, 5))
            w_rows = [cgutils.get_item_pointer2(context, builder, wa.data, cgutils.unpack_tuple(builder, wa.shape),
                                                cgutils.unpack_tuple(builder, wa.strides), "C",
                                                [builder.add(args[1], ir.Constant(args[1].type, q)), ir.Constant(args[1].type, 0)])
                      for q in range(queries)]
            v_first = cgutils.get_item_pointer2(context, builder, va.data, cgutils.unpack_tuple(builder, va.shape),
                                                cgutils.unpack_tuple(builder, va.strides), "C", [ir.Constant(args[3].type, 0), args[3]])
            v_stride = builder.extract_value(va.strides, 0)
            sums = [cgutils.alloca_once_value(builder, ir.Constant(vec, None)) for _ in range(queries)]
            with cgutils.for_range(builder, args[4]) as loop:
                t = loop.index
                vp = builder.gep(v_first, [builder.mul(t, v_stride)])
                values = builder.sitofp(builder.load(builder.bitcast(vp, ir.PointerType(ir.VectorType(ir.IntType(8), width))), align=1), vec)
                for q in range(queries):
                    weight = builder.load(builder.gep(w_rows[q], [t]))
                    spread = builder.shuffle_vector(builder.insert_element(ir.Constant(vec, None), weight, ir.Constant(i32, 0)),
                                                    ir.Constant(vec, None), splat)
                    builder.store(builder.fadd(builder.load(sums[q]), builder.fmul(spread, values)), sums[q])
            for q in range(queries):
                out = cgutils.get_item_pointer2(context, builder, aa.data, cgutils.unpack_tuple(builder, aa.shape),
                                                cgutils.unpack_tuple(builder, aa.strides), "C",
                                                [builder.add(args[1], ir.Constant(args[1].type, q)), args[3]])
                builder.store(builder.load(sums[q]), builder.bitcast(out, ir.PointerType(vec)), align=4)
            return context.get_dummy_value()

        return types.none(w, i, v, j, keys, acc), codegen

    return weighted


CHUNK = 16  # entries per vector step of ``_dots_block``
ROW_BLOCK = 128  # rows of x per pass of ``int8_rows`` over the weights (int16: 147 KB at K = 576)
_DOTS_2x4, _DOTS_1x4, _DOTS_1x1 = _dots_block(2, 4), _dots_block(1, 4), _dots_block(1, 1)
_WEIGHTED_3, _WEIGHTED_1 = _weighted_block(3), _weighted_block(1)


@njit(cache=True)
def int8_rows(x, wt, out) -> None:
    """out [B, N] = x [B, K] @ wt.T for int8 values x (held as int16, C order) and int8 wt [N, K]
    (C order), in int32: exact (|product| <= 127^2, sums of up to 2^17 of them fit int32). Every
    CPU matmul of the engine, a decoding step's few rows and a teacher-forced block's 1,024 alike
    (faster than fp32 GEMMs of the same integers here: ``bench/llm_matmul.py``): 2 x 4 blocks of
    ``_dots_block`` over K's chunks of 16, then K's last terms."""
    chunks = x.shape[1] // CHUNK
    for first in range(0, len(x), ROW_BLOCK):  # a block of x stays in cache while wt streams past it
        _int8_block(x[first : first + ROW_BLOCK], wt, chunks, out[first : first + ROW_BLOCK])


@njit(cache=True, parallel=True)
def _int8_block(x, wt, chunks, out) -> None:
    """``int8_rows`` of a block of rows: one row against one weight row at a time (a single row
    streams the weights fastest so), else 2 x 4 blocks (1 x 4 for an odd last row, one at a time
    for the last weight rows); then K's last terms."""
    rows, k_len, n_len = x.shape[0], x.shape[1], wt.shape[0]
    quads = n_len // 4 if rows > 1 else 0
    for m in prange(quads):
        n = 4 * m
        for b in range(0, rows - 1, 2):
            d = _DOTS_2x4(x, b, wt, n, chunks)
            out[b, n], out[b, n + 1], out[b, n + 2], out[b, n + 3] = d[0], d[1], d[2], d[3]
            out[b + 1, n], out[b + 1, n + 1], out[b + 1, n + 2], out[b + 1, n + 3] = d[4], d[5], d[6], d[7]
        if rows % 2:
            d1 = _DOTS_1x4(x, rows - 1, wt, n, chunks)
            out[rows - 1, n], out[rows - 1, n + 1], out[rows - 1, n + 2], out[rows - 1, n + 3] = d1[0], d1[1], d1[2], d1[3]
    for n in prange(4 * quads, n_len):
        for b in range(rows):
            out[b, n] = _DOTS_1x1(x, b, wt, n, chunks)[0]
    if chunks * CHUNK < k_len:
        for n in prange(n_len):
            for b in range(rows):
                acc = out[b, n]
                for k in range(chunks * CHUNK, k_len):
                    acc += np.int32(np.int32(x[b, k]) * np.int32(wt[n, k]))
                out[b, n] = acc


@njit(cache=True, parallel=True)
def token_intervals(z, r, lut, spare, tokens, low, high, total) -> None:
    """The intervals of ``tokens`` [S, N] (S sets of one token per row) under the integer CDFs of
    logits z [N, V] x r [N, 1] (``exact_kernels.integer_cdf``'s, one row at a time, so never
    [N, V+1] of them at once, and once for all S sets): low[s, n] = cdf[token], high[s, n] =
    cdf[token + 1], total[n] = cdf[V]."""
    for n in prange(len(z)):
        cdf = np.empty((1, z.shape[1] + 1), np.int64)
        integer_cdf(z[n : n + 1], r[n : n + 1], lut, spare, cdf)
        total[n] = cdf[0, -1]
        for s in range(len(tokens)):
            low[s, n], high[s, n] = cdf[0, tokens[s, n]], cdf[0, tokens[s, n] + 1]


@njit(cache=True, parallel=True)
def quantize(x, normalize, q8, r) -> None:
    """``exact_torch.quantize`` of the rows of x [N, K] (rows in parallel): int8 values q8 (an int8 or
    int16 array) and the scales r [N, 1]."""
    for n in prange(len(x)):
        r[n, 0] = _quantize(x[n], normalize, q8[n])


@njit(cache=True, parallel=True)
def heads(y, r, positions, rope_cos, rope_sin, q_scale, q, q_s, k, k_s, v, v_s) -> None:
    """``Llama._heads`` after the qkv matmul, for tokens n at ``positions[n]``: y [N, (H + 2 kv) x dh] x
    r [N, 1], its queries and keys rotated (adjacent channel pairs), each head quantized to int8:
    q [N, H, dh] with scales q_s [N, H] (times ``q_scale``: in exp-table steps), keys k and
    values v [N, kv, dh] with k_s, v_s [N, kv]."""
    n_heads, kv, dh = q.shape[1], k.shape[1], k.shape[2]
    for n in prange(len(y)):
        p = positions[n]
        part, rotated, head_q = np.empty(dh, np.float32), np.empty(dh, np.float32), np.empty(dh, np.int8)
        for head in range(n_heads + 2 * kv):
            for j in range(dh):
                part[j] = y[n, head * dh + j] * r[n, 0]
            if head < n_heads + kv:
                for i in range(dh // 2):
                    a, c = part[2 * i], part[2 * i + 1]
                    cos, sin = rope_cos[p, i], rope_sin[p, i]
                    rotated[2 * i] = a * cos - c * sin
                    rotated[2 * i + 1] = a * sin + c * cos
                s = _quantize(rotated, False, head_q)
            else:
                s = _quantize(part, False, head_q)
            if head < n_heads:
                q_s[n, head] = s * q_scale
                q[n, head] = head_q
            elif head < n_heads + kv:
                k_s[n, head - n_heads] = s
                k[n, head - n_heads] = head_q
            else:
                v_s[n, head - n_heads - kv] = s
                v[n, head - n_heads - kv] = head_q


@njit(cache=True, parallel=True)
def swiglu(y, r, sigmoid, h) -> None:
    """SwiGLU of the gate and up projections y [N, 2m] x r [N, 1]: h [N, m] = (gate x sigmoid(gate))
    x up, the sigmoid from its table (at round-half-even(clamp(gate, -32, 32) x 256))."""
    m, top = h.shape[1], SIGMOID_RADIUS * SIGMOID_STEPS
    steps, radius = np.float32(SIGMOID_STEPS), np.float32(SIGMOID_RADIUS)
    for n in prange(len(y)):
        for j in range(m):
            gate, up = y[n, j] * r[n, 0], y[n, m + j] * r[n, 0]
            index = np.int64(np.rint(min(max(gate, -radius), radius) * steps)) + top
            h[n, j] = (gate * sigmoid[index]) * up


@njit(cache=True)
def _matmul(x, normalize, wt, w_s, q8, acc, y, r) -> None:
    """``Llama._matmul`` of rows x [B, K]: q8 and r [B, 1] the rows' int8 values and scales, y [B, N]
    = their exact int32 products with wt [N, K] (``int8_rows``) as fp32, times the column scales w_s."""
    quantize(x, normalize, q8, r)
    int8_rows(q8, wt, acc)
    for b in range(len(x)):
        for n in range(wt.shape[0]):
            y[b, n] = np.float32(acc[b, n]) * w_s[n]


@njit(cache=True, parallel=True)
def cdfs(z, r, lut, spare, out) -> None:
    """``integer_cdf`` of each row of z [N, V] x r [N, 1], rows in parallel."""
    for n in prange(len(z)):
        integer_cdf(z[n : n + 1], r[n : n + 1], lut, spare, out[n : n + 1])


@njit(cache=True, parallel=True)
def _dots(q, k, keys, dots) -> None:
    """dots[r, i, t] = the integer dot product of int8 query q[r, i] and key k[r, t], t < keys (int32,
    then fp32: exact): each query against four keys at a time (``_dots_block``), then the last keys
    and the last dh % 16 entries."""
    g, dh = q.shape[1], q.shape[2]
    chunks, quads = dh // CHUNK, keys // 4 * 4
    for row in prange(q.shape[0]):
        qr = q[row].astype(np.int16)
        kr = k[row]
        for i in range(g):
            for t in range(0, quads, 4):
                d = _DOTS_1x4(qr, i, kr, t, chunks)
                for u in range(4):
                    dots[row, i, t + u] = d[u]
            for t in range(quads, keys):
                dots[row, i, t] = _DOTS_1x1(qr, i, kr, t, chunks)[0]
            for t in range(keys if chunks * CHUNK < dh else 0):
                acc = np.int32(dots[row, i, t])
                for j in range(chunks * CHUNK, dh):
                    acc += np.int32(np.int32(qr[i, j]) * np.int32(kr[t, j]))
                dots[row, i, t] = np.float32(acc)


@njit(cache=True, parallel=True)
def _weighted(w, v, v_top, keys, kv, attention) -> None:
    """attention[b, (kv head x G + i) x dh + j] = the integer sum over t < keys of w[r, i, t] x v[r, t, j]
    (below 2^24: exact) times v_top[r, i] / 2^16, for r = b x kv + kv head (``Llama._attend``, ``_merge``):
    ``_weighted_block`` over three queries (then one) and 32 lanes at a time, then dh's last lanes."""
    g, dh = w.shape[1], v.shape[2]
    lanes = dh // (2 * CHUNK) * (2 * CHUNK)
    for row in prange(w.shape[0]):
        b, base = row // kv, (row % kv) * g * dh
        wr, vr = w[row], v[row]
        acc = np.zeros((g, dh), np.float32)
        for j in range(0, lanes, 2 * CHUNK):
            i = 0
            while i + 3 <= g:
                _WEIGHTED_3(wr, i, vr, j, keys, acc)
                i += 3
            while i < g:
                _WEIGHTED_1(wr, i, vr, j, keys, acc)
                i += 1
        for i in range(g):
            for t in range(keys if lanes < dh else 0):
                for j in range(lanes, dh):
                    acc[i, j] += wr[i, t] * np.float32(vr[t, j])
            unit = v_top[row, i] * np.float32(1.0 / 65536.0)
            for j in range(dh):
                attention[b, base + i * dh + j] = acc[i, j] * unit


@njit(cache=True)
def attend_cached(q, q_s, k, k_s, v, v_s, keys, lut, dots, w, v_top, attention) -> None:
    """A cached step's attention: int8 queries q [B x kv, G, dh] (scales q_s [B x kv, G], in exp-table
    steps) over the first ``keys`` slots of the int8 caches k, v [B x kv, S, dh] (scales [B x kv, S]),
    weights by ``attention_weights``; ``attention`` [B, d] gets the heads side by side (``Llama._merge``).
    dots, w [B x kv, G, keys] and v_top [B x kv, G]: scratch, allocated once per step by the caller."""
    g = q.shape[1]
    _dots(q, k, keys, dots)
    attention_weights(dots, q_s, k_s[:, :keys], v_s[:, :keys], np.full(g, keys, np.int64), lut, w, v_top)
    _weighted(w, v, v_top, keys, q.shape[0] // len(attention), attention)


@njit(cache=True)
def step(tokens, position, embed, weights, scales, rope_cos, rope_sin, sigmoid, attn_lut, out_lut, n_heads, d_mlp, q_scale,
         spare, k_cache, k_scale, v_cache, v_scale, out) -> None:
    """``Llama.step`` in one compiled call (for the CPU): the CDFs [B, V+1] after feeding ``tokens``
    [B] at ``position``, the caches (per layer [B x kv, S, dh] and scales [B x kv, S]) updated in
    place. ``weights`` [N, K] int8 and ``scales`` [N] hold each layer's qkv, o, gu, down, then the
    head. The same operations in the same order as the PyTorch path, each the same correctly
    rounded fp32 operation or exact integer sum, so the CDFs are the same integers."""
    rows, layers = len(tokens), len(k_cache)
    d = embed.shape[1]
    kv, dh = k_cache[0].shape[0] // rows, k_cache[0].shape[2]
    g, qkv, vocab = n_heads // kv, weights[0].shape[0], weights[-1].shape[0]
    x = np.empty((rows, d), np.float32)
    for b in range(rows):
        x[b] = embed[tokens[b]]
    q8, q8_mlp = np.empty((rows, d), np.int16), np.empty((rows, d_mlp), np.int16)  # int8 values (``int8_rows``)
    acc_qkv, acc_d, acc_gu = np.empty((rows, qkv), np.int32), np.empty((rows, d), np.int32), np.empty((rows, 2 * d_mlp), np.int32)
    y_qkv, y_d, y_gu = np.empty((rows, qkv), np.float32), np.empty((rows, d), np.float32), np.empty((rows, 2 * d_mlp), np.float32)
    h = np.empty((rows, d_mlp), np.float32)
    r = np.empty((rows, 1), np.float32)
    positions = np.full(rows, position, np.int64)
    q, q_s = np.empty((rows, n_heads, dh), np.int8), np.empty((rows, n_heads), np.float32)
    k, k_s = np.empty((rows, kv, dh), np.int8), np.empty((rows, kv), np.float32)
    v, v_s = np.empty((rows, kv, dh), np.int8), np.empty((rows, kv), np.float32)
    attention = np.empty((rows, d), np.float32)
    dots, w_att = np.empty((rows * kv, g, position + 1), np.float32), np.empty((rows * kv, g, position + 1), np.float32)
    v_top = np.empty((rows * kv, g), np.float32)
    for layer in range(layers):
        wi = 4 * layer
        _matmul(x, True, weights[wi], scales[wi], q8, acc_qkv, y_qkv, r)
        kc, ks, vc, vs = k_cache[layer], k_scale[layer], v_cache[layer], v_scale[layer]
        heads(y_qkv, r, positions, rope_cos, rope_sin, q_scale, q, q_s, k, k_s, v, v_s)
        for b in range(rows):  # into the cache, kv heads folded into the batch
            for i in range(kv):
                kc[b * kv + i, position], ks[b * kv + i, position] = k[b, i], k_s[b, i]
                vc[b * kv + i, position], vs[b * kv + i, position] = v[b, i], v_s[b, i]
        # head = kv head x G + group member
        attend_cached(q.reshape(rows * kv, g, dh), q_s.reshape(rows * kv, g), kc, ks, vc, vs, position + 1, attn_lut, dots, w_att, v_top,
                      attention)
        _matmul(attention, False, weights[wi + 1], scales[wi + 1], q8, acc_d, y_d, r)
        for b in range(rows):
            for j in range(d):
                x[b, j] = x[b, j] + y_d[b, j] * r[b, 0]
        _matmul(x, True, weights[wi + 2], scales[wi + 2], q8, acc_gu, y_gu, r)
        swiglu(y_gu, r, sigmoid, h)
        _matmul(h, False, weights[wi + 3], scales[wi + 3], q8_mlp, acc_d, y_d, r)
        for b in range(rows):
            for j in range(d):
                x[b, j] = x[b, j] + y_d[b, j] * r[b, 0]
    z, acc_v = np.empty((rows, vocab), np.float32), np.empty((rows, vocab), np.int32)
    _matmul(x, True, weights[-1], scales[-1], q8, acc_v, z, r)
    cdfs(z, r, out_lut, spare, out)
