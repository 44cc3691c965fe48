"""Token stability (TLNCT §6): does one sentence get the same tokens whatever text comes before it?

The sentence is tokenized after many different prefixes (by default the 500 most frequent words of
the corpus's training split, each followed by a space). Its tokens after a prefix are those of
``prefix + sentence`` once the longest common prefix with the tokens of ``prefix`` alone is removed:
tokens the prefix fully determines drop out, and tokens that straddle the boundary (an AC stream's
end, an Equal-Info window that spans both) stay, as the sentence changed them. A stable method gives
the sentence nearly the same tokens every time (small Levenshtein distances between the sequences);
plain AC gives different ones after every prefix, since its bits depend on everything before.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data.corpus import Corpus, MappedCorpus
from ..errors import UsageError
from ..plots import pyplot, save
from ..results import tagged
from ..util import markdown_table
from ..tokenizers import MethodSpec, Tokenizer

DEFAULT_SENTENCE = "The old lighthouse keeper counted the ships that passed in the night."


@dataclass(frozen=True)
class StabilityRow:
    """One method's token sequences for the sentence after every prefix, summarised."""

    method: str
    prefixes: int
    distinct: int  # distinct token sequences for the sentence
    mean_tokens: float
    mean_distance: float  # Levenshtein distance, mean over pairs of prefixes
    mean_normalized: float  # the same, divided by the longer sequence's length
    pairs: int


def levenshtein(a: Sequence[int], b: Sequence[int]) -> int:
    """Edit distance (insertions, deletions, substitutions, each costing 1) between two sequences.

    Row by row: from the previous row, deletions and substitutions give candidates c[j]; insertions
    then make the row r[j] = min over k <= j of c[k] + (j - k), a running minimum of c[k] - k."""
    x, y = np.asarray(list(a), dtype=np.int64), np.asarray(list(b), dtype=np.int64)
    if len(x) < len(y):
        x, y = y, x
    if not len(y):
        return len(x)
    j = np.arange(len(y) + 1)
    row = j.copy()
    for i, xi in enumerate(x, 1):
        cand = np.empty_like(row)
        cand[0] = i
        cand[1:] = np.minimum(row[1:] + 1, row[:-1] + (y != xi))
        row = np.minimum.accumulate(cand - j) + j
    return int(row[-1])


def common_words(corpus: "Corpus | MappedCorpus", n: int = 500) -> list[str]:
    """The ``n`` most frequent words (letters only, as written) of the corpus's training split."""
    counts: Counter[str] = Counter()
    for d in corpus.split("train").documents:
        counts.update(re.findall(r"[A-Za-z]+", d.data.decode("utf-8", errors="ignore")))
    words = [w for w, _ in counts.most_common(n)]
    if len(words) < n:
        raise UsageError(f"the corpus has only {len(words)} distinct words; asked for {n} prefixes")
    return words


def strip_common_prefix(tokens: Sequence[int], prefix_tokens: Sequence[int]) -> list[int]:
    """``tokens`` without the longest prefix they share with ``prefix_tokens``."""
    k = 0
    for a, b in zip(tokens, prefix_tokens):
        if a != b:
            break
        k += 1
    return list(tokens[k:])


def sentence_tokens(tok: Any, prefixes: Sequence[str], sentence: str) -> list[list[int]]:
    """The sentence's tokens after each prefix (both tokenized in one batch)."""
    texts = [p.encode() for p in prefixes] + [(p + sentence).encode() for p in prefixes]
    ids = tok.encode_batch(texts)
    n = len(prefixes)
    return [strip_common_prefix(ids[n + i], ids[i]) for i in range(n)]


def summarize(method: str, seqs: list[list[int]], max_pairs: int = 20_000, seed: int = 0) -> StabilityRow:
    """Distances over all pairs of sequences, or over ``max_pairs`` pairs drawn with a seed."""
    pairs = list(itertools.combinations(range(len(seqs)), 2))
    if len(pairs) > max_pairs:
        pairs = random.Random(seed).sample(pairs, max_pairs)
    cache: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}  # repeated sequences: one computation
    keys = [tuple(s) for s in seqs]
    dist, norm = [], []
    for i, j in pairs:
        key = (keys[i], keys[j]) if keys[i] <= keys[j] else (keys[j], keys[i])
        if key not in cache:
            cache[key] = levenshtein(seqs[i], seqs[j])
        dist.append(cache[key])
        norm.append(cache[key] / max(1, len(seqs[i]), len(seqs[j])))
    return StabilityRow(
        method, len(seqs), len(set(keys)), float(np.mean([len(s) for s in seqs])),
        float(np.mean(dist)) if dist else 0.0, float(np.mean(norm)) if norm else 0.0, len(pairs),
    )


def markdown(rows: list[StabilityRow]) -> str:
    """A markdown table: one row per method."""
    head = ["method", "prefixes", "distinct sequences", "mean tokens", "mean Levenshtein", "normalised", "pairs"]
    return markdown_table(head, [
        [r.method, r.prefixes, r.distinct, f"{r.mean_tokens:.1f}", f"{r.mean_distance:.2f}", f"{r.mean_normalized:.3f}", f"{r.pairs:,}"]
        for r in rows
    ], "lrrrrrr")


