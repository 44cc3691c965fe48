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


def load_corpus(spec: str | Path) -> Corpus:
    """Load ``default``/``embedded``, a text file (.txt, .xz, .gz), a directory of .txt files,
    a JSONL file with a ``text`` field (C4's format), or ``FILE.parquet[:column]``."""
    s = str(spec)
    if s in ("default", "embedded"):
        return embedded()
    path, _, column = s.partition(".parquet:")
    if column:
        return _load_parquet(Path(path + ".parquet"), column)
    p = Path(s)
    if not p.exists():
        raise FileNotFoundError(f"corpus not found: {s}")
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
