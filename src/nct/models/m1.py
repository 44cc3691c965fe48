"""M1, the byte-level probability model, run by a deterministic engine: integer CDFs that are
bit-identical on every path.

Floating-point reductions depend on their order, so a float Transformer gives slightly different
probabilities in a full-sequence forward, a KV-cached step, another batch size, thread count or
CPU, and an arithmetic decoder fed different probabilities than its encoder fails. This engine
makes every reduction exact instead (invariant 2, README):

* Every matmul multiplies int8 values. Products and all partial sums are integers below 2^24, so
  the sum is exact in any order, at any batch size or thread count: the weight matmuls run as
  int8 x int8 -> int32 GEMMs (``torch._int_mm``), and attention is one compiled routine per query
  (``nct.models.exact_attention``) that the full-sequence and the cached-step paths share. The
  engine runs on the CPU (its compiled parts take numpy arrays).
  Activations are quantized per row (per token, or per token and head) from the row's max
  magnitude; weights per output channel; values with a fixed per-channel scale.
* Everything else is elementwise with correctly rounded IEEE operations (+, -, x, /, sqrt,
  round), exact (max, ReLU), or an integer table lookup: softmax uses exp tables stored with
  the weights, and attention weights are integers (summing to <= 2^16) so that P @ V is exact.
* The final distribution becomes an integer CDF with int64 arithmetic; every byte gets
  frequency >= 1.

So teacher-forced scoring, incremental decoding with a cache, any batch, padding and hardware
give the same integers by construction, and tests check it. The engine is exported from a
trained float ``Transformer`` (``M1.from_float``) and saved as one safetensors file whose
SHA-256 over config and tensors is the model fingerprint stored in every archive.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import ModelError
from ..util import atomic_path
from . import exact_kernels
from .config import TransformerConfig, bucket_ids
from .exact_attention import attend_sequence, attend_step
from .exact_kernels import OUT_LUT_STEPS, QMAX, integer_cdf, quantize_int8

if TYPE_CHECKING:
    import torch

    from .transformer import Transformer

ATTN_ONE = 65536.0  # attention weights are integers summing to at most 2^16
ATTN_LUT_SCALE = 8192  # exp table for attention: integers <= 2^13, so a row of 1024 sums below 2^24
ATTN_LUT_STEPS = 64  # table steps per nat
OUT_LUT_SCALE = 1 << 24  # exp table for the output distribution (int64)
DEFAULT_FREQ_BITS = 24
COMPILED_STEP_ROWS = 16  # steps of up to this many rows run compiled whole (same CDFs, less overhead)
FORMAT = "nct-m1-engine/1"
ENGINE_VERSION = 2  # the engine's arithmetic; part of the fingerprint, so archives name the engine too


def exp_table(scale: int, steps_per_nat: int) -> np.ndarray:
    """round(scale * exp(-i / steps_per_nat)) for i = 0.. until it reaches 0 (last entry is 0)."""
    values = []
    i = 0
    while True:
        v = round(scale * math.exp(-i / steps_per_nat))
        values.append(v)
        if v == 0:
            return np.array(values, np.int64)
        i += 1


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(q, s): int8-valued q and per-row scale s with x ~ q * s, both computed elementwise."""
    amax = x.abs().amax(-1, keepdim=True).clamp_min_(1e-30)
    # |x| * (127 / amax) <= 127 * (1 + 2^-22) after the two roundings, so no clamp is needed
    q = (x * amax.reciprocal().mul_(QMAX)).round_()
    return q, amax.mul_(1.0 / QMAX)


