"""M1's compiled kernels written in PyTorch alone, for the ``portable`` engine: the same integers on
any device PyTorch runs on (a GPU), with every operation exact or correctly rounded there too.

The CPU engine runs its quantization, attention and integer CDF compiled with numba over numpy
arrays, which a GPU cannot. These are the same operations, in the same order, as PyTorch operations
that are exact or correctly rounded on every device: products and sums of integers below 2^24 in
float64 GEMMs (exact in any order; float64, so that TF32 or reduced-precision fp32 matmul settings
cannot touch them), separate elementwise fp32 operations (separate kernels, so none is fused into
an FMA), division, rounding half to even, and square roots taken in float64 and rounded to fp32
(correctly rounded: 53 >= 2 x 24 + 2 bits). Tests check them against the numba kernels on the CPU.
"""

from __future__ import annotations

import torch

from .exact_kernels import OUT_LUT_STEPS, QMAX


def int_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b of int8-valued a [M, K] and b [K, N] as int32, exactly (float64 sums of integers)."""
    return torch.mm(a.double(), b.double()).to(torch.int32)


def quantize(x: torch.Tensor, normalize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """``exact_kernels.quantize_int8`` of the rows of x [N, K]: int8 q and the row scales r [N, 1]."""
    amax = x.abs().amax(-1, keepdim=True).clamp_min(1e-30)
    q = torch.round(x * ((1.0 / amax) * QMAX))
    if normalize:
        total = q.long().square().sum(-1, keepdim=True).clamp_min(1).float() * torch.tensor(1.0 / x.shape[-1], dtype=torch.float32)
        r = 1.0 / torch.sqrt(total.double()).float()
    else:
        r = amax * torch.tensor(1.0 / QMAX, dtype=torch.float32)
    return q.to(torch.int8), r


def attend_sequence(q, q_s, kt, k_s, vt, window: int, bias_by_distance, lut, v_out) -> torch.Tensor:
    """``exact_attention.attend_sequence``: q [R, T, G, dh] (int-valued fp32; R = B x kv), q_s
    [R, T, G], keys kt and values vt [R, dh, T] (int8), k_s [R, 1, T], biases [H, distances] (in
    exp-table steps), the exp table ``lut`` (fp32) and v_out [kv, 1, dh]; returns [R, T, G, dh]."""
    rows, t, g, dh = q.shape
    kv = v_out.shape[0]
    dots = torch.einsum("rtgd,rds->rtgs", q.double(), kt.double()).float()  # integers below 2^24
    pos = torch.arange(t, device=q.device)
    distance = pos[:, None] - pos[None, :]  # [query, key]
    seen = (distance >= 0) & (distance < window) if window else distance >= 0
    bias = bias_by_distance[:, distance.clamp(0, bias_by_distance.shape[1] - 1)]  # [H, T, T], head = h * g + gi
    bias = bias.view(kv, g, t, t).permute(0, 2, 1, 3).repeat(rows // kv, 1, 1, 1)  # [R, T, G, T]
    x = ((dots * q_s[..., None]) * k_s.view(rows, 1, 1, t)) + bias
    x = x.masked_fill(~seen[None, :, None, :], float("-inf"))
    top = x.amax(-1, keepdim=True)
    e = lut[torch.clamp(torch.round(-(x - top)), max=len(lut) - 1).long()]  # unseen keys: the last entry, 0
    r = (1.0 / e.sum(-1, keepdim=True)) * 65536.0  # integers below 2^24: the sum is exact in any order
    weights = torch.floor(e * r)
    out = torch.einsum("rtgs,rds->rtgd", weights.double(), vt.double()).float()  # integers below 2^24
    return out * v_out.repeat(rows // kv, 1, 1).view(rows, 1, 1, dh)


def integer_cdf(z: torch.Tensor, r: torch.Tensor, lut: torch.Tensor, spare: int) -> torch.Tensor:
    """``exact_kernels.integer_cdf``: the int64 CDFs [N, V+1] of logits z [N, V] times r [N, 1]."""
    s = r * float(OUT_LUT_STEPS)
    top = z.amax(-1, keepdim=True)
    e = lut[torch.clamp(torch.round((top - z) * s), max=len(lut) - 1).long()]
    freq = e * spare // e.sum(-1, keepdim=True) + 1
    return torch.nn.functional.pad(freq.cumsum(-1), (1, 0))


def attend_step(q, q_s, k_new, k_s_new, v_new, k, k_s, v, position, bias_by_distance, lut, v_out) -> torch.Tensor:
    """``exact_attention.attend_step`` on a cache of PyTorch tensors: each row's new key k_new [B*kv,
    1, dh] (scale k_s_new [B*kv, 1, 1]) and value v_new go into slot position[b] mod S of k, v (int8
    [B, kv, dh, S]) and k_s ([B, kv, 1, S]), in place; then the attention of the queries q [B*kv, G,
    dh] (scales q_s [B*kv, G, 1]) over the slots holding positions position[b] - S < p <= position[b];
    returns [B, kv, G, dh]."""
    n, kv, dh, slots = k.shape
    g = q.shape[1]
    rows = torch.arange(n, device=k.device)
    here = position % slots
    k[rows, :, :, here] = k_new.view(n, kv, dh).to(torch.int8)
    v[rows, :, :, here] = v_new.view(n, kv, dh).to(torch.int8)
    k_s[rows, :, :, here] = k_s_new.view(n, kv, 1)
    dots = torch.einsum("nhgd,nhds->nhgs", q.view(n, kv, g, dh).double(), k.double()).float()  # integers below 2^24
    distance = (here[:, None] - torch.arange(slots, device=k.device)[None, :]) % slots  # [B, S]: slot j holds p = j mod S
    seen = distance <= position[:, None]
    bias = bias_by_distance[:, distance].view(kv, g, n, slots).permute(2, 0, 1, 3)  # [B, kv, G, S], head = h * g + gi
    x = ((dots * q_s.view(n, kv, g, 1)) * k_s.view(n, kv, 1, slots)) + bias
    x = x.masked_fill(~seen[:, None, None, :], float("-inf"))
    top = x.amax(-1, keepdim=True)
    e = lut[torch.clamp(torch.round(-(x - top)), max=len(lut) - 1).long()]  # slots not seen: the last entry, 0
    r = (1.0 / e.sum(-1, keepdim=True)) * 65536.0
    weights = torch.floor(e * r)
    out = torch.einsum("nhgs,nhds->nhgd", weights.double(), v.double()).float()  # integers below 2^24
    return out * v_out.view(1, kv, 1, dh)
