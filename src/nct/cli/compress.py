"""``nct compress``: files into verified .nct archives, with gzip's and xz's habits."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from . import common

TORCH = False  # imported only where a model is used
NAME, HELP = "compress", "compress files into .nct archives (inputs are kept)"
SUFFIX = ".nct"
# hf (a Hugging Face LM) is for `nct bench --model hf:PATH` only: its float probabilities are
# reproducible on one machine, not across machines, so it makes no archives. png and flac are
# bench's image and audio baselines: they read bytes as pixels or samples, which suits no file.
NOT_OFFERED = ("hf", "png", "flac")


def add_io_options(p: argparse.ArgumentParser, compressing: bool) -> None:
    """The options compress and decompress share."""
    what = "files to compress" if compressing else "archives"
    p.add_argument("inputs", nargs="+", help=f"{what} ('-' for stdin); a bad one is reported and the rest are still done")
    default = "INPUT.nct" if compressing else "INPUT without .nct"
    p.add_argument("-o", "--output", help=f"output path ('-' for stdout; one input only) (default: {default})")
    p.add_argument("-c", "--stdout", action="store_true", help="write to standard output, as -o - (default: off)")
    p.add_argument("-k", "--keep", action="store_true",
                   help="keep the inputs, accepted for gzip's habit (default: kept; unlike gzip, nct never deletes them)")
    p.add_argument("-f", "--force", action="store_true",
                   help="overwrite existing outputs" + (", and write an archive to a terminal" if compressing else "") + " (default: off)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary (default: off)")
    common.add_model(p, common.MODEL_HELP if compressing else
                     "the M1 the archives were made with: a shipped name (default, tiny) or a model file (default: default)")
    common.add_device(p)


def register(sub: argparse._SubParsersAction) -> None:
    from ..compressors.base import BUILTIN

    p = sub.add_parser(NAME, help=HELP, description=HELP + "; -d decompresses")
    add_io_options(p, compressing=True)
    p.add_argument("-d", "--decompress", action="store_true", help="decompress instead (as nct decompress) (default: off)")
    p.add_argument("-t", "--test", action="store_true", help="with -d: decode and check against the stored checksum, write nothing (default: off)")
    methods = [m for m in sorted(BUILTIN) if m not in NOT_OFFERED]
    p.add_argument("--method", choices=methods,
                   help="compression method (default: cm = M1 mixed with adaptive context and match models; "
                        "llm with --model smollm2, the pretrained LLM run by nct's exact engine)")
    p.add_argument("--block", type=common.positive,
                   help="bytes per block M1 codes from BOS (default: 1024 for cm and ac, 4096 for static-ac); "
                        "for llm, tokens per block (default: 1024, at most 2047)")
    p.add_argument("--no-match", action="store_true",
                   help="for llm: the LLM alone, without the match model, a token n-gram over everything coded "
                        "before that is mixed into the LLM's predictions (default: with it)")
    p.add_argument("--verify", action="store_true",
                   help="decode each archive and compare it with the input before writing it (default: off)")
    p.set_defaults(func=run)


def output_name(args: argparse.Namespace, source: str, compressing: bool) -> str:
    """The output path: -o, '-' for -c or stdin, or the input's name with .nct added / removed."""
    if args.output:
        return args.output
    if args.stdout or source == "-":
        return "-"
    if compressing:
        return source + SUFFIX
    if not source.endswith(SUFFIX):
        raise UsageError(f"{source}: does not end in {SUFFIX}; name the output with -o")
    return source[: -len(SUFFIX)]


def check_io_options(args: argparse.Namespace) -> None:
    """Combinations that cannot work, refused before any input is read."""
    if args.output and len(args.inputs) > 1:
        raise UsageError("-o names one output; give one input with it")
    if args.output and args.stdout:
        raise UsageError("give -o or -c, not both")
    if args.inputs.count("-") > 1:
        raise UsageError("stdin ('-') can be read only once")


def run(args: argparse.Namespace) -> int:
    """nct compress (or, with -d, nct decompress)."""
    if args.decompress:
        from .decompress import run as decompress

        return decompress(args)
    if args.test:
        raise UsageError("-t tests archives: give it with -d (or use nct decompress -t)")
    check_io_options(args)
    if args.stdout and len(args.inputs) > 1:
        raise UsageError("-c with several inputs would write archives one after another, which nct cannot decode; give one")
    from ..api import resolve_method
    from ..compressors.base import needs_m1, uses_model
    from ..compressors.params import PARAMS

    args.method = resolve_method(args.method, args.model)
    params = {"block": args.block} if args.block is not None else {}
    blocked = [m for m, p in PARAMS.items() if "block" in p]
    if params and args.method not in blocked:
        raise UsageError(f"--block applies to {', '.join(blocked)}, not {args.method}")
    if args.no_match:
        if args.method != "llm":
            raise UsageError(f"--no-match applies to llm (--model smollm2), not {args.method}")
        params["match"] = 0
    to_stdout = args.stdout or args.output == "-" or "-" in args.inputs and not args.output
    if to_stdout and not args.force and sys.stdout.isatty():
        raise UsageError("compressed data not written to a terminal (redirect it, or use -f to force)")

    def one(source: str) -> None:
        from .. import api

        out = output_name(args, source, compressing=True)
        common.refuse_existing(out, args.force)
        data = common.read_input(source)
        if uses_model(args.method):
            common.torch_ready(len(data))
        model = common.model(args.model, args.device) if needs_m1(args.method) else None
        if args.method == "llm":
            model, params["device"] = args.model, args.device or "cpu"
        archive = api.compress(data, args.method, model, check=args.verify, progress=not args.quiet, **params)
        common.write_output(out, archive, args.force)
        if not args.quiet and out != "-":
            bpb = 8 * len(archive) / len(data) if data else 0.0
            checked = ", verified" if args.verify else ""
            print(f"{source}: {len(data)} -> {len(archive)} bytes ({bpb:.3f} bits/byte{checked})", file=sys.stderr)
        if len(data) >= 4096 and len(archive) > len(data) and args.method in ("ac", "static-ac"):
            common.warn(f"{source}: the archive is larger than the input (the model expects text like "
                        "its training text); --method xz suits other data")

    return 0 if common.each(args.inputs, one) else 1


