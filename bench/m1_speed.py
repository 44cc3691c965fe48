"""Benchmark: M1's exact engine, teacher-forced scoring vs incremental decoding at several batch sizes.

    python bench/m1_speed.py [--model PATH] [--threads N]   # writes bench/results/m1_speed.json

Decoding is memory-bound on the KV cache and dominated by per-step overhead at small batches; this
shows both, without arithmetic coding, so the coder's share can be read off against `nct bench`.
"""

import argparse
import time

import torch

from nct.results import write_result
from nct.models.m1 import M1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    m1 = M1.load(args.model)
    g = torch.Generator().manual_seed(0)
    results = {"model": m1.fingerprint, "threads": torch.get_num_threads(), "scoring": [], "decoding": []}
    for batch, length in [(4, 4096), (16, 1024)]:
        x = torch.randint(0, 256, (batch, length), generator=g)
        m1.cdfs(x[:1, :64])
        t0 = time.perf_counter()
        m1.cdfs(x)
        kbps = batch * length / (time.perf_counter() - t0) / 1e3
        results["scoring"].append({"batch": batch, "length": length, "kbps": kbps})
        print(f"scoring  batch {batch:4d} x {length:5d}: {kbps:8.1f} KB/s")
    for batch in [16, 64, 128, 256, 512]:
        cache, tokens = m1.start(batch), torch.randint(0, 256, (batch,), generator=g)
        steps = 300
        t0 = time.perf_counter()
        for _ in range(steps):
            m1.step(cache, tokens)
        dt = (time.perf_counter() - t0) / steps
        results["decoding"].append({"batch": batch, "ms_per_step": dt * 1e3, "kbps": batch / dt / 1e3})
        print(f"decoding batch {batch:4d}: {dt * 1e3:7.2f} ms/step  {batch / dt / 1e3:8.1f} KB/s")
    write_result("m1_speed", results)


if __name__ == "__main__":
    main()
