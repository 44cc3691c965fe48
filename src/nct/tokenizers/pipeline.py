"""Corpus -> examples -> tokens on disk (``nct tokenize``): here (the local engine, the default) or
on a Ray cluster (``nct.tokenizers.ray_engine``), the same shards either way."""

from __future__ import annotations

import math
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

import numpy as np
from tqdm import tqdm

from ..data.corpus import Corpus, MappedCorpus, StreamedCorpus
from ..data.shards import CHUNK, EXAMPLE_BYTES, SHUFFLE_BYTES, SHUFFLE_DOCUMENTS, InputShard, Manifest, Recipe, ShardWriter, input_shards, pack, parts
from ..errors import ModelError, UsageError
from .base import Tokenizer
from .methods import Options, build, needs_m1
from .simple import SentencePiece

if TYPE_CHECKING:
    from .ray_engine import RayConfig

SP_FILE = "sentencepiece.model"
AnyCorpus = Union[Corpus, MappedCorpus, StreamedCorpus]


def split_of(corpus: AnyCorpus, split: str) -> AnyCorpus:
    """The 'train' or 'validation' part, or the whole corpus for 'all'."""
    return corpus if split == "all" else corpus.split(split)


def sentencepiece_for(corpus: AnyCorpus, vocab_size: int, directory: Path | None = None) -> SentencePiece:
    """A SentencePiece model trained on the corpus's training split (reused from ``directory``);
    a streamed corpus is read only as far as training takes (``SentencePiece.train``'s sentences)."""
    path = directory / SP_FILE if directory else None
    if path and path.exists():
        return SentencePiece.load(path)
    sp = SentencePiece.train((d.data for d in corpus.split("train").documents), vocab_size=vocab_size)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        sp.save(path)
    return sp


def tokenize_corpus(
    corpus: AnyCorpus,
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
    chunk: int = CHUNK,
    sentencepiece_dir: str | Path | None = None,
    engine: "RayConfig | None" = None,
    batch: int | None = None,
) -> Manifest:
    """Tokenize a split of ``corpus`` into shards at ``out`` (resuming a previous run), in this
    process and its workers, or on a Ray cluster with ``engine`` (the same shards). A corpus in
    memory is one input; a streamed corpus (``stream_corpus``) gives one input per file, read
    lazily. Every input is opened and its first record read before anything is written.
    SentencePiece is trained on the training split and kept in ``sentencepiece_dir`` (default: ``out``).
    ``batch``: examples an M1 method codes in lockstep on the local engine (default: 256; thousands
    for an M1 on a GPU, ``M1.to``), chunks given to it together to make them up; on Ray, the
    engine's (``RayConfig.batch``). The shards depend on neither."""
    out = Path(out)
    if engine is not None and batch is not None and batch != engine.lockstep:
        raise UsageError(f"batch {batch} and the Ray engine's {engine.lockstep}: on Ray, set RayConfig.batch alone")
    batch = engine.lockstep if engine is not None else batch or Options.batch
    inputs = input_shards(split_of(corpus, split))
    for shard in inputs:
        shard.check()
    sp_dir = Path(sentencepiece_dir) if sentencepiece_dir else out
    sp = sentencepiece_for(corpus, vocab_size, sp_dir) if method == "sentencepiece" else None
    make = partial(build, method, m1=m1, token_bits=token_bits, bits=bits, rule=rule, reset_every=reset_every, sentencepiece=sp,
                   batch=batch)
    tok = make()
    coded_with_m1 = m1 is not None and needs_m1(method)
    stream: dict[str, int] = {"shuffle_documents": SHUFFLE_DOCUMENTS, "shuffle_bytes": SHUFFLE_BYTES} if isinstance(corpus, StreamedCorpus) else {}
    manifest = Manifest(
        method=method,
        params={**tok.params(), "split": split, "seed": seed, "max_bytes": max_bytes, **({"stream": stream} if stream else {})},
        vocab_size=tok.vocab_size,
        m1=m1.fingerprint if coded_with_m1 else None,
        corpus=corpus.name,
        example_bytes=example_bytes,
        extra={"tokenizer": tok.name, "sentencepiece_dir": str(sp_dir.resolve()), "m1_non_embedding_params": m1.non_embedding_params if coded_with_m1 else 0},
    )
    writer = ShardWriter(out, manifest, [(s.name, s.size) for s in inputs])
    recipe = Recipe(example_bytes, seed, chunk)
    max_examples = None if max_bytes is None else max(1, math.ceil(max_bytes / example_bytes))
    limits = example_limits(inputs, recipe, max_examples, writer)
    total = None if stream else sum(s.size for s in inputs)  # a file's size on disk is no measure of its text
    if max_examples is not None:
        total = min(total or max_examples * example_bytes, max_examples * example_bytes)
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"tokenize {tok.name}") as bar:
        if engine is None:
            _tokenize_here(inputs, limits, recipe, tok, writer, bar.update, batch)
        else:
            from .ray_engine import tokenize_on_ray

            tokenize_on_ray(inputs, limits, recipe, make, writer, engine, bar.update)
    return writer.close()


def example_limits(inputs: Sequence[InputShard], recipe: Recipe, max_examples: int | None, writer: ShardWriter) -> list[int | None]:
    """How many examples to take from each input (None: all): with ``max_examples``, the first
    that many in input order (0 from the inputs after them). Inputs not written through are
    counted by reading them as far as needed; an input that gives none is recorded as done."""
    if max_examples is None:
        return [None] * len(inputs)
    limits: list[int | None] = []
    left = max_examples
    for s, shard in enumerate(inputs):
        limits.append(left)
        left -= writer.examples(s) if writer.done(s) else sum(1 for _ in islice(shard.examples(recipe), left))
    for s, limit in enumerate(limits):
        if limit == 0:
            writer.set_parts(s, 0)
    return limits


def _tokenize_here(inputs: Sequence[InputShard], limits: Sequence[int | None], recipe: Recipe, tok: Tokenizer,
                   writer: ShardWriter, progress: Callable[[int], object], batch: int) -> None:
    """The local engine: inputs one after another, the examples of chunks not written yet coded
    together until they make up ``batch`` (by this process's workers, ``nct.parallel``), each
    chunk written as soon as it is coded."""
    for s, (shard, limit) in enumerate(zip(inputs, limits)):
        if limit == 0 or writer.done(s):
            continue
        done = writer.parts_done(s)
        pending: list[tuple[int, list[bytes]]] = []
        n = 0
        for n, texts in enumerate(parts(shard, recipe, limit), 1):
            if n - 1 in done:
                progress(sum(map(len, texts)))
                continue
            pending.append((n - 1, texts))
            if sum(len(t) for _, t in pending) >= batch:
                _code_chunks(s, pending, tok, writer, progress)
        _code_chunks(s, pending, tok, writer, progress)
        writer.set_parts(s, n)


def _code_chunks(shard: int, pending: list[tuple[int, list[bytes]]], tok: Tokenizer, writer: ShardWriter,
                 progress: Callable[[int], object]) -> None:
    """Code the examples of the ``pending`` (index, examples) chunks of input ``shard`` in one call,
    write each chunk, and empty the list."""
    if not pending:
        return
    ids = tok.encode_result([t for _, texts in pending for t in texts]).ids
    at = 0
    for index, texts in pending:
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        writer.write(shard, index, *pack(ids[at : at + len(texts)], writer.dtype), lengths)
        at += len(texts)
        progress(sum(map(len, texts)))
    pending.clear()


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
