"""The Transformer's shape and its relative-position buckets, without PyTorch: the exact engine
(``nct.models.m1``) loads and steps small batches without importing it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TransformerConfig:
    """Shape of a Transformer; ``vocab_size`` counts output symbols (BOS is one extra input id)."""

    vocab_size: int = 256
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 1
    d_mlp: int = 512
    context: int = 1024
    window: int | None = None
    exact_buckets: int = 16
    buckets_per_octave: int = 4
    position_bias: str = "learned"
    mlp: str = "relu"  # or "gated-gelu" (T5.1.1, the paper's M2 parameter counts)

    def __post_init__(self) -> None:
        if self.mlp not in ("relu", "gated-gelu"):
            raise ValueError("mlp must be 'relu' or 'gated-gelu'")
        if self.position_bias not in ("learned", "alibi"):
            raise ValueError("position_bias must be 'learned' (T5) or 'alibi' (fixed slopes)")
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError("d_model must divide into n_heads, and n_heads into n_kv_heads")
        if self.exact_buckets < 4 or self.exact_buckets & (self.exact_buckets - 1):
            raise ValueError("exact_buckets must be a power of two >= 4")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.n_heads

    @property
    def bos(self) -> int:
        """Input id of the begin-of-sequence token that starts every block."""
        return self.vocab_size

    @property
    def max_distance(self) -> int:
        """Largest query-key distance the model attends over."""
        return (self.window or self.context) - 1

    @property
    def n_buckets(self) -> int:
        """Number of relative-position buckets."""
        return relative_bucket(self.max_distance, self.exact_buckets, self.buckets_per_octave) + 1

    def to_dict(self) -> dict:
        """Plain-value form for manifests and checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TransformerConfig":
        """Inverse of ``to_dict``; ignores unknown keys from newer versions."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def relative_bucket(distance: int, exact: int = 16, per_octave: int = 4) -> int:
    """Bucket of a non-negative query-key distance: exact below ``exact``, then log-spaced.

    Pure integer arithmetic, so every machine builds the same table.
    """
    if distance < exact:
        return distance
    octave = distance.bit_length() - 1  # floor(log2(distance)) >= log2(exact)
    sub_bits = per_octave.bit_length() - 1
    sub = (distance >> (octave - sub_bits)) & (per_octave - 1)
    return exact + (octave - (exact.bit_length() - 1)) * per_octave + sub


def bucket_ids(cfg: TransformerConfig, length: int) -> list[int]:
    """Bucket id for every distance 0..length-1 (distances past the window reuse the last bucket)."""
    last = cfg.n_buckets - 1
    return [min(relative_bucket(d, cfg.exact_buckets, cfg.buckets_per_octave), last) for d in range(length)]
