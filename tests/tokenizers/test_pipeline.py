import gzip
import json

import pytest

from nct.cli import main
from nct.data.corpus import Corpus, Document, stream_corpus
from nct.data.shards import EOD, Manifest, Recipe, Shards, examples, input_shards
from nct.errors import BadInput
from nct.tokenizers import build
from nct.tokenizers.pipeline import tokenize_corpus

WORDS = b"the quick brown fox jumps over the lazy dog while seven wise owls watch quietly "
CORPUS = Corpus("toy", tuple(Document(f"d{i}", WORDS * (3 + i % 4)) for i in range(40)))


def test_examples_are_fixed_size_with_document_markers():
    ex = examples(CORPUS, size=500, seed=1)
    assert all(len(e) == 500 for e in ex[:-1]) and 0 < len(ex[-1]) <= 500
    joined = b"".join(ex)
    assert joined.count(EOD) == len(CORPUS.documents)
    assert examples(CORPUS, 500, seed=1) == ex and examples(CORPUS, 500, seed=2) != ex


@pytest.mark.parametrize("method", ["bytes", "gzip", "equal-info"])
def test_shards_match_manifest_and_round_trip(method, tiny_m1, tmp_path):
    n = 4 if method == "equal-info" else None  # M1 codes a byte a step: its first examples are enough
    m = tokenize_corpus(CORPUS, method, tmp_path / method, m1=tiny_m1, split="all", token_bits=8, rule="delay",
                        example_bytes=600, chunk=3 if n is None else 2, max_bytes=None if n is None else 600 * n)
    shards = Shards(tmp_path / method)
    shards.check()
    texts = examples(CORPUS, 600, 0)[:n]
    assert m.complete and m.n_examples == len(texts) == len(shards) and m.n_bytes == sum(map(len, texts))
    assert shards.lengths.tolist() == [len(t) for t in texts]
    tok = build(method, m1=tiny_m1, token_bits=8, rule="delay")
    assert [tok.decode_bytes(ids.tolist()) for ids in shards] == texts
    if method == "equal-info":
        assert m.m1 == tiny_m1.fingerprint and m.params["bits"] == 16


def test_equal_info_shards_do_not_depend_on_the_batch_or_the_engine(tiny_m1, tmp_path):
    """Chunks coded together (``batch``) by M1's portable engine (as on a GPU) give the default's shards."""
    args = dict(split="all", token_bits=16, example_bytes=300, chunk=2, max_bytes=300 * 5)
    tokenize_corpus(CORPUS, "equal-info", tmp_path / "a", m1=tiny_m1, **args)
    tokenize_corpus(CORPUS, "equal-info", tmp_path / "b", m1=tiny_m1.to("cpu"), batch=5, **args)
    a, b = Shards(tmp_path / "a"), Shards(tmp_path / "b")
    assert len(a) == len(b) == 5 and [x.tolist() for x in a] == [x.tolist() for x in b]
    assert Manifest.load(tmp_path / "a").params == Manifest.load(tmp_path / "b").params


def test_tokenize_resumes_and_refuses_other_settings(tmp_path):
    tokenize_corpus(CORPUS, "bytes", tmp_path / "s", split="all", example_bytes=300, chunk=2, max_bytes=900)
    before = Manifest.load(tmp_path / "s")
    (tmp_path / "s" / "tokens-00001.npy").unlink()
    m = Manifest.load(tmp_path / "s")
    m.chunks = [c for c in m.chunks if c["index"] != 1]
    m.save(tmp_path / "s")
    again = tokenize_corpus(CORPUS, "bytes", tmp_path / "s", split="all", example_bytes=300, chunk=2, max_bytes=900)
    assert again.n_tokens == before.n_tokens and (tmp_path / "s" / "tokens-00001.npy").exists()
    with pytest.raises(ValueError, match="other settings"):
        tokenize_corpus(CORPUS, "gzip", tmp_path / "s", split="all", example_bytes=300)


def test_cli_tokenize(tmp_path, tiny_model_path):
    src = tmp_path / "c.txt"
    src.write_bytes(WORDS * 50)
    assert main(["tokenize", "--method", "equal-info", "--corpus", str(src), "--out", str(tmp_path / "eq"),
                 "--model", tiny_model_path, "--token-bits", "16", "--split", "all", "--example-bytes", "1000"]) == 0
    Shards(tmp_path / "eq").check()


