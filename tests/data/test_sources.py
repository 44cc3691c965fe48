"""nct corpus build: filters, validation rule, overlap check, and streaming the result to M1's batches."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from nct.data import sources as S
from nct.data.corpus import MappedCorpus, load_corpus


def _text(seed: int, n: int = 600) -> bytes:
    rng = np.random.default_rng(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    return (" ".join(words[i] for i in rng.integers(0, len(words), n // 5)) + "\n").encode()


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    base = tmp_path / "pkgs"
    a = base / "pkg-a"
    for i in range(60):
        (a / "usr/share/doc/pkg-a").mkdir(parents=True, exist_ok=True)
        (a / f"usr/share/doc/pkg-a/note{i}.txt").write_bytes(_text(i))
        (a / "src").mkdir(exist_ok=True)
        (a / f"src/mod{i}.py").write_bytes(b"def f():\n    return 1\n" + _text(100 + i))
    (a / "usr/share/man/man1").mkdir(parents=True)
    (a / "usr/share/man/man1/tool.1.gz").write_bytes(gzip.compress(b".TH TOOL 1\n.SH NAME\ntool \\- does things\n" + _text(7)))
    (a / "usr/share/man/de/man1").mkdir(parents=True)
    (a / "usr/share/man/de/man1/tool.1.gz").write_bytes(gzip.compress(b".TH TOOL 1\n.SH NAME\nWerkzeug\n" + _text(8)))
    (a / "binary.dat").write_bytes(b"\x00\x01" * 300)
    (a / "latin1.txt").write_bytes("caf\xe9 ".encode("latin-1") * 100)
    (a / "tiny.txt").write_bytes(b"short")
    (a / "alice29.txt").write_bytes(_text(9))
    (a / "paper3").write_bytes(_text(10))
    (a / "quote.txt").write_bytes(_text(11) + b"from Paradise Lost\n")
    b = base / "pkg-b"
    (b / "data").mkdir(parents=True)
    for i in range(20):
        (b / f"data/table{i}.csv").write_bytes(b"a,b,c\n" + b"\n".join(b"%d,%d,%d" % (i, j, i * j) for j in range(80)))
    (base / "pkg-b.meta.json").write_text(json.dumps({"version": "1.0", "license": "MIT"}))
    (base / "brotli").mkdir()
    (base / "brotli/x.txt").write_bytes(_text(12))
    return base


def _specs() -> list[S.SourceSpec]:
    return [S.SourceSpec("dir", "pkg-a"), S.SourceSpec("dir", "pkg-b"), S.SourceSpec("dir", "brotli")]


def _build(packages: Path, out: Path, **kw) -> S.BuildResult:
    kw = {"size": 10**6, "fetcher": S.local_fetcher(packages), "crlf_fraction": 0.5, "render_man_fraction": 0.0, **kw}
    return S.build_corpus(_specs(), out, **kw)


def test_filters():
    assert S.is_text(b"hello \xc3\xa9") and not S.is_text(b"a\x00b") and not S.is_text(b"caf\xe9")
    for name in ("alice29.txt", "x/y/asyoulik.txt", "book1", "paper6", "fields.c", "xargs.1.gz", "enwik8", "webster"):
        assert S.is_eval_name(name), name
    assert not S.is_eval_name("usr/share/doc/foo/README") and not S.is_eval_name("xargs.c")
    assert S.is_eval_name("cpython-3.12/Doc/library/os.rst")
    assert S.names_eval_work(b"as in Alice's Adventures in Wonderland") and not S.names_eval_work(b"plain")
    assert S.EXCLUDED_PACKAGES.match("python3.11-doc") and S.EXCLUDED_PACKAGES.match("python-zstandard")
    assert not S.EXCLUDED_PACKAGES.match("manpages-de")
    big = ("é" * 700_000).encode()
    capped = S.cap_bytes(big)
    assert len(capped) <= S.MAX_FILE and capped.decode("utf-8")
    assert S.classify("usr/share/man/man1/ls.1.gz") == "man"
    assert S.classify("usr/share/man/de/man1/ls.1.gz") == "nonenglish"
    assert S.classify("src/a.rs") == "code" and S.classify("doc/x.rst") == "markup"
    assert S.classify("po/fr.po") == "nonenglish" and S.classify("a/b.json") == "data"
    assert S.classify("README") == "prose" and S.classify("x.py", "data") == "data"
    assert S.parse_size("200MB") == 200_000_000 and S.parse_size("1.5G") == 1_500_000_000


def test_validation_rule_is_stable_and_about_one_in_fifty():
    srcs = [f"deb:p/file{i}" for i in range(20_000)]
    val = [s for s in srcs if S.is_validation(s)]
    assert 300 < len(val) < 500
    assert val == [s for s in srcs if S.is_validation(s)]


def test_window_hashes_match_a_direct_polynomial():
    data = _text(3)[:200]
    w = S.window_hashes(data, 1, 64)
    assert len(w) == len(data) - 63
    for i in (0, 17, len(w) - 1):
        h = 0
        for k, byte in enumerate(data[i : i + 64]):
            h = (h + (byte + 1) * pow(S._P, k, 1 << 64)) % (1 << 64)
        assert int(w[i]) == h
    assert len(S.window_hashes(data, 32, 64)) == len(range(0, len(data) - 63, 32))


def test_overlap_index_finds_any_shared_64_bytes():
    rng = np.random.default_rng(0)
    evaluation = rng.integers(32, 127, 5000, dtype=np.uint8).tobytes()
    idx = S.OverlapIndex([evaluation])
    shared = evaluation[1234 : 1234 + 96]  # >= 96 bytes always contain a 32-aligned 64-byte window
    doc = rng.integers(32, 127, 3000, dtype=np.uint8).tobytes()
    assert not idx.overlaps(doc)
    assert idx.overlaps(doc[:500] + shared + doc[500:])
    assert not idx.overlaps(doc[:500] + evaluation[1234 : 1234 + 50] + doc[500:])


def test_overlap_verdicts_spare_boilerplate_only():
    boiler, unique = np.array([1, 2], dtype=np.uint64), np.array([99], dtype=np.uint64)
    matched = {f"d{i}": boiler for i in range(12)}
    matched["copy"] = np.concatenate([boiler, unique])
    matched["big"] = np.arange(1000, 1100, dtype=np.uint64)
    drop, n_common = S.overlap_verdicts(matched, boilerplate_docs=10, max_shared=64)
    assert drop == {"copy", "big"} and n_common == 2


def test_build_from_local_packages(packages: Path, tmp_path: Path):
    r = _build(packages, tmp_path / "c1")
    m = r.manifest
    out = tmp_path / "c1"
    for f in ("train.bin", "validation.bin", "train.idx.npy", "validation.idx.npy", "manifest.json"):
        assert (out / f).exists()
    assert "brotli" in m["exclusions"]["excluded_packages"]
    text = (out / "train.bin").read_bytes() + (out / "validation.bin").read_bytes()
    assert b"\x00" not in text and b"caf" not in text and b"short" not in text
    assert b"Paradise Lost" not in text
    assert m["filters"]["skipped"]["eval_name"] == 2 and m["filters"]["skipped"]["names_eval_work"] == 1
    assert m["documents"]["train"] + m["documents"]["validation"] == 60 + 60 + 2 + 20
    assert m["category_bytes"]["code"] > 0 and m["category_bytes"]["man"] > 0 and m["category_bytes"]["data"] > 0
    assert m["category_bytes"]["nonenglish"] > 0 and m["crlf"]["documents"] > 0 and b"\r\n" in text
    srcs = {s["package"]: s for s in m["sources"]}
    assert srcs["pkg-b"]["license"] == "MIT" and srcs["pkg-b"]["documents"] == 20
    idx = np.load(out / "train.idx.npy")
    data = (out / "train.bin").read_bytes()
    assert idx.dtype == np.int64 and idx[0] == 0
    assert all(data[i - 2 : i] == S.SEPARATOR for i in idx[1:].tolist()) and data.endswith(S.SEPARATOR)
    # deterministic: the same package list gives the same bytes
    _build(packages, tmp_path / "c2")
    for f in ("train.bin", "validation.bin"):
        assert (out / f).read_bytes() == (tmp_path / "c2" / f).read_bytes()


def test_build_respects_size_and_drops_overlapping_documents(packages: Path, tmp_path: Path, monkeypatch):
    r = _build(packages, tmp_path / "small", size=20_000)
    assert r.manifest["total_bytes"] <= 20_000
    secret = (packages / "pkg-a/src/mod3.py").read_bytes()
    index = S.OverlapIndex([secret[40:400]])
    monkeypatch.setattr(S, "evaluation_hygiene", lambda: ({"pkg-b"}, index, {"checked": True}))
    r = _build(packages, tmp_path / "ov")
    text = (tmp_path / "ov/train.bin").read_bytes() + (tmp_path / "ov/validation.bin").read_bytes()
    assert secret not in text and "pkg-b" in r.manifest["exclusions"]["excluded_packages"]
    assert r.manifest["overlap_check"]["dropped"] == ["dir:pkg-a/src/mod3.py"]


def test_m1_batches_stream_from_the_memmapped_corpus(packages: Path, tmp_path: Path):
    from nct.models.transformer import TransformerConfig
    from nct.train.m1 import byte_batches, evaluation_sample, training_array

    _build(packages, tmp_path / "c")
    corpus = load_corpus(tmp_path / "c")
    assert isinstance(corpus, MappedCorpus)
    arr = training_array(corpus)
    assert isinstance(arr, np.memmap) and len(arr) == (tmp_path / "c/train.bin").stat().st_size
    assert isinstance(training_array(corpus, 1000), np.memmap) and len(training_array(corpus, 1000)) == 1000
    cfg = TransformerConfig(vocab_size=257, context=64, d_model=16, n_layers=1, n_heads=2)
    x, y = byte_batches(arr, cfg, 4, seed=1)(3)
    assert x.shape == y.shape == (4, 64) and int(x[0, 0]) == cfg.bos
    x2, y2 = byte_batches(np.array(arr), cfg, 4, seed=1)(3)  # same windows from an in-memory copy
    assert (y == y2).all() and (x == x2).all()
    raw = (tmp_path / "c/train.bin").read_bytes()
    row = bytes(y[0].tolist())
    assert row in raw
    sample = evaluation_sample(corpus.split("validation"), 4096)
    assert 0 < len(sample) <= 4096 and sample in (tmp_path / "c/validation.bin").read_bytes() or len(sample) > 0
    docs = corpus.split("validation").documents
    assert len(docs) == corpus.manifest["documents"]["validation"]
    if len(docs):
        assert docs[0].data + S.SEPARATOR == (tmp_path / "c/validation.bin").read_bytes()[: len(docs[0].data) + 2]
