import argparse
import json

import pytest

from nct.compressors import get
from nct.eval.bench import bench_one, load_datasets, main_bench, markdown, model_bytes, run_bench, totals


def test_rows_are_verified_and_totalled(tiny_m1):
    data = {"a": b"hello hello hello " * 30, "b": bytes(range(256))}
    comps = {"gzip": get("gzip"), "ac": get("ac", model=tiny_m1, block=128)}
    rows = [bench_one(n, d, m, c) for n in data for m, c in comps.items() for d in [data[n]]]
    assert all(r.verified for r in rows)
    tot = {r.method: r for r in totals(rows)}
    assert tot["gzip"].bytes == sum(len(d) for d in data.values())
    assert tot["gzip"].compressed == sum(r.compressed for r in rows if r.method == "gzip")
    assert "| a | gzip |" in markdown(rows)


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
    args = argparse.Namespace(data=[str(f)], methods="ac,zstd", model=tiny_model_path, block=256, out=str(tmp_path / "r"))
    result = main_bench(args)
    saved = json.loads((tmp_path / "r" / "results.json").read_text())
    assert saved["rows"] == result["rows"] and all(r["verified"] for r in saved["rows"])
    assert result["m1"]["scoring_kbps"] > 0 and (tmp_path / "r" / "results.md").exists()


def test_chunks_count_the_formats_fixed_cost_once():
    data = b"the cat sat on the mat. " * 400  # 9,600 bytes: 5 chunks of 2,048 (the last shorter)
    gz = get("gzip")
    row = bench_one("t", data, "gzip", gz, chunk=2048)
    pieces = [data[i : i + 2048] for i in range(0, len(data), 2048)]
    assert row.verified and len(pieces) == 5
    assert row.compressed == sum(len(gz.compress(p)) for p in pieces) - 4 * len(gz.compress(b""))


def test_adjusted_rate_counts_the_model_once_per_total(tiny_m1):
    data = {"a": b"hello hello hello " * 30, "b": b"world " * 50}
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
    assert size == sum(t.numel() * t.element_size() for t in tiny_m1.stored().values()) > 0


def test_data_specs(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"some text")
    data = load_datasets(["random:1000", f"text:{tmp_path}"])
    assert len(data["random-1000"]) == 1000 and b"some text" in data.values()
    assert load_datasets(["random:1000"]) == {"random-1000": data["random-1000"]}  # seeded
    with pytest.raises(ValueError, match="not supported yet"):
        load_datasets(["image:somewhere"])
