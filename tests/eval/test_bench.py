import argparse
import json

from nct.compressors import get
from nct.eval.bench import bench_one, main_bench, markdown, totals


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
