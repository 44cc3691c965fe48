"""Examples as in TLNCT, and token shards on disk.

Examples: the documents of an input (in a seeded shuffled order) each followed by an end-of-document
marker, concatenated, and cut into fixed-size examples (10,240 bytes by default; the last may be
shorter). Each example is tokenized on its own. An input is a corpus in memory (all its documents
shuffled together) or one file of a streamed corpus (its documents shuffled in blocks, so a file is
never held whole): the examples of a file depend on that file alone, never on how many workers
there are or on the other files.

Shards: a directory with ``manifest.json`` and, per chunk of examples, ``tokens-NNNNN.npy`` (all
token ids of the chunk, concatenated; uint8, uint16 or uint32), ``offsets-NNNNN.npy`` (int64,
start of each example, plus the end) and ``lengths-NNNNN.npy`` (int64, text bytes of each example);
with several input files a chunk is named by its file and its part, ``tokens-SSSSS-PPPPP.npy``.
Chunks are written atomically, so an interrupted run resumes where it stopped. The manifest records
method, parameters, M1 fingerprint, the inputs (name, size, parts), byte and token counts.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from itertools import islice
from typing import Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np

from ..errors import MissingInput, UsageError
from ..util import atomic_path
from .corpus import Corpus, Document, MappedCorpus, StreamedCorpus

EOD = b"\x1e"  # ASCII record separator: the end-of-document marker
EXAMPLE_BYTES = 10_240
CHUNK = 256  # examples per chunk of a shard directory
SHUFFLE_DOCUMENTS = 1024  # a streamed file's documents are shuffled in blocks of this many,
SHUFFLE_BYTES = 16 << 20  # or of this many bytes, whichever comes first


def examples(corpus: "Corpus | MappedCorpus | StreamedCorpus", size: int = EXAMPLE_BYTES, seed: int = 0, eod: bytes = EOD) -> list[bytes]:
    """The corpus's documents (all in memory), shuffled with ``seed``, each ended by ``eod``, cut into ``size``-byte examples."""
    docs = list(corpus.documents)
    random.Random(seed).shuffle(docs)
    return list(cut_examples((d.data for d in docs), size, eod))


def cut_examples(documents: Iterable[bytes], size: int = EXAMPLE_BYTES, eod: bytes = EOD) -> Iterator[bytes]:
    """The documents, each ended by ``eod``, concatenated and cut into ``size``-byte examples (the
    last may be shorter), one at a time: the concatenation is never built."""
    pending = bytearray()
    for data in documents:
        for piece in (data, eod):
            start = 0
            if pending:
                start = size - len(pending)
                pending += piece[:start]
                if len(pending) < size:
                    continue
                yield bytes(pending)
                pending.clear()
            while start + size <= len(piece):
                yield piece[start : start + size]
                start += size
            pending += piece[start:]
    if pending:
        yield bytes(pending)


def shuffled_blocks(documents: Iterable[Document], seed: int, key: str) -> Iterator[Document]:
    """The documents shuffled within consecutive blocks (``SHUFFLE_DOCUMENTS`` documents or
    ``SHUFFLE_BYTES``), each block with its own generator seeded by ``seed``, ``key`` and its number."""
    block: list[Document] = []
    size = number = 0
    for d in documents:
        block.append(d)
        size += len(d.data)
        if len(block) == SHUFFLE_DOCUMENTS or size >= SHUFFLE_BYTES:
            random.Random(f"{seed}:{key}:{number}").shuffle(block)
            yield from block
            block, size, number = [], 0, number + 1
    random.Random(f"{seed}:{key}:{number}").shuffle(block)
    yield from block


@dataclass(frozen=True)
class Recipe:
    """How examples are made (TLNCT): documents shuffled with ``seed``, each ended by ``eod``,
    concatenated and cut into ``example_bytes``-byte examples, ``chunk`` examples per output chunk."""

    example_bytes: int = EXAMPLE_BYTES
    seed: int = 0
    chunk: int = CHUNK
    eod: bytes = EOD


