"""The compression benchmark over a large text collection (``nct bench --corpus GLOB``), here or on a
Ray cluster (``--engine ray``), with the same figures either way.

A collection is a streamed corpus (``nct.data.corpus.stream_corpus``: globs of JSONL, parquet or
text files), read lazily, one input per file. Each input is benchmarked in pieces, never held
whole. A piece is ``piece`` bytes (1 MiB by default) of the input's documents, in their stored
order, each ended by the end-of-document marker as in TLNCT's examples. Each piece is compressed
on its own, decoded and compared, by every method (``bench_one``; with ``chunk``, LMIC's
chunks within it). An input's row sums its pieces, and counts a format's fixed cost once
(``nct.compressors.base.fixed_cost``), as chunked mode does for a file's chunks.

On Ray, read tasks (one per input) cut the pieces. An actor pool, one actor per CPU of the
cluster, each holding the compressors (and their one M1), benchmarks a piece per call. The driver
sums the rows by input. Sizes and verification do not depend on the engine or the number of
actors; times and peak memory are those of the process that ran the piece (an actor's, on Ray).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..cluster import RayConfig, actor_resources, session
from ..compressors.base import Compressor, fixed_cost
from ..data.corpus import StreamedCorpus, stream_corpus
from ..data.shards import EOD, cut_examples, input_shards
from ..errors import UsageError
from ..models.m1 import M1
from ..parallel import serial
from ..results import environment, tagged
from ..tokenizers.pipeline import AnyCorpus
from .bench import BenchRow, Lineup, bench_one, codes_blocks, publish, report_text, total, totals, unverified, with_model_size

PIECE = 1 << 20  # bytes of an input benchmarked at a time


@dataclass(frozen=True)
class Collection:
    """A streamed text collection cut into pieces: ``piece`` bytes each, and only the first
    ``max_bytes`` of it (inputs in order; None: all)."""

    corpus: AnyCorpus
    piece: int = PIECE
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.piece < 1 or (self.max_bytes is not None and self.max_bytes < 1):
            raise UsageError("a collection's piece and max_bytes must be at least 1 byte")

    @property
    def inputs(self) -> int:
        """How many inputs (files; a corpus in memory is one)."""
        return len(self.corpus.files) if isinstance(self.corpus, StreamedCorpus) else 1

    def name(self, index: int) -> str:
        """Input ``index``'s name (its file's path)."""
        return self.corpus.files[index].path if isinstance(self.corpus, StreamedCorpus) else self.corpus.name

    def pieces(self, index: int, limit: int | None = None) -> Iterator[bytes]:
        """Input ``index``'s pieces, up to ``limit`` bytes in all (None: all of it)."""
        docs = self.corpus.file_documents(index) if isinstance(self.corpus, StreamedCorpus) else iter(self.corpus.documents)
        out = cut_examples((d.data for d in docs), self.piece, EOD)
        if limit is None:
            return out
        return _take(out, limit)

    def limits(self) -> list[int | None]:
        """How many bytes to take from each input (None: all): with ``max_bytes``, the first that
        many, inputs in order (those read as far as needed to count them)."""
        if self.max_bytes is None:
            return [None] * self.inputs
        limits: list[int | None] = []
        left = self.max_bytes
        for index in range(self.inputs):
            limits.append(left)
            left -= sum(len(p) for p in self.pieces(index, left)) if left else 0
        return limits


