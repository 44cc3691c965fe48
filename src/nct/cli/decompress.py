"""``nct decompress``: restore files from .nct archives, each checked against its stored checksum."""

from __future__ import annotations

import argparse
import sys

from ..errors import UsageError
from . import common
from .compress import add_io_options, check_io_options, output_name

TORCH = False  # imported only where a model is used
NAME, HELP = "decompress", "restore files from .nct archives (checked against their checksum; inputs are kept)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_io_options(p, compressing=False)
    p.add_argument("-t", "--test", action="store_true",
                   help="decode each archive and check it against its stored checksum; write nothing (default: off)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Decode every input (the model loaded once, only if an archive needs it)."""
    check_io_options(args)
    if args.test and (args.output or args.stdout):
        raise UsageError("-t writes nothing: leave out -o and -c")

    def one(source: str) -> None:
        from .. import api
        from ..compressors.base import needs_m1, uses_model

        out = None if args.test else output_name(args, source, compressing=False)
        if out is not None:
            common.refuse_existing(out, args.force)
        archive = common.read_input(source)
        header = api.inspect(archive)
        api.check_header(header)  # before any model is loaded for it
        if uses_model(header.method):
            common.torch_ready(header.length)
        model = common.model(args.model, args.device) if needs_m1(header.method) else None
        data = api.decompress(archive, model=model, progress=not args.quiet)
        if out is None:
            if not args.quiet:
                print(f"{source}: ok ({len(data)} bytes, SHA-256 {header.sha256[:12]}...)", file=sys.stderr)
        else:
            common.write_output(out, data, args.force)

    return 0 if common.each(args.inputs, one) else 1
