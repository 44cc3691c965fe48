"""Any compressor as a generative model (LMIC): p(b | x) ∝ 2^-(len C(x·b) - len C(x)).

A compressor C assigns x·b a code length; the shorter C(x·b), the likelier b comes next. Lengths are
in bits (8 x payload bytes for the classical formats, so their distributions are coarse: many bytes
tie). M1 needs no compressor detour: its next-byte distribution is its exact integer CDF, the one its
arithmetic coder codes with. The context is the last ``context`` bytes (the classical formats
compress it 256 times per byte).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ..models.m1 import M1
from .base import get

NextByte = Callable[[bytes], np.ndarray]  # context -> 256 probabilities


# xz presets 6-9 differ only in dictionary size (8-64 MiB): on a shorter context they give the same
# lengths, and preset 6 allocates 8x less per call (-9 takes ~16 s per sampled byte here).
_SAME_LENGTHS = {("xz", None): 6, ("xz", 9): 6}


def compressor_distribution(name: str, context: int = 1024, level: int | None = None) -> NextByte:
    """Next-byte probabilities of the registered compressor ``name`` (at ``level``, default its
    strongest standard setting) from its code lengths."""
    if context > 8 << 20:
        raise ValueError("context is limited to 8 MiB")
    level = _SAME_LENGTHS.get((name, level), level)
    compressor = get(name) if level is None else get(name, level=level)

    def next_byte(x: bytes) -> np.ndarray:
        x = x[-context:]
        bits = np.array([8 * len(compressor.compress(x + bytes([b]))) for b in range(256)], dtype=np.float64)
        return _normalise(-(bits - bits.min()))

    return next_byte


def m1_distribution(m1: M1, context: int = 1024) -> NextByte:
    """M1's next-byte probabilities: its integer CDF after BOS and the context."""

    def next_byte(x: bytes) -> np.ndarray:
        tokens = torch.tensor([[m1.bos, *x[-context:]]], dtype=torch.long)
        cdf = m1.cdfs(tokens)[0, -1].double().numpy()
        return np.diff(cdf) / cdf[-1]

    return next_byte


def distribution(name: str, m1: M1 | None = None, context: int = 1024, level: int | None = None) -> NextByte:
    """``m1`` (the given or shipped M1) or any registered compressor as a next-byte model."""
    if name == "m1":
        return m1_distribution(m1 or M1.load(), context)
    return compressor_distribution(name, context, level)


def _normalise(log2_weights: np.ndarray) -> np.ndarray:
    """Probabilities proportional to 2^log2_weights."""
    w = np.exp2(log2_weights - log2_weights.max())
    return w / w.sum()


def sample(next_byte: NextByte, prompt: bytes, n_bytes: int, temperature: float = 1.0, seed: int = 0, progress: bool = False) -> bytes:
    """``n_bytes`` sampled after ``prompt``, each from p^(1/temperature) (0: the likeliest byte)."""
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    rng = np.random.default_rng(seed)
    out = bytearray(prompt)
    for _ in tqdm(range(n_bytes), desc="sample", unit="B", disable=not progress):
        p = next_byte(bytes(out))
        if temperature == 0:
            b = int(np.argmax(p))
        else:
            b = int(rng.choice(256, p=_normalise(np.log2(p) / temperature)))
        out.append(b)
    return bytes(out[len(prompt) :])


def bits_per_byte(next_byte: NextByte, data: bytes, progress: bool = False) -> float:
    """The rate the model induces on ``data``: mean of -log2 p(x_i | x_<i)."""
    if not data:
        raise ValueError("no data to rate")
    total = 0.0
    for i in tqdm(range(len(data)), desc="rate", unit="B", disable=not progress):
        total -= float(np.log2(next_byte(data[:i])[data[i]]))
    return total / len(data)
