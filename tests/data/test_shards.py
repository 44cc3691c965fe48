import gzip
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.data.corpus import Corpus, Document, stream_corpus
from nct.data.shards import (
    EOD, Manifest, Recipe, ShardWriter, Shards, WholeCorpus, cut_examples, examples, input_shards, pack, parts, shuffled_blocks,
)
from nct.errors import UsageError


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 30))
def test_cut_examples_is_the_joined_stream_cut(docs, size):
    stream = b"".join(d + EOD for d in docs)
    assert list(cut_examples(docs, size)) == [stream[i : i + size] for i in range(0, len(stream), size)]


def test_shuffled_blocks_permute_within_blocks(monkeypatch):
    import nct.data.shards as shards

    monkeypatch.setattr(shards, "SHUFFLE_DOCUMENTS", 10)
    docs = [Document(str(i), b"x" * i) for i in range(35)]
    out = list(shuffled_blocks(docs, seed=0, key="0"))
    assert out == list(shuffled_blocks(docs, seed=0, key="0")) and out != list(shuffled_blocks(docs, seed=1, key="0"))
    for b in range(4):  # blocks of 10 documents, the last of 5
        assert sorted(out[10 * b : 10 * b + 10], key=lambda d: int(d.name)) == docs[10 * b : 10 * b + 10]
    monkeypatch.setattr(shards, "SHUFFLE_BYTES", 50)  # or fewer documents, by bytes
    assert {d.name for d in list(shuffled_blocks(docs, 0, "0"))[:10]} == {str(i) for i in range(10)}


def test_a_file_gives_the_same_examples_alone_or_among_others(tmp_path):
    for name in "abc":
        with gzip.open(tmp_path / f"{name}.json.gz", "wt") as f:
            f.write("".join(json.dumps({"text": f"{name}{i} " * (5 + i)}) + "\n" for i in range(30)))
    recipe = Recipe(example_bytes=50, seed=3, chunk=4)
    alone = input_shards(stream_corpus(tmp_path / "b.json.gz").split("train"))
    among = input_shards(stream_corpus(str(tmp_path / "*.json.gz")).split("train"))
    assert len(among) == 3 and list(among[1].examples(recipe)) == list(alone[0].examples(recipe))
    chunks = list(parts(among[1], recipe))
    assert all(len(c) == 4 for c in chunks[:-1]) and b"".join(sum(chunks, [])).count(EOD) == 29  # 30 less the validation document (index 19)
    assert [len(c) for c in parts(among[1], recipe, limit=6)] == [4, 2]


def _manifest() -> Manifest:
    return Manifest("bytes", {}, 256, None, "toy", 10)


def test_writer_names_chunks_by_input_and_part_and_resumes(tmp_path):
    w = ShardWriter(tmp_path / "s", _manifest(), [("a", 10), ("b", 20)])
    assert not (tmp_path / "s").exists()  # nothing before the first chunk
    for s, p, ids in ((1, 0, [[5, 6], [7]]), (0, 0, [[1]]), (0, 1, [[2, 3]])):
        w.write(s, p, *pack(ids, w.dtype), np.array([len(x) for x in ids], dtype=np.int64))
    w.set_parts(0, 2)
    assert w.done(0) and not w.done(1) and not w.close().complete
    assert sorted(f.name for f in (tmp_path / "s").glob("tokens-*")) == ["tokens-00000-00000.npy", "tokens-00000-00001.npy", "tokens-00001-00000.npy"]
    shards = Shards(tmp_path / "s")
    shards.check()
    assert [x.tolist() for x in shards] == [[1], [2, 3], [5, 6], [7]]
    again = ShardWriter(tmp_path / "s", _manifest(), [("a", 10), ("b", 20)])
    assert again.parts_done(1) == {0} and again.examples(1) == 2
    again.set_parts(1, 1)
    assert again.close().complete
    with pytest.raises(UsageError, match="other input files"):
        ShardWriter(tmp_path / "s", _manifest(), [("a", 10), ("b", 21)])


def test_whole_corpus_is_one_input_with_todays_examples():
    c = Corpus("toy", tuple(Document(str(i), b"abc" * i) for i in range(9)))
    assert list(WholeCorpus(c).examples(Recipe(example_bytes=7, seed=2))) == examples(c, 7, 2)
