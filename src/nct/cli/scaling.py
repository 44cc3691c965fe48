"""``nct scaling``: LMIC's scaling study (M1 sizes x training text); tables, plots, per-run reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import common

NAME, HELP = "scaling", "LMIC's scaling study: raw and adjusted rate vs M1 size, data size and context (resumable)"
# ScalingConfig's defaults, kept here so that building the parser imports no PyTorch; the test
# of the help texts checks they agree.
DEFAULTS: dict[str, Any] = dict(sizes="200k,800k,3m", train_bytes="100000,300000,1000000", steps=150, batch_size=4, lr=2e-3,
                eval_bytes="65536", min_block=64, adjust_for="1000000,100000000,10000000000", seed=0)


def register(sub: argparse._SubParsersAction) -> None:
    d = DEFAULTS
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--sizes", default=d["sizes"], help=f"comma-separated M1 presets: 200k, 600k, 800k, 3m (default: {d['sizes']})")
    p.add_argument("--data", default="default", help="text:PATH (or PATH): a text file or directory (default: the embedded corpus)")
    p.add_argument("--train-bytes", default=d["train_bytes"],
                   help=f"training text per run (250k, 1M, ...): the head of the training split (default: {d['train_bytes']})")
    common.add_training(p, steps=d["steps"], batch_size=d["batch_size"], lr=d["lr"], full=False)  # of every run; and --seed
    p.add_argument("--eval-bytes", default=d["eval_bytes"], help=f"validation text coded, decoded and compared (default: {d['eval_bytes']})")
    p.add_argument("--block", type=common.positive, default=None, help="AC block of the main rate (default: the smallest context)")
    p.add_argument("--min-block", type=common.positive, default=d["min_block"],
                   help=f"rate vs context: blocks from this length, doubling (default: {d['min_block']})")
    p.add_argument("--context-all", action="store_true", help="rate vs context for every run (default: the runs with the most text)")
    p.add_argument("--adjust-for", default=d["adjust_for"], help=f"dataset sizes N for the computed adjusted rates (default: {d['adjust_for']})")
    p.add_argument("--out", default="results/scaling", help="output directory; finished runs and rates are skipped (default: results/scaling)")
    p.set_defaults(func=run)


def config(args: argparse.Namespace):
    """The ``ScalingConfig`` of the options (a bad size or byte count is a usage error)."""
    from ..eval.scaling import ScalingConfig, parse_bytes

    def build():
        return ScalingConfig(
            sizes=common.split_list(args.sizes), train_bytes=[parse_bytes(b) for b in common.split_list(args.train_bytes)],
            steps=args.steps, batch_size=args.batch_size, lr=args.lr, eval_bytes=parse_bytes(args.eval_bytes),
            block=args.block, min_block=args.min_block, context_all=args.context_all,
            adjust_for=[parse_bytes(b) for b in common.split_list(args.adjust_for)], seed=args.seed,
        )

    return common.from_options(build)


def run(args: argparse.Namespace) -> int:
    from ..eval.scaling import main_scaling

    main_scaling(config(args), args.out, args.data)
    print(f"results, plots and runs in {args.out}", file=sys.stderr)
    return 0
