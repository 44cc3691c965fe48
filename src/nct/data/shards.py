"""Examples as in TLNCT, and token shards on disk.

Examples: the documents of a corpus (in a seeded shuffled order) each followed by an end-of-document
marker, concatenated, and cut into fixed-size examples (10,240 bytes by default; the last may be
shorter). Each example is tokenized on its own.

Shards: a directory with ``manifest.json`` and, per chunk of examples, ``tokens-NNNNN.npy`` (all
token ids of the chunk, concatenated; uint8, uint16 or uint32), ``offsets-NNNNN.npy`` (int64,
start of each example, plus the end) and ``lengths-NNNNN.npy`` (int64, text bytes of each example). Chunks are written atomically, so an interrupted run resumes
where it stopped. The manifest records method, parameters, M1 fingerprint, byte and token counts.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import MissingInput
from ..util import atomic_path
from .corpus import Corpus

EOD = b"\x1e"  # ASCII record separator: the end-of-document marker
EXAMPLE_BYTES = 10_240


def examples(corpus: Corpus, size: int = EXAMPLE_BYTES, seed: int = 0, eod: bytes = EOD) -> list[bytes]:
    """The corpus's documents, shuffled with ``seed``, each ended by ``eod``, cut into ``size``-byte examples."""
    docs = list(corpus.documents)
    random.Random(seed).shuffle(docs)
    stream = b"".join(d.data + eod for d in docs)
    return [stream[i : i + size] for i in range(0, len(stream), size)]


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
    chunks: list[dict] = field(default_factory=list)  # {"index", "examples", "bytes", "tokens"}
    complete: bool = False
    extra: dict = field(default_factory=dict)

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


def write_shards(
    directory: str | Path,
    manifest: Manifest,
    texts: Sequence[bytes],
    encode_batch: Callable[[list[bytes]], list[list[int]]],
    chunk: int = 256,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Tokenize ``texts`` chunk by chunk into ``directory``, skipping chunks a previous run finished.
    A directory made with other settings is refused rather than mixed."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if (d / "manifest.json").exists():
        old = Manifest.load(d)
        same = (old.method, old.params, old.m1, old.corpus, old.example_bytes) == (
            manifest.method, manifest.params, manifest.m1, manifest.corpus, manifest.example_bytes,
        )
        if not same:
            raise ValueError(f"{d} holds shards made with other settings; choose another --out")
        manifest = old
    done = {c["index"] for c in manifest.chunks}
    dtype = token_dtype(manifest.vocab_size)
    for index, start in enumerate(range(0, len(texts), chunk)):
        group = list(texts[start : start + chunk])
        if index in done:
            if progress:
                progress(sum(len(t) for t in group))
            continue
        ids = encode_batch(group)
        offsets = np.cumsum([0] + [len(x) for x in ids]).astype(np.int64)
        flat = np.fromiter((t for x in ids for t in x), dtype=dtype, count=int(offsets[-1]))
        with atomic_path(d / f"tokens-{index:05d}.npy") as tmp:
            with open(tmp, "wb") as f:
                np.save(f, flat)
        lengths = np.array([len(t) for t in group], dtype=np.int64)
        for name, array in (("offsets", offsets), ("lengths", lengths)):
            with atomic_path(d / f"{name}-{index:05d}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, array)
        n_bytes = sum(len(t) for t in group)
        manifest.chunks.append({"index": index, "examples": len(group), "bytes": n_bytes, "tokens": int(offsets[-1])})
        manifest.chunks.sort(key=lambda c: c["index"])
        manifest.n_examples = sum(c["examples"] for c in manifest.chunks)
        manifest.n_bytes = sum(c["bytes"] for c in manifest.chunks)
        manifest.n_tokens = sum(c["tokens"] for c in manifest.chunks)
        manifest.save(d)
        if progress:
            progress(n_bytes)
    manifest.complete = len(manifest.chunks) == -(-len(texts) // chunk)
    manifest.save(d)
    return manifest


class Shards:
    """Read access to a shard directory (memory-mapped)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.manifest = Manifest.load(self.dir)
        self._tokens = [np.load(self.dir / f"tokens-{c['index']:05d}.npy", mmap_mode="r") for c in self.manifest.chunks]
        self._offsets = [np.load(self.dir / f"offsets-{c['index']:05d}.npy") for c in self.manifest.chunks]
        self.lengths = np.concatenate(
            [np.load(self.dir / f"lengths-{c['index']:05d}.npy") for c in self.manifest.chunks] or [np.zeros(0, np.int64)]
        )

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
        for c, tokens, offsets in zip(m.chunks, self._tokens, self._offsets):
            if len(offsets) != c["examples"] + 1 or offsets[-1] != len(tokens) or len(tokens) != c["tokens"]:
                raise ValueError(f"{self.dir}: chunk {c['index']} does not match the manifest")
            if len(tokens) and int(tokens.max()) >= m.vocab_size:
                raise ValueError(f"{self.dir}: chunk {c['index']} has ids outside the vocabulary")
        if sum(len(t) for t in self._tokens) != m.n_tokens:
            raise ValueError(f"{self.dir}: token count differs from the manifest")
        if len(self.lengths) != m.n_examples or int(self.lengths.sum()) != m.n_bytes:
            raise ValueError(f"{self.dir}: example lengths differ from the manifest")