class InputShard(Protocol):
    """One input of a tokenizing run: the examples it gives are decided by it and the recipe alone."""

    @property
    def name(self) -> str:
        """The input's name (a file's path)."""
        ...

    @property
    def size(self) -> int:
        """Bytes it holds (on disk, for a file)."""
        ...

    def examples(self, recipe: Recipe) -> Iterator[bytes]:
        """Its examples, in order."""
        ...

    def check(self) -> None:
        """Raise an ``InputError`` now if it cannot be opened or its first record is bad."""
        ...


@dataclass(frozen=True)
class WholeCorpus:
    """A corpus in memory (or memory-mapped) as one input: all its documents shuffled together."""

    corpus: "Corpus | MappedCorpus"

    @property
    def name(self) -> str:
        """The corpus's name."""
        return self.corpus.name

    @property
    def size(self) -> int:
        """Its bytes."""
        return self.corpus.n_bytes

    def examples(self, recipe: Recipe) -> Iterator[bytes]:
        """``examples`` of the corpus."""
        return iter(examples(self.corpus, recipe.example_bytes, recipe.seed, recipe.eod))

    def check(self) -> None:
        """Nothing to check: it is read already."""


@dataclass(frozen=True)
class FileShard:
    """File ``index`` of a streamed corpus (in its split part) as one input: its documents shuffled
    in blocks (seeded by the file's name), so that it never is in memory as a whole and its
    examples depend on it alone, not on where it is or which other files there are."""

    corpus: StreamedCorpus
    index: int

    @property
    def name(self) -> str:
        """The file's path."""
        return self.corpus.files[self.index].path

    @property
    def size(self) -> int:
        """Its bytes on disk."""
        return self.corpus.files[self.index].size

    def examples(self, recipe: Recipe) -> Iterator[bytes]:
        """Its examples: block-shuffled documents, each ended by the marker, cut."""
        docs = shuffled_blocks(self.corpus.file_documents(self.index), recipe.seed, Path(self.name).name)
        return cut_examples((d.data for d in docs), recipe.example_bytes, recipe.eod)

    def check(self) -> None:
        """Open the file and read its first record."""
        next(iter(self.corpus.files[self.index].documents()), None)


def input_shards(corpus: "Corpus | MappedCorpus | StreamedCorpus") -> list[InputShard]:
    """A streamed corpus's files, or a corpus in memory as one input."""
    if isinstance(corpus, StreamedCorpus):
        return [FileShard(corpus, i) for i in range(len(corpus.files))]
    return [WholeCorpus(corpus)]


def parts(shard: InputShard, recipe: Recipe, limit: int | None = None) -> Iterator[list[bytes]]:
    """The shard's first ``limit`` examples (None: all) in lists of ``recipe.chunk``, one per output chunk."""
    it = islice(shard.examples(recipe), limit)
    while part := list(islice(it, recipe.chunk)):
        yield part


@dataclass
class Manifest:
    """What a shard directory holds."""

    method: str
    params: dict
    vocab_size: int
    m1: str | None
    corpus: str
    example_bytes: int
    n_examples: int = 0
    n_bytes: int = 0
    n_tokens: int = 0
    chunks: list[dict] = field(default_factory=list)  # {"index", "examples", "bytes", "tokens"}, and "shard" of several inputs
    complete: bool = False
    extra: dict = field(default_factory=dict)
    inputs: list[dict] = field(default_factory=list)  # {"name", "bytes", "parts": None until read through}

    @property
    def bytes_per_token(self) -> float:
        """Text bytes per token over all examples."""
        return self.n_bytes / max(1, self.n_tokens)

    def save(self, directory: Path) -> None:
        """Write manifest.json atomically."""
        with atomic_path(directory / "manifest.json") as tmp:
            tmp.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "Manifest":
        """Read a shard directory's manifest."""
        path = Path(directory) / "manifest.json"
        if not path.exists():
            raise MissingInput(f"{directory}: no manifest.json (not a shard directory)")
        return cls(**json.loads(path.read_text()))