def _take(pieces: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """The pieces up to ``limit`` bytes in all, the last one cut short."""
    for p in pieces:
        if limit <= 0:
            return
        yield p[:limit]
        limit -= len(p)


def bench_corpus(
    corpus: str | Path | AnyCorpus, methods: list[str] | None = None, model: "str | M1 | None" = None, block: int | None = None,
    chunk: int | None = None, piece: int = PIECE, max_bytes: int | None = None, engine: RayConfig | None = None,
    out: str | Path | None = None,
) -> dict:
    """``nct bench --corpus``: every method on a collection (a corpus spec, as ``stream_corpus``,
    or a corpus), in pieces of ``piece`` bytes, here or on the Ray cluster of ``engine``; print
    the tables and with ``out`` write results.json, results.md and plots there (as ``main_bench``)."""
    if engine is not None and engine.device is not None:
        raise UsageError("nct bench's Ray actors run on CPUs (leave out RayConfig.device)")
    collection = Collection(stream_corpus(corpus) if isinstance(corpus, (str, Path)) else corpus, piece, max_bytes)
    for shard in input_shards(collection.corpus):  # each input opened and its first record read before the run
        shard.check()
    lineup = Lineup.of(methods, model, block, chunk)
    compressors = lineup.compressors()
    limits = collection.limits()
    start = time.perf_counter()
    if engine is None:
        results = bench_here(collection, compressors, chunk, limits)
    else:
        results = bench_on_ray(collection, lineup, limits, engine)
    runs = sum_by_input(collection, compressors, results)
    if not runs:
        raise UsageError(f"{collection.corpus.name}: no text to benchmark")
    seconds = time.perf_counter() - start
    sums = totals(runs)
    size = sums[0].bytes
    result = tagged("bench", {
        "environment": environment(), "chunk": chunk, "rows": [asdict(r) for r in runs + sums],
        "collection": {"corpus": collection.corpus.name, "inputs": collection.inputs, "piece": piece, "max_bytes": max_bytes,
                       "engine": "local" if engine is None else "ray", "bytes": size, "seconds": seconds},
    })
    if lineup.m1 is not None:
        result["m1"] = {"fingerprint": lineup.m1.fingerprint, "manifest": lineup.m1.meta}
    text = (f"{collection.corpus.name}: {collection.inputs} inputs, {size:,} bytes in pieces of {piece:,}, each compressed on its "
            f"own; every method's round trips took {seconds:,.1f} s of wall time ({size / seconds / 1e3:,.1f} KB/s) on the "
            f"{'local' if engine is None else 'ray'} engine. A row's speeds are those of the process that coded its pieces.\n\n")
    return publish(result, text + report_text(runs, sums) + unverified(runs + sums), sums, out)


def bench_piece(piece: bytes, compressors: dict[str, Compressor], chunk: int | None) -> list[BenchRow]:
    """Every method's round trip of one piece (with ``chunk``: LMIC's chunks, as ``run_bench``)."""
    return [bench_one("", piece, m, c, None if codes_blocks(c) else chunk) for m, c in compressors.items()]


def bench_here(collection: Collection, compressors: dict[str, Compressor], chunk: int | None,
               limits: list[int | None]) -> Iterator[tuple[int, list[BenchRow]]]:
    """(input, rows of one piece) for every piece, input after input, in this process."""
    for index, limit in enumerate(limits):
        for piece in collection.pieces(index, limit):
            yield index, bench_piece(piece, compressors, chunk)


def bench_on_ray(collection: Collection, lineup: Lineup, limits: list[int | None], config: RayConfig) -> Iterator[tuple[int, list[BenchRow]]]:
    """(input, rows of one piece) for every piece, as the cluster's actors return them."""
    work = [index for index, limit in enumerate(limits) if limit != 0]
    if not work:
        return
    with session(config) as ray:
        actors, resources = actor_resources(config, ray.cluster_resources())
        ds = ray.data.from_items([{"input": i} for i in work], override_num_blocks=len(work))
        ds = ds.flat_map(_read_pieces, fn_kwargs={"collection": collection, "limits": limits}, num_cpus=0,
                         compute=ray.data.TaskPoolStrategy(size=min(len(work), actors)))
        ds = ds.map_batches(_Bencher, fn_constructor_kwargs={"lineup": lineup}, batch_size=1, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1), **resources)
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for index, rows in zip(batch["input"], batch["rows"]):
                yield int(index), [BenchRow(**r) for r in json.loads(rows)]


def _read_pieces(row: dict, collection: Collection, limits: list[int | None]) -> Iterator[dict]:
    """A read task: the pieces of one input."""
    index = int(row["input"])
    for piece in collection.pieces(index, limits[index]):
        yield {"input": index, "piece": piece}


class _Bencher:
    """An actor: the compressors (one M1), one thread, a piece per call."""

    def __init__(self, lineup: Lineup) -> None:
        serial()
        self.lineup = lineup
        self.compressors = lineup.compressors()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The rows of every piece of the batch, as JSON."""
        rows = [json.dumps([asdict(r) for r in bench_piece(p, self.compressors, self.lineup.chunk)]) for p in batch["piece"]]
        return {"input": batch["input"], "rows": np.array(rows, dtype=object)}


def sum_by_input(collection: Collection, compressors: dict[str, Compressor],
                 results: Iterator[tuple[int, list[BenchRow]]]) -> list[BenchRow]:
    """One row per input and method from the pieces' rows (in any order; with a progress bar),
    inputs in order: sizes and times summed, a format's fixed cost counted once per input."""
    fixed = {m: fixed_cost(c) for m, c in compressors.items()}
    pieces: dict[tuple[int, str], list[BenchRow]] = {}
    with tqdm(desc="bench", unit="B", unit_scale=True) as bar:
        for index, rows in results:
            for r in rows:
                pieces.setdefault((index, r.method), []).append(r)
            bar.update(rows[0].bytes if rows else 0)
    out = []
    for index in range(collection.inputs):
        for method, c in compressors.items():
            got = pieces.get((index, method))
            if got:
                row = total(got, "text")
                size = row.compressed - (len(got) - 1) * fixed[method]
                out.append(with_model_size(replace(row, data=collection.name(index), compressed=size,
                                                   bits_per_byte=8 * size / max(1, row.bytes)), c))
    return out

