import hashlib
import lzma
from importlib import resources

import pytest

from nct.data.suites import SUITES, evaluation_sources, load_suite, suite_manifest


@pytest.mark.parametrize("name", SUITES)
def test_manifests_match_the_shipped_files(name):
    manifest = suite_manifest(name)
    folder = resources.files("nct.data") / "suites" / name
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".xz")) == sorted(e["file"] for e in manifest)
    for e in manifest:
        data = lzma.decompress((folder / e["file"]).read_bytes())
        assert len(data) == e["bytes"] <= 600_000 and hashlib.sha256(data).hexdigest() == e["sha256"]
        assert {"registry", "package", "version", "path"} <= set(e["source"]) and e["license"] and e["kind"]


@pytest.mark.parametrize("name, files, low, high", [("unseen", (10, 16), 3e6, 5e6), ("structured", (6, 12), 2e6, 4e6), ("dev", (5, 5), 4e5, 5e5)])
def test_load_suite_returns_the_named_files(name, files, low, high):
    data = load_suite(name)
    manifest = suite_manifest(name)
    assert list(data) == [e["name"] for e in manifest] and files[0] <= len(data) <= files[1]
    assert [len(d) for d in data.values()] == [e["bytes"] for e in manifest] and low <= sum(map(len, data.values())) <= high


def test_unseen_covers_what_users_compress():
    data = load_suite("unseen")
    kinds = {e["kind"] for e in suite_manifest("unseen")}
    assert {"prose", "code", "log", "data", "markup", "multilingual"} <= kinds
    assert b"\r\n" in data["alice29.txt"] and b"\t" in data["asyoulik.txt"]
    data["bash.1.ja"].decode("utf-8")  # whole lines, so whole characters


def test_dev_shares_no_package_with_the_evaluation_suites():
    dev = {e["source"]["package"] for e in suite_manifest("dev")}
    assert not dev & {e["source"]["package"] for s in ("unseen", "structured") for e in suite_manifest(s)}


def test_evaluation_sources_name_every_file():
    sources = evaluation_sources()
    assert len(sources) == sum(len(suite_manifest(s)) for s in SUITES)
    assert {"suite": "unseen", "name": "alice29.txt", "registry": "pypi-sdist", "package": "brotli", "version": "1.2.0",
            "path": "brotli-1.2.0/tests/testdata/alice29.txt"} in sources


def test_an_unknown_suite_is_refused():
    with pytest.raises(ValueError, match="unknown suite"):
        load_suite("nope")
