"""``nct corpus build``: a diverse training corpus from Debian packages and PyPI sdists."""

from __future__ import annotations

import argparse
import sys

from . import common

TORCH = False  # imported only where a model is used
NAME, HELP = "corpus", "training corpora"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    csub = p.add_subparsers(dest="corpus_command", required=True, metavar="COMMAND")
    b = csub.add_parser("build", help="a diverse ~200 MB training corpus from Debian packages and PyPI sdists (re-runnable)")
    b.add_argument("--size", default="200MB", help="target size, e.g. 150MB, 1.5GB (default: 200MB)")
    b.add_argument("--out", default="runs/corpus",
                   help="output directory: train.bin, validation.bin, *.idx.npy, manifest.json (default: runs/corpus)")
    b.add_argument("--scratch", default=None, help="where packages are downloaded and extracted; reused (default: OUT/scratch)")
    b.add_argument("--seed", type=int, default=0, help="selection and layout order (default: 0)")
    b.add_argument("--crlf-fraction", type=common.non_negative_float, default=0.10,
                   help="share of prose/markup documents written with CRLF (default: 0.1)")
    b.add_argument("--render-man-fraction", type=common.non_negative_float, default=0.25,
                   help="share of man pages rendered to text by groff (default: 0.25)")
    b.add_argument("--package-cap", default="3MB", help="most text taken from one package (default: 3MB)")
    b.add_argument("--jobs", type=common.positive, default=4, help="downloads in parallel (default: 4)")
    b.add_argument("-v", "--verbose", action="store_true", help="log every package (default: off)")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from ..data.sources import build_corpus, default_sources, parse_size

    t0 = time.time()
    size, cap = common.from_options(parse_size, args.size), common.from_options(parse_size, args.package_cap)
    result = build_corpus(
        default_sources(), args.out, size=size, scratch=args.scratch, seed=args.seed,
        crlf_fraction=args.crlf_fraction, render_man_fraction=args.render_man_fraction,
        package_cap=cap, jobs=args.jobs, log=(lambda s: print(s, file=sys.stderr)) if args.verbose else (lambda s: None),
    )
    m = result.manifest
    print(f"{m['total_bytes'] / 1e6:.1f} MB in {sum(m['documents'].values())} documents from {m['packages']} packages "
          f"({time.time() - t0:.0f} s) -> {result.out}")
    for cat, n in m["category_bytes"].items():
        print(f"  {cat:<11} {n / 1e6:8.1f} MB  {m['category_share'][cat]:6.1%}")
    return 0
