"""The ``nct`` command line: one module per subcommand, each registering its parser beside its
handler (``register(subparsers)``, ``run(args) -> exit status``); shared option groups and checked
input/output in ``nct.cli.common``.

Only the CLI knows argparse: handlers turn options into the library's typed parameters. Errors:
an ``nct.errors.NctError`` is printed as one line (``nct: error: ...``) with exit status 1; any
other exception is a bug and shows its traceback; ``--debug`` shows the traceback always.
Start-up is kept light: only the chosen subcommand's parser is built, and nothing imports PyTorch
until a command needs it (``nct --help``, ``nct info`` and the classical methods never do).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import traceback

from ..errors import NctError
from . import common
from .common import positive

# subcommand -> module (in the order ``nct --help`` lists them)
COMMANDS = {
    "compress": "compress", "decompress": "decompress", "info": "info", "models": "models", "bench": "bench",
    "tokenize": "tokenize", "compression-table": "compression_table", "train-m2": "train_m2", "eval-m2": "eval_m2",
    "generate": "generate", "sample": "sample", "reproduce": "reproduce", "analyze": "analyze", "report": "report",
    "scaling": "scaling", "corpus": "corpus", "train-m1": "train_m1",
}


def _module(command: str):
    return importlib.import_module(f"{__name__}.{COMMANDS[command]}")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser: every subcommand listed; the full options of the one ``argv`` names (of all of
    them when ``argv`` is None)."""
    p = argparse.ArgumentParser(prog="nct", description="Neurally compressed text: LMs as exact lossless compressors.")
    p.add_argument("--threads", type=positive, default=None,
                   help="CPU threads for PyTorch, and processes for block coding (default: all cores)")
    p.add_argument("--debug", action="store_true", help="show the traceback of every error (default: off)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _command(argv) if argv is not None else None
    for name in COMMANDS:
        if argv is None or name == chosen:
            _module(name).register(sub)
        else:  # listed for --help; its options are built only when it is the one run
            sub.add_parser(name, help=_module(name).HELP, add_help=False)
    return p


def _command(argv: list[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not a global option or its value."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--threads":
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


class _Terminated(BaseException):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so that temporary files are removed."""


def _on_signal(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nct`` command."""
    as_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command(argv)
    debug = "--debug" in argv[: argv.index(command) if command is not None else len(argv)]
    before = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        args = build_parser(argv).parse_args(argv)
        common.THREADS, common.DEBUG = args.threads, debug
        if getattr(_module(args.command), "TORCH", True):  # compress, decompress, info...: only if a model is used
            common.torch_ready()
        return args.func(args) or 0
    except NctError as e:
        if debug:
            traceback.print_exc()
        print(f"nct: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # stdout closed while printing text (nct info | head -1)
        _silence_stdout()
        print("nct: error: stdout: broken pipe (the reader closed it)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("nct: interrupted", file=sys.stderr)
        if as_program:  # the interpreter's shutdown (atexit handlers of half-imported libraries) is
            _exit_now(130)  # not interruptible cleanly: a late SIGINT there would exit with -2
        return 130
    except _Terminated as e:
        print(f"nct: terminated by signal {e.args[0]}", file=sys.stderr)
        return 128 + e.args[0]
    finally:  # main may run inside another program (the tests)
        for sig, handler in before.items():
            signal.signal(sig, handler)
        if as_program:  # the work is done (or undone): Ctrl-C during the interpreter's shutdown
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # must not turn its exit status into -2


def _exit_now(code: int) -> None:
    """Flush what was written and end the process at once (temporary files are already gone)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
