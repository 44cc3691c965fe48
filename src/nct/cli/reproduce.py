"""``nct reproduce``: the paper's grid of methods x M2 sizes; results table, plots, reports."""

from __future__ import annotations

import argparse
import sys

from . import common

NAME, HELP = "reproduce", "the paper's methods x M2 sizes grid -> table, plots (resumable)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--preset", default="cpu", help="cpu (1-3 h on 2 cores), paper, or a YAML config file (default: cpu)")
    p.add_argument("--out", default="results/reproduce", help="output directory; finished steps are skipped (default: results/reproduce)")
    p.add_argument("--corpus", default="default", help="default | FILE | DIR | FILE.jsonl | FILE.parquet:COLUMN (default: default)")
    common.add_model(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from ..eval.reproduce import ReproduceConfig, results_markdown, run_reproduce

    cfg = common.from_options(ReproduceConfig.load, args.preset)
    reports = run_reproduce(cfg, args.out, load_corpus(args.corpus), common.model(args.model))
    print(results_markdown(reports, cfg))
    print(f"results, plots and per-run reports in {args.out}", file=sys.stderr)
    return 0