def plot(rows: list[StabilityRow], path: Path) -> None:
    """Mean normalised Levenshtein distance per method (bars)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=150)
    ax.bar([r.method for r in rows], [r.mean_normalized for r in rows])
    ax.set_ylabel("mean normalised Levenshtein distance")
    ax.set_title("one sentence after different prefixes", fontsize=9)
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    save(fig, path)


def tokenizer_for(name: str, m1: Any, corpus: "Corpus | MappedCorpus", sp_dir: Path | None = None, sp_vocab: int = 8000) -> Tokenizer:
    """A tokenizer by ``MethodSpec`` name: bytes, sentencepiece, gzip, ac, static-ac, equal-info<B>
    (B-bit windows, 8-bit tokens), equal-info<B>-v65k (16-bit tokens), or a display name."""
    from ..tokenizers.pipeline import sentencepiece_for

    spec = MethodSpec.parse(name)
    sp = sentencepiece_for(corpus, sp_vocab, sp_dir) if spec.method == "sentencepiece" else None
    return spec.build(m1, sentencepiece=sp)


def main_stability(
    *, methods: str, sentence: str, prefixes: int, corpus: str = "default", model: str | None = None,
    out: str | Path | None = None, seed: int = 0, map_bytes: int = 20_000,
) -> list[StabilityRow]:
    """``nct analyze stability``: the sentence after ``--prefixes`` common words, per method -> table, JSON, plot."""
    import json
    from dataclasses import asdict

    from ..api import load_model
    from ..data.corpus import load_corpus
    from ..train.m1 import evaluation_sample

    data = load_corpus(corpus)
    words = [w + " " for w in common_words(data, prefixes)]
    names = [m.strip() for m in methods.split(",") if m.strip()]
    m1 = load_model(model) if any(MethodSpec.parse(m).needs_m1 for m in names) else None
    out_dir = Path(out) if out else None
    rows: list[StabilityRow] = []
    examples: dict[str, dict[str, list[int]]] = {}
    maps: list[PositionMapRow] = []
    sample = evaluation_sample(data.split("validation"), map_bytes)
    for name in names:
        tok = tokenizer_for(name, m1, data, out_dir)
        seqs = sentence_tokens(tok, words, sentence)
        rows.append(summarize(name, seqs, seed=seed))
        examples[name] = {p: s for p, s in list(zip(words, seqs))[:5]}
        if MethodSpec.parse(name).method == "equal-info" and map_bytes:
            pieces = [sample[i : i + 1024] for i in range(0, len(sample), 1024)]  # coded in lockstep
            maps += position_map(name, window_texts(tok, pieces))
    text = markdown(rows) + (f"\nToken ids by position in a window, on {len(sample):,} validation bytes:\n\n" + position_map_markdown(maps) if maps else "")
    print(text)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "sentence": sentence, "prefixes": len(words), "rows": [asdict(r) for r in rows], "examples": examples,
            "position_map": [asdict(r) for r in maps],
        }
        (out_dir / "stability.json").write_text(json.dumps(tagged("stability", record), indent=2))
        (out_dir / "stability.md").write_text(text)
        plot(rows, out_dir / "stability.png")
    return rows


@dataclass(frozen=True)
class PositionMapRow:
    """How consistently one window position's token ids map to text (an Equal-Info tokenizer)."""

    method: str
    position: int  # 1-based position of the token inside its window
    occurrences: int
    distinct_ids: int
    texts_per_id: float  # distinct window texts per id, mean over ids
    first_byte_bits: float  # H(the window's first byte | the id), bits
    examples: dict[int, list[str]]  # the most frequent ids -> their most frequent window texts


def window_texts(tok: Any, texts: Sequence[bytes]) -> list[tuple[list[int], bytes]]:
    """(token ids, decoded text) of every Equal-Info window of ``texts`` (each window decodes on its
    own: the tokenizer must restart M1 at every window)."""
    from ..tokenizers import bits_to_tokens

    if getattr(tok, "reset_every", None) != 1:
        raise UsageError("the token map needs an Equal-Info tokenizer that resets M1 at every window")
    ids = [bits_to_tokens(w, tok.token_bits) for ws in tok.windows_batch(texts) for w in ws]
    return list(zip(ids, tok.decode_batch(ids)))


def conditional_entropy_bits(pairs: Sequence[tuple[int, int]]) -> float:
    """H(second | first) in bits, from (first, second) observations."""
    joint, first = Counter(pairs), Counter(a for a, _ in pairs)
    n = len(pairs)
    return float(sum(c / n * np.log2(first[a] / c) for (a, _), c in joint.items()))  # no -0.0


def position_map(method: str, windows: list[tuple[list[int], bytes]], examples: int = 5) -> list[PositionMapRow]:
    """Per window position: how many texts each token id stands for, and how well it tells the
    window's first byte."""
    rows = []
    for p in range(max((len(ids) for ids, _ in windows), default=0)):
        seen = [(ids[p], text) for ids, text in windows if len(ids) > p and text]
        by_id: dict[int, Counter[bytes]] = {}
        for i, text in seen:
            by_id.setdefault(i, Counter())[text] += 1
        top = sorted(by_id, key=lambda i: -sum(by_id[i].values()))[:examples]
        rows.append(PositionMapRow(
            method, p + 1, len(seen), len(by_id), float(np.mean([len(c) for c in by_id.values()])) if by_id else 0.0,
            conditional_entropy_bits([(i, text[0]) for i, text in seen]) if seen else 0.0,
            {i: [t.decode("utf-8", "replace") for t, _ in by_id[i].most_common(3)] for i in top},
        ))
    return rows


def position_map_markdown(rows: list[PositionMapRow]) -> str:
    """A markdown table of position-map rows, with each position's most frequent ids."""
    head = ["method", "position", "tokens", "distinct ids", "window texts per id", "H(first byte \\| id), bits", "frequent ids → texts"]
    return markdown_table(head, [
        [r.method, r.position, f"{r.occurrences:,}", f"{r.distinct_ids:,}", f"{r.texts_per_id:.2f}", f"{r.first_byte_bits:.3f}",
         "; ".join(f"{i}: " + ", ".join(repr(t) for t in ts).replace("|", "\\|") for i, ts in r.examples.items())]
        for r in rows
    ], "lrrrrrl")
