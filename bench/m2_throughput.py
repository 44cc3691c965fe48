"""Benchmark: training throughput of nct's loop vs a minimal hand-written PyTorch loop.

    python bench/m2_throughput.py [--runs cpu-3m:256:16,cpu-3m:65536:2] [--steps 12]
    # writes bench/results/m2_throughput.json; a run is SIZE:VOCAB:BATCH (sequences of 512 tokens)

Same model, batch, autocast dtype and AdamW; the minimal loop is forward, cross-entropy, backward,
step. nct's loop adds what a real run needs: warm-up/decay, z-loss, gradient clipping, the live
bits/byte and checkpoints. Steps are timed between the calls that fetch their batches, after
``--warmup`` untimed steps; each loop runs twice, interleaved, and the faster run of each counts.
"""

import argparse
import tempfile
import time

import torch
import torch.nn.functional as F

from nct.results import write_result
from nct.models.sizes import m2_config
from nct.models.transformer import IGNORE, Transformer
from nct.train.loop import TrainConfig, autocast_dtype, train


def timed_batches(data: torch.Tensor, batch_size: int, stamps: list[float]):
    """``batches(step)`` over fixed random sequences, recording when each batch is fetched."""

    def batches(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        stamps.append(time.perf_counter())
        i = (step * batch_size) % (len(data) - batch_size + 1)
        y = data[i : i + batch_size]
        return torch.cat([torch.zeros_like(y[:, :1]), y[:, :-1]], dim=1), y

    return batches


def minimal_loop(model: Transformer, batches, steps: int, lr: float, amp: torch.dtype | None) -> None:
    """The hand-written baseline."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for step in range(steps):
        x, y = batches(step)
        with torch.autocast("cpu", dtype=amp or torch.float32, enabled=amp is not None):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def nct_loop(model: Transformer, batches, steps: int, lr: float, batch_size: int) -> None:
    """nct's training loop (evaluation is free here; the final checkpoint lands after the timing)."""
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, warmup=2, eval_every=10**9, checkpoint_every=10**9)
    with tempfile.TemporaryDirectory() as run:
        train(model, batches, lambda m: 0.0, cfg, run, description="nct loop")


def measure(loop: str, size: str, vocab: int, batch_size: int, args) -> float:
    """Tokens per second of one loop, timed over ``args.steps`` steps after the warm-up."""
    cfg = m2_config(size, vocab)
    torch.manual_seed(0)
    model = Transformer(cfg)
    data = torch.randint(0, vocab, (4 * batch_size, cfg.context), generator=torch.Generator().manual_seed(0))
    stamps: list[float] = []
    batches = timed_batches(data, batch_size, stamps)
    total = args.warmup + args.steps + 1
    if loop == "minimal":
        minimal_loop(model, batches, total, 1e-3, autocast_dtype("auto", torch.device("cpu")))
    else:
        nct_loop(model, batches, total, 1e-3, batch_size)
    seconds = stamps[args.warmup + args.steps] - stamps[args.warmup]
    return args.steps * batch_size * cfg.context / seconds


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", default="cpu-3m:256:16,cpu-3m:65536:2", help="SIZE:VOCAB:BATCH,...")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    amp = autocast_dtype("auto", torch.device("cpu"))
    rows = []
    for run in args.runs.split(","):
        size, vocab, batch_size = run.split(":")
        speed = {"minimal": [], "nct": []}
        for _ in range(2):
            for loop in ("minimal", "nct"):
                speed[loop].append(measure(loop, size, int(vocab), int(batch_size), args))
        best = {k: max(v) for k, v in speed.items()}
        rows.append({
            "size": size, "vocab": int(vocab), "batch_size": int(batch_size), "tokens_per_s": best, "runs": speed,
            "ratio": best["nct"] / best["minimal"],
        })
        print(f"{run}: minimal {best['minimal']:.0f} tok/s, nct {best['nct']:.0f} tok/s, ratio {rows[-1]['ratio']:.2f}")
    result = {"steps": args.steps, "threads": torch.get_num_threads(), "autocast": str(amp) if amp else "fp32", "rows": rows}
    write_result("m2_throughput", result)


if __name__ == "__main__":
    main()
