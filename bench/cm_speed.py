"""Benchmark: where a cm decoding step goes, for a batch of blocks in lockstep.

    python bench/cm_speed.py [--model NAME|PATH] [--lanes 300] [--steps 100]   # writes bench/results/cm_speed.json

One lockstep step of ``cm`` is an M1 step for every block and 8 bit steps of the mixing model. The
M1 step is timed once the 256-byte window is full (the costliest steps), in one single-threaded
process and split over two (``nct.models.step_group``, as decompression runs it); the mixing part
(compiled, one core) with its binary encoder on real text (the unseen suite's lcet10.txt, one block
per lane); and, for scale, M1's teacher-forced scoring of the same blocks in one process.
"""

import argparse
import time

import numpy as np
import torch

from nct.coding.binary import BinaryEncoderBatch
from nct.data.suites import load_suite
from nct.models.context_mixing import ContextMixer, MixConfig
from nct.models.m1 import M1
from nct.models.step_group import StepGroup
from nct.results import write_result


def _rows(lanes: int) -> np.ndarray:
    """[lanes, 1024] bytes of lcet10.txt."""
    data = load_suite("unseen")["lcet10.txt"]
    return np.frombuffer(data[: lanes * 1024], np.uint8).astype(np.int64).reshape(lanes, 1024)


def m1_step_ms(m1: M1, rows: np.ndarray, steps: int, parts: int) -> float:
    """Milliseconds per M1 step over ``parts`` processes, at positions 256 .. 256 + steps."""
    group = StepGroup(m1, len(rows), parts)
    try:
        group.step(np.full(len(rows), m1.bos))
        for t in range(255):
            group.step(rows[:, t])
        start = time.perf_counter()
        for t in range(255, 255 + steps):
            group.step(rows[:, t])
        return 1000 * (time.perf_counter() - start) / steps
    finally:
        group.close()


def mixing_step_ms(rows: np.ndarray, steps: int) -> float:
    """Milliseconds per byte step (8 bits: predict, code, update) of the mixing model."""
    lanes = len(rows)
    columns = np.ascontiguousarray(rows.T)
    mixer, enc = ContextMixer(lanes, 1024, MixConfig()), BinaryEncoderBatch(lanes, 1024)
    active, p_m1 = np.ones(lanes, bool), np.full((lanes, 1024, 8), 2048, np.int16)
    mixer.encode_byte(0, active, columns[0], p_m1, enc)  # compiled (or loaded from numba's cache) here
    start = time.perf_counter()
    for pos in range(1, steps + 1):
        mixer.encode_byte(pos, active, columns[pos], p_m1, enc)
    return 1000 * (time.perf_counter() - start) / steps


def scoring_kbps(m1: M1, rows: np.ndarray) -> float:
    """Teacher-forced scoring speed (KB/s, one process) over the blocks, 4 per forward."""
    x = torch.cat([torch.full((len(rows), 1), m1.bos), torch.from_numpy(rows[:, :-1])], dim=1)
    m1.cdfs(x[:1])
    start = time.perf_counter()
    for i in range(0, len(x), 4):
        m1.cdfs(x[i : i + 4])
    return rows.size / (time.perf_counter() - start) / 1000


def main() -> None:
    """Time the parts and save the result."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="default")
    p.add_argument("--lanes", type=int, default=300)
    p.add_argument("--steps", type=int, default=100)
    a = p.parse_args()
    torch.set_num_threads(1)
    m1 = M1.load(a.model)
    rows = _rows(a.lanes)
    result = {
        "model": m1.fingerprint,
        "lanes": a.lanes,
        "m1_step_ms": {f"{n} process{'es' if n > 1 else ''}": m1_step_ms(m1, rows, a.steps, n) for n in (1, 2)},
        "mixing_step_ms": mixing_step_ms(rows, a.steps),
        "scoring_kbps_one_process": scoring_kbps(m1, rows[: min(len(rows), 32)]),
    }
    write_result("cm_speed", result)


if __name__ == "__main__":
    main()
