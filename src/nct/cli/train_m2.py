"""``nct train-m2``: an M2 on token shards (resumable), then its evaluation report."""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "train-m2", "train M2 on token shards (resumable), then report its metrics"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--shards", required=True, help="shard directory from nct tokenize (required)")
    p.add_argument("--eval-shards", help="held-out shards (default: the last 2%% of --shards' examples)")
    p.add_argument("--size", default="cpu-1m", help="25m, 113m, 403m, 2b (the paper's) or cpu-1m, cpu-3m (default: cpu-1m)")
    p.add_argument("--out", required=True, help="run directory (required)")
    p.add_argument("--context", type=common.positive, default=None, help="sequence length (default: 512)")
    common.add_training(p, steps=2000, batch_size=16)
    p.set_defaults(func=run)


def summary(report: dict) -> str:
    """One-paragraph summary of an M2 report."""
    b = report["baselines"]
    return (
        f"{report['tokenizer']} M2 ({report['non_embedding_params']:,} non-embedding params): "
        f"{report['bits_per_byte']:.3f} bits/byte held out (uniform {b['uniform']:.3f}, unigram {b['unigram']:.3f}); "
        f"{report['flops_per_byte']:.3g} FLOPs/byte; {report['bytes_per_step']:.2f} bytes per decoding step"
    )


def run(args: argparse.Namespace) -> int:
    from ..train.distributed import process_group
    from ..train.m2 import train_m2

    common.existing_dir(args.shards, "shard directory")
    if args.eval_shards:
        common.existing_dir(args.eval_shards, "shard directory")
    cfg = common.train_config(args)
    with process_group():
        _, report = train_m2(args.shards, args.size, args.out, cfg, eval_dir=args.eval_shards, context=args.context)
    if report:  # torchrun: process 0 reports
        print(summary(report))
    return 0
