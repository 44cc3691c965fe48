import json

import numpy as np
import pytest
from PIL import Image

from nct.cli import main
from nct.compressors import get
from nct.compressors.base import fixed_cost
from nct.eval.bench import (
    BenchRow, Dataset, bench_one, load_datasets, main_bench, markdown, model_bytes, plot_totals, run_bench, summary_markdown, totals,
)


def test_rows_are_verified_and_totalled(tiny_m1):
    data = {"a": b"hello hello hello " * 30, "b": bytes(range(256))}
    comps = {"gzip": get("gzip"), "ac": get("ac", model=tiny_m1, block=128)}
    rows = [bench_one(n, d, m, c) for n in data for m, c in comps.items() for d in [data[n]]]
    assert all(r.verified for r in rows)
    tot = {r.method: r for r in totals(rows)}
    assert tot["gzip"].bytes == sum(len(d) for d in data.values())
    assert tot["gzip"].compressed == sum(r.compressed for r in rows if r.method == "gzip")
    assert "| a | text | gzip |" in markdown(rows)


def test_a_broken_compressor_is_reported_unverified():
    class Lossy:
        name = "lossy"

        def compress(self, data):
            return data[:-1]

        def decompress(self, payload):
            return payload

        def params(self):
            return {}

    row = bench_one("x", b"abc", "lossy", Lossy())
    assert not row.verified and "**NO**" in markdown([row])


def test_main_bench_writes_results(tmp_path, tiny_model_path):
    f = tmp_path / "t.txt"
    f.write_bytes(b"The quick brown fox. " * 40)
    result = main_bench(data=[str(f)], methods=["ac", "zstd"], model=tiny_model_path, block=256, out=str(tmp_path / "r"))
    saved = json.loads((tmp_path / "r" / "results.json").read_text())
    assert saved["rows"] == result["rows"] and all(r["verified"] for r in saved["rows"])
    assert (saved["kind"], saved["schema"]) == ("bench", 1)
    assert result["m1"]["scoring_kbps"] > 0 and (tmp_path / "r" / "results.md").exists()


