"""What the subcommands share: option groups defined once, argument types, checked input and
output, and the model loaded once per run. Only the standard library is imported here, so that
building the parser (``nct --help``) stays fast."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InputError, NctError, OutputError, UsageError

T = TypeVar("T")
MODEL_HELP = ("M1: a shipped model's name (default, tiny; see nct models) or a model file (default: default); "
              "or smollm2, the pretrained LLM (method llm; pip install 'nct[llm]')")


# ----- argument types ----------------------------------------------------------------------------
def _bounded_int(lo: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be {what}, not {value}")
        return value

    parse.__name__ = f"integer {what}"
    return parse


positive = _bounded_int(1, "at least 1")
non_negative = _bounded_int(0, "at least 0")


def non_negative_float(text: str) -> float:
    """A float >= 0 (a temperature, a fraction)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {text}")
    return value


# ----- option groups -----------------------------------------------------------------------------
def add_model(p: argparse.ArgumentParser, what: str = MODEL_HELP) -> None:
    """``--model``: which M1 (a shipped name or a model file)."""
    p.add_argument("--model", help=what)


def add_engine(p: argparse.ArgumentParser, what: str, actors: str = "one per CPU") -> None:
    """``--engine`` (local or ray), and the Ray cluster's ``--address`` and ``--actors`` (read by ``ray_config``)."""
    p.add_argument("--engine", default="local", choices=["local", "ray"],
                   help=f"local: this machine's cores; ray: a Ray cluster, {what} (pip install 'nct[ray]') (default: local)")
    p.add_argument("--address", default=None,
                   help="with --engine ray: a running cluster (auto, HOST:PORT, ray://HOST:PORT) (default: start one on this machine)")
    p.add_argument("--actors", type=positive, default=None, help=f"with --engine ray: how many actors (default: {actors})")


def ray_config(args: argparse.Namespace, **options: Any) -> Any:
    """The ``RayConfig`` of ``--engine ray`` (with ``options``), None for the local engine."""
    if args.engine == "local":
        if args.address or args.actors:
            raise UsageError("--address and --actors are options of --engine ray")
        return None
    from ..cluster import RayConfig

    return RayConfig(address=args.address, actors=args.actors, **options)


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device``: where M1 runs (``model``'s ``device``)."""
    p.add_argument("--device", default="cpu",
                   help="where M1 runs: cpu (its compiled CPU engine), or a PyTorch device such as cuda or cuda:1 (its portable "
                   "engine: the same bytes, archives decode on either) (default: cpu)")


def add_training(p: argparse.ArgumentParser, steps: int, batch_size: int, lr: float = 2e-3, full: bool = True) -> None:
    """The training options (read by ``train_config``); ``full``: also schedule, dtype, device, evaluation."""
    p.add_argument("--steps", type=positive, default=steps, help=f"training steps (default: {steps})")
    p.add_argument("--batch-size", type=positive, default=batch_size, help=f"sequences per step (default: {batch_size})")
    p.add_argument("--lr", type=float, default=lr, help=f"peak learning rate (default: {lr:g})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    if not full:
        return
    p.add_argument("--warmup", type=non_negative, default=None,
                   help="learning-rate warm-up steps (default: 200, or a tenth of --steps when that is fewer)")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "rsqrt"], help="cosine, or rsqrt: the papers' schedule (default: cosine)")
    p.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16"], help="auto: bf16 where it is fast (default: auto)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="auto: CUDA if present, one GPU per torchrun process (default: auto)")
    p.add_argument("--eval-every", type=positive, default=250, help="validation and checkpoint interval in steps (default: 250)")


