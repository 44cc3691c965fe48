"""A pretrained Llama-family decoder (SmolLM2) run by an exact engine: integer CDFs over its
vocabulary that are bit-identical on every path, batch, thread count and CPU, as M1's are.

The architecture is Llama's: RMSNorm, rotary positions (pairs of adjacent channels, as llama.cpp
stores the weights), grouped-query attention, a SwiGLU MLP and tied embeddings. The engine keeps
M1's invariants (invariant 2, README), with the same building blocks:

* Weights are int8 per output channel (requantized from the GGUF file's Q4_1 / Q8_0 blocks), norm
  gains folded in; activations are int8 per row (token), from the row's max magnitude, and
  RMSNorm's scale comes from the quantized row's exact sum of squares (``exact_torch.quantize``).
  Products and partial sums of int8 values are integers: below 2^24 for inner dimensions up to
  1,024, so an fp32 GEMM sums them exactly in any order; wider ones (the MLP's 1,536) are split
  into such GEMMs and added in float64 (exact); on a GPU every GEMM runs in float64.
* Rotary positions use cos/sin tables, the MLP's SiLU a sigmoid table and both softmaxes exp
  tables: all computed with Python's ``decimal`` arithmetic (the same digits on every machine)
  and stored with the weights; the rest is elementwise correctly rounded fp32 (+, -, x, /, round).
* Queries, keys and values are int8 per token and head; attention weights are integers summing
  to at most 2^16 + 1 (``nct.models.llama_kernels``), so P @ V is exact too. The full sequence and
  the cached step compute each query's weights with the same routine.
* On the CPU the elementwise work (quantization, rotary heads, SwiGLU) and the whole cached step
  run compiled (``nct.models.llama_kernels``), the teacher-forced GEMMs in PyTorch; on a GPU
  everything runs as PyTorch operations. Both do the same operations in the same order.
* The output distribution becomes an integer CDF (``exact_kernels.integer_cdf``) in int64, every
  token with frequency >= 1; encoding needs only each token's interval (``token_intervals``).

The engine is built once from float weights (``from_weights``; ``nct.models.pretrained`` reads
them from a GGUF file) and saved as a safetensors file
whose SHA-256 over config, tables, tensors and tokenizer is the fingerprint archives carry; it
is checked again on load, so a damaged file is an error, not a wrong decode.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError
from ..util import atomic_path
from . import exact_torch
from .exact_kernels import OUT_LUT_STEPS
from . import llama_kernels
from .llama_kernels import SIGMOID_RADIUS, SIGMOID_STEPS, attention_weights, int8_rows, token_intervals
from .m1 import ATTN_LUT_SCALE, ATTN_LUT_STEPS, OUT_LUT_SCALE, quantize_rows, quantize_weight

FORMAT = "nct-llama-engine/1"
ENGINE_VERSION = 1
EXACT_K = 1024  # the widest int8 x int8 sum an fp32 GEMM keeps exact: 1024 x 127^2 < 2^24
COMPILED = True  # on the CPU, run ``llama_kernels``' compiled kernels (False: the PyTorch operations, as on a GPU; tests compare them)
QUERY_CHUNK = 256  # queries of a full sequence attended at a time (over the keys up to the chunk's end)


@dataclass(frozen=True)
class LlamaConfig:
    """The shape of a Llama-family decoder; ``context``: the positions the rotary tables hold (a
    block and its start token)."""

    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_mlp: int
    rope_theta: float
    bos: int
    context: int = 2048

    @property
    def head_dim(self) -> int:
        """Channels per attention head."""
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        """Plain values (stored in the engine file)."""
        return asdict(self)


# ----- tables, in decimal arithmetic: the same on every machine ------------------------------
PREC = 40


def exp_table(scale: int, steps_per_nat: int) -> np.ndarray:
    """round-half-even(scale * exp(-i / steps_per_nat)) for i = 0.. until it reaches 0 (the last entry)."""
    values: list[int] = []
    with localcontext() as ctx:
        ctx.prec = PREC
        while not values or values[-1]:
            x = (Decimal(-len(values)) / steps_per_nat).exp() * scale
            values.append(int(x.to_integral_value(ROUND_HALF_EVEN)))
    return np.array(values, np.float32)


def sigmoid_table() -> np.ndarray:
    """1 / (1 + exp(-i / SIGMOID_STEPS)) for i = -R..R (R = SIGMOID_RADIUS x SIGMOID_STEPS), as fp32."""
    r = SIGMOID_RADIUS * SIGMOID_STEPS
    with localcontext() as ctx:
        ctx.prec = PREC
        values = [float(1 / (1 + (Decimal(-i) / SIGMOID_STEPS).exp())) for i in range(-r, r + 1)]
    return np.array(values, np.float32)


def _cos_sin(x: Decimal) -> tuple[Decimal, Decimal]:
    """cos and sin of a small x by their series (to the context's precision)."""
    c = s = Decimal(0)
    term, k = Decimal(1), 0
    while term:
        if k % 4 == 0:
            c += term
        elif k % 4 == 1:
            s += term
        elif k % 4 == 2:
            c -= term
        else:
            s -= term
        k += 1
        term = term * x / k
    return c, s


def rope_tables(theta: float, head_dim: int, positions: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin [positions, head_dim / 2] of p * theta^(-2i / head_dim), as fp32: each
    frequency's cos and sin by series, then position by position by the angle-addition formulas
    (in 50 digits, so the error stays far below fp32's)."""
    cos = np.empty((positions, head_dim // 2), np.float32)
    sin = np.empty_like(cos)
    with localcontext() as ctx:
        ctx.prec = 50
        for i in range(head_dim // 2):
            c1, s1 = _cos_sin(Decimal(repr(theta)) ** (Decimal(-2 * i) / head_dim))
            c, s = Decimal(1), Decimal(0)
            for p in range(positions):
                cos[p, i], sin[p, i] = float(c), float(s)
                c, s = c * c1 - s * s1, s * c1 + c * s1
    return cos, sin


# ----- the engine ----------------------------------------------------------------------------
LAYER_WEIGHTS = ("qkv", "o", "gu", "down")


def weight_names(cfg: LlamaConfig) -> list[str]:
    """The engine's int8 weight matrices: the head, then each layer's."""
    return ["head"] + [f"{i}.{w}" for i in range(cfg.n_layers) for w in LAYER_WEIGHTS]


@dataclass
class Cache:
    """A lockstep batch's keys and values so far (every row at the same position), per layer: keys
    and values [B x kv, S, dh] (int8), their scales [B x kv, S] (fp32)."""

    k: list[torch.Tensor]
    k_s: list[torch.Tensor]
    v: list[torch.Tensor]
    v_s: list[torch.Tensor]
    position: int = 0


class Llama:
    """The exact engine of a Llama-family decoder (module docstring); ``tokenizer``: its
    tokenizer as ``tokenizers`` JSON, ``meta``: where it came from."""

    def __init__(self, cfg: LlamaConfig, tensors: dict[str, np.ndarray], tokenizer: str = "", meta: dict | None = None,
                 device: str = "cpu"):
        if cfg.context * ATTN_LUT_SCALE > 1 << 24:
            raise ValueError("context too long for exact attention sums")
        if cfg.d_model > EXACT_K:
            raise ValueError(f"the exact engine takes d_model <= {EXACT_K}")
        self.cfg, self.tokenizer_json, self.meta = cfg, tokenizer, dict(meta or {})
        self.stored = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        self.fingerprint = fingerprint(cfg, self.stored, tokenizer)
        self.device = str(device)
        dev = torch.device(device)
        self._gemm_dtype = torch.float64 if dev.type != "cpu" else torch.float32  # a GPU's fp32 GEMMs may use TF32
        weights = set(self._weight_names())  # their GEMM operands are made on first use (``_gemm_weight``)
        self.t = {k: torch.from_numpy(v.astype(np.float32) if v.dtype == np.int8 else v).to(dev)
                  for k, v in self.stored.items() if k not in weights}
        self._gemm: dict[str, torch.Tensor] = {}
        # the same weights as int8 [out, in], for the CPU's matmuls (``llama_kernels.int8_rows``)
        self._rows = {n: np.ascontiguousarray(self.stored[n].T) for n in self._weight_names()} if dev.type == "cpu" else {}
        order = self._weight_names()[1:] + ["head"]  # ``llama_kernels.step``'s: every layer's, then the head
        self._step_weights = tuple(self._rows[n] for n in order) if self._rows else ()
        self._step_scales = tuple(self.stored[n + "_s"] for n in order)
        self._lut_np = self.stored["attn_lut"]
        self._out_lut_np = self.stored["out_lut"].astype(np.int64)
        self._q_scale = np.float32(ATTN_LUT_STEPS / np.sqrt(cfg.head_dim))

    @property
    def _compiled(self) -> bool:
        """Whether this engine runs ``llama_kernels``' compiled kernels (on the CPU)."""
        return bool(self._step_weights) and COMPILED

    def _weight_names(self) -> list[str]:
        """The int8 weight matrices."""
        return weight_names(self.cfg)

    @property
    def bos(self) -> int:
        """The token every block starts from."""
        return self.cfg.bos

    @property
    def n_params(self) -> int:
        """Weights of the matrices (the tied embedding counted once)."""
        return sum(self.stored[n].size for n in self._weight_names())

    # ----- export / load / save ---------------------------------------------------------------
    @classmethod
    def from_weights(cls, cfg: LlamaConfig, w: dict[str, np.ndarray], tokenizer: str = "", meta: dict | None = None) -> "Llama":
        """The engine of float weights in llama.cpp's layout (``reference_logits`` names them)."""
        f = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in w.items()}
        t: dict[str, torch.Tensor] = {"embed": f["embed"]}
        for i in range(cfg.n_layers):
            qkv = torch.cat([f[f"{i}.wq"], f[f"{i}.wk"], f[f"{i}.wv"]]) * f[f"{i}.attn_norm"]
            t[f"{i}.qkv"], t[f"{i}.qkv_s"] = quantize_weight(qkv)
            t[f"{i}.o"], t[f"{i}.o_s"] = quantize_weight(f[f"{i}.wo"])
            t[f"{i}.gu"], t[f"{i}.gu_s"] = quantize_weight(torch.cat([f[f"{i}.gate"], f[f"{i}.up"]]) * f[f"{i}.mlp_norm"])
            t[f"{i}.down"], t[f"{i}.down_s"] = quantize_weight(f[f"{i}.down"])
        t["head"], t["head_s"] = quantize_weight(f.get("head", f["embed"]) * f["norm"])
        arrays = {k: v.numpy() for k, v in t.items()}
        for name in weight_names(cfg):
            arrays[name] = arrays[name].astype(np.int8)
        arrays["rope_cos"], arrays["rope_sin"] = rope_tables(cfg.rope_theta, cfg.head_dim, cfg.context)
        arrays["sigmoid"] = sigmoid_table()
        arrays["attn_lut"] = exp_table(ATTN_LUT_SCALE, ATTN_LUT_STEPS)
        arrays["out_lut"] = exp_table(OUT_LUT_SCALE, OUT_LUT_STEPS)
        return cls(cfg, arrays, tokenizer, meta)

    def save(self, path: str | Path) -> None:
        """Write the engine as one safetensors file (atomically), its fingerprint in the metadata."""
        from safetensors.numpy import save_file

        meta = {"format": FORMAT, "config": json.dumps(self.cfg.to_dict()), "tokenizer": self.tokenizer_json,
                "manifest": json.dumps(self.meta), "fingerprint": self.fingerprint}
        with atomic_path(path) as tmp:
            save_file(self.stored, str(tmp), metadata=meta)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "Llama":
        """An engine saved with ``save``; a damaged file (its fingerprint no longer matches) is a ModelError."""
        from safetensors import safe_open
        from safetensors.numpy import load_file

        try:
            with safe_open(str(path), "np") as f:
                meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise ModelError(f"{path}: not an nct Llama engine file")
            engine = cls(LlamaConfig(**json.loads(meta["config"])), load_file(str(path)), meta.get("tokenizer", ""),
                         json.loads(meta.get("manifest", "{}")), device)
        except ModelError:
            raise
        except Exception as e:  # safetensors, json and the config raise their own types for damaged files
            raise ModelError(f"{path}: not a readable nct Llama engine file ({e})") from None
        if engine.fingerprint != meta.get("fingerprint"):
            raise ModelError(f"{path}: engine file is damaged (its contents no longer match its fingerprint); delete it to convert again")
        return engine

    # ----- building blocks ----------------------------------------------------------------------
    def _matmul(self, x: torch.Tensor, name: str, normalize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(y, r) with x @ W ~ y * r (or RMSNorm(x) @ W with ``normalize``, the gain folded into W):
        x's rows quantized to int8, their exact integer products with W's int8 columns times W's
        column scales; r [..., 1] the rows' scales."""
        flat = x.reshape(-1, x.shape[-1])
        if self._compiled:  # the same integers as ``exact_mm``'s GEMMs, faster on the CPU
            q8, r = torch.empty(flat.shape, dtype=torch.int16), torch.empty(len(flat), 1)  # int8 values (``int8_rows``)
            llama_kernels.quantize(flat.contiguous().numpy(), normalize, q8.numpy(), r.numpy())
            out = np.empty((len(flat), self._rows[name].shape[0]), np.int32)
            int8_rows(q8.numpy(), self._rows[name], out)
            acc = torch.from_numpy(out)
        else:
            q8, r = exact_torch.quantize(flat, normalize)
            acc = exact_mm(q8, self._gemm_weight(name))
        y = acc.float().mul_(self.t[name + "_s"])
        return y.view(*x.shape[:-1], -1), r.view(*x.shape[:-1], 1)

    def _gemm_weight(self, name: str) -> torch.Tensor:
        """Weight matrix ``name`` [in, out] as a GEMM's operand (fp32 on the CPU, float64 on a GPU),
        made on first use: the CPU's compiled path never needs these copies (0.5 GB for SmolLM2)."""
        if name not in self._gemm:
            self._gemm[name] = torch.from_numpy(self.stored[name]).to(self.device).to(self._gemm_dtype)
        return self._gemm[name]

    def _rope(self, x: torch.Tensor, first: int) -> torch.Tensor:
        """x [B, T, heads, dh] rotated for positions first.. (adjacent channel pairs)."""
        t = x.shape[1]
        c = self.t["rope_cos"][first : first + t][None, :, None]
        s = self.t["rope_sin"][first : first + t][None, :, None]
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * c - b * s, a * s + b * c], dim=-1).flatten(-2)

    def _heads(self, x: torch.Tensor, layer: int, first: int) -> tuple[torch.Tensor, ...]:
        """int-valued queries [B x kv, G x T, dh] and their scales [B x kv, G x T] (in exp-table
        steps), keys and values [B x kv, T, dh] with scales [B x kv, T]: kv heads folded into the batch."""
        cfg = self.cfg
        b, t, _ = x.shape
        h, kv, dh = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        g = h // kv
        y, r = self._matmul(x, f"{layer}.qkv", normalize=True)
        if self._compiled:
            qk8, qk_s = torch.empty(b, t, h + kv, dh, dtype=torch.int8), torch.empty(b, t, h + kv)
            v8, v_s = torch.empty(b, t, kv, dh, dtype=torch.int8), torch.empty(b, t, kv)
            positions = np.tile(np.arange(first, first + t, dtype=np.int64), b)
            llama_kernels.heads(y.view(b * t, -1).numpy(), r.view(b * t, 1).numpy(), positions, self.stored["rope_cos"],
                                self.stored["rope_sin"], self._q_scale, qk8[:, :, :h].view(b * t, h, dh).numpy(),
                                qk_s[:, :, :h].view(b * t, h).numpy(), qk8[:, :, h:].view(b * t, kv, dh).numpy(),
                                qk_s[:, :, h:].view(b * t, kv).numpy(), v8.view(b * t, kv, dh).numpy(), v_s.view(b * t, kv).numpy())
        else:
            y = y.mul_(r)
            qk8, qk_s = quantize_rows(self._rope(y[..., : (h + kv) * dh].view(b, t, h + kv, dh), first))
            qk_s = qk_s[..., 0]
            qk_s[:, :, :h] *= self._q_scale
            v8, v_s = quantize_rows(y[..., (h + kv) * dh :].view(b, t, kv, dh))
            v_s = v_s[..., 0]
        q = qk8[:, :, :h].reshape(b, t, kv, g, dh).permute(0, 2, 3, 1, 4).reshape(b * kv, g * t, dh)
        q_s = qk_s[:, :, :h].reshape(b, t, kv, g).permute(0, 2, 3, 1).reshape(b * kv, g * t)
        k = qk8[:, :, h:].transpose(1, 2).reshape(b * kv, t, dh)
        k_s = qk_s[:, :, h:].transpose(1, 2).reshape(b * kv, t)
        return q, q_s, k, k_s, v8.transpose(1, 2).reshape(b * kv, t, dh), v_s.transpose(1, 2).reshape(b * kv, t)

    def _attend(self, q, q_s, k, k_s, v, v_s, visible: np.ndarray) -> torch.Tensor:
        """[R, Q, dh] attention of queries over keys and values (``llama_kernels.attention_weights``)."""
        dots = torch.bmm(q.to(self._gemm_dtype), k.to(self._gemm_dtype).transpose(1, 2)).float()  # integers below 2^24
        if dots.device.type == "cpu":
            w = torch.empty_like(dots)
            v_top = torch.empty(q_s.shape)
            attention_weights(dots.numpy(), q_s.contiguous().numpy(), k_s.contiguous().numpy(), v_s.contiguous().numpy(),
                              visible, self._lut_np, w.numpy(), v_top.numpy())
        else:
            w, v_top = _attention_weights_torch(dots, q_s, k_s, v_s, torch.from_numpy(visible).to(dots.device), self.t["attn_lut"])
        out = torch.bmm(w.to(self._gemm_dtype), v.to(self._gemm_dtype)).float()  # integers below 2^24 again
        return out.mul_(v_top.mul_(1.0 / 65536.0)[..., None])

    def _layer(self, x: torch.Tensor, layer: int, attention: torch.Tensor) -> torch.Tensor:
        """The residual attention output (given, [B, T, d]) and the SwiGLU MLP."""
        y, r = self._matmul(attention, f"{layer}.o")
        x = x + y.mul_(r)
        y, r = self._matmul(x, f"{layer}.gu", normalize=True)
        m = self.cfg.d_mlp
        if self._compiled:
            h = torch.empty(*y.shape[:-1], m)
            llama_kernels.swiglu(y.view(-1, 2 * m).numpy(), r.view(-1, 1).numpy(), self.stored["sigmoid"], h.view(-1, m).numpy())
        else:
            gate, up = y[..., :m] * r, y[..., m:] * r
            top = SIGMOID_RADIUS * SIGMOID_STEPS
            index = torch.round(gate.clamp(-SIGMOID_RADIUS, SIGMOID_RADIUS) * float(SIGMOID_STEPS)).long() + top
            h = (gate * self.t["sigmoid"][index]) * up
        y, r = self._matmul(h, f"{layer}.down")
        return x + y.mul_(r)

    def _merge(self, out: torch.Tensor, b: int, t: int) -> torch.Tensor:
        """[B x kv, G x T, dh] attention -> [B, T, d] (head = kv head x G + group member)."""
        cfg = self.cfg
        kv, g = cfg.n_kv_heads, cfg.n_heads // cfg.n_kv_heads
        return out.view(b, kv, g, t, cfg.head_dim).permute(0, 3, 1, 2, 4).reshape(b, t, cfg.d_model)

    def _logits(self, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Final norm and head: logits z * r as numpy z [N, V], r [N, 1]."""
        z, r = self._matmul(x, "head", normalize=True)
        return (z.reshape(-1, z.shape[-1]).cpu().contiguous().numpy(), r.reshape(-1, 1).cpu().contiguous().numpy())

    # ----- the two paths ----------------------------------------------------------------------
    def hidden(self, ids: torch.Tensor) -> torch.Tensor:
        """Final hidden states [B, T, d] of token ids [B, T] from position 0 (teacher forcing)."""
        b, t = ids.shape
        if t > self.cfg.context:
            raise ValueError(f"block of {t} tokens is longer than the engine's context ({self.cfg.context})")
        x = self.t["embed"][ids.to(self.t["embed"].device)]
        with torch.no_grad():
            for layer in range(self.cfg.n_layers):
                x = self._layer(x, layer, self._merge(self._causal(*self._heads(x, layer, 0)), b, t))
        return x

    def _causal(self, q, q_s, k, k_s, v, v_s) -> torch.Tensor:
        """Causal attention of a whole sequence, ``QUERY_CHUNK`` positions of queries at a time over
        the keys up to the chunk's last (each query's weights are those of ``_attend`` over all
        its keys: later keys would weigh 0)."""
        rows, t, dh = k.shape
        g = q.shape[1] // t
        q, q_s = q.view(rows, g, t, dh), q_s.view(rows, g, t)
        out = torch.empty(rows, g, t, dh, device=q.device)
        for a in range(0, t, QUERY_CHUNK):
            e = min(t, a + QUERY_CHUNK)
            visible = np.tile(np.arange(a + 1, e + 1, dtype=np.int64), g)
            part = self._attend(q[:, :, a:e].reshape(rows, g * (e - a), dh), q_s[:, :, a:e].reshape(rows, -1), k[:, :e], k_s[:, :e],
                                v[:, :e], v_s[:, :e], visible)
            out[:, :, a:e] = part.view(rows, g, e - a, dh)
        return out.view(rows, g * t, dh)

    def intervals(self, ids: torch.Tensor, targets: torch.Tensor, freq_bits: int = 24,
                  predicted: torch.Tensor | None = None) -> tuple[np.ndarray, ...]:
        """(low, high, total) [B x T] of each target under the CDF after each input position; given
        ``predicted`` tokens [B, T] (a match model's), then their (low, high) under the same CDFs."""
        z, r = self._logits(self.hidden(ids))
        tokens = np.stack([t.reshape(-1).numpy().astype(np.int64) for t in [targets] + ([] if predicted is None else [predicted])])
        low, high, total = np.empty(tokens.shape, np.int64), np.empty(tokens.shape, np.int64), np.empty(len(z), np.int64)
        token_intervals(z, r, self._out_lut_np, (1 << freq_bits) - self.cfg.vocab_size, tokens, low, high, total)
        return (low[0], high[0], total) + (() if predicted is None else (low[1], high[1]))

    def cdfs(self, ids: torch.Tensor, freq_bits: int = 24) -> np.ndarray:
        """Integer CDFs [B, T, V+1] after each input position (for small models and tests: V+1 int64s per position)."""
        b, t = ids.shape
        return self._cdf(self.hidden(ids), freq_bits).reshape(b, t, -1)

    def _cdf(self, x: torch.Tensor, freq_bits: int) -> np.ndarray:
        """[N, V+1] integer CDFs of hidden states x."""
        z, r = self._logits(x)
        out = np.empty((len(z), z.shape[1] + 1), np.int64)
        llama_kernels.cdfs(z, r, self._out_lut_np, (1 << freq_bits) - self.cfg.vocab_size, out)
        return out

    def start(self, batch: int, length: int) -> Cache:
        """An empty cache for ``batch`` rows of up to ``length`` tokens each."""
        cfg = self.cfg
        if length > cfg.context:
            raise ValueError(f"blocks of {length} tokens are longer than the engine's context ({cfg.context})")
        rows, dev = batch * cfg.n_kv_heads, self.t["embed"].device
        n = cfg.n_layers
        return Cache(k=[torch.zeros(rows, length, cfg.head_dim, dtype=torch.int8, device=dev) for _ in range(n)],
                     k_s=[torch.ones(rows, length, device=dev) for _ in range(n)],
                     v=[torch.zeros(rows, length, cfg.head_dim, dtype=torch.int8, device=dev) for _ in range(n)],
                     v_s=[torch.ones(rows, length, device=dev) for _ in range(n)])

    def step(self, cache: Cache, tokens: torch.Tensor, freq_bits: int = 24) -> np.ndarray:
        """Feed one token per row ([B]) at the cache's position; the [B, V+1] CDFs of the next
        (on the CPU one compiled call, ``llama_kernels.step``; on a GPU PyTorch operations)."""
        p, b = cache.position, len(tokens)
        if p >= cache.k[0].shape[1]:
            raise ValueError("cache is full")
        if self._compiled:
            return self._compiled_step(cache, tokens, freq_bits)
        g = self.cfg.n_heads // self.cfg.n_kv_heads
        visible = np.full(g, p + 1, np.int64)
        x = self.t["embed"][tokens.to(self.t["embed"].device)][:, None]
        with torch.no_grad():
            for layer in range(self.cfg.n_layers):
                q, q_s, k, k_s, v, v_s = self._heads(x, layer, p)
                cache.k[layer][:, p], cache.k_s[layer][:, p] = k[:, 0], k_s[:, 0]
                cache.v[layer][:, p], cache.v_s[layer][:, p] = v[:, 0], v_s[:, 0]
                seen = slice(0, p + 1)
                attention = self._merge(self._attend(q, q_s, cache.k[layer][:, seen], cache.k_s[layer][:, seen],
                                                     cache.v[layer][:, seen], cache.v_s[layer][:, seen], visible), b, 1)
                x = self._layer(x, layer, attention)
            cache.position = p + 1
            return self._cdf(x[:, 0], freq_bits)

    def _compiled_step(self, cache: Cache, tokens: torch.Tensor, freq_bits: int) -> np.ndarray:
        """``step`` as one call of ``llama_kernels.step`` (numpy views of the cache, updated in place)."""
        out = np.empty((len(tokens), self.cfg.vocab_size + 1), np.int64)
        k, k_s, v, v_s = (tuple(t.numpy() for t in ts) for ts in (cache.k, cache.k_s, cache.v, cache.v_s))
        llama_kernels.step(tokens.numpy().astype(np.int64), cache.position, self.stored["embed"], self._step_weights,
                           self._step_scales, self.stored["rope_cos"], self.stored["rope_sin"], self.stored["sigmoid"], self._lut_np,
                           self._out_lut_np, self.cfg.n_heads, self.cfg.d_mlp, self._q_scale, (1 << freq_bits) - self.cfg.vocab_size,
                           k, k_s, v, v_s, out)
        cache.position += 1
        return out


def exact_mm(q8: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """q8 [B, K] (int8 values) @ w [K, N] (integers, fp32 or float64) exactly: one GEMM in float64
    or where K <= EXACT_K, else fp32 GEMMs over K's pieces of EXACT_K added in float64."""
    q = q8.to(w.dtype)
    if w.dtype == torch.float64 or q.shape[1] <= EXACT_K:
        return torch.mm(q, w)
    pieces = [torch.mm(q[:, k : k + EXACT_K], w[k : k + EXACT_K]).double() for k in range(0, q.shape[1], EXACT_K)]
    return torch.stack(pieces).sum(0)  # float64 sums of integers below 2^53: exact


def _attention_weights_torch(dots, q_s, k_s, v_s, visible, lut) -> tuple[torch.Tensor, torch.Tensor]:
    """``llama_kernels.attention_weights`` in PyTorch operations (for a GPU): the same operations
    in the same order."""
    keys = dots.shape[-1]
    seen = torch.arange(keys, device=dots.device)[None, :] < visible[:, None]  # [Q, K]
    x = (dots * q_s[..., None]) * k_s[:, None, :]
    x = x.masked_fill(~seen, float("-inf"))
    top = x.amax(-1, keepdim=True)
    e = lut[torch.clamp(torch.round(top - x), max=len(lut) - 1).nan_to_num(len(lut) - 1).long()]
    v_top = v_s[:, None, :].expand_as(x).masked_fill(~seen, 0.0).amax(-1)
    scale = (1.0 / e.sum(-1, keepdim=True)) * 65536.0
    return torch.floor((e * scale) * (v_s[:, None, :] / v_top[..., None])), v_top


def reference_logits(cfg: LlamaConfig, w: dict[str, np.ndarray], ids: torch.Tensor) -> torch.Tensor:
    """The float model's logits [B, T, V] (float32, PyTorch's own kernels): the ideal the engine
    approximates. ``w``: embed [V, d], per layer ``L.attn_norm``, ``L.wq`` [H x dh, d], ``L.wk``,
    ``L.wv``, ``L.wo``, ``L.mlp_norm``, ``L.gate`` [m, d], ``L.up``, ``L.down`` [d, m]; ``norm``;
    ``head`` (default: embed)."""
    f = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in w.items()}
    b, t = ids.shape
    h, kv, dh = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    inv = cfg.rope_theta ** (-torch.arange(0, dh, 2, dtype=torch.float64) / dh)
    angle = torch.arange(t, dtype=torch.float64)[:, None] * inv[None]
    cos, sin = angle.cos().float()[None, :, None], angle.sin().float()[None, :, None]

    def norm(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

    def rope(x: torch.Tensor) -> torch.Tensor:
        a, c = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - c * sin, a * sin + c * cos], dim=-1).flatten(-2)

    x = f["embed"][ids]
    with torch.no_grad():
        for i in range(cfg.n_layers):
            y = norm(x, f[f"{i}.attn_norm"])
            q = rope((y @ f[f"{i}.wq"].T).view(b, t, h, dh)).transpose(1, 2)
            k = rope((y @ f[f"{i}.wk"].T).view(b, t, kv, dh)).transpose(1, 2).repeat_interleave(h // kv, 1)
            v = (y @ f[f"{i}.wv"].T).view(b, t, kv, dh).transpose(1, 2).repeat_interleave(h // kv, 1)
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + a.transpose(1, 2).reshape(b, t, -1) @ f[f"{i}.wo"].T
            y = norm(x, f[f"{i}.mlp_norm"])
            x = x + (torch.nn.functional.silu(y @ f[f"{i}.gate"].T) * (y @ f[f"{i}.up"].T)) @ f[f"{i}.down"].T
        return norm(x, f["norm"]) @ f.get("head", f["embed"]).T


def random_weights(cfg: LlamaConfig, seed: int = 0, std: float = 0.3) -> dict[str, np.ndarray]:
    """Random float weights of this shape (for tests): what ``from_weights`` and ``reference_logits`` take."""
    rng = np.random.default_rng(seed)
    d, m, dh = cfg.d_model, cfg.d_mlp, cfg.head_dim

    def mat(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * std / np.sqrt(cols) * 3).astype(np.float32)

    w = {"embed": (rng.standard_normal((cfg.vocab_size, d))).astype(np.float32), "norm": np.ones(d, np.float32)}
    for i in range(cfg.n_layers):
        w.update({f"{i}.attn_norm": (1 + 0.1 * rng.standard_normal(d)).astype(np.float32), f"{i}.wq": mat(cfg.n_heads * dh, d),
                  f"{i}.wk": mat(cfg.n_kv_heads * dh, d), f"{i}.wv": mat(cfg.n_kv_heads * dh, d), f"{i}.wo": mat(d, d),
                  f"{i}.mlp_norm": (1 + 0.1 * rng.standard_normal(d)).astype(np.float32), f"{i}.gate": mat(m, d),
                  f"{i}.up": mat(m, d), f"{i}.down": mat(d, m)})
    return w


def fingerprint(cfg: LlamaConfig, tensors: dict[str, np.ndarray], tokenizer: str) -> str:
    """SHA-256 over the engine version, config, tokenizer and every tensor (name, dtype, shape,
    bytes), hex: equal fingerprints give equal CDFs and tokens."""
    h = hashlib.sha256(f"llama engine {ENGINE_VERSION}|".encode() + json.dumps(cfg.to_dict(), sort_keys=True).encode())
    h.update(hashlib.sha256(tokenizer.encode()).digest())
    for name in sorted(tensors):
        v = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{v.dtype.name}|{tuple(v.shape)}|".encode())
        h.update(v.tobytes())
    return h.hexdigest()
