import gzip
import json

import pytest

from nct.data.corpus import VALIDATION_EVERY, Corpus, Document, embedded, load_corpus


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
