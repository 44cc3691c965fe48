"""Issue 19, part 1 (prepared on the CPU; run on a GPU machine): M1's CDFs on CUDA equal the CPU's.

    python bench/gpu_exactness.py [--device cuda] [--blocks 64] [--block 1024]
    # writes bench/results/gpu_exactness.json

The shipped default M1 scores ``--blocks`` blocks of ``--block`` bytes of real text (the embedded
corpus's validation split) with the CPU engine (``M1.cdfs``: PyTorch GEMMs and numba kernels) and
with the portable engine on ``--device`` (``engine="portable"``: every operation in PyTorch), and
the two are compared bit for bit, block by block; then ``--step-rows`` of them by cached steps
(``M1.to(device)``: the cache on the device) against the CPU's steps; then ``--archive-kb`` KB of
the text is compressed with ``cm`` and ``ac`` by the CPU engine and by the device's, the archives
compared and each decoded by the other engine (timed). It records the time of each, the device (GPU,
driver, CUDA and torch versions) and whether TF32 was allowed (the portable engine does not depend
on it: its sums are float64). Then it runs the CUDA tests (``tests/models/test_exact_torch.py``,
``tests/train/test_loop.py``, the CLI cross-device round trip) unless ``--no-tests``. With ``--device cpu`` it is a dry run of the
same steps on this machine. Exit status 1 when any block differs or a test fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np
import torch

from nct.data.corpus import embedded
from nct.models.m1 import M1
from nct.results import environment, write_result


def device_info(device: str) -> dict:
    """What the device is: name, driver/CUDA versions and the matmul precision settings."""
    info: dict = {"device": device, "allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                  "float32_matmul_precision": torch.get_float32_matmul_precision()}
    if device.startswith("cuda"):
        info.update(name=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                    capability=".".join(map(str, torch.cuda.get_device_capability(device))))
        try:
            info["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                            capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            info["driver"] = None
    return info


def blocks(m1: M1, count: int, size: int) -> torch.Tensor:
    """``count`` blocks of ``size`` bytes of the validation text, each after BOS ([count, size])."""
    text = b"".join(d.data for d in embedded("validation").documents)
    data = (text * (count * size // len(text) + 1))[: count * size]
    y = torch.frombuffer(bytearray(data), dtype=torch.uint8).long().view(count, size)
    return torch.cat([torch.full((count, 1), m1.bos), y[:, :-1]], dim=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="default: cuda if present, else cpu")
    p.add_argument("--blocks", type=int, default=64, help="blocks scored (default: 64)")
    p.add_argument("--block", type=int, default=1024, help="bytes per block (default: 1024)")
    p.add_argument("--step-rows", type=int, default=32, help="blocks also scored by cached steps (default: 32)")
    p.add_argument("--archive-kb", type=int, default=64, help="KB of text compressed on each engine (default: 64)")
    p.add_argument("--no-tests", action="store_true", help="skip the CUDA tests (default: run them)")
    p.add_argument("--results", default="bench/results", help="directory for gpu_exactness.json (default: bench/results)")
    a = p.parse_args()
    m1 = M1.load("default")
    x = blocks(m1, a.blocks, a.block)
    m1.cdfs(x[:1, :16])  # each engine's start-up (oneDNN's, the device's) is not timed
    t0 = time.perf_counter()
    cpu = m1.cdfs(x).numpy()
    t1 = time.perf_counter()
    m1.cdfs(x[:1, :16], engine="portable", device=a.device)
    t2 = time.perf_counter()
    dev = m1.cdfs(x, engine="portable", device=a.device).numpy()
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    t3 = time.perf_counter()
    differ = [i for i in range(len(x)) if not np.array_equal(cpu[i], dev[i])]
    on_device = m1.to(a.device)
    rows = x[: a.step_rows]
    t4 = time.perf_counter()
    stepped = stepped_cdfs(on_device, rows)
    t5 = time.perf_counter()
    steps_differ = [i for i in range(len(rows)) if not np.array_equal(cpu[i], stepped[i])]
    archives = cross_archives(m1, on_device, a.archive_kb << 10)
    tests = None
    if not a.no_tests:
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/models/test_exact_torch.py",
                                "tests/train/test_loop.py", "tests/test_cli.py::test_archives_cross_between_cpu_and_cuda"],
                               capture_output=True, text=True).returncode
    n = x.numel()
    result = {"environment": environment(), "device": device_info(a.device), "blocks": a.blocks, "block": a.block,
              "cpu_engine_s": round(t1 - t0, 3), "portable_engine_s": round(t3 - t2, 3),
              "cpu_kb_per_s": round(n / (t1 - t0) / 1e3, 1), "portable_kb_per_s": round(n / (t3 - t2) / 1e3, 1),
              "blocks_differing": differ, "step_rows": len(rows), "device_steps_s": round(t5 - t4, 3),
              "step_rows_differing": steps_differ, "archives": archives,
              "identical": not differ and not steps_differ and all(r["identical"] and r["cross_decoded"] for r in archives),
              "tests_returncode": tests}
    write_result("gpu_exactness", result, a.results)
    sys.exit(0 if result["identical"] and tests in (None, 0) else 1)


def stepped_cdfs(m1: M1, x: torch.Tensor) -> np.ndarray:
    """CDFs [B, T, V+1] of x by cached steps (on ``m1``'s device)."""
    cache = m1.start(len(x))
    return np.stack([m1.step(cache, x[:, t]).numpy() for t in range(x.shape[1])], 1)


def cross_archives(cpu: M1, device: M1, size: int) -> list[dict]:
    """cm and ac archives of ``size`` bytes of validation text made by each engine: equal, and each
    decoded by the other engine (timed)."""
    import nct

    text = b"".join(d.data for d in embedded("validation").documents)[:size]
    out = []
    for method in ("cm", "ac"):
        t0 = time.perf_counter()
        here = nct.compress(text, method=method, model=cpu)
        t1 = time.perf_counter()
        there = nct.compress(text, method=method, model=device)
        t2 = time.perf_counter()
        back_there = nct.decompress(here, model=device)
        t3 = time.perf_counter()
        back_here = nct.decompress(there, model=cpu)
        t4 = time.perf_counter()
        out.append({"method": method, "bytes": len(text), "archive_bytes": len(here), "identical": here == there,
                    "cross_decoded": back_there == text and back_here == text, "cpu_compress_s": round(t1 - t0, 3),
                    "device_compress_s": round(t2 - t1, 3), "device_decompress_s": round(t3 - t2, 3),
                    "cpu_decompress_s": round(t4 - t3, 3)})
    return out


if __name__ == "__main__":
    main()