def train_config(args: argparse.Namespace) -> Any:
    """The ``TrainConfig`` of the training options; an explicit --warmup is used as given."""
    from ..train.loop import TrainConfig

    warmup = args.warmup if args.warmup is not None else min(200, max(1, args.steps // 10))
    return TrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup=warmup, schedule=args.schedule,
        dtype=args.dtype, device=args.device, eval_every=args.eval_every, checkpoint_every=args.eval_every, seed=args.seed,
    )


def from_options(build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``build(...)`` of values the user gave: a ValueError it raises (a config's own checks,
    a size it cannot parse) is a usage error, a missing file it was given an input error."""
    try:
        return build(*args, **kwargs)
    except FileNotFoundError as e:
        if isinstance(e, NctError):
            raise
        raise InputError(f"{e.filename or e}: no such file") from None
    except ValueError as e:
        if isinstance(e, NctError):
            raise
        raise UsageError(str(e)) from None


def split_list(text: str) -> list[str]:
    """A comma-separated option as a list (blanks dropped)."""
    return [s.strip() for s in text.split(",") if s.strip()]


# ----- PyTorch and the model, set up once ---------------------------------------------------------
THREADS: int | None = None  # nct --threads
DEBUG = False  # nct --debug
_MODELS: dict[tuple[str | None, str], Any] = {}


SMALL = 32 << 10  # inputs below this are coded on one thread (as nct.parallel.MIN_PARALLEL)


def torch_ready(length: int | None = None) -> None:
    """Give PyTorch ``--threads`` threads (default: the cores, shared by the torchrun processes of
    this machine; one for an input of fewer than ``SMALL`` bytes, where thread hand-offs cost more
    than they save), importing it, except for such a small input: M1 codes that with its compiled
    steps, without PyTorch, whose import is most of a small file's time. Commands call this
    before they first need PyTorch (``nct.parallel.set_threads`` applies it when it is imported)."""
    from ..parallel import set_threads

    processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # as nct.train.distributed.processes_per_node
    small = length is not None and length < SMALL
    if not small:
        import torch  # noqa: F401  (now, so that every later use finds it set up)
    set_threads(THREADS or (1 if small else max(1, (os.cpu_count() or 1) // processes)))


def model(name: str | None, device: str = "cpu") -> Any:
    """The M1 ``--model`` names (None: the shipped default), loaded once per run, run on ``--device``."""
    if (name, device) not in _MODELS:
        from ..api import load_model

        _MODELS[(name, device)] = load_model(name, None if device == "cpu" else device)
    return _MODELS[(name, device)]


def existing_dir(path: str | Path, what: str) -> Path:
    """``path`` if it is a directory, else InputError naming ``what``."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{path}: no such {what}" if not p.exists() else f"{path}: not a directory ({what})")
    return p


# ----- input and output --------------------------------------------------------------------------
def read_input(path: str) -> bytes:
    """Bytes of a file, or of stdin for '-'."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        p = Path(path)
        if p.is_dir():
            raise InputError(f"{path}: is a directory")
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None


def write_stdout(data: bytes) -> None:
    """All of ``data`` to standard output, or OutputError: a short write, a closed pipe, a full
    disk or a file-size limit is never silent. Written to the descriptor, counting what the
    kernel took; anything Python buffered for stdout is flushed first."""
    try:
        sys.stdout.flush()
        view, fd = memoryview(data), sys.stdout.fileno()
        while view:
            n = os.write(fd, view[: 1 << 20])
            if n <= 0:
                raise OutputError("stdout: short write")
            view = view[n:]
    except OSError as e:
        raise OutputError(f"stdout: {_why(e)}") from None


def write_file(path: str, data: bytes, force: bool) -> None:
    """Write atomically (temporary file, then rename); never clobber without ``force``."""
    from ..util import atomic_path

    refuse_existing(path, force)
    p = Path(path)
    if not p.parent.is_dir():
        raise OutputError(f"{p.parent}: no such directory")
    if not os.access(p.parent, os.W_OK):
        raise OutputError(f"{p.parent}: directory is not writable")
    try:
        with atomic_path(p) as tmp, open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise OutputError(f"{p.parent}: directory is not writable") from None
        raise OutputError(f"{path}: cannot write ({_why(e)})") from None


def write_output(path: str, data: bytes, force: bool) -> None:
    """``data`` to ``path``, or to stdout for '-'."""
    if path == "-":
        write_stdout(data)
    else:
        write_file(path, data, force)


def refuse_existing(path: str, force: bool) -> None:
    """Fail early, before any work, if an output exists and may not be overwritten."""
    if path != "-" and Path(path).exists() and not force:
        raise OutputError(f"{path}: already exists (use --force to overwrite)")


def _why(e: OSError) -> str:
    """An OSError in words: the usual write failures by name."""
    known = {errno.EPIPE: "broken pipe (the reader closed it)", errno.ENOSPC: "no space left on device",
             errno.EFBIG: "file too large (a file-size limit?)", errno.EDQUOT: "disk quota exceeded"}
    return known.get(e.errno or 0, e.strerror or str(e))


def each(items: Iterable[T], work: Callable[[T], None], label: Callable[[T], str] = str) -> bool:
    """``work(item)`` for every item, going on past one that fails with an NctError (reported as
    one line, prefixed with the item); False if any failed. Writing to stdout stops the loop: a
    closed pipe ends the run."""
    ok = True
    for item in items:
        try:
            work(item)
        except OutputError as e:
            if str(e).startswith("stdout:"):
                raise
            report(e)
            ok = False
        except NctError as e:
            text = str(e)
            name = label(item)
            if not text.startswith(f"{name}:"):
                e.args = (f"{name}: {text}",)  # the same exception (and traceback), named by its input
            report(e)
            ok = False
    return ok


def report(e: BaseException) -> None:
    """One line on stderr (after the traceback, with --debug)."""
    if DEBUG:
        import traceback

        traceback.print_exception(e)
    print(f"nct: error: {e}", file=sys.stderr)


def warn(text: str) -> None:
    """A warning line on stderr."""
    print(f"nct: warning: {text}", file=sys.stderr)


def escape(data: bytes) -> str:
    """Text for a terminal: UTF-8 where valid, anything else (invalid bytes, control characters
    other than newline and tab) as backslash escapes."""
    text = data.decode("utf-8", errors="backslashreplace")
    return "".join(c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode("ascii") for c in text)
