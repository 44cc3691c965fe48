"""``nct info``: an archive's header (after its framing, checksum and schema are checked)."""

from __future__ import annotations

import argparse
import json

from . import common

TORCH = False  # imported only where a model is used
NAME, HELP = "info", "show archives' headers as JSON (method, parameters, model fingerprint, length, SHA-256)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("inputs", nargs="+", help="archives ('-' for stdin); a bad one is reported and the rest are still shown")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import inspect

    def one(source: str) -> None:
        print(json.dumps({"file": source, **inspect(common.read_input(source)).__dict__}, indent=2))

    return 0 if common.each(args.inputs, one) else 1
