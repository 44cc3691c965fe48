"""``nct tokenize``: a corpus split into token shards for M2 (resumable)."""

from __future__ import annotations

import argparse
import sys

from . import common

NAME, HELP = "tokenize", "tokenize a corpus into shards for M2 (resumable)"


def register(sub: argparse._SubParsersAction) -> None:
    from ..tokenizers import METHODS

    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--method", required=True, choices=METHODS, help="the tokenizer (required)")
    p.add_argument("--corpus", default="default",
                   help="default | FILE | DIR | GLOB ('c4/en/c4-train.*.json.gz') of JSONL (.json/.jsonl, .gz/.xz/.zst), parquet "
                   "(FILE.parquet[:COLUMN]) or text files, read lazily, one input per file (default: default)")
    p.add_argument("--out", required=True, help="shard directory (an unfinished one is resumed) (required)")
    p.add_argument("--split", default="train", choices=["train", "validation", "all"], help="(default: train)")
    p.add_argument("--bits", type=common.positive, default=16, help="Equal-Info window size b in bits (default: 16)")
    p.add_argument("--token-bits", type=common.positive, default=8, help="bits per token N, vocabulary 2^N (default: 8)")
    p.add_argument("--rule", default="greedy", choices=["greedy", "delay"], help="Equal-Info window rule (default: greedy)")
    p.add_argument("--reset-every", type=common.non_negative, default=1, help="reset M1's context every k windows, 0: never (default: 1)")
    p.add_argument("--vocab-size", type=common.positive, default=32000, help="SentencePiece vocabulary (default: 32000)")
    p.add_argument("--example-bytes", type=common.positive, default=10240, help="bytes per example (default: 10240)")
    p.add_argument("--max-bytes", type=common.positive, default=None, help="tokenize only the first examples up to this size (default: all)")
    common.add_model(p)
    common.add_device(p)
    p.add_argument("--batch", type=common.positive, default=None,
                   help="examples EqualInfoAC codes in lockstep (per call of a Ray actor): thousands on a GPU; the shards do not "
                   "depend on it (default: 256; with --engine ray 128, on GPUs 4096)")
    p.add_argument("--seed", type=int, default=0, help="document shuffle (default: 0)")
    common.add_engine(p, "the same shards", "one per CPU; with --device cuda one per GPU, each on its own")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.corpus import stream_corpus
    from ..tokenizers import needs_m1
    from ..tokenizers.pipeline import tokenize_corpus

    device, batch = args.device, args.batch
    engine = common.ray_config(args, batch=batch, device=None if device == "cpu" else device)
    if engine is not None:  # the actors move M1 to their own GPUs; the driver holds it on the CPU
        device, batch = "cpu", None
    corpus = stream_corpus(args.corpus)
    m1 = common.model(args.model, device) if needs_m1(args.method) else None
    m = tokenize_corpus(
        corpus, args.method, args.out, m1=m1, split=args.split, token_bits=args.token_bits,
        bits=args.bits, rule=args.rule, reset_every=args.reset_every, vocab_size=args.vocab_size,
        example_bytes=args.example_bytes, seed=args.seed, max_bytes=args.max_bytes, engine=engine, batch=batch,
    )
    print(f"{args.out}: {m.n_examples} examples, {m.n_bytes:,} bytes -> {m.n_tokens:,} tokens "
          f"({m.bytes_per_token:.3f} bytes/token, vocabulary {m.vocab_size})", file=sys.stderr)
    return 0