def quantize_weight(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel int8 weights [out, in] -> (int-valued [in, out] for x @ W, scales [out])."""
    q, s = quantize_rows(w.float())
    return q.t().contiguous(), s.squeeze(-1).contiguous()


@dataclass
class Cache:
    """Keys and values seen so far, per layer, in a ring of ``slots`` = ``window`` (or ``context``)
    slots. The arrays start small and double until they hold all slots, so short sequences (as
    Equal-Info windows) never allocate a full ring.

    Every row has its own position, so rows can be restarted independently (``M1.reset``)."""

    k: list[Any]  # [B, kv, dh, S] int8 (transposed), S <= slots: numpy arrays, or PyTorch tensors on M1's device
    k_scale: list[Any]  # [B, kv, 1, S] float32
    v: list[Any]  # [B, kv, dh, S] int8 (transposed)
    position: np.ndarray  # [B] int64: tokens consumed by each row since its start
    slots: int

    def reserve(self, position: int) -> None:
        """Grow the tensors (zero keys and values, unit scales) to hold ``position`` while it is
        below ``slots``; beyond, the ring reuses slots."""
        size = self.v[0].shape[-1]
        if position < size or size == self.slots:
            return
        extra = min(self.slots, max(2 * size, position + 1)) - size
        self.k = [_grow(t, extra, 0) for t in self.k]
        self.v = [_grow(t, extra, 0) for t in self.v]
        self.k_scale = [_grow(t, extra, 1.0) for t in self.k_scale]


def _grow(t: Any, extra: int, value: float) -> Any:
    """``t`` (a numpy array or a PyTorch tensor) with ``extra`` slots of ``value`` appended on its last axis."""
    if isinstance(t, np.ndarray):
        return np.pad(t, [(0, 0)] * (t.ndim - 1) + [(0, extra)], constant_values=value)
    import torch

    return torch.nn.functional.pad(t, (0, extra), value=value)


class M1:
    """A byte-level LM with deterministic integer inference: M1 of the papers.

    Its tensors are numpy arrays, so loading it and stepping a small batch (``step``,
    ``cdfs(engine="compiled")``) never import PyTorch; the rest runs PyTorch's int8 GEMMs over
    the same memory. ``cdfs`` and ``step`` return CDFs of the kind they are given (numpy arrays or
    PyTorch tensors)."""

    def __init__(self, cfg: TransformerConfig, tensors: dict[str, Any], meta: dict | None = None):
        self.cfg = cfg
        self.t = {k: np.array(v, order="C") for k, v in tensors.items()}  # own, writable copies
        tensors = self.t
        self.meta = dict(meta or {})
        if cfg.d_model > 1024 or cfg.d_mlp > 1024:
            raise ValueError("exact int8 matmuls need inner dimensions <= 1024")
        if cfg.mlp != "relu":
            raise ValueError("the exact engine runs ReLU MLPs only")
        if (cfg.window or cfg.context) * ATTN_LUT_SCALE > 1 << 24:
            raise ValueError("attention span too long for exact softmax sums")
        self._out_lut_np = tensors["out_lut"]
        # Attention logits are computed directly in units of the exp table's step (1/64 nat).
        self._q_scale = ATTN_LUT_STEPS / math.sqrt(cfg.head_dim)
        kv, dh = cfg.n_kv_heads, cfg.head_dim
        self._v_inv = [np.float32(1.0) / tensors[f"{i}.v_s"] for i in range(cfg.n_layers)]
        # for the compiled attention: biases [H, max_distance + 1] by distance, the exp table, and
        # each layer's value output scale [kv, 1, dh]
        rel_bias = tensors["rel_bias"] * np.float32(ATTN_LUT_STEPS)
        self._bias_np = np.ascontiguousarray(rel_bias[:, bucket_ids(cfg, cfg.max_distance + 1)])
        self._attn_lut_np = tensors["attn_lut"].astype(np.float32)
        self._v_out_np = [tensors[f"{i}.v_s"].reshape(kv, 1, dh) * np.float32(1.0 / ATTN_ONE) for i in range(cfg.n_layers)]
        self._int8 = {k: v.astype(np.int8) for k, v in tensors.items() if k in self._weight_names()}
        # the compiled step's operands: qkv, o, w1, w2 of every layer, then the head
        names = [f"{i}.{w}" for i in range(cfg.n_layers) for w in ("qkv", "o", "w1", "w2")] + ["head"]
        self._step_operands = (
            tensors["embed"],
            tuple(self._int8[n] for n in names),
            tuple(tensors[n + "_s"] for n in names),
            tuple(self._v_inv),
            tuple(self._v_out_np),
        )
        self._torch_views: dict[str, dict[str, torch.Tensor]] = {}
        self.device: str | None = None  # None: the CPU engines; else the portable engine's PyTorch device (``to``)
        self.fingerprint = fingerprint(cfg, self.stored())

    def to(self, device: Any) -> "M1":
        """This model run by the portable engine on a PyTorch ``device`` (``"cuda"``, or ``"cpu"``:
        every operation in PyTorch), sharing its tensors; ``None``: the CPU engines. Its ``cdfs``,
        ``start`` and ``step`` work there (caches live on the device) and give the same integers."""
        other = copy.copy(self)
        other.device = None if device is None else str(device)
        if other.device is not None:
            other._torch(other.device)  # the tensors go there now (for a GPU, before any worker is forked)
        return other

    # ----- export / load / save -------------------------------------------------------------
    @classmethod
    def from_float(cls, model: Transformer, calibration: torch.Tensor, meta: dict | None = None) -> "M1":
        """Export a trained float model; ``calibration`` ([B, T] input ids) fixes the value scales."""
        import torch

        cfg = model.cfg
        with torch.no_grad():
            sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
            t: dict[str, torch.Tensor] = {"embed": sd["embed.weight"].contiguous()}
            t["rel_bias"] = sd["rel_bias.weight"].t().contiguous()  # [H, buckets]
            for i in range(cfg.n_layers):
                p = f"blocks.{i}."
                g_attn, g_mlp = sd[p + "attn_norm.weight"], sd[p + "mlp_norm.weight"]
                qkv = torch.cat([sd[p + "wq.weight"], sd[p + "wk.weight"], sd[p + "wv.weight"]]) * g_attn
                t[f"{i}.qkv"], t[f"{i}.qkv_s"] = quantize_weight(qkv)
                t[f"{i}.o"], t[f"{i}.o_s"] = quantize_weight(sd[p + "wo.weight"])
                t[f"{i}.w1"], t[f"{i}.w1_s"] = quantize_weight(sd[p + "w1.weight"] * g_mlp)
                t[f"{i}.w2"], t[f"{i}.w2_s"] = quantize_weight(sd[p + "w2.weight"])
            t["head"], t["head_s"] = quantize_weight(sd["head.weight"] * sd["norm.weight"])
            # Values share one scale per channel (P @ V must sum integers): the largest value seen
            # on calibration text, +25% headroom.
            for i, vmax in enumerate(value_ranges(model, calibration)):
                t[f"{i}.v_s"] = (vmax * 1.25).clamp_min(1e-6) * (1.0 / QMAX)
        arrays = {k: v.numpy() for k, v in t.items()}
        arrays["attn_lut"] = exp_table(ATTN_LUT_SCALE, ATTN_LUT_STEPS)
        arrays["out_lut"] = exp_table(OUT_LUT_SCALE, OUT_LUT_STEPS)
        return cls(cfg, arrays, meta)

    def to_float(self) -> Transformer:
        """A float Transformer with this engine's (dequantized) weights, norm gains folded in as
        the engine holds them: the starting point for training a model further."""
        import torch

        from .transformer import Transformer

        cfg = self.cfg
        model = Transformer(cfg)
        t = self._torch()

        def weight(name: str) -> torch.Tensor:
            return (t[name] * t[name + "_s"]).t().contiguous()  # [out, in]

        sd = {k: v.clone() for k, v in model.state_dict().items()}
        sd["embed.weight"] = t["embed"].clone()
        sd["rel_bias.weight"] = t["rel_bias"].t().contiguous()
        sd["head.weight"] = weight("head")
        d, kv = cfg.d_model, cfg.n_kv_heads * cfg.head_dim
        for i in range(cfg.n_layers):
            p = f"blocks.{i}."
            qkv = weight(f"{i}.qkv")
            sd[p + "wq.weight"], sd[p + "wk.weight"], sd[p + "wv.weight"] = qkv[:d], qkv[d : d + kv], qkv[d + kv :]
            sd[p + "wo.weight"], sd[p + "w1.weight"], sd[p + "w2.weight"] = weight(f"{i}.o"), weight(f"{i}.w1"), weight(f"{i}.w2")
        for k in sd:
            if k.endswith("norm.weight"):
                sd[k] = torch.ones_like(sd[k])
        model.load_state_dict(sd)
        return model

    @classmethod
    def load(cls, path: str | Path = "default") -> "M1":
        """Load a model saved with ``save``, or a shipped one by name (``"default"``, ``"tiny"``)."""
        from safetensors import safe_open
        from safetensors.numpy import load_file

        from .shipped import shipped_path

        path = shipped_path(str(path)) or path
        if not Path(path).is_file():
            raise ModelError(f"{path}: model file not found")
        try:
            with safe_open(str(path), "np") as f:
                meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise ModelError(f"{path}: not an nct M1 model file")
            cfg = TransformerConfig.from_dict(json.loads(meta["config"]))
            tensors = {k: v.astype(np.float32) if v.dtype == np.int8 else v for k, v in load_file(str(path)).items()}
            return cls(cfg, tensors, json.loads(meta.get("manifest", "{}")))
        except ModelError:
            raise
        except Exception as e:  # safetensors raises its own types for damaged files
            raise ModelError(f"{path}: not a readable nct M1 model file ({e})") from None

    def save(self, path: str | Path) -> None:
        """Write the engine as one safetensors file (atomically)."""
        from safetensors.numpy import save_file

        meta = {"format": FORMAT, "config": json.dumps(self.cfg.to_dict()), "manifest": json.dumps(self.meta)}
        with atomic_path(path) as tmp:
            save_file(self.stored(), str(tmp), metadata=meta)

    def stored(self) -> dict[str, np.ndarray]:
        """The tensors as saved (and fingerprinted): weight matrices as int8, the rest as they are."""
        weights = set(self._weight_names())
        return {k: np.ascontiguousarray(v.astype(np.int8) if k in weights else v) for k, v in self.t.items()}

    @property
    def bos(self) -> int:
        """Input id that starts every block."""
        return self.cfg.bos

    @property
    def non_embedding_params(self) -> int:
        """Weights outside the embedding and output head (what a forward costs per byte, / 2)."""
        return sum(self.t[f"{i}.{w}"].size for i in range(self.cfg.n_layers) for w in ("qkv", "o", "w1", "w2"))

    def _weight_names(self) -> list[str]:
        """The int8-valued weight matrices (stored as int8 on disk)."""
        return ["head"] + [f"{i}.{w}" for i in range(self.cfg.n_layers) for w in ("qkv", "o", "w1", "w2")]

    @property
    def n_params(self) -> int:
        """Number of model weights (excluding tables and scales)."""
        return sum(self.t[n].size for n in ["embed", *self._weight_names()])

    def _torch(self, device: Any = "cpu") -> dict[str, torch.Tensor]:
        """The tensors in PyTorch on ``device`` (views of the arrays on the CPU), with the int8
        weights as ``NAME.i8``, the values' inverse scales as ``L.v_inv`` and the compiled
        attention's tables as ``bias``, ``attn_lut`` and ``L.v_out``; made on first use, so
        PyTorch is imported only for the paths that use it."""
        import torch

        key = str(torch.device(device))
        if key not in self._torch_views:
            arrays = {**self.t, **{f"{k}.i8": v for k, v in self._int8.items()}, "bias": self._bias_np, "attn_lut": self._attn_lut_np}
            arrays.update({f"{i}.v_inv": v for i, v in enumerate(self._v_inv)})
            arrays.update({f"{i}.v_out": v for i, v in enumerate(self._v_out_np)})
            self._torch_views[key] = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
        return self._torch_views[key]

    # ----- building blocks (the PyTorch path) -----------------------------------------------
    # A matmul result is kept as (y, r): y carries the weights' column scales and r [..., 1] the
    # input's positive row scale, x @ W ~ y * r. Where the next step is a per-row quantization
    # (queries, keys, the MLP's hidden layer after ReLU) or a per-row max (the logits), r is
    # carried along as a scale instead of multiplied into every element.
    def _matmul(self, x: torch.Tensor, name: str, normalize: bool = False, row_scale: torch.Tensor | None = None,
                portable: bool = False):
        """(y, r) for x @ W (x scaled by ``row_scale`` if given), or RMSNorm(x) @ W with ``normalize``
        (the norm's gain is folded into W); ``portable``: in PyTorch alone, on x's device."""
        import torch

        t = self._torch(x.device)
        flat = x.reshape(-1, x.shape[-1]).contiguous()
        if portable:
            from . import exact_torch

            q8, r = exact_torch.quantize(flat, normalize)
            product = exact_torch.int_matmul(q8, t[name + ".i8"])
        else:  # quantized in one compiled pass, then int8 x int8 -> int32: the same integers
            q8 = torch.empty(flat.shape, dtype=torch.int8)
            r = torch.empty(len(flat), 1)
            quantize_int8(flat.numpy(), normalize, q8.numpy(), r.numpy())
            product = int8_matmul(q8, t[name + ".i8"])
        y = product.view(*x.shape[:-1], -1).float().mul_(t[name + "_s"])
        r = r.view(*x.shape[:-1], 1)  # with ``normalize``, x / rms(x) ~ q / sqrt(mean(q^2)): the quantization scale cancels
        if row_scale is not None:
            r = r.mul_(row_scale)
        return y, r

    def _qkv(self, x: torch.Tensor, layer: int, portable: bool = False) -> tuple[torch.Tensor, ...]:
        """Quantized queries [B*kv, G*T, dh] (+ scales [B*kv, G*T, 1]), keys [B*kv, T, dh] (+ scales
        [B*kv, 1, T]) and values [B*kv, T, dh]: key/value heads are folded into the batch."""
        cfg = self.cfg
        b, t, _ = x.shape
        kv, g, dh = cfg.n_kv_heads, cfg.n_heads // cfg.n_kv_heads, cfg.head_dim
        y, r = self._matmul(x, f"{layer}.qkv", normalize=True, portable=portable)
        end = cfg.d_model + kv * dh
        qk, qk_s = quantize_rows(y[..., :end].view(b, t, cfg.n_heads + kv, dh))  # per token and head
        qk_s = qk_s.mul_(r.unsqueeze(-1))
        # queries grouped under their key/value head, rows ordered (head in group, position)
        q = qk[:, :, : cfg.n_heads].view(b, t, kv, g, dh).permute(0, 2, 3, 1, 4).reshape(b * kv, g * t, dh)
        q_s = qk_s[:, :, : cfg.n_heads].view(b, t, kv, g).permute(0, 2, 3, 1).reshape(b * kv, g * t, 1)
        k = qk[:, :, cfg.n_heads :].transpose(1, 2).reshape(b * kv, t, dh)
        k_s = qk_s[:, :, cfg.n_heads :].permute(0, 2, 3, 1).reshape(b * kv, 1, t)
        v = y[..., end:].mul(r).mul_(self._torch(x.device)[f"{layer}.v_inv"]).round_().clamp_(-QMAX, QMAX)
        v = v.view(b, t, kv, dh).transpose(1, 2).reshape(b * kv, t, dh)
        return q, q_s.mul_(self._q_scale), k, k_s, v

    def _block(self, x: torch.Tensor, layer: int, attention: torch.Tensor, portable: bool = False) -> torch.Tensor:
        """Residual attention output (given) and ReLU MLP (ReLU commutes with w1's row scale)."""
        y, r = self._matmul(attention, f"{layer}.o", portable=portable)
        x = x + y.mul_(r)
        h, r1 = self._matmul(x, f"{layer}.w1", normalize=True, portable=portable)
        y, r = self._matmul(h.relu_(), f"{layer}.w2", row_scale=r1, portable=portable)
        return x + y.mul_(r)

    def _cdf(self, x: torch.Tensor, freq_bits: int, portable: bool = False) -> np.ndarray:
        """Final norm + head -> integer CDF [..., V+1] (int64, cdf[0] = 0, every frequency >= 1)."""
        z, r = self._matmul(x, "head", normalize=True, portable=portable)  # logits = z * r
        shape = z.shape
        z, r = z.reshape(-1, shape[-1]).contiguous(), r.reshape(-1, 1).contiguous()
        spare = (1 << freq_bits) - shape[-1]
        if portable:
            from . import exact_torch

            return exact_torch.integer_cdf(z, r, self._torch(x.device)["out_lut"], spare).cpu().numpy().reshape(*shape[:-1], -1)
        out = np.empty((len(z), shape[-1] + 1), np.int64)
        integer_cdf(z.numpy(), r.numpy(), self._out_lut_np, spare, out)
        return out.reshape(*shape[:-1], -1)

    # ----- the two paths --------------------------------------------------------------------
    def cdfs(self, inputs: Any, freq_bits: int = DEFAULT_FREQ_BITS, engine: str | None = None, device: Any = None) -> Any:
        """Integer CDFs [B, T, V+1] of the symbol after each input position (teacher forcing), of
        the kind ``inputs`` [B, T] is (a numpy array or a PyTorch tensor, on the CPU).

        ``engine="torch"`` runs PyTorch's GEMMs over the whole sequence, where each query attends
        only the keys its window holds (so long windowed blocks cost O(T x window));
        ``"compiled"`` runs the compiled cached steps, without PyTorch (for small inputs, where
        importing PyTorch costs more than it saves); ``"portable"`` runs every operation in
        PyTorch on ``device`` (a GPU: ``nct.models.exact_torch``; O(T^2) attention). All give the
        same integers. Default: ``"portable"`` on the model's device after ``to``, else ``"torch"``."""
        engine = engine or ("portable" if self.device else "torch")
        device = device or self.device or "cpu"
        ids = _ids(inputs)
        b, t = ids.shape
        if self.cfg.window is None and t > self.cfg.context:
            raise ValueError(f"block of {t} tokens is longer than the model's context ({self.cfg.context})")
        if engine == "compiled":
            cache = self.start(b)
            out = np.empty((b, t, self.cfg.vocab_size + 1), np.int64)
            for i in range(t):
                out[:, i] = self._compiled_step(cache, np.ascontiguousarray(ids[:, i]), freq_bits)
        elif engine in ("torch", "portable"):
            import torch

            portable = engine == "portable"
            x = torch.from_numpy(ids).to(device if portable else "cpu")
            out = self._cdf(self._hidden(x, portable), freq_bits, portable)
        else:
            raise ValueError(f"unknown engine {engine!r} (torch, compiled or portable)")
        return _like(out, inputs)

    def _hidden(self, inputs: torch.Tensor, portable: bool = False) -> torch.Tensor:
        """Final hidden states [B, T, d] for a full sequence (``portable``: in PyTorch alone, on
        the inputs' device)."""
        import torch

        cfg = self.cfg
        b, t = inputs.shape
        kv, g, dh = cfg.n_kv_heads, cfg.n_heads // cfg.n_kv_heads, cfg.head_dim
        views = self._torch(inputs.device)
        x = views["embed"][inputs]
        for layer in range(cfg.n_layers):
            q, q_s, k, k_s, v = self._qkv(x, layer, portable)
            kt, vt = (a.to(torch.int8).transpose(1, 2).contiguous() for a in (k, v))  # [B*kv, dh, T]
            q = q.view(b * kv, g, t, dh).transpose(1, 2).contiguous()  # [B*kv, T, G, dh]
            q_s = q_s.view(b * kv, g, t).transpose(1, 2).contiguous()
            if portable:
                from . import exact_torch

                out = exact_torch.attend_sequence(q, q_s, kt, k_s, vt, cfg.window or 0, views["bias"], views["attn_lut"],
                                                  views[f"{layer}.v_out"])
                out = out.view(b, kv, t, g, dh).transpose(1, 2)  # [B, T, kv, G, dh]
            else:
                out = torch.empty(b, t, kv, g, dh)
                attend_sequence(q.numpy(), q_s.numpy(), kt.numpy(), k_s.contiguous().numpy(), vt.numpy(), cfg.window or 0,
                                self._bias_np, self._attn_lut_np, self._v_out_np[layer], out.numpy())
            x = self._block(x, layer, out.reshape(b, t, cfg.d_model), portable)
        return x

    def start(self, batch: int) -> Cache:
        """An empty cache for ``batch`` sequences; each starts with the token fed first (BOS). Its
        keys and values are on the model's device (``to``); the positions stay numpy arrays."""
        cfg = self.cfg
        slots = cfg.window or cfg.context
        size = min(slots, 16)
        shape = (batch, cfg.n_kv_heads, cfg.head_dim, size)
        n = cfg.n_layers
        cache = Cache(
            k=[np.zeros(shape, np.int8) for _ in range(n)],
            k_scale=[np.ones((batch, cfg.n_kv_heads, 1, size), np.float32) for _ in range(n)],
            v=[np.zeros(shape, np.int8) for _ in range(n)],
            position=np.zeros(batch, np.int64),
            slots=slots,
        )
        if self.device is not None:
            import torch

            for arrays in (cache.k, cache.k_scale, cache.v):
                arrays[:] = [torch.from_numpy(a).to(self.device) for a in arrays]
        return cache

    @staticmethod
    def reset(cache: Cache, rows: Any) -> None:
        """Restart the given rows (indices or a mask): their next token is position 0 and nothing
        before it is seen."""
        cache.position[np.asarray(rows)] = 0

    def step(self, cache: Cache, tokens: Any, freq_bits: int = DEFAULT_FREQ_BITS) -> Any:
        """Feed one token per sequence ([B]); returns the integer CDFs [B, V+1] of the next symbol,
        of the kind ``tokens`` is (a numpy array or a PyTorch tensor). Steps of up to
        ``COMPILED_STEP_ROWS`` rows run compiled whole (no PyTorch), and of up to twice as many
        while PyTorch is not imported (importing it costs more than they lose over a small file);
        larger ones on PyTorch's GEMMs: the same integers either way."""
        ids = _ids(tokens)
        if self.device is not None:
            return _like(self._torch_step(cache, ids, freq_bits, portable=True), tokens)
        rows = COMPILED_STEP_ROWS if "torch" in sys.modules else 2 * COMPILED_STEP_ROWS
        if len(ids) <= rows:
            return _like(self._compiled_step(cache, ids, freq_bits), tokens)
        return _like(self._torch_step(cache, ids, freq_bits), tokens)

    def _reserve(self, cache: Cache) -> None:
        """Check that every row's next position fits (a model without a window has a context) and
        grow the cache to hold it."""
        pos = cache.position
        if self.cfg.window is None and int(pos.max()) >= cache.slots:
            raise ValueError(f"sequence longer than the model's context ({self.cfg.context})")
        cache.reserve(int(pos.max()))

    def _compiled_step(self, cache: Cache, tokens: np.ndarray, freq_bits: int) -> np.ndarray:
        """``step`` by ``exact_kernels.step``: numpy in and out."""
        cfg = self.cfg
        self._reserve(cache)
        out = np.empty((len(tokens), cfg.vocab_size + 1), np.int64)
        exact_kernels.step(tokens, cache.position, *self._step_operands, tuple(cache.k), tuple(cache.k_scale), tuple(cache.v),
                           self._bias_np, self._attn_lut_np, self._out_lut_np, cfg.n_heads, np.float32(self._q_scale),
                           (1 << freq_bits) - cfg.vocab_size, out)
        cache.position = cache.position + 1
        return out

    def _torch_step(self, cache: Cache, tokens: np.ndarray, freq_bits: int, portable: bool = False) -> np.ndarray:
        """``step`` on PyTorch's GEMMs, the attention compiled over the cache's numpy arrays; or,
        ``portable``, every operation in PyTorch on the model's device, over a cache there."""
        import torch

        cfg = self.cfg
        self._reserve(cache)
        b = len(tokens)
        kv, g, dh = cfg.n_kv_heads, cfg.n_heads // cfg.n_kv_heads, cfg.head_dim
        device = self.device if portable else "cpu"
        views = self._torch(device)
        x = views["embed"][torch.from_numpy(tokens).to(device)][:, None]
        position = torch.from_numpy(cache.position).to(device)
        for layer in range(cfg.n_layers):
            q, q_s, k, k_s, v = self._qkv(x, layer, portable)
            if portable:
                from . import exact_torch

                out = exact_torch.attend_step(q, q_s, k, k_s, v, cache.k[layer], cache.k_scale[layer], cache.v[layer], position,
                                              views["bias"], views["attn_lut"], views[f"{layer}.v_out"])
            else:
                out = torch.empty(b, kv, g, dh)
                new = [t.contiguous().numpy() for t in (q, q_s, k, k_s, v)]
                attend_step(*new, cache.k[layer], cache.k_scale[layer], cache.v[layer], cache.position, self._bias_np,  # type: ignore[call-arg]
                            self._attn_lut_np, self._v_out_np[layer], out.numpy())
            x = self._block(x, layer, out.reshape(b, 1, cfg.d_model), portable)
        cache.position = cache.position + 1
        return self._cdf(x[:, 0], freq_bits, portable)


def _ids(x: Any) -> np.ndarray:
    """Token ids (a numpy array or a CPU PyTorch tensor) as an int64 array of this engine's own: a
    contiguous, writable copy, as PyTorch's path needs."""
    return np.array(x.numpy() if hasattr(x, "numpy") else x, np.int64, order="C")


def _like(cdfs: np.ndarray, given: Any) -> Any:
    """``cdfs`` as a PyTorch tensor (sharing memory) if ``given`` is one, else as it is."""
    if isinstance(given, np.ndarray) or "torch" not in sys.modules:
        return cdfs
    import torch

    return torch.from_numpy(cdfs) if isinstance(given, torch.Tensor) else cdfs


def int8_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for int8 a [M, K], b [K, N] (K <= 1024), exactly, as int32: ``torch._int_mm`` where it
    is exact on this CPU, else an fp32 GEMM of the same integers (every partial sum below 2^24)."""
    import torch

    if _int_mm_is_exact():
        return torch._int_mm(a, b)
    if a.shape[1] * QMAX * QMAX >= 1 << 24:
        raise ModelError("matmul too wide for an exact fp32 sum")
    return torch.mm(a.float(), b.float()).to(torch.int32)


@functools.cache
def _int_mm_is_exact() -> bool:
    """Whether ``torch._int_mm`` sums int8 products exactly here: oneDNN's kernels for CPUs without
    VNNI (AVX2, plain AVX-512) add pairs of products in saturating int16 and get them wrong."""
    import torch

    g, top = torch.Generator().manual_seed(0), int(QMAX)
    a = torch.randint(-top, top + 1, (64, 512), dtype=torch.int8, generator=g)
    b = torch.randint(-top, top + 1, (512, 64), dtype=torch.int8, generator=g)
    a[:8], b[:, :8] = top, top  # the pairs that saturate first
    a[8:16], b[:, 8:16] = -top, -top
    return bool(torch.equal(torch._int_mm(a, b).long(), a.long() @ b.long()))


def value_ranges(model: Transformer, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Largest |value| per channel of every layer of the float model on ``inputs``."""
    import torch

    ranges: list[torch.Tensor] = []
    hooks = [cast(torch.nn.Module, b.wv).register_forward_hook(lambda m, i, o: ranges.append(o.abs().amax(dim=(0, 1)).float().cpu())) for b in model.blocks]
    try:
        model.eval()
        with torch.no_grad():
            model(inputs)
    finally:
        for h in hooks:
            h.remove()
    return ranges


def fingerprint(cfg: TransformerConfig, tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over the engine version, the config and every stored tensor (name, dtype as PyTorch
    names it, shape, bytes), hex: equal fingerprints give equal CDFs."""
    h = hashlib.sha256(f"engine {ENGINE_VERSION}|".encode() + json.dumps(cfg.to_dict(), sort_keys=True).encode())
    for name in sorted(tensors):
        v = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|torch.{v.dtype.name}|{tuple(v.shape)}|".encode())
        h.update(v.tobytes())
    return h.hexdigest()
