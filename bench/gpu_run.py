"""Issue 19's device check, one command: exactness across devices, Equal-Info tokenizing on the GPU,
and M2 on Bytes against EqualInfoAC[b=16, v=65k] at the paper's 25m size, also through torchrun.

    python bench/gpu_run.py                      # on the GPU machine; results under results/gpu/
    python bench/gpu_run.py --dry-run            # the same steps at toy sizes on this CPU

``bench/gpu_prepare.sh`` first puts what travels in ``.whl/`` and ``.gpu/``; the device run (both
carried) is then ``python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
PYTHONPATH=/tmp/site:$PWD/src python3 bench/gpu_run.py --out $OUT/gpu``.

Steps (each timed, with timestamped progress on stdout):
1. ``bench/gpu_exactness.py`` on the device: M1's CDFs (full sequence and cached steps) equal the
   CPU's, cm/ac archives made on either engine are identical and decode on the other, the CUDA tests.
2. The training text (``--text``: the Linux documentation carried as ``.gpu/linux-docs.txt.xz``; its
   train and validation splits, never a standard corpus) tokenized with M1 on the device
   (``nct tokenize --device``, windows in lockstep batches of ``--eqi-batch``), timed; the first
   ``--check-bytes`` tokenized again on the CPU engine and compared token for token. Bytes too.
3. ``nct train-m2 --size 25m`` on each method for the same number of tokens (bf16), evaluated on
   the held-out split ``--curve-points`` times: held-out bits/byte, FLOPs/byte, the baselines and a
   learning curve of bits/byte against training tokens.
4. A short run of the same through ``torchrun --nproc-per-node 1`` (NCCL on CUDA).
5. ``gpu_run.json`` and ``gpu_run.md`` (the environment, seconds per part, the table) and
   ``curves.png``. Exit status 1 when a comparison differs or a part fails.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

T0 = time.perf_counter()


def log(message: str) -> None:
    """One progress line with the wall-clock time and the seconds since the start."""
    print(f"[{time.strftime('%H:%M:%S')} +{time.perf_counter() - T0:6.0f}s] {message}", flush=True)


def nct(*args: object, launcher: tuple[str, ...] = (sys.executable, "-m")) -> float:
    """Run ``nct ARGS`` (through ``launcher``), its output passed through; the seconds it took."""
    cmd = [*launcher, "nct", *map(str, args)]
    log(" ".join(cmd))
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def text_corpus(args: argparse.Namespace, work: Path) -> str:
    """The training text as a file nct reads (``--text``: .xz is unpacked once), or ``default``."""
    if args.text == "default":
        return "default"
    src = Path(args.text)
    if src.suffix != ".xz":
        return str(src)
    out = work / src.stem
    if not out.exists():
        with lzma.open(src) as f, open(out, "wb") as g:
            shutil.copyfileobj(f, g)
    return str(out)


def same_first_tokens(a: Path, b: Path) -> dict:
    """Whether the examples of shard directory ``b`` are the first examples of ``a``, token for token."""
    from nct.data.shards import Shards

    x, y = Shards(a), Shards(b)
    same = len(y) <= len(x) and all(np.array_equal(x[i], y[i]) for i in range(len(y)))
    return {"examples_compared": len(y), "identical": bool(same)}


def shard_figures(path: Path) -> dict:
    """Bytes, tokens and bytes/token of a shard directory."""
    from nct.data.shards import Manifest

    m = Manifest.load(path)
    return {"bytes": m.n_bytes, "tokens": m.n_tokens, "bytes_per_token": round(m.bytes_per_token, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="toy sizes on this machine's CPU (the device check's own test)")
    p.add_argument("--device", default=None, help="M1's device (default: cuda; cpu with --dry-run)")
    p.add_argument("--text", default=".gpu/linux-docs.txt.xz", help="training text (default: .gpu/linux-docs.txt.xz)")
    p.add_argument("--text-bytes", type=int, default=8_000_000, help="training text tokenized per method (default: 8,000,000)")
    p.add_argument("--eval-bytes", type=int, default=1_000_000, help="held-out text (default: 1,000,000)")
    p.add_argument("--check-bytes", type=int, default=400_000, help="text also tokenized on the CPU and compared (default: 400,000)")
    p.add_argument("--eqi-batch", type=int, default=4096, help="Equal-Info windows in lockstep on the device (default: 4096)")
    p.add_argument("--size", default="25m", help="M2 size (default: 25m)")
    p.add_argument("--steps", type=int, default=760, help="M2 steps per method (default: 760: 100M tokens at 256 x 512)")
    p.add_argument("--batch-size", type=int, default=256, help="sequences per step (default: 256)")
    p.add_argument("--context", type=int, default=512, help="M2 sequence length (default: 512)")
    p.add_argument("--curve-points", type=int, default=8, help="held-out evaluations per run (default: 8)")
    p.add_argument("--out", default="results/gpu", help="results directory (default: results/gpu)")
    p.add_argument("--work", default="/tmp/nct-gpu", help="shards and runs (default: /tmp/nct-gpu)")
    a = p.parse_args()
    if a.dry_run:
        a.device = a.device or "cpu"
        a.text, a.text_bytes, a.eval_bytes, a.check_bytes, a.eqi_batch = "default", 61_440, 20_480, 20_480, 8
        a.size, a.steps, a.batch_size, a.context, a.curve_points = "cpu-1m", 8, 4, 64, 2
    a.device = a.device or "cuda"
    out, work = Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    result: dict = {"args": vars(a), "seconds": seconds}
    failed: list[str] = []

    log("part 1: exactness across devices")
    t = time.perf_counter()
    check = [sys.executable, "bench/gpu_exactness.py", "--device", a.device, "--results", str(out)]
    if a.dry_run:
        check += ["--blocks", "4", "--block", "512", "--step-rows", "2", "--archive-kb", "4", "--no-tests"]
    if subprocess.run(check).returncode:
        failed.append("exactness")
    seconds["exactness"] = time.perf_counter() - t
    result["exactness"] = json.loads((out / "gpu_exactness.json").read_text())

    log("part 2: tokenizing")
    t = time.perf_counter()
    corpus = text_corpus(a, work)
    shards: dict[str, dict] = {}
    for method, extra in (("bytes", []), ("equal-info", ["--bits", 16, "--token-bits", 16])):
        name = "eqi16" if method == "equal-info" else method
        on_device = ["--device", a.device, "--batch", a.eqi_batch] if method == "equal-info" else []
        limit = ["--max-bytes", a.text_bytes] if a.text_bytes else []
        train_s = nct("tokenize", "--method", method, *extra, "--corpus", corpus, "--split", "train", *limit, *on_device,
                      "--out", work / name)
        nct("tokenize", "--method", method, *extra, "--corpus", corpus, "--split", "validation", "--max-bytes", a.eval_bytes,
            *on_device, "--out", work / f"{name}-val")
        figures = {"train": shard_figures(work / name), "validation": shard_figures(work / f"{name}-val"), "train_s": round(train_s, 1)}
        figures["train_kb_per_s"] = round(figures["train"]["bytes"] / train_s / 1e3, 1)
        if method == "equal-info":
            cpu_s = nct("tokenize", "--method", method, *extra, "--corpus", corpus, "--split", "train", "--max-bytes", a.check_bytes,
                        "--out", work / f"{name}-cpu")
            figures["cpu_check"] = {**same_first_tokens(work / name, work / f"{name}-cpu"), "seconds": round(cpu_s, 1),
                                    "kb_per_s": round(shard_figures(work / f"{name}-cpu")["bytes"] / cpu_s / 1e3, 1)}
            if not figures["cpu_check"]["identical"]:
                failed.append("tokens")
        shards[name] = figures
    seconds["tokenize"] = time.perf_counter() - t
    result["shards"] = shards

    log("part 3: M2 on each method for the same number of tokens")
    runs: dict[str, dict] = {}
    train = ["--size", a.size, "--steps", a.steps, "--batch-size", a.batch_size, "--context", a.context,
             "--eval-every", max(1, a.steps // a.curve_points), "--dtype", "bf16"]
    for name in shards:
        run_s = nct("train-m2", "--shards", work / name, "--eval-shards", work / f"{name}-val", *train, "--out", work / "runs" / name)
        report = json.loads((work / "runs" / name / "report.json").read_text())
        tokens_per_step = a.batch_size * a.context
        runs[name] = {
            "seconds": round(run_s, 1), "tokens": a.steps * tokens_per_step, "tokens_per_s": round(a.steps * tokens_per_step / run_s),
            "epochs": round(a.steps * tokens_per_step / max(1, shards[name]["train"]["tokens"]), 2),
            **{k: report[k] for k in ("bits_per_byte", "baselines", "flops_per_byte", "non_embedding_params")},
            "curve": [{"tokens": e["step"] * tokens_per_step, "val_bpb": e["val_bpb"]} for e in report["log"]],
        }
    seconds["train"] = sum(r["seconds"] for r in runs.values())
    result["runs"] = runs

    log("part 4: the same through torchrun (one process)")
    t = time.perf_counter()
    try:
        short = ["--size", a.size, "--steps", max(2, a.steps // 10), "--batch-size", a.batch_size, "--context", a.context,
                 "--eval-every", max(2, a.steps // 10), "--dtype", "bf16"]
        nct("train-m2", "--shards", work / "eqi16", "--eval-shards", work / "eqi16-val", *short, "--out", work / "runs" / "torchrun",
            launcher=(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1", "-m"))
        run = work / "runs" / "torchrun"
        result["torchrun"] = {"bits_per_byte": json.loads((run / "report.json").read_text())["bits_per_byte"],
                              "distributed": json.loads((run / "run.json").read_text())["distributed"]}
        if not result["torchrun"]["distributed"]:
            failed.append("torchrun")
    except subprocess.CalledProcessError as e:
        failed.append("torchrun")
        result["torchrun"] = {"error": str(e)}
    seconds["torchrun"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - T0
    result["failed"] = failed
    write(result, out)
    log(f"done: {'FAILED ' + ', '.join(failed) if failed else 'all parts passed'}; results in {out}")
    sys.exit(1 if failed else 0)


def write(result: dict, out: Path) -> None:
    """gpu_run.json, gpu_run.md and curves.png."""
    from nct.plots import pyplot, save
    from nct.results import environment
    from nct.util import markdown_table

    result["environment"] = environment()
    result["device"] = result["exactness"].get("device")
    (out / "gpu_run.json").write_text(json.dumps(result, indent=2))
    rows = [[name, f"{r['tokens']:,}", f"{r['epochs']}", f"{r['bits_per_byte']:.3f}", f"{r['baselines']['uniform']:.3f}",
             f"{r['baselines']['unigram']:.3f}", f"{r['flops_per_byte']:.3g}", f"{r['tokens_per_s']:,}"] for name, r in result["runs"].items()]
    table = markdown_table(["method", "training tokens", "epochs", "held-out bits/byte", "uniform", "unigram", "FLOPs/byte", "tokens/s"],
                           rows, "lrrrrrrr")
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items())
    device = result["device"] or {}
    (out / "gpu_run.md").write_text(f"# Device check ({device.get('name', device.get('device'))})\n\n{table}\n\nSeconds: {seconds}.\n"
                                    f"Failed: {', '.join(result['failed']) or 'none'}.\n")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=150)
    for name, r in result["runs"].items():
        ax.plot([c["tokens"] for c in r["curve"]], [c["val_bpb"] for c in r["curve"]], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("training tokens")
    ax.set_ylabel("held-out bits/byte")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, out / "curves.png")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
