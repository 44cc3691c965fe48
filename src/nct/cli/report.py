"""``nct report``: every result under a directory in one HTML page and its markdown twin."""

from __future__ import annotations

import argparse

from . import common

TORCH = False  # imported only where a model is used
NAME, HELP = "report", "one self-contained HTML page (and markdown) of every result under a directory"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("root", help="directory holding reproduce, bench, scaling and analysis results")
    p.add_argument("--out", help="where report.html and report.md go (default: ROOT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import build_report

    common.existing_dir(args.root, "results directory")
    for path in build_report(args.root, args.out):
        print(path)
    return 0
