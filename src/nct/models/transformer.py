"""One decoder-only Transformer for M1 (bytes) and M2 (N-bit tokens), trained in floating point.

T5-style as in the papers: pre-RMSNorm, ReLU MLP, no biases, and learned relative position biases
(shared by all layers), or fixed ALiBi slopes on the same buckets, which train ~3x faster on a
CPU because PyTorch's flash-attention kernel cannot differentiate through the bias. Keys and values may be shared by several query heads (multi-query / grouped
attention) and attention may be limited to a sliding window: both keep M1's KV cache small, which
is what bounds exact incremental decoding speed on a CPU (see ``nct.models.m1`` and ``nct.models.exact_attention``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import TransformerConfig, bucket_ids, relative_bucket

__all__ = ["Transformer", "TransformerConfig", "bucket_table", "lm_loss", "relative_bucket"]


def bucket_table(cfg: TransformerConfig, length: int) -> torch.Tensor:
    """Bucket id for every distance 0..length-1 (distances past the window reuse the last bucket)."""
    return torch.tensor(bucket_ids(cfg, length), dtype=torch.long)


def alibi_table(cfg: TransformerConfig) -> torch.Tensor:
    """Fixed [n_buckets, H] biases: -slope_h x (smallest distance in the bucket), ALiBi's slopes."""
    first: dict[int, int] = {}
    for d in range(cfg.max_distance + 1):
        first.setdefault(relative_bucket(d, cfg.exact_buckets, cfg.buckets_per_octave), d)
    dist = torch.tensor([first[b] for b in range(cfg.n_buckets)], dtype=torch.float32)
    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / cfg.n_heads) for h in range(cfg.n_heads)])
    return -dist[:, None] * slopes[None, :]


def attention_mask(cfg: TransformerConfig, length: int) -> torch.Tensor:
    """Boolean [length, length] mask: query t may see key s when 0 <= t - s < window."""
    t = torch.arange(length)
    dist = t[:, None] - t[None, :]
    allowed = dist >= 0
    if cfg.window is not None:
        allowed &= dist < cfg.window
    return allowed


