"""Benchmark: where a cm decoding step goes, for a batch of blocks in lockstep.

    python bench/cm_speed.py [--model NAME|PATH] [--lanes 300] [--steps 100]   # writes bench/results/cm_speed.json

One lockstep step of ``cm`` is an M1 step for every block (timed with 1 and 2 PyTorch threads) and
8 bit steps of the mixing model (compiled with numba, one core), here with its binary encoder on real text (the
unseen suite's lcet10.txt, one block per lane). The ratio of the two says which to speed up first.
"""

import argparse
import time

import numpy as np
import torch

from nct.coding.binary import BinaryEncoderBatch
from nct.data.suites import load_suite
from nct.eval.bench import write_result
from nct.models.context_mixing import ContextMixer, MixConfig
from nct.models.m1 import M1


def m1_step_ms(m1: M1, lanes: int, steps: int, threads: int) -> float:
    """Milliseconds per M1 step for ``lanes`` sequences, after a warm-up."""
    torch.set_num_threads(threads)
    state = m1.start(lanes)
    tokens = torch.full((lanes,), m1.bos)
    for _ in range(20):
        m1.step(state, tokens)
    t = time.perf_counter()
    for _ in range(steps):
        m1.step(state, tokens)
    return 1000 * (time.perf_counter() - t) / steps


def mixing_step_ms(lanes: int, steps: int) -> float:
    """Milliseconds per byte step (8 bits: predict, code, update) of the mixing model."""
    data = load_suite("unseen")["lcet10.txt"]
    rows = np.frombuffer(data[: lanes * 1024], np.uint8).astype(np.int64).reshape(lanes, 1024)
    columns = np.ascontiguousarray(rows.T)
    mixer, enc = ContextMixer(lanes, 1024, MixConfig()), BinaryEncoderBatch(lanes, 1024)
    active, p_m1 = np.ones(lanes, bool), np.full((lanes, 1024, 8), 2048, np.int16)
    mixer.encode_byte(0, active, columns[0], p_m1, enc)  # compiled (or loaded from numba's cache) here
    t = time.perf_counter()
    for pos in range(1, steps + 1):
        mixer.encode_byte(pos, active, columns[pos], p_m1, enc)
    return 1000 * (time.perf_counter() - t) / steps


def main() -> None:
    """Time both parts and save the result."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--lanes", type=int, default=300)
    p.add_argument("--steps", type=int, default=100)
    a = p.parse_args()
    m1 = M1.load(a.model)
    result = {
        "model": m1.fingerprint,
        "lanes": a.lanes,
        "m1_step_ms": {str(t): m1_step_ms(m1, a.lanes, a.steps, t) for t in (1, 2)},
        "mixing_step_ms": mixing_step_ms(a.lanes, a.steps),
    }
    write_result("cm_speed", result)


if __name__ == "__main__":
    main()
