"""``nct compression-table``: bytes per token of every method on a corpus sample."""

from __future__ import annotations

import argparse

from . import common

NAME, HELP = "compression-table", "the paper's bytes-per-token table for a corpus and M1"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--corpus", default="default", help="default | FILE | DIR | FILE.jsonl | FILE.parquet:COLUMN (default: default)")
    p.add_argument("--split", default="validation", choices=["train", "validation", "all"], help="(default: validation)")
    common.add_model(p)
    p.add_argument("--max-bytes", type=common.positive, default=102400, help="sample size, whole 10,240-byte examples (default: 102400)")
    p.add_argument("--vocab-size", type=common.positive, default=32000, help="SentencePiece vocabulary (default: 32000)")
    p.add_argument("--out", default="results/compression-table", help="directory for the .md and .json (default: results/compression-table)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.corpus import load_corpus
    from ..eval.compression_table import compression_table, save_table

    corpus = load_corpus(args.corpus)
    m1 = common.model(args.model)
    rows = compression_table(corpus, m1, max_bytes=args.max_bytes, vocab_size=args.vocab_size, split=args.split)
    meta = {"corpus": corpus.name, "split": args.split, "m1": m1.fingerprint, "max_bytes": args.max_bytes}
    print(save_table(rows, args.out, meta))
    return 0