class RMSNorm(nn.Module):
    """Root-mean-square layer norm with a learned gain (T5's layer norm)."""

    def __init__(self, d: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the last dimension."""
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Block(nn.Module):
    """Pre-norm attention + ReLU MLP."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        kv = cfg.n_kv_heads * cfg.head_dim
        self.attn_norm = RMSNorm(cfg.d_model)
        self.wq = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.wk = nn.Linear(cfg.d_model, kv, bias=False)
        self.wv = nn.Linear(cfg.d_model, kv, bias=False)
        self.wo = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.mlp_norm = RMSNorm(cfg.d_model)
        self.w1 = nn.Linear(cfg.d_model, cfg.d_mlp, bias=False)
        self.w2 = nn.Linear(cfg.d_mlp, cfg.d_model, bias=False)
        self.gate = nn.Linear(cfg.d_model, cfg.d_mlp, bias=False) if cfg.mlp == "gated-gelu" else None

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x: [B, T, d]; bias: additive [H, T, T] (relative positions, -inf where masked)."""
        cfg = self.cfg
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(b, t, cfg.n_heads, cfg.head_dim).transpose(1, 2)
        k = self.wk(h).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        v = self.wv(h).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        # Shared key/value heads are expanded (a view) and the bias given as [1, H, T, T]:
        # that is the form PyTorch's CPU flash-attention kernel accepts (2.6x the math path).
        a = F.scaled_dot_product_attention(
            q, _expand_kv(k, cfg.n_heads), _expand_kv(v, cfg.n_heads), attn_mask=bias.to(q.dtype)[None]
        )
        x = x + self.wo(a.transpose(1, 2).reshape(b, t, cfg.d_model))
        h = self.mlp_norm(x)
        if self.gate is None:
            return x + self.w2(F.relu(self.w1(h)))
        return x + self.w2(F.gelu(self.gate(h)) * self.w1(h))


def _expand_kv(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """[B, kv, T, d] -> [B, n_heads, T, d], each key/value head shared by n_heads/kv query heads."""
    b, kv, t, d = x.shape
    return x[:, :, None].expand(b, kv, n_heads // kv, t, d).reshape(b, n_heads, t, d)


class Transformer(nn.Module):
    """Decoder-only Transformer LM over ``vocab_size`` symbols (inputs may also hold BOS)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size + 1, cfg.d_model)
        self.rel_bias = nn.Embedding(cfg.n_buckets, cfg.n_heads)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self._masks: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.apply(self._init)
        if cfg.position_bias == "alibi":
            self.rel_bias.weight.data.copy_(alibi_table(cfg))
            self.rel_bias.weight.requires_grad_(False)
        for name, p in self.named_parameters():
            if name.endswith(("wo.weight", "w2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def non_embedding_params(self) -> int:
        """Parameter count without the input embedding and output head (the papers' convention)."""
        skip = {"embed.weight", "head.weight", "rel_bias.weight"}
        return sum(p.numel() for n, p in self.named_parameters() if n not in skip)

    def position_bias(self, length: int) -> torch.Tensor:
        """Additive [H, T, T] attention bias: relative-position bias, -inf outside the causal window."""
        if length not in self._masks:
            t = torch.arange(length)
            dist = (t[:, None] - t[None, :]).clamp_min(0)
            self._masks[length] = (bucket_table(self.cfg, length)[dist], attention_mask(self.cfg, length))
        buckets, allowed = self._masks[length]
        dev = self.rel_bias.weight.device
        bias = self.rel_bias(buckets.to(dev)).permute(2, 0, 1)
        return bias.masked_fill(~allowed.to(dev), float("-inf"))

    @property
    def device(self) -> torch.device:
        """Where the model's weights are (inputs are moved there)."""
        return self.head.weight.device

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, vocab] for the symbol after each input position (on the model's device)."""
        x = self.embed(inputs.to(self.device))
        bias = self.position_bias(inputs.shape[1])
        for block in self.blocks:
            x = block(x, bias)
        return self.head(self.norm(x))


IGNORE = -100  # target id of padding positions: no loss


class _LMLoss(torch.autograd.Function):
    """Cross-entropy plus z-loss from one log-sum-exp pass over the logits, and one softmax pass in
    the backward (a large vocabulary's logits are the biggest tensor of a training step)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, targets: torch.Tensor, z_loss: float, count: float):
        keep = (targets != IGNORE).to(logits.dtype)
        lse = torch.logsumexp(logits, dim=-1)
        picked = logits.gather(1, targets.clamp_min(0)[:, None])[:, 0]
        ce = ((lse - picked) * keep).sum() / count
        ctx.save_for_backward(logits, targets, lse, keep)
        ctx.z_loss, ctx.count = z_loss, count
        ctx.mark_non_differentiable(ce)
        return ce + z_loss * (lse.square() * keep).sum() / count, ce

    @staticmethod
    def backward(ctx, grad: torch.Tensor, _):
        logits, targets, lse, keep = ctx.saved_tensors
        weight = grad * keep / ctx.count
        out = torch.exp(logits - lse[:, None]).mul_((weight * (1 + 2 * ctx.z_loss * lse))[:, None])
        out.scatter_add_(1, targets.clamp_min(0)[:, None], -weight[:, None])
        return out, None, None, None


def lm_loss(
    logits: torch.Tensor, targets: torch.Tensor, z_loss: float = 0.0, count: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(training loss, cross-entropy in nats), each summed over targets != IGNORE and divided by
    ``count`` (default: those targets, i.e. the mean; data-parallel training passes the global
    batch's count); the z-loss term keeps log Z near 0 (PaLM/T5)."""
    logits = logits.float().reshape(-1, logits.shape[-1])
    targets = targets.reshape(-1)
    n = max(1, int((targets != IGNORE).sum())) if count is None else count
    return _LMLoss.apply(logits, targets, z_loss, float(n))
