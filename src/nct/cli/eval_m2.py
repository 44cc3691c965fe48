"""``nct eval-m2``: re-evaluate a trained M2 on its held-out examples (or --shards)."""

from __future__ import annotations

import argparse
import json

from . import common

NAME, HELP = "eval-m2", "bits/byte, FLOPs/byte, bytes per step and baselines of a trained M2"


def add_checkpoint(p: argparse.ArgumentParser) -> None:
    """``--checkpoint``: an M2 run directory (train-m2's --out)."""
    p.add_argument("--checkpoint", required=True, help="M2 run directory, train-m2's --out (required)")


def load_run(path: str):
    """(model, run.json) of an M2 run directory, or InputError if it is not one."""
    from ..train.m2 import load_run

    run_dir = common.existing_dir(path, "M2 run directory")
    if not (run_dir / "run.json").is_file():
        raise common.InputError(f"{path}: not an M2 run directory (no run.json)")
    return load_run(run_dir)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_checkpoint(p)
    p.add_argument("--shards", help="evaluate on these shards instead (default: the run's held-out examples)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON (default: a summary)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.metrics import m2_report
    from ..train.m2 import run_data
    from .train_m2 import summary

    model, run_info = load_run(args.checkpoint)
    if args.shards:
        common.existing_dir(args.shards, "shard directory")
    shards, train_idx, held, held_idx = run_data(run_info, args.shards)
    report = m2_report(model, shards, train_idx, held, held_idx, [])
    print(json.dumps({k: v for k, v in report.items() if k != "log"}, indent=2) if args.json else summary(report))
    return 0