def token_dtype(vocab_size: int) -> np.dtype:
    """Smallest unsigned integer type that holds every id."""
    return np.dtype(np.uint8 if vocab_size <= 256 else np.uint16 if vocab_size <= 65536 else np.uint32)


def pack(ids: Sequence[Sequence[int]], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(all ids in one array of ``dtype``, int64 offsets: the start of each sequence, plus the end)."""
    offsets = np.cumsum([0] + [len(x) for x in ids]).astype(np.int64)
    return np.fromiter((t for x in ids for t in x), dtype=dtype, count=int(offsets[-1])), offsets


class ShardWriter:
    """The chunks of one shard directory and its manifest. A chunk is part ``p`` of input ``s``
    (``tokens-PPPPP.npy`` for a single input, ``tokens-SSSSS-PPPPP.npy`` for several), written
    atomically, and the manifest is saved after each, so an interrupted run resumes with what is
    there, whoever wrote it. A directory made with other settings or from other input (names and
    sizes) is refused rather than mixed. Nothing is created before the first chunk or ``close``."""

    def __init__(self, directory: str | Path, manifest: Manifest, inputs: Sequence[tuple[str, int]]):
        self.dir = Path(directory)
        self.multi = len(inputs) > 1
        new = [{"name": name, "bytes": size, "parts": None} for name, size in inputs]
        if (self.dir / "manifest.json").exists():
            old = Manifest.load(self.dir)
            if (old.method, old.params, old.m1, old.corpus, old.example_bytes) != (
                manifest.method, manifest.params, manifest.m1, manifest.corpus, manifest.example_bytes,
            ):
                raise UsageError(f"{self.dir} holds shards made with other settings; choose another --out")
            if old.inputs and [(i["name"], i["bytes"]) for i in old.inputs] != [(i["name"], i["bytes"]) for i in new]:
                raise UsageError(f"{self.dir} holds shards of other input files (or they changed since); choose another --out")
            manifest, old.inputs = old, old.inputs or new
        else:
            manifest.inputs = new
        self.manifest = manifest
        self.dtype = token_dtype(manifest.vocab_size)

    def parts_done(self, shard: int) -> set[int]:
        """The parts of input ``shard`` written already."""
        return {c["index"] for c in self.manifest.chunks if c.get("shard", 0) == shard}

    def done(self, shard: int) -> bool:
        """Whether every part of input ``shard`` is written (its number of parts is known once it was read through)."""
        n = self.manifest.inputs[shard]["parts"]
        return n is not None and self.parts_done(shard) >= set(range(n))

    def examples(self, shard: int) -> int:
        """Examples of input ``shard`` written so far."""
        return sum(c["examples"] for c in self.manifest.chunks if c.get("shard", 0) == shard)

    def write(self, shard: int, part: int, tokens: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> None:
        """Write one chunk (its ids, int64 offsets and text lengths of its examples) and record it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        entry = {"index": part, "examples": len(lengths), "bytes": int(lengths.sum()), "tokens": int(offsets[-1])}
        if self.multi:
            entry["shard"] = shard
        for name, array in (("tokens", tokens.astype(self.dtype, copy=False)), ("offsets", offsets), ("lengths", lengths)):
            with atomic_path(self.dir / f"{name}-{chunk_stem(entry)}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, array)
        m = self.manifest
        m.chunks = sorted([c for c in m.chunks if chunk_key(c) != (shard, part)] + [entry], key=chunk_key)
        m.n_examples = sum(c["examples"] for c in m.chunks)
        m.n_bytes = sum(c["bytes"] for c in m.chunks)
        m.n_tokens = sum(c["tokens"] for c in m.chunks)
        m.save(self.dir)

    def set_parts(self, shard: int, n: int) -> None:
        """Record that input ``shard`` gives ``n`` parts (it was read through)."""
        if self.manifest.inputs[shard]["parts"] != n:
            self.manifest.inputs[shard]["parts"] = n
            if self.dir.exists():
                self.manifest.save(self.dir)

    def close(self) -> Manifest:
        """Save the manifest (complete when every input is done) and return it."""
        self.manifest.complete = all(self.done(s) for s in range(len(self.manifest.inputs)))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest.save(self.dir)
        return self.manifest


def chunk_key(chunk: dict) -> tuple[int, int]:
    """(input, part) of a manifest's chunk entry: the order of the examples."""
    return chunk.get("shard", 0), chunk["index"]


def chunk_stem(chunk: dict) -> str:
    """The part of a chunk's file names after ``tokens-``."""
    return f"{chunk['shard']:05d}-{chunk['index']:05d}" if "shard" in chunk else f"{chunk['index']:05d}"


def write_shards(
    directory: str | Path,
    manifest: Manifest,
    texts: Sequence[bytes],
    encode_batch: Callable[[list[bytes]], list[list[int]]],
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Tokenize ``texts`` chunk by chunk into ``directory`` as one input, skipping chunks a previous
    run finished (see ``ShardWriter``)."""
    writer = ShardWriter(directory, manifest, [(manifest.corpus, sum(map(len, texts)))])
    done = writer.parts_done(0)
    for index, start in enumerate(range(0, len(texts), chunk)):
        group = list(texts[start : start + chunk])
        if index not in done:
            lengths = np.array([len(t) for t in group], dtype=np.int64)
            writer.write(0, index, *pack(encode_batch(group), writer.dtype), lengths)
        if progress:
            progress(sum(len(t) for t in group))
    writer.set_parts(0, -(-len(texts) // chunk))
    return writer.close()


class Shards:
    """Read access to a shard directory (memory-mapped)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.manifest = Manifest.load(self.dir)
        chunks = sorted(self.manifest.chunks, key=chunk_key)
        self._tokens = [np.load(self.dir / f"tokens-{chunk_stem(c)}.npy", mmap_mode="r") for c in chunks]
        self._offsets = [np.load(self.dir / f"offsets-{chunk_stem(c)}.npy") for c in chunks]
        self.lengths = np.concatenate([np.load(self.dir / f"lengths-{chunk_stem(c)}.npy") for c in chunks] or [np.zeros(0, np.int64)])

        self._where = [(c, int(a), int(b)) for c, off in enumerate(self._offsets) for a, b in zip(off[:-1], off[1:])]

    def __len__(self) -> int:
        return self.manifest.n_examples

    def __getitem__(self, i: int) -> np.ndarray:
        """Token ids of example ``i``."""
        c, a, b = self._where[i]
        return self._tokens[c][a:b]

    def __iter__(self) -> Iterator[np.ndarray]:
        """Token ids of every example, in order."""
        for tokens, offsets in zip(self._tokens, self._offsets):
            for a, b in zip(offsets[:-1], offsets[1:]):
                yield tokens[a:b]

    def check(self) -> None:
        """Raise ValueError unless the files agree with the manifest."""
        m = self.manifest
        for c, tokens, offsets in zip(sorted(m.chunks, key=chunk_key), self._tokens, self._offsets):
            if len(offsets) != c["examples"] + 1 or offsets[-1] != len(tokens) or len(tokens) != c["tokens"]:
                raise ValueError(f"{self.dir}: chunk {chunk_stem(c)} does not match the manifest")
            if len(tokens) and int(tokens.max()) >= m.vocab_size:
                raise ValueError(f"{self.dir}: chunk {chunk_stem(c)} has ids outside the vocabulary")
        if sum(len(t) for t in self._tokens) != m.n_tokens:
            raise ValueError(f"{self.dir}: token count differs from the manifest")
        if len(self.lengths) != m.n_examples or int(self.lengths.sum()) != m.n_bytes:
            raise ValueError(f"{self.dir}: example lengths differ from the manifest")
