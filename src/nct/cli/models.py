"""``nct models``: the shipped M1 models, what they are and what they measured."""

from __future__ import annotations

import argparse

TORCH = False  # imported only where a model is used
NAME, HELP = "models", "the shipped M1 models: name, parameters, fingerprint, measured bits/byte and speed"


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser(NAME, help=HELP, description=HELP).set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models.shipped import models_table

    print(models_table())
    return 0
