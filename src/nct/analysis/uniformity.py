"""How uniform is a method's output? KL divergence from uniform of bit n-grams and of tokens (TLNCT §6).

A compressor's output is meant to look random: the closer its bits are to uniform, the less an M2 can
learn from them. For each n, the token stream is read as one bit string and cut into consecutive,
non-overlapping n-bit pieces; the KL divergence of their empirical distribution from uniform over
2^n values is n − H (in bits). The plug-in entropy H is biased low on finite samples, which would
make even random bits look non-uniform at large n, so H gets the Miller–Madow correction
(m − 1) / (2N ln 2) bits, with m the number of values seen and N the number of pieces. A stream of
seeded random bits of the same length is the baseline: its corrected KL is ≈ 0. The correction is
first-order: it holds while there are several pieces per possible value (we flag rows with fewer
than 8 pieces per possible value as undersampled; there even random bits show a KL above 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..data.shards import Manifest, Shards
from ..errors import UsageError
from ..plots import pyplot, save
from ..results import tagged
from ..util import markdown_table


@dataclass(frozen=True)
class KLRow:
    """KL divergence from uniform of one stream cut into ``n``-bit pieces (or of its tokens, n=None)."""

    name: str
    n: int | None
    support: int  # values possible: 2^n, or the vocabulary
    pieces: int
    kl_bits: float  # Miller–Madow corrected
    kl_plugin_bits: float  # uncorrected (biased upwards)

    @property
    def undersampled(self) -> bool:
        """Fewer than 8 pieces per possible value: the correction no longer removes the bias."""
        return self.pieces < 8 * self.support


def plugin_entropy_bits(counts: np.ndarray) -> float:
    """Maximum-likelihood entropy, in bits, of the distribution given by ``counts``."""
    c = counts[counts > 0].astype(np.float64)
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def miller_madow_entropy_bits(counts: np.ndarray) -> float:
    """Plug-in entropy plus the Miller–Madow bias correction (m − 1) / (2N), in bits."""
    n, m = int(counts.sum()), int((counts > 0).sum())
    return plugin_entropy_bits(counts) + (m - 1) / (2 * n * math.log(2))


def kl_from_uniform(counts: np.ndarray, support: int) -> tuple[float, float]:
    """(corrected, plug-in) KL divergence in bits of ``counts`` from uniform over ``support`` values."""
    if counts.sum() == 0:
        raise UsageError("no samples: cannot estimate a distribution")
    top = math.log2(support)
    return top - miller_madow_entropy_bits(counts), top - plugin_entropy_bits(counts)


def token_bits_of(shards: Shards) -> int | None:
    """Bits per token when every id is an N-bit string (vocabulary 2^N), else None (e.g. SentencePiece)."""
    v = shards.manifest.vocab_size
    return v.bit_length() - 1 if v & (v - 1) == 0 else None


def bit_stream(tokens: Iterable[np.ndarray], token_bits: int) -> np.ndarray:
    """All tokens' bits, most significant first, as one uint8 array of 0/1."""
    ids = np.concatenate([np.asarray(t, dtype=np.uint32) for t in tokens] or [np.zeros(0, np.uint32)])
    shifts = np.arange(token_bits - 1, -1, -1, dtype=np.uint32)
    return ((ids[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)


def ngram_counts(bits: np.ndarray, n: int) -> np.ndarray:
    """Counts of each value of the consecutive non-overlapping ``n``-bit pieces of ``bits`` (a tail
    shorter than n is dropped)."""
    if not 1 <= n <= 24:
        raise UsageError("n-grams of 1 to 24 bits")
    k = len(bits) // n
    values = bits[: k * n].reshape(k, n).astype(np.int64) @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))
    return np.bincount(values, minlength=1 << n)


def stream_kl(name: str, bits: np.ndarray, ns: Iterable[int]) -> list[KLRow]:
    """One row per n: KL from uniform of ``bits`` cut into n-bit pieces."""
    rows = []
    for n in ns:
        counts = ngram_counts(bits, n)
        rows.append(KLRow(name, n, 1 << n, int(counts.sum()), *kl_from_uniform(counts, 1 << n)))
    return rows