def test_head_benchmarks_each_inputs_first_bytes(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(name.encode() * 300)
    rows = main_bench(data=[str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], methods=["gzip"], head=100)["rows"]
    assert {r["data"]: r["bytes"] for r in rows} == {"a.txt": 100, "b.txt": 100, "total": 200}
    assert main(["bench", "--data", str(tmp_path / "a.txt"), "--methods", "gzip", "--head", "50"]) == 0
    assert main(["bench", "--corpus", str(tmp_path / "a.txt"), "--head", "50"]) == 1


def test_chunks_count_the_formats_fixed_cost_once():
    data = b"the cat sat on the mat. " * 400  # 9,600 bytes: 5 chunks of 2,048 (the last shorter)
    gz = get("gzip")
    row = bench_one("t", data, "gzip", gz, chunk=2048)
    pieces = [data[i : i + 2048] for i in range(0, len(data), 2048)]
    assert row.verified and len(pieces) == 5
    assert row.compressed == sum(len(gz.compress(p)) for p in pieces) - 4 * len(gz.compress(b""))


def test_chunked_static_ac_codes_its_blocks_as_the_chunks(tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes(b"the cat sat on the mat. " * 400)
    row = main_bench(data=[str(f)], methods=["static-ac"], chunk=2048)["rows"][0]
    whole = get("static-ac", block=2048).compress(f.read_bytes())
    assert row["verified"] and row["compressed"] == len(whole)  # one payload, one block per chunk


def test_chunked_llm_cuts_its_own_chunks_and_codes_them_at_once(tmp_path, monkeypatch):
    pytest.importorskip("tokenizers")
    from tests.llama_fixtures import TEXT, register_tiny

    engine = register_tiny(monkeypatch)
    f = tmp_path / "t.txt"
    f.write_bytes(TEXT.encode()[:700])
    result = main_bench(data=[str(f)], methods=["gzip"], model="tiny-llama", chunk=128)
    row = next(r for r in result["rows"] if r["method"] == "llm" and r["data"] != "total")
    whole = get("llm", model=engine, chunk=128).compress(f.read_bytes())
    assert row["verified"] and row["compressed"] == len(whole)  # one payload holding every chunk's blocks
    assert row["model_bytes"] == engine.n_params and row["adjusted_bits_per_byte"] > row["bits_per_byte"]


def test_adjusted_rate_counts_the_model_once_per_total(tiny_m1):
    data = {"a": Dataset("text", b"hello hello hello " * 30), "b": Dataset("text", b"world " * 50)}
    comps = {"gzip": get("gzip"), "ac": get("ac", model=tiny_m1, block=64)}
    size = model_bytes(tiny_m1)
    rows = run_bench(data, comps, chunk=64)
    for r in rows:
        if r.method == "ac":
            assert r.adjusted_bits_per_byte == pytest.approx(8 * (r.compressed + size) / r.bytes)
        else:
            assert r.adjusted_bits_per_byte is None
    total = {r.method: r for r in totals(rows)}["ac"]
    assert total.adjusted_bits_per_byte == pytest.approx(8 * (total.compressed + size) / total.bytes)
    assert size == sum(t.nbytes for t in tiny_m1.stored().values()) > 0


def test_data_specs(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"some text")
    data = load_datasets(["random:1000", f"text:{tmp_path}"])
    assert data["random-1000"].kind == "random" and len(data["random-1000"].data) == 1000
    assert data["x.txt"] == Dataset("text", b"some text") == load_datasets([str(tmp_path / "x.txt")])["x.txt"]
    assert load_datasets(["random:1000"]) == {"random-1000": data["random-1000"]}  # seeded
    with pytest.raises(ValueError, match="two inputs are named"):
        load_datasets(["random:10", "random:10"])


def test_image_and_audio_specs(tmp_path):
    Image.fromarray(np.full((64, 128), 7, np.uint8)).save(tmp_path / "p.png")
    assert load_datasets([f"image:{tmp_path}"]) == {"p.png": Dataset("image", bytes([7]) * 8192)}
    embedded = load_datasets(["image", "audio"])
    assert {n: d.kind for n, d in embedded.items()} == {"grace_hopper.jpg": "image", "s1045.ima": "image", "plucked-strings": "audio"}
    assert all(len(d.data) % 2048 == 0 for d in embedded.values() if d.kind == "image")
    assert len(embedded["plucked-strings"].data) == 30 * 16000


def test_media_methods_run_on_their_kind_only():
    rng = np.random.default_rng(0)
    data = {
        "img": Dataset("image", bytes(rng.integers(0, 60, 4096, dtype=np.uint8))),
        "snd": Dataset("audio", bytes(rng.integers(120, 136, 3000, dtype=np.uint8))),
        "txt": Dataset("text", b"words " * 300),
    }
    rows = run_bench(data, {m: get(m) for m in ("gzip", "png", "flac")}, chunk=2048)
    assert {(r.data, r.method) for r in rows} == {("img", "gzip"), ("img", "png"), ("snd", "gzip"), ("snd", "flac"), ("txt", "gzip")}
    assert all(r.verified and r.kind == data[r.data].kind for r in rows)
    assert {(r.kind, r.method) for r in totals(rows)} == {(r.kind, r.method) for r in rows}


@pytest.mark.parametrize("name", ["png", "flac"])
def test_chunks_count_a_stated_fixed_cost_once(name):
    data = bytes(np.random.default_rng(0).integers(100, 140, 5000, dtype=np.uint8))  # 3 chunks, the last short
    c = get(name)
    row = bench_one("x", data, name, c, chunk=2048)
    pieces = [data[i : i + 2048] for i in range(0, len(data), 2048)]
    assert row.verified and c.compress(b"") == b""  # empty input shows no header: the format states it
    assert row.compressed == sum(len(c.compress(p)) for p in pieces) - 2 * fixed_cost(c)


def test_cli_bench_on_an_image_writes_tables_and_plots(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 40, (64, 64), dtype=np.uint8)).save(tmp_path / "i.png")
    out = tmp_path / "r"
    assert main(["bench", "--data", f"image:{tmp_path / 'i.png'}", "--methods", "gzip,png", "--chunk", "2048", "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {(r["data"], r["method"], r["kind"]) for r in rows} >= {("i.png", "png", "image"), ("total", "gzip", "image")}
    assert all(r["verified"] for r in rows) and (out / "bits_per_byte.png").stat().st_size > 0
    assert main(["bench", "--data", f"image:{tmp_path / 'i.png'}", "--methods", "flac"]) == 1  # nothing applies


def test_plots_of_model_rows(tmp_path, tiny_m1):
    data = {"a": Dataset("text", b"hello " * 40), "r": Dataset("random", bytes(range(256)))}
    rows = totals(run_bench(data, {"ac": get("ac", model=tiny_m1, block=64), "gzip": get("gzip")}))
    assert [p.name for p in plot_totals(rows, tmp_path)] == ["bits_per_byte.png", "adjusted_rate.png"]


def test_summary_table_has_a_row_per_kind_and_the_best_in_bold():
    def row(kind, method, bpb, adjusted=None):
        return BenchRow("total", method, 1000, int(bpb * 125), bpb, 1.0, 1.0, 1.0, True, 1.0, 1.0, adjusted, 0, kind)

    sums = [row("text", "ac", 2.0, 12.5), row("text", "gzip", 3.0), row("image", "gzip", 5.0), row("image", "png", 4.4)]
    lines = summary_markdown(sums).splitlines()
    assert lines[0] == "| kind | bytes | ac | gzip | png |"
    assert lines[2] == "| text | 1,000 | **2.000** [12.50] | 3.000 | – |"
    assert lines[3] == "| image | 1,000 | – | 5.000 | **4.400** |"


def test_suite_spec_loads_every_file_as_text():
    from nct.data.suites import suite_manifest

    data = load_datasets(["suite:structured"])
    assert [(n, d.kind, len(d.data)) for n, d in data.items()] == [(e["name"], "text", e["bytes"]) for e in suite_manifest("structured")]
    assert set(load_datasets(["suite:unseen"])) == {e["name"] for e in suite_manifest("unseen")}
    with pytest.raises(ValueError, match="unknown suite"):
        load_datasets(["suite:nope"])


def test_cli_suite_option(monkeypatch):
    from nct.cli import build_parser
    from nct.eval import bench

    seen = {}
    monkeypatch.setattr(bench, "main_bench", lambda **options: seen.update(options))
    args = build_parser().parse_args(["bench", "--suite", "unseen", "--suite", "structured"])
    assert args.suite == ["unseen", "structured"] and args.methods is None
    args.func(args)
    assert seen["data"] == ["suite:unseen", "suite:structured"] and seen["methods"] == bench.SUITE_METHODS.split(",")
    args = build_parser().parse_args(["bench", "--suite", "unseen", "--methods", "gzip", "--data", "random:10"])
    args.func(args)
    assert seen["data"] == ["random:10", "suite:unseen"] and seen["methods"] == ["gzip"]
    args = build_parser().parse_args(["bench"])
    args.func(args)
    assert seen["data"] is None and seen["methods"] == bench.BENCH_METHODS.split(",")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--suite", "nope"])
