"""``nct generate``: M2 samples tokens after a prompt; the tokenizer (M1 for AC methods) decodes them."""

from __future__ import annotations

import argparse
import sys

from . import common
from .eval_m2 import add_checkpoint, load_run

NAME, HELP = "generate", "sample text from an M2 (decoded through its tokenizer)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_checkpoint(p)
    p.add_argument("--prompt", default="", help="text the samples continue (default: none)")
    p.add_argument("--max-bytes", type=common.positive, default=200, help="bytes per sample (default: 200)")
    p.add_argument("--temperature", type=common.non_negative_float, default=1.0, help="(default: 1.0)")
    p.add_argument("--top-k", type=common.positive, default=None, help="sample among the k likeliest tokens (default: all)")
    p.add_argument("--samples", type=common.positive, default=1, help="how many samples (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="(default: 0)")
    common.add_model(p, "the M1 the shards were made with (default: the shipped M1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.shards import Manifest
    from ..generate import generate
    from ..tokenizers.pipeline import tokenizer_from_shards

    model, run_info = load_run(args.checkpoint)
    manifest = Manifest.load(run_info["shards"])
    m1 = common.model(args.model) if manifest.m1 else None
    tok = tokenizer_from_shards(run_info["shards"], m1)
    for k in range(args.samples):
        s = generate(model, tok, args.prompt, args.max_bytes, args.temperature, args.top_k, args.seed + k,
                     bytes_per_token=manifest.bytes_per_token)
        sys.stdout.write(common.escape(s.text) + "\n")
        notes = [f"{len(s.tokens) - s.prompt_tokens} tokens sampled"]
        if not s.prompt_reproduced:
            notes.append("the decoded text does not start with the prompt")
        if s.undecodable:
            notes.append(f"{s.undecodable} windows/streams could not be decoded")
        print(f"[{'; '.join(notes)}]", file=sys.stderr)
    return 0
