import pytest

from nct.cli import main
from nct.data.corpus import Corpus, Document
from nct.data.shards import EOD, Manifest, Shards, examples
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
