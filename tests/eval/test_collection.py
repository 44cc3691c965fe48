"""The benchmark over a streamed collection: pieces, sums by input, limits, and the Ray engine's same figures."""

import gzip
import json
from pathlib import Path

import pytest

from nct.cli import main
from nct.compressors.base import fixed_cost, get
from nct.data.corpus import stream_corpus
from nct.data.shards import EOD
from nct.errors import BadInput, UsageError
from nct.eval.collection import Collection, bench_corpus
from nct.cluster import RayConfig

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")  # Ray Data's own renamed settings

LINE = "the quick brown fox jumps over the lazy dog while seven wise owls watch quietly\n"


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> str:
    """Three C4-like JSONL.gz files of different sizes; their glob."""
    d = tmp_path_factory.mktemp("collection")
    for f in range(3):
        with gzip.open(d / f"c4-{f}.json.gz", "wt") as out:
            out.write("".join(json.dumps({"text": f"{i}: " + LINE * (1 + (i + f) % 4)}) + "\n" for i in range(20 + 10 * f)))
    return str(d / "c4-*.json.gz")


def documents(path: str) -> list[bytes]:
    """A JSONL.gz file's texts."""
    with gzip.open(path, "rt") as f:
        return [json.loads(line)["text"].encode() for line in f]


def sizes(result: dict) -> list[tuple]:
    """What a benchmark's rows say apart from times and memory."""
    return [(r["data"], r["method"], r["bytes"], r["compressed"], r["verified"], r["adjusted_bits_per_byte"]) for r in result["rows"]]


def test_pieces_are_the_documents_with_markers_cut(collection):
    c = Collection(stream_corpus(collection), piece=500)
    pieces = list(c.pieces(1))
    assert b"".join(pieces) == b"".join(d + EOD for d in documents(c.name(1)))
    assert {len(p) for p in pieces[:-1]} == {500} and 0 < len(pieces[-1]) <= 500
    assert b"".join(c.pieces(1, 1234)) == b"".join(pieces)[:1234]


def test_max_bytes_takes_the_first_bytes_inputs_in_order(collection):
    c = Collection(stream_corpus(collection), piece=500)
    first = sum(map(len, c.pieces(0)))
    assert Collection(c.corpus, 500, first + 100).limits() == [first + 100, 100, 0]
    assert c.limits() == [None, None, None]
    with pytest.raises(UsageError):
        Collection(c.corpus, piece=0)


def test_rows_sum_the_pieces_and_count_fixed_costs_once(collection, capsys):
    result = bench_corpus(collection, methods=["gzip", "xz"], piece=700)
    rows = {(r["data"], r["method"]): r for r in result["rows"]}
    c = Collection(stream_corpus(collection), piece=700)
    for index in range(3):
        pieces = list(c.pieces(index))
        for method in ("gzip", "xz"):
            comp = get(method)
            size = sum(len(comp.compress(p)) for p in pieces) - (len(pieces) - 1) * fixed_cost(comp)
            row = rows[c.name(index), method]
            assert (row["bytes"], row["compressed"], row["verified"]) == (sum(map(len, pieces)), size, True)
    assert rows["total", "gzip"]["bytes"] == sum(rows[c.name(i), "gzip"]["bytes"] for i in range(3))
    assert result["kind"] == "bench" and result["collection"]["inputs"] == 3 and result["collection"]["engine"] == "local"
    assert "3 inputs" in capsys.readouterr().out


def test_ray_gives_the_local_engines_figures(ray_cluster, collection, tiny_m1, tmp_path):
    options = dict(methods=["gzip", "ac"], model=tiny_m1, piece=900, max_bytes=5000)
    here = bench_corpus(collection, **options)
    there = bench_corpus(collection, engine=RayConfig(actors=2), out=tmp_path / "ray", **options)
    assert sizes(there) == sizes(here) and sum(r["bytes"] for r in here["rows"] if r["data"] != "total") == 2 * 5000
    assert json.loads((tmp_path / "ray" / "results.json").read_text())["collection"]["engine"] == "ray"


def test_bad_record_on_ray_is_one_error_naming_file_and_record(ray_cluster, tmp_path):
    for f, lines in enumerate([['{"text": "fine"}'] * 50, ['{"text": "fine"}'] * 30 + ['{"body": "no text"}']]):
        with gzip.open(tmp_path / f"c4-{f}.json.gz", "wt") as out:
            out.write("\n".join(lines) + "\n")
    with pytest.raises(BadInput) as e:
        bench_corpus(str(tmp_path / "c4-*.json.gz"), methods=["gzip"], engine=RayConfig(), out=tmp_path / "out")
    assert str(e.value).startswith(f"{tmp_path / 'c4-1.json.gz'}:31: expected a JSON object")
    assert not (tmp_path / "out").exists()


def test_cli_bench_corpus(collection, tmp_path, capsys):
    assert main(["bench", "--corpus", collection, "--methods", "gzip,zstd", "--piece", "800", "--out", str(tmp_path / "b")]) == 0
    result = json.loads((tmp_path / "b" / "results.json").read_text())
    assert {r["method"] for r in result["rows"]} == {"gzip", "zstd"} and result["collection"]["piece"] == 800
    assert (tmp_path / "b" / "bits_per_byte.png").exists()
    from nct.report import collect

    [section] = collect(tmp_path)
    assert section.title == "LM as compressor: benchmark b (a collection in 800-byte pieces, local engine)"
    capsys.readouterr()
    for bad, message in [(["--piece", "800"], "options of a --corpus"), (["--engine", "ray"], "options of a --corpus"),
                         (["--corpus", collection, "--suite", "unseen"], "leave out --data, --suite"),
                         (["--corpus", str(Path(collection).parent / "none-*.gz")], "no file matches"),
                         (["--corpus", collection, "--actors", "2"], "options of --engine ray")]:
        assert main(["bench", "--methods", "gzip", *bad]) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err, (bad, err)


def test_lmic_chunks_within_pieces(collection, tiny_m1):
    # with --chunk every piece is cut into LMIC's chunks, as nct bench --chunk does a file: AC codes them as its blocks
    from nct.eval.bench import bench_one

    result = bench_corpus(collection, methods=["gzip", "ac"], model=tiny_m1, piece=1000, chunk=250, max_bytes=3000)
    rows = {(r["data"], r["method"]): r for r in result["rows"]}
    c = Collection(stream_corpus(collection), piece=1000)
    pieces = list(c.pieces(0, 3000))
    gzip = get("gzip")
    size = sum(bench_one("", p, "gzip", gzip, 250).compressed for p in pieces) - (len(pieces) - 1) * fixed_cost(gzip)
    assert rows[c.name(0), "gzip"]["compressed"] == size and rows[c.name(0), "ac"]["verified"]
    assert result["chunk"] == 250 and rows["total", "ac"]["bytes"] == 3000