def _c4(directory, files=3, docs=12):
    """A few C4-like JSONL.gz files."""
    directory.mkdir(exist_ok=True)
    for f in range(files):
        with gzip.open(directory / f"c4-train.{f:05d}-of-{files:05d}.json.gz", "wt") as out:
            out.write("".join(json.dumps({"text": (WORDS * (1 + (i + f) % 3)).decode(), "url": "u"}) + "\n" for i in range(docs)))
    return str(directory / "c4-train.*.json.gz")


def test_streamed_corpus_one_input_per_file(tmp_path):
    spec = _c4(tmp_path / "c4")
    corpus = stream_corpus(spec)
    m = tokenize_corpus(corpus, "bytes", tmp_path / "s", split="all", example_bytes=300, chunk=2)
    assert m.complete and [i["parts"] for i in m.inputs] == [4, 4, 4] and m.params["stream"]["shuffle_documents"] == 1024
    shards = Shards(tmp_path / "s")
    shards.check()
    expected = [e for shard in input_shards(corpus) for e in shard.examples(Recipe(300))]
    assert [bytes(x.astype("uint8")) for x in shards] == expected
    assert (tmp_path / "s" / "tokens-00002-00003.npy").exists()
    first = tokenize_corpus(stream_corpus(tmp_path / "c4" / "c4-train.00000-of-00003.json.gz"), "bytes", tmp_path / "one",
                            split="all", example_bytes=300, chunk=2)
    assert first.n_examples == 7 and [bytes(x.astype("uint8")) for x in Shards(tmp_path / "one")] == expected[:7]  # the same alone


def test_streamed_max_bytes_spans_files_and_resumes(tmp_path):
    corpus = stream_corpus(_c4(tmp_path / "c4"))
    m = tokenize_corpus(corpus, "bytes", tmp_path / "s", split="all", example_bytes=300, chunk=2, max_bytes=2400)
    assert m.complete and m.n_examples == 8 and [i["parts"] for i in m.inputs] == [4, 1, 0]
    (tmp_path / "s" / "tokens-00001-00000.npy").unlink()
    m.chunks = [c for c in m.chunks if (c["shard"], c["index"]) != (1, 0)]
    m.save(tmp_path / "s")
    again = tokenize_corpus(corpus, "bytes", tmp_path / "s", split="all", example_bytes=300, chunk=2, max_bytes=2400)
    assert again.complete and again.n_tokens == m.n_tokens == 7 * 300 - 168 + 300 and (tmp_path / "s" / "tokens-00001-00000.npy").exists()


def test_bad_input_names_file_and_record_and_writes_nothing(tmp_path):
    spec = _c4(tmp_path / "c4")
    with gzip.open(tmp_path / "c4" / "c4-train.00003-of-00003.json.gz", "wt") as f:
        f.write('{"text": "fine"}\n' * 40 + '{"txt": "typo"}\n')
    out = tmp_path / "s"
    with pytest.raises(BadInput, match=r"c4-train.00003-of-00003.json.gz:41: expected a JSON object with a 'text' field"):
        tokenize_corpus(stream_corpus(spec), "bytes", out, split="all", example_bytes=300, chunk=2)
    assert all(not f.name.endswith(".tmp") for f in out.iterdir())  # complete chunks of the files before, nothing half-written
    Shards(out).check()
    with gzip.open(tmp_path / "c4" / "c4-train.00003-of-00003.json.gz", "wt") as f:
        f.write('{"txt": "first record"}\n')
    with pytest.raises(BadInput, match=r"00003-of-00003.json.gz:1:"):  # checked before anything is written
        tokenize_corpus(stream_corpus(spec), "bytes", tmp_path / "never", split="all", example_bytes=300)
    assert not (tmp_path / "never").exists()


def test_cli_tokenize_glob_and_errors(tmp_path, capsys):
    spec = _c4(tmp_path / "c4")
    assert main(["tokenize", "--method", "gzip", "--corpus", spec, "--out", str(tmp_path / "g"), "--example-bytes", "500"]) == 0
    assert Manifest.load(tmp_path / "g").complete
    capsys.readouterr()
    assert main(["tokenize", "--method", "bytes", "--corpus", str(tmp_path / "none-*.json.gz"), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no file matches" in err and not (tmp_path / "x").exists()
    assert main(["tokenize", "--method", "bytes", "--corpus", spec, "--out", str(tmp_path / "x"), "--actors", "2"]) == 1
    assert "options of --engine ray" in capsys.readouterr().err
    assert main(["tokenize", "--method", "bytes", "--corpus", spec, "--out", str(tmp_path / "x"), "--engine", "ray",
                 "--device", "cuda:1"]) == 1
    assert "Ray actors run on cpu or cuda, not 'cuda:1'" in capsys.readouterr().err and not (tmp_path / "x").exists()
