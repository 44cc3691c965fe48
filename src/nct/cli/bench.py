"""``nct bench``: every compressor on the embedded validation text (or --data files, --suite suites, a --corpus)."""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "bench", "neural vs classical compressors, every round trip decoded and compared"


def register(sub: argparse._SubParsersAction) -> None:
    from ..data.suites import SUITES
    from ..eval.bench import BENCH_METHODS, SUITE_METHODS
    from ..eval.collection import PIECE

    p = sub.add_parser(NAME, help=HELP, description=HELP + ". Bits/byte: lower is better; in brackets the adjusted "
                       "rate, which also counts M1's own size (as LMIC does).")
    p.add_argument(
        "--data", action="append",
        help="text[:PATH] (or PATH), image[:PATH], audio[:PATH] (no PATH: embedded defaults), suite:NAME or random[:BYTES]; "
        "repeatable (default: embedded validation text)",
    )
    p.add_argument("--chunk", type=common.positive, default=None,
                   help="compress each CHUNK-byte piece on its own, as LMIC (2048); fixed costs counted once (default: whole files)")
    p.add_argument("--head", type=common.positive, default=None,
                   help="only the first HEAD bytes of each input (e.g. to run a slow model on a sample; default: whole inputs)")
    p.add_argument("--suite", action="append", choices=SUITES,
                   help="a shipped evaluation suite (nct.data.suites), as --data suite:NAME; repeatable (default: none)")
    p.add_argument("--methods", default=None,
                   help="comma-separated methods (png runs on image data only, flac on audio only; default: "
                   f"{BENCH_METHODS}, or with --suite {SUITE_METHODS}; cm is left out with --chunk)")
    common.add_model(p, common.MODEL_HELP + "; or hf:PATH, a local Hugging Face LM in AC's place")
    p.add_argument("--block", type=common.positive, default=None, help="AC and CM block size in bytes (default: 1024)")
    p.add_argument("--out", default=None, help="directory for results.json, results.md and plots (default: none)")
    p.add_argument("--corpus", default=None,
                   help="a large text collection instead of --data: FILE | DIR | GLOB of JSONL (.json/.jsonl, .gz/.xz/.zst), parquet "
                   "(FILE.parquet[:COLUMN]) or text files, read lazily, one input per file, each in pieces (default: none)")
    p.add_argument("--piece", type=common.positive, default=None,
                   help=f"with --corpus: bytes of an input compressed at a time, each piece on its own (default: {PIECE:,})")
    p.add_argument("--max-bytes", type=common.positive, default=None,
                   help="with --corpus: only the first bytes of the collection, inputs in order (default: all)")
    common.add_engine(p, "the same sizes, with --corpus")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..eval.bench import BENCH_METHODS, SUITE_METHODS, main_bench

    suites = args.suite or []
    data = [*(args.data or []), *(f"suite:{s}" for s in suites)] or None
    methods = args.methods
    if methods is None:
        methods = SUITE_METHODS if suites or args.corpus else BENCH_METHODS
        if args.chunk:  # LMIC's independent chunks: CM's models learn across blocks, so it has no chunked form
            methods = ",".join(m for m in common.split_list(methods) if m != "cm")
    engine = common.ray_config(args)
    options = dict(methods=common.split_list(methods), model=args.model, block=args.block, chunk=args.chunk, out=args.out)
    if args.corpus is None:
        if args.piece or args.max_bytes or engine:
            raise UsageError("--piece, --max-bytes and --engine ray are options of a --corpus")
        main_bench(data=data, head=args.head, **options)
        return 0
    if data or args.head:
        raise UsageError("--corpus is benchmarked on its own (--max-bytes bounds it): leave out --data, --suite and --head")
    from ..eval.collection import PIECE, bench_corpus

    bench_corpus(args.corpus, piece=args.piece or PIECE, max_bytes=args.max_bytes, engine=engine, **options)
    return 0
