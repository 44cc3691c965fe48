"""Named model sizes: the papers' presets and CPU-sized ones."""

from __future__ import annotations

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
