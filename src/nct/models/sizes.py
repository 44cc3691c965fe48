"""Named model sizes: the papers' presets and CPU-sized ones."""

from __future__ import annotations

from dataclasses import replace

from .transformer import TransformerConfig

M1_SIZES: dict[str, TransformerConfig] = {
    # LMIC-style small byte models; multi-query attention over a 256-byte window keeps the
    # exact incremental decoder fast on a CPU (see README, "Choosing M1").
    "200k": TransformerConfig(d_model=64, n_layers=4, n_heads=2, n_kv_heads=1, d_mlp=256, context=512, window=256, position_bias="alibi"),
    "600k": TransformerConfig(d_model=128, n_layers=3, n_heads=2, n_kv_heads=1, d_mlp=512, context=512, window=256, position_bias="alibi"),
    "800k": TransformerConfig(d_model=128, n_layers=4, n_heads=2, n_kv_heads=1, d_mlp=512, context=512, window=256, position_bias="alibi"),
    # TLNCT's M1 "3m": d_model 256, 4 heads of 64, 3 layers, MLP 1024, ReLU, context 1024.
    "3m": TransformerConfig(d_model=256, n_layers=3, n_heads=4, n_kv_heads=4, d_mlp=1024, context=1024),
}


def m1_config(size: str) -> TransformerConfig:
    """The M1 preset called ``size``."""
    try:
        return M1_SIZES[size]
    except KeyError:
        raise ValueError(f"unknown M1 size {size!r}; choose one of {', '.join(M1_SIZES)}") from None


M2_SIZES: dict[str, TransformerConfig] = {
    # TLNCT's M2 sizes (non-embedding parameters: T5.1.1 gated-GELU MLPs give 25.2M, 113M, 403M and
    # 1.6B), sequence length 512, learned relative position biases.
    "25m": TransformerConfig(d_model=512, n_layers=6, n_heads=8, n_kv_heads=8, d_mlp=2048, context=512, mlp="gated-gelu"),
    "113m": TransformerConfig(d_model=768, n_layers=12, n_heads=12, n_kv_heads=12, d_mlp=3072, context=512, mlp="gated-gelu"),
    "403m": TransformerConfig(d_model=1024, n_layers=24, n_heads=16, n_kv_heads=16, d_mlp=4096, context=512, mlp="gated-gelu"),
    "2b": TransformerConfig(d_model=2048, n_layers=24, n_heads=32, n_kv_heads=32, d_mlp=8192, context=512, mlp="gated-gelu"),
    # Sized for a 2-core CPU (ALiBi-style fixed biases train ~3x faster there; see README).
    "cpu-1m": TransformerConfig(d_model=128, n_layers=4, n_heads=4, n_kv_heads=4, d_mlp=512, context=512, position_bias="alibi"),
    "cpu-3m": TransformerConfig(d_model=256, n_layers=4, n_heads=4, n_kv_heads=4, d_mlp=1024, context=512, position_bias="alibi"),
}


def m2_config(size: str, vocab_size: int, context: int | None = None) -> TransformerConfig:
    """The M2 preset called ``size`` over a vocabulary of ``vocab_size`` tokens."""
    try:
        cfg = M2_SIZES[size]
    except KeyError:
        raise ValueError(f"unknown M2 size {size!r}; choose one of {', '.join(M2_SIZES)}") from None
    return replace(cfg, vocab_size=vocab_size, context=context or cfg.context)
