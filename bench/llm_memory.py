"""Benchmark: how the `smollm2` preset's memory grows with its input (peak resident memory per MB).

    python bench/llm_memory.py [--mb 1,4,16]    # writes bench/results/llm_memory.json

Compression's memory has a fixed part (the engine's weights, a group of 32 blocks' scores and the
decoder's cache: the whole-file runs of ``bench/llm_engine.py`` give its peak, ``peak_rss_mb``) and a
part that grows with the input: the input, its text and its tokens, which ``compress`` holds while
it codes a group at a time. This measures that part beyond the input itself: in a fresh process
per size, the engine is loaded and an input of that many MB read, then it is tokenized and cut into
blocks as ``compress`` does, and the peak resident memory is read before and after. The input is the unseen suite's files joined and
repeated (memory only: nothing is fitted to it). Coding a group takes minutes, so whole
compressions of several MB are not run here; decompression holds only its output and the payload
beyond the fixed part.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from nct.results import environment, write_result

STAGE = """
import json, resource, sys, time
from nct.compressors.llm import LLMCompressor
from nct.data.suites import load_suite
size = int(float(sys.argv[1]) * 2**20)
text = b"".join(load_suite("unseen").values())
data = (text * (size // len(text) + 1))[:size]
del text
c = LLMCompressor("smollm2")
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before, t = peak(), time.perf_counter()
ids = c.tokens.encode(data)
blocks = [ids[s : s + c.block] for s in range(0, len(ids), c.block)]
print(json.dumps({"mb": float(sys.argv[1]), "tokens": len(ids), "blocks": len(blocks), "seconds": round(time.perf_counter() - t, 1),
                  "peak_rss_mb_loaded": round(before), "peak_rss_mb_tokenized": round(peak())}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", default="1,4,16", help="comma-separated input sizes in MB (default 1,4,16)")
    args = ap.parse_args()
    rows = []
    for mb in args.mb.split(","):
        out = subprocess.run([sys.executable, "-c", STAGE, mb], capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.splitlines()[-1]))
        print(rows[-1], flush=True)
    small, large = rows[0], rows[-1]
    grown = (large["peak_rss_mb_tokenized"] - large["peak_rss_mb_loaded"]) - (small["peak_rss_mb_tokenized"] - small["peak_rss_mb_loaded"])
    result = {"kind": "bench/llm_memory", "schema": 1, "command": " ".join(["python", *sys.argv]), "environment": environment(),
              "input": "the unseen suite's files joined and repeated", "sizes": rows,
              "mb_per_input_mb": round(grown / (large["mb"] - small["mb"]), 1) if large["mb"] > small["mb"] else None}
    write_result("llm_memory", result)


if __name__ == "__main__":
    main()
