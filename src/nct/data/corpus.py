"""Corpora: the embedded public-domain default and loaders for users' text.

A corpus is a named list of documents (bytes). Train and validation never overlap: with 20 or
more documents every 20th document (index 19, 39, ...) is validation; with fewer, each
document's last 5% is, cut at the start of a line.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import lzma
import os
import zlib
from dataclasses import dataclass
from importlib import resources
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import zstandard

from ..errors import BadInput, InputError, MissingInput, UsageError

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
        return Corpus(f"{self.name}:{part}", tuple(split_documents(self.documents, part)))


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
    """Load ``default``/``embedded``, a directory built by ``nct corpus build`` (memory-mapped, see
    ``MappedCorpus``), or any corpus ``stream_corpus`` reads (files, directories, globs), whole."""
    corpus = stream_corpus(spec)
    if isinstance(corpus, StreamedCorpus):
        return Corpus(corpus.name, tuple(corpus.documents))
    return corpus


DATA_SUFFIXES = tuple(f"{ext}{z}" for ext in (".jsonl", ".json") for z in ("", ".gz", ".xz", ".zst")) + (".parquet",)
TEXT_SUFFIXES = (".txt", ".txt.xz", ".txt.gz", ".txt.zst")  # the text files a directory contributes


def stream_corpus(spec: str | Path) -> "Corpus | MappedCorpus | StreamedCorpus":
    """``default``/``embedded`` or a built directory as ``load_corpus``; anything else read lazily:
    a file, a directory or a glob (``'c4/en/c4-train.*.json.gz'``, ``'**'`` recursive) of JSONL
    (``.json``, ``.jsonl``, optionally ``.gz``/``.xz``/``.zst``) with a ``text`` field, parquet
    (``FILE.parquet[:COLUMN]``, column ``text`` by default; needs pyarrow) and text files (one
    document each; any other file named directly or by a glob is read as text)."""
    s = str(spec)
    if s in ("default", "embedded"):
        return embedded()
    if MappedCorpus.is_built(s):
        return MappedCorpus(s)
    pattern, column = s, "text"
    if ".parquet:" in s:
        pattern, _, column = s.partition(".parquet:")
        pattern += ".parquet"
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise MissingInput(f"corpus not found: no file matches {pattern}")
        paths = [(Path(m), Path(m).name) for m in matches if Path(m).is_file()]
        paths += [f for m in matches if Path(m).is_dir() for f in _directory_files(Path(m))]
    else:
        p = Path(pattern)
        if not p.exists():
            raise MissingInput(f"corpus not found: {pattern}")
        paths = _directory_files(p) if p.is_dir() else [(p, p.name)]
        if not paths:
            raise BadInput(f"no .txt, .jsonl, .json or .parquet files under {pattern}")
    return StreamedCorpus(pattern if glob.has_magic(pattern) else Path(pattern).name, _group(paths, column, pattern))


def _directory_files(root: Path) -> list[tuple[Path, str]]:
    """The corpus files under a directory (sorted), each with its name relative to the directory."""
    files = sorted(f for f in root.rglob("*") if f.is_file() and f.name.endswith(DATA_SUFFIXES + TEXT_SUFFIXES))
    return [(f, str(f.relative_to(root))) for f in files]


def _group(paths: list[tuple[Path, str]], column: str, spec: str) -> tuple["CorpusFile", ...]:
    """Input shards: one per JSONL or parquet file, and one more (named ``spec``) for all the text files together."""
    data = [CorpusFile(str(p), "parquet" if p.name.endswith(".parquet") else "jsonl", column)
            for p, _ in paths if p.name.endswith(DATA_SUFFIXES)]
    texts = [(str(p), name) for p, name in paths if not p.name.endswith(DATA_SUFFIXES)]
    return tuple(data) + ((CorpusFile(texts[0][0] if len(texts) == 1 else spec, "text", texts=tuple(texts)),) if texts else ())


def split_documents(documents: Iterable[Document], part: str) -> Iterator[Document]:
    """The 'train' or 'validation' documents of a stream under this module's split rule: it decides
    by the first ``VALIDATION_EVERY`` documents whether the stream has that many."""
    if part not in ("train", "validation"):
        raise UsageError("part must be 'train' or 'validation'")
    it = iter(documents)
    head = list(islice(it, VALIDATION_EVERY))
    if len(head) < VALIDATION_EVERY:
        chosen: Iterable[Document] = (_split_document(d, part) for d in head)
    else:
        want = part == "validation"
        chosen = (d for i, d in enumerate(chain(head, it)) if (i % VALIDATION_EVERY == VALIDATION_EVERY - 1) == want)
    return (d for d in chosen if d.data)


@dataclass(frozen=True)
class CorpusFile:
    """One input shard of a streamed corpus, read lazily: a JSONL file (a document per line, from
    its ``text`` field), a parquet file (a document per non-empty value of ``column``), or text
    files (``texts``: (path, name) pairs, a document each)."""

    path: str
    kind: str  # "jsonl", "parquet" or "text"
    column: str = "text"
    texts: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return sum(os.path.getsize(p) for p, _ in self.texts) if self.kind == "text" else os.path.getsize(self.path)

    def documents(self) -> Iterator[Document]:
        """The documents, one at a time; bad content raises ``BadInput`` naming the file and record."""
        if self.kind == "text":
            return (Document(name, _read(Path(path))) for path, name in self.texts)
        return _jsonl_documents(Path(self.path)) if self.kind == "jsonl" else _parquet_documents(Path(self.path), self.column)


@dataclass(frozen=True)
class StreamedCorpus:
    """A corpus of input shards (``CorpusFile``), never in memory as a whole. ``part`` (train or
    validation; None for all) applies the split rule to each file on its own."""

    name: str
    files: tuple[CorpusFile, ...]
    part: str | None = None

    def split(self, part: str) -> "StreamedCorpus":
        """The 'train' or 'validation' part, per file under the fixed split rule of this module."""
        if part not in ("train", "validation"):
            raise UsageError("part must be 'train' or 'validation'")
        return StreamedCorpus(f"{self.name}:{part}", self.files, part)

    def file_documents(self, index: int) -> Iterator[Document]:
        """The documents of file ``index`` in this part."""
        docs = self.files[index].documents()
        return split_documents(docs, self.part) if self.part else docs

    @property
    def documents(self) -> Iterator[Document]:
        """Every document of this part, file after file."""
        return chain.from_iterable(self.file_documents(i) for i in range(len(self.files)))


READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, zstandard.ZstdError)  # a missing, damaged or truncated file


def _open(path: Path) -> io.BufferedIOBase:
    """A binary stream of a file's content, decompressing .gz, .xz and .zst."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.name.endswith(".zst"):
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def _read(path: Path) -> bytes:
    """File bytes, transparently decompressing .gz, .xz and .zst."""
    try:
        with _open(path) as f:
            return f.read()
    except READ_ERRORS as e:
        raise _unreadable(path, e) from None


