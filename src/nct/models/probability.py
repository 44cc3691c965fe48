"""Probability models for arithmetic coding: the protocol M1 follows, and StaticAC's byte unigram.

Here rather than in ``nct.compressors`` so that tokenizers and compressors can both use them
without one importing the other (StaticAC's default unigram, of the embedded corpus, is
``nct.data.unigram.default_unigram``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import ModelError
from .m1 import DEFAULT_FREQ_BITS

if TYPE_CHECKING:
    import torch


class ProbabilityModel(Protocol):
    """Integer next-symbol CDFs, teacher-forced or one step at a time (identical by contract)."""

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what determines the probabilities (recorded in archives and manifests)."""
        ...

    @property
    def bos(self) -> int:
        """The begin-of-sequence input."""
        ...

    def cdfs(self, inputs: torch.Tensor, freq_bits: int = DEFAULT_FREQ_BITS) -> torch.Tensor:
        """[B, T, V+1] CDFs of the symbol after each input position."""
        ...

    def start(self, batch: int) -> Any:
        """Decoding state for ``batch`` sequences."""
        ...

    def step(self, state: Any, tokens: torch.Tensor, freq_bits: int = DEFAULT_FREQ_BITS) -> torch.Tensor:
        """Feed one token per sequence; [B, V+1] CDFs of the next symbol."""
        ...


@dataclass
class Unigram:
    """A context-free byte model from byte counts: StaticAC's probability model. Its one CDF per
    ``freq_bits`` is computed once and kept."""

    counts: np.ndarray
    bos: int = 256
    fingerprint: str = field(init=False)
    _cdf: dict[int, torch.Tensor] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if self.counts.shape != (256,) or (self.counts < 0).any():
            raise ModelError("a unigram model needs 256 non-negative byte counts")
        self.fingerprint = hashlib.sha256(self.counts.astype("<i8").tobytes()).hexdigest()

    @classmethod
    def fit(cls, data: bytes) -> "Unigram":
        """Count the bytes of ``data``."""
        return cls(np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256))

    def cdf(self, freq_bits: int = DEFAULT_FREQ_BITS) -> torch.Tensor:
        """The one CDF [257] (every byte has frequency >= 1); read-only, shared by every caller."""
        if freq_bits not in self._cdf:
            import torch

            c = torch.from_numpy(self.counts)
            freq = c * ((1 << freq_bits) - 256) // max(1, int(c.sum())) + 1
            self._cdf[freq_bits] = torch.nn.functional.pad(freq.cumsum(0), (1, 0))
        return self._cdf[freq_bits]

    def cdfs(self, inputs: torch.Tensor, freq_bits: int = DEFAULT_FREQ_BITS) -> torch.Tensor:
        """The same CDF at every position."""
        return self.cdf(freq_bits).expand(*inputs.shape, 257)

    def start(self, batch: int) -> int:
        """No state."""
        return batch

    def step(self, state: int, tokens: torch.Tensor, freq_bits: int = DEFAULT_FREQ_BITS) -> torch.Tensor:
        """The same CDF for every sequence."""
        return self.cdf(freq_bits).expand(len(tokens), 257).contiguous()
