"""``nct train-m1``: a byte-level M1 (resumable), then its exact engine."""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "train-m1", "train a byte-level M1 (resumable) and export its exact engine"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--corpus", default="default",
                   help="default | FILE | DIR of .txt | FILE.jsonl | FILE.parquet:COLUMN | DIR from `nct corpus build` (default: default)")
    p.add_argument("--size", default="600k", help="model preset: 200k, 600k, 800k, 3m (default: 600k)")
    p.add_argument("--out", default="runs/m1", help="run directory; resumes if it holds a checkpoint (default: runs/m1)")
    p.add_argument("--init", help="go on training from this M1 (a shipped name such as tiny, or a model file); "
                   "its shape replaces --size (default: none)")
    common.add_training(p, steps=5000, batch_size=32)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.distributed import process_group
    from ..train.m1 import main_train_m1

    train = common.train_config(args)
    with process_group():
        main_train_m1(args.corpus, args.size, args.out, train, init=args.init)
    return 0