def shard_kl(name: str, directory: str | Path, ns: Iterable[int], max_tokens: int | None = None) -> list[KLRow]:
    """Rows for a shard directory: its tokens (n=None) and, when tokens are bit strings, its bit n-grams."""
    shards = Shards(directory)
    tokens = _first_tokens(shards, max_tokens)
    counts = np.bincount(tokens.astype(np.int64), minlength=shards.manifest.vocab_size)
    vocab = shards.manifest.vocab_size
    rows = [KLRow(name, None, vocab, len(tokens), *kl_from_uniform(counts, vocab))]
    width = token_bits_of(shards)
    if width is not None:
        rows += stream_kl(name, bit_stream([tokens], width), ns)
    return rows


def _first_tokens(shards: Shards, max_tokens: int | None) -> np.ndarray:
    """The shards' tokens in order, up to ``max_tokens``."""
    out, n = [], 0
    for t in shards:
        out.append(np.asarray(t))
        n += len(t)
        if max_tokens is not None and n >= max_tokens:
            break
    tokens = np.concatenate(out or [np.zeros(0, np.uint32)])
    return tokens[:max_tokens] if max_tokens is not None else tokens


def stream_name(directory: str | Path) -> str:
    """A shard directory's tokenizer name (from its manifest), else the directory's name."""
    return Manifest.load(directory).extra.get("tokenizer") or Path(directory).name


def random_baseline(n_bits: int, ns: Iterable[int], seed: int = 0) -> list[KLRow]:
    """The same estimate on ``n_bits`` seeded uniform random bits (≈ 0 after correction)."""
    bits = np.random.default_rng(seed).integers(0, 2, n_bits, dtype=np.uint8)
    return stream_kl("random bits", bits, ns)


def parse_ngram_range(spec: str) -> list[int]:
    """'1..16' -> [1, ..., 16]; '8' -> [8]; '1,4,8' -> [1, 4, 8]."""
    if ".." in spec:
        a, b = spec.split("..", 1)
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in spec.split(",") if x.strip()]


def markdown(rows: list[KLRow]) -> str:
    """A markdown table: one row per (stream, n)."""
    head = ["stream", "n-gram", "pieces", "KL bits (Miller–Madow)", "KL bits (plug-in)"]
    return markdown_table(head, [
        [r.name, "tokens" if r.n is None else r.n, f"{r.pieces:,}{' (undersampled)' if r.undersampled else ''}", f"{r.kl_bits:.4f}",
         f"{r.kl_plugin_bits:.4f}"]
        for r in rows
    ], "lrrrr")


def plot(rows: list[KLRow], path: Path) -> None:
    """KL from uniform vs n-gram size, one line per stream."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    for name in dict.fromkeys(r.name for r in rows):
        rs = [r for r in rows if r.name == name and r.n is not None]
        if rs:
            ax.plot([r.n for r in rs], [max(r.kl_bits, 1e-5) for r in rs], marker="o", label=name)
    ax.set_yscale("log")
    ax.set_xlabel("n (bits per piece)")
    ax.set_ylabel("KL from uniform, bits (Miller–Madow)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, path)


def main_uniformity(
    *, shards: list[str | Path], ngram: str = "1..16", max_tokens: int | None = None, seed: int = 0, out: str | Path | None = None,
) -> list[KLRow]:
    """``nct analyze uniformity``: every shard directory plus the random-bits baseline -> table, JSON, plot."""
    import json
    from dataclasses import asdict

    ns = parse_ngram_range(ngram)
    rows: list[KLRow] = []
    longest = 0
    for d in shards:
        shard_rows = shard_kl(stream_name(d), d, ns, max_tokens)
        rows += shard_rows
        longest = max(longest, max((r.pieces * r.n for r in shard_rows if r.n), default=0))
    rows += random_baseline(longest or 1 << 20, ns, seed)
    text = markdown(rows)
    print(text)
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        rows_json = [asdict(r) | {"undersampled": r.undersampled} for r in rows]
        (out / "uniformity.json").write_text(json.dumps(tagged("uniformity", {"rows": rows_json}), indent=2))
        (out / "uniformity.md").write_text(text)
        plot(rows, out / "uniformity.png")
    return rows
