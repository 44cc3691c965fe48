"""``nct sample``: any compressor (or M1) as a generative model; optionally the rate it induces."""

from __future__ import annotations

import argparse
import sys

from . import common

NAME, HELP = "sample", "any compressor (or M1) as a generative model: sample bytes after a prompt"


def register(sub: argparse._SubParsersAction) -> None:
    from ..compressors.base import BUILTIN
    from .compress import NOT_OFFERED

    p = sub.add_parser(NAME, help=HELP, description=HELP + ". Bytes that are not printable text are shown escaped (\\xNN); --raw writes them as they are.")
    p.add_argument("--compressor", default="gzip", choices=[*(m for m in sorted(BUILTIN) if m not in NOT_OFFERED), "m1"],
                   help="(default: gzip)")
    p.add_argument("--prompt", default="", help="text the sample continues (default: none)")
    p.add_argument("--bytes", type=common.non_negative, default=200, help="bytes to sample (default: 200)")
    p.add_argument("--temperature", type=common.non_negative_float, default=1.0, help="0: always the likeliest byte (default: 1.0)")
    p.add_argument("--seed", type=int, default=0, help="(default: 0)")
    p.add_argument("--context", type=common.positive, default=1024, help="bytes of context the compressor sees (default: 1024)")
    p.add_argument("--level", type=int, default=None, help="compression level (default: the strongest standard one)")
    common.add_model(p, "M1 for --compressor m1 and the rate: a shipped name or a model file (default: the shipped M1)")
    p.add_argument("--rate-bytes", type=common.non_negative, default=0,
                   help="also rate this compressor and M1 on N validation bytes (default: 0, no rating)")
    p.add_argument("--raw", action="store_true", help="write the sampled bytes as they are, unescaped (default: off)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..compressors.generative import bits_per_byte, distribution, sample
    from ..data.corpus import embedded

    m1 = common.model(args.model) if args.compressor == "m1" or args.rate_bytes else None
    model = common.from_options(distribution, args.compressor, m1, args.context, args.level)
    prompt = args.prompt.encode()
    text = sample(model, prompt, args.bytes, args.temperature, args.seed, progress=True)
    if args.raw:
        common.write_stdout(prompt + text)
    else:
        sys.stdout.write(common.escape(prompt + text) + "\n")
    if args.rate_bytes:
        data = embedded("validation").documents[0].data[: args.rate_bytes]
        rated = {args.compressor: model}
        rated.setdefault("m1", distribution("m1", m1, args.context))
        for name, rate_model in rated.items():
            rate = bits_per_byte(rate_model, data, progress=True)
            print(f"{name}: {rate:.3f} bits/byte as a generative model on {len(data)} validation bytes", file=sys.stderr)
    return 0
