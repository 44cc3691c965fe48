"""Corpora: the embedded public-domain default and loaders for users' text.

A corpus is a named list of documents (bytes). Train and validation never overlap: with 20 or
more documents every 20th document (index 19, 39, ...) is validation; with fewer, each
document's last 5% is, cut at the start of a line.
"""

from __future__ import annotations

import gzip
import json
import lzma
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import MissingInput

EMBEDDED = ("devil", "jargon", "kjv", "shakespeare")
VALIDATION_EVERY = 20  # 1 document in 20, or the last 1/20 of each document


@dataclass(frozen=True)
class Document:
    """One named document of raw bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Corpus:
    """A named sequence of documents."""

    name: str
    documents: tuple[Document, ...]

    @property
    def n_bytes(self) -> int:
        """Total size in bytes."""
        return sum(len(d.data) for d in self.documents)

    def split(self, part: str) -> "Corpus":
        """The 'train' or 'validation' part under the fixed split rule of this module."""
        if part not in ("train", "validation"):
            raise ValueError("part must be 'train' or 'validation'")
        docs = self.documents
        if len(docs) >= VALIDATION_EVERY:
            keep = [(i % VALIDATION_EVERY == VALIDATION_EVERY - 1) == (part == "validation") for i in range(len(docs))]
            chosen = tuple(d for d, k in zip(docs, keep) if k)
        else:
            chosen = tuple(_split_document(d, part) for d in docs)
        return Corpus(f"{self.name}:{part}", tuple(d for d in chosen if d.data))


def _split_document(doc: Document, part: str) -> Document:
    """Train = the first ~95% of a document, validation = the rest, cut at a line start."""
    cut = len(doc.data) - len(doc.data) // VALIDATION_EVERY
    nl = doc.data.rfind(b"\n", 0, cut)
    cut = nl + 1 if nl >= 0 else cut
    return Document(doc.name, doc.data[:cut] if part == "train" else doc.data[cut:])


def embedded(part: str | None = None) -> Corpus:
    """The embedded default corpus (four public-domain texts, ~11 MB), whole or one split part."""
    root = resources.files("nct.data") / "corpora"
    docs = tuple(Document(n, lzma.decompress((root / f"{n}.txt.xz").read_bytes())) for n in EMBEDDED)
    corpus = Corpus("embedded", docs)
    return corpus.split(part) if part else corpus


def load_corpus(spec: str | Path) -> "Corpus | MappedCorpus":
    """Load ``default``/``embedded``, a text file (.txt, .xz, .gz), a directory of .txt files,
    a JSONL file with a ``text`` field (C4's format), ``FILE.parquet[:column]``, or a directory
    built by ``nct corpus build`` (memory-mapped, see ``MappedCorpus``)."""
    s = str(spec)
    if s in ("default", "embedded"):
        return embedded()
    if MappedCorpus.is_built(s):
        return MappedCorpus(s)
    path, _, column = s.partition(".parquet:")
    if column:
        return _load_parquet(Path(path + ".parquet"), column)
    p = Path(s)
    if not p.exists():
        raise MissingInput(f"corpus not found: {s}")
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith((".txt", ".txt.xz", ".txt.gz")))
        if not files:
            raise ValueError(f"no .txt files under {s}")
        return Corpus(p.name, tuple(Document(str(f.relative_to(p)), _read(f)) for f in files))
    if p.name.endswith(".parquet"):
        return _load_parquet(p, "text")
    if p.name.endswith((".jsonl", ".jsonl.gz", ".jsonl.xz", ".json")):
        return _load_jsonl(p)
    return Corpus(p.name, (Document(p.name, _read(p)),))


def _read(path: Path) -> bytes:
    """File bytes, transparently decompressing .xz and .gz."""
    if path.name.endswith(".xz"):
        return lzma.decompress(path.read_bytes())
    if path.name.endswith(".gz"):
        return gzip.decompress(path.read_bytes())
    return path.read_bytes()


def _load_jsonl(path: Path) -> Corpus:
    """One document per JSON line, from its ``text`` field."""
    docs = []
    for i, line in enumerate(_read(path).splitlines()):
        if not line.strip():
            continue
        try:
            text = json.loads(line)["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{i + 1}: expected a JSON object with a 'text' field ({e})") from None
        docs.append(Document(f"{path.name}:{i + 1}", text.encode("utf-8")))
    return Corpus(path.name, tuple(docs))


def _load_parquet(path: Path, column: str) -> Corpus:
    """One document per row of a string column of a parquet file (needs pyarrow)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading parquet needs pyarrow: pip install 'nct[parquet]'") from None
    table = pq.read_table(path, columns=[column])
    values = table.column(column).to_pylist()
    return Corpus(path.name, tuple(Document(f"{path.name}:{i}", v.encode("utf-8")) for i, v in enumerate(values) if v))


class _MappedDocuments:
    """A lazy sequence of the documents of memory-mapped parts (each read when indexed)."""

    def __init__(self, parts: list[tuple[str, "object", "object"]]) -> None:
        self._parts = parts  # (part, data memmap, start offsets)
        self._counts = [len(idx) for _, _, idx in parts]

    def __len__(self) -> int:
        return sum(self._counts)

    def __getitem__(self, i: int) -> Document:
        if i < 0:
            i += len(self)
        for (part, data, idx), n in zip(self._parts, self._counts):
            if i < n:
                end = int(idx[i + 1]) if i + 1 < n else len(data)
                return Document(f"{part}:{i}", bytes(data[int(idx[i]) : end - len(MAPPED_SEPARATOR)]))
            i -= n
        raise IndexError("document index out of range")

    def __iter__(self):
        return (self[i] for i in range(len(self)))


MAPPED_SEPARATOR = b"\n\n"  # what `nct corpus build` writes after each document (nct.train.m1.SEPARATOR)


class MappedCorpus:
    """A corpus directory from ``nct corpus build`` (train.bin, validation.bin, *.idx.npy,
    manifest.json), memory-mapped: nothing is read until used. ``split`` follows the directory's
    own train/validation files; ``array()`` is the raw memmap of one part."""

    PARTS = ("train", "validation")

    def __init__(self, root: str | Path, parts: tuple[str, ...] = PARTS) -> None:
        self.root = Path(root)
        self.parts = parts
        self.manifest = json.loads((self.root / "manifest.json").read_text())
        self.name = self.root.name + ("" if parts == self.PARTS else ":" + "+".join(parts))

    @staticmethod
    def is_built(path: str | Path) -> bool:
        """Whether ``path`` is a directory written by ``nct corpus build``."""
        p = Path(path)
        return p.is_dir() and (p / "manifest.json").exists() and (p / "train.bin").exists()

    def array(self, part: str | None = None):
        """The bytes of one part as a read-only ``np.memmap`` (uint8), never copied."""
        import numpy as np

        part = part or (self.parts[0] if len(self.parts) == 1 else None)
        if part not in self.PARTS:
            raise ValueError("array() needs one part: 'train' or 'validation'")
        path = self.root / f"{part}.bin"
        if path.stat().st_size == 0:
            return np.zeros(0, dtype=np.uint8)
        return np.memmap(path, dtype=np.uint8, mode="r")

    def offsets(self, part: str):
        """Start offsets of the documents of one part (int64)."""
        import numpy as np

        return np.load(self.root / f"{part}.idx.npy", mmap_mode="r")

    @property
    def documents(self) -> _MappedDocuments:
        """The documents, read lazily from the memmaps."""
        return _MappedDocuments([(p, self.array(p), self.offsets(p)) for p in self.parts])

    @property
    def n_bytes(self) -> int:
        """Total size in bytes (without separators)."""
        return sum(int(self.manifest["bin_bytes"][p]) - len(self.offsets(p)) * len(MAPPED_SEPARATOR) for p in self.parts)

    def split(self, part: str) -> "MappedCorpus":
        """The 'train' or 'validation' file of the directory."""
        if part not in self.PARTS:
            raise ValueError("part must be 'train' or 'validation'")
        return MappedCorpus(self.root, (part,))

    def sample(self, n_bytes: int, pieces: int = 16) -> bytes:
        """A fixed sample of about ``n_bytes``: the first ``n_bytes / pieces`` bytes of ``pieces``
        evenly spaced documents (of the first part)."""
        part = self.parts[0]
        data, idx = self.array(part), self.offsets(part)
        if not len(idx):
            return b""
        pieces = max(1, min(pieces, len(idx)))
        each = max(1, n_bytes // pieces)
        out = []
        for k in range(pieces):
            i = k * len(idx) // pieces
            end = int(idx[i + 1]) - len(MAPPED_SEPARATOR) if i + 1 < len(idx) else len(data) - len(MAPPED_SEPARATOR)
            out.append(bytes(data[int(idx[i]) : min(end, int(idx[i]) + each)]))
        return b"".join(out)
