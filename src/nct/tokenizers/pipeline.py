"""Corpus -> examples -> tokens on disk (``nct tokenize``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..data.corpus import Corpus, MappedCorpus
from ..data.shards import EXAMPLE_BYTES, Manifest, examples, write_shards
from ..errors import ModelError
from .base import Tokenizer
from .methods import build, needs_m1
from .simple import SentencePiece

SP_FILE = "sentencepiece.model"


def split_of(corpus: Corpus, split: str) -> Corpus:
    """The 'train' or 'validation' part, or the whole corpus for 'all'."""
    return corpus if split == "all" else corpus.split(split)


def sentencepiece_for(corpus: "Corpus | MappedCorpus", vocab_size: int, directory: Path | None = None) -> SentencePiece:
    """A SentencePiece model trained on the corpus's training split (reused from ``directory``)."""
    path = directory / SP_FILE if directory else None
    if path and path.exists():
        return SentencePiece.load(path)
    sp = SentencePiece.train([d.data for d in corpus.split("train").documents], vocab_size=vocab_size)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        sp.save(path)
    return sp


def tokenize_corpus(
    corpus: Corpus,
    method: str,
    out: str | Path,
    m1: Any = None,
    split: str = "train",
    token_bits: int = 8,
    bits: int = 16,
    rule: str = "greedy",
    reset_every: int = 1,
    vocab_size: int = 32000,
    example_bytes: int = EXAMPLE_BYTES,
    seed: int = 0,
    max_bytes: int | None = None,
    chunk: int = 256,
    sentencepiece_dir: str | Path | None = None,
) -> Manifest:
    """Tokenize a split of ``corpus`` into shards at ``out`` (resuming a previous run). SentencePiece
    is trained on the training split and kept in ``sentencepiece_dir`` (default: ``out``)."""
    out = Path(out)
    sp_dir = Path(sentencepiece_dir) if sentencepiece_dir else out
    sp = sentencepiece_for(corpus, vocab_size, sp_dir) if method == "sentencepiece" else None
    tok = build(method, m1=m1, token_bits=token_bits, bits=bits, rule=rule, reset_every=reset_every, sentencepiece=sp)
    texts = examples(split_of(corpus, split), example_bytes, seed)
    if max_bytes is not None:
        texts = texts[: max(1, math.ceil(max_bytes / example_bytes))]
    params = tok.params()
    coded_with_m1 = m1 is not None and needs_m1(method)
    manifest = Manifest(
        method=method,
        params={**params, "split": split, "seed": seed, "max_bytes": max_bytes},
        vocab_size=tok.vocab_size,
        m1=m1.fingerprint if coded_with_m1 else None,
        corpus=corpus.name,
        example_bytes=example_bytes,
        extra={"tokenizer": tok.name, "sentencepiece_dir": str(sp_dir.resolve()), "m1_non_embedding_params": m1.non_embedding_params if coded_with_m1 else 0},
    )
    encode = tok.encode_batch
    with tqdm(total=sum(map(len, texts)), unit="B", unit_scale=True, desc=f"tokenize {tok.name}") as bar:
        return write_shards(out, manifest, texts, encode, chunk=chunk, progress=bar.update)


def tokenizer_from_shards(directory: str | Path, m1: Any = None) -> Tokenizer:
    """Rebuild the tokenizer a shard directory was made with (M1-based methods need that M1)."""
    from ..data.shards import Manifest

    m = Manifest.load(directory)
    p = m.params
    if m.m1 is not None and (m1 is None or m1.fingerprint != m.m1):
        raise ModelError(f"{directory} was made with M1 {m.m1[:12]}; pass that model with --model")
    sp = SentencePiece.load(Path(m.extra.get("sentencepiece_dir", directory)) / SP_FILE) if m.method == "sentencepiece" else None
    return build(m.method, m1=m1, token_bits=p.get("token_bits", 8), bits=p.get("bits", 16), rule=p.get("rule", "greedy"),
                 reset_every=p.get("reset_every", 1), sentencepiece=sp)