def _unreadable(path: Path, e: BaseException, where: str = "") -> InputError:
    """The error for a file that cannot be read (``where``: after which record)."""
    if isinstance(e, FileNotFoundError):
        return MissingInput(f"corpus file not found: {path}")
    return BadInput(f"{path}: cannot read{where} ({e})")


def _jsonl_documents(path: Path) -> Iterator[Document]:
    """One document per JSON line, from its ``text`` field (blank lines are skipped)."""
    line = 0
    try:
        with _open(path) as f:
            for line, raw in enumerate(f, 1):
                if raw.strip():
                    yield Document(f"{path.name}:{line}", _text_field(path, line, raw))
    except READ_ERRORS as e:
        raise _unreadable(path, e, f" after line {line}" if line else "") from None


def _text_field(path: Path, line: int, raw: bytes) -> bytes:
    """The UTF-8 bytes of one JSON line's ``text``."""
    try:
        record = json.loads(raw)
        text = record["text"]
        if not isinstance(text, str):
            raise TypeError(f"'text' is {type(text).__name__}, not a string")
    except (ValueError, KeyError, TypeError) as e:
        raise BadInput(f"{path}:{line}: expected a JSON object with a 'text' field ({e})") from None
    return text.encode("utf-8", errors="surrogatepass")


def _parquet_documents(path: Path, column: str) -> Iterator[Document]:
    """One document per non-empty value of a string column of a parquet file, a batch of rows at a time."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("reading parquet needs pyarrow: pip install 'nct[parquet]'") from None
    try:
        f = pq.ParquetFile(path)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise _unreadable(path, e) from None
    if column not in f.schema_arrow.names:
        raise BadInput(f"{path}: no column {column!r} (columns: {', '.join(f.schema_arrow.names)})")
    row = 0
    try:
        for batch in f.iter_batches(batch_size=1024, columns=[column]):
            for value in batch.column(0).to_pylist():
                if value:
                    if not isinstance(value, (str, bytes)):
                        raise BadInput(f"{path}:{row}: column {column!r} holds {type(value).__name__}, not text")
                    yield Document(f"{path.name}:{row}", value.encode("utf-8") if isinstance(value, str) else value)
                row += 1
    except (OSError, ValueError) as e:
        if isinstance(e, BadInput):
            raise
        raise _unreadable(path, e, f" after row {row}") from None


class _MappedDocuments:
    """A lazy sequence of the documents of memory-mapped parts (each read when indexed)."""

    def __init__(self, parts: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
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
