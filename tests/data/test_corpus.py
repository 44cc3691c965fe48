import gzip
import json

import pytest

from nct.data.corpus import VALIDATION_EVERY, Corpus, Document, StreamedCorpus, embedded, load_corpus, stream_corpus
from nct.errors import BadInput, MissingInput


def test_embedded_split_is_disjoint_and_complete():
    whole = embedded()
    train, val = whole.split("train"), whole.split("validation")
    assert [d.name for d in whole.documents] == ["devil", "jargon", "kjv", "shakespeare"]
    for w, t, v in zip(whole.documents, train.documents, val.documents):
        assert t.data + v.data == w.data
        assert len(v.data) >= len(w.data) // VALIDATION_EVERY
        assert t.data.endswith(b"\n")  # cut at a line start
    assert val.n_bytes < 0.06 * whole.n_bytes


def test_many_documents_split_by_index():
    c = Corpus("c", tuple(Document(str(i), b"x%d" % i) for i in range(40)))
    assert [d.name for d in c.split("validation").documents] == ["19", "39"]
    assert len(c.split("train").documents) == 38


def test_loaders(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("alpha")
    (tmp_path / "d" / "b.txt.gz").write_bytes(gzip.compress(b"beta"))
    (tmp_path / "d" / "skip.bin").write_bytes(b"no")
    assert [d.data for d in load_corpus(tmp_path / "d").documents] == [b"alpha", b"beta"]
    f = tmp_path / "one.txt"
    f.write_bytes(b"single")
    assert load_corpus(f).documents[0].data == b"single"
    j = tmp_path / "c4.jsonl"
    j.write_text("\n".join(json.dumps({"text": t, "url": "u"}) for t in ["first", "zweite ü"]) + "\n")
    assert [d.data for d in load_corpus(j).documents] == [b"first", "zweite ü".encode()]
    assert load_corpus("default").n_bytes == embedded().n_bytes


def test_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "missing")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"no_text": 1}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_corpus(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .txt"):
        load_corpus(tmp_path / "empty")


def test_parquet_column(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"content": ["one", "two"]}), tmp_path / "t.parquet")
    assert [d.data for d in load_corpus(f"{tmp_path / 't.parquet'}:content").documents] == [b"one", b"two"]


def _jsonl(path, texts, opener=open):
    with opener(path, "wt") as f:
        f.write("".join(json.dumps({"text": t, "url": "u"}) + "\n" for t in texts))


def test_stream_corpus_globs_of_c4_files(tmp_path):
    import zstandard

    _jsonl(tmp_path / "c4-train.00000-of-00002.json.gz", ["a0", "a1"], gzip.open)
    _jsonl(tmp_path / "c4-train.00001-of-00002.json.gz", ["b0"], gzip.open)
    _jsonl(tmp_path / "c4-validation.00000-of-00001.json.gz", ["v0"], gzip.open)
    (tmp_path / "z.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(b'{"text": "z0"}\n\n{"text": "z1"}\n'))
    c = stream_corpus(str(tmp_path / "c4-train.*.json.gz"))
    assert isinstance(c, StreamedCorpus) and [f.kind for f in c.files] == ["jsonl", "jsonl"]
    assert [d.data for d in c.documents] == [b"a0", b"a1", b"b0"]
    assert [d.name for d in c.file_documents(1)] == ["c4-train.00001-of-00002.json.gz:1"]
    assert [d.data for d in stream_corpus(tmp_path / "z.jsonl.zst").documents] == [b"z0", b"z1"]
    assert [d.data for d in load_corpus(str(tmp_path / "c4-*.json.gz")).documents] == [b"a0", b"a1", b"b0", b"v0"]


def test_stream_corpus_directory_groups_text_files(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("alpha")
    (tmp_path / "d" / "b.txt.gz").write_bytes(gzip.compress(b"beta"))
    _jsonl(tmp_path / "d" / "c.jsonl", ["gamma"])
    c = stream_corpus(tmp_path / "d")
    assert [(f.kind, [d.data for d in f.documents()]) for f in c.files] == [("jsonl", [b"gamma"]), ("text", [b"alpha", b"beta"])]


def test_streamed_split_is_the_corpus_split_per_file(tmp_path):
    many = [f"doc {i} " * 30 for i in range(45)]
    _jsonl(tmp_path / "many.jsonl", many)
    (tmp_path / "book.txt").write_text("".join(f"line {i}\n" for i in range(200)))
    streamed = stream_corpus(str(tmp_path / "*"))
    for i, f in enumerate(streamed.files):
        whole = Corpus(f.path, tuple(f.documents()))
        for part in ("train", "validation"):
            assert list(streamed.split(part).file_documents(i)) == list(whole.split(part).documents)


def test_parquet_streamed_in_batches(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [f"row {i}" for i in range(3000)] + [None, ""]}), tmp_path / "t.parquet", row_group_size=500)
    docs = list(stream_corpus(tmp_path / "t.parquet").documents)
    assert len(docs) == 3000 and docs[2999] == Document("t.parquet:2999", b"row 2999")
    with pytest.raises(BadInput, match="no column 'body'"):
        list(stream_corpus(f"{tmp_path / 't.parquet'}:body").documents)


def test_stream_errors_name_the_file_and_record(tmp_path):
    with pytest.raises(MissingInput, match="no file matches"):
        stream_corpus(str(tmp_path / "c4-train.*.json.gz"))
    _jsonl(tmp_path / "ok.json.gz", ["fine"] * 3, gzip.open)
    with gzip.open(tmp_path / "bad.json.gz", "wt") as f:
        f.write('{"text": "one"}\n{"content": "two"}\n')
    with pytest.raises(BadInput, match=r"bad.json.gz:2: expected a JSON object with a 'text' field"):
        list(stream_corpus(tmp_path / "bad.json.gz").documents)
    (tmp_path / "cut.json.gz").write_bytes((tmp_path / "ok.json.gz").read_bytes()[:-12])
    with pytest.raises(BadInput, match=r"cut.json.gz: cannot read after line"):
        list(stream_corpus(tmp_path / "cut.json.gz").documents)
    (tmp_path / "plain.json.gz").write_text('{"text": "not gzip"}\n')
    with pytest.raises(BadInput, match=r"plain.json.gz: cannot read"):
        list(stream_corpus(tmp_path / "plain.json.gz").documents)
    _jsonl(tmp_path / "null.jsonl", [None])
    with pytest.raises(BadInput, match=r"null.jsonl:1: .*'text' is NoneType"):
        list(stream_corpus(tmp_path / "null.jsonl").documents)
