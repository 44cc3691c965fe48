"""Process-parallel map over the CPU's cores, for coding and tokenizing independent pieces.

M1's steps are small tensor operations: two single-threaded processes outrun one two-threaded
process (its per-op overhead is not shared). Results are identical however the work is split, since
M1's CDFs do not depend on batch composition or thread count (invariant 2, README). Workers are
forked, so they inherit the model without pickling it; inside a worker, maps run inline.

Workers go quietly: they ignore Ctrl-C (the parent stops the pool) and, on Linux, are killed when
the parent dies (no traceback per worker for a broken result pipe). A worker's error, or the
parent's, kills the others at once; a worker killed from outside (out of memory) is a clear
``WorkerDied``, never a wait for a result that will not come. The pool is the standard library's
``ProcessPoolExecutor``: ``multiprocessing.Pool`` can hang for ever in ``terminate`` when an error
stops it while it is still handing out tasks (seen here about once in 140 such stops). Work below
``MIN_PARALLEL`` bytes runs inline: starting a pool costs more than it saves on a small input.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence, TypeVar

from .errors import WorkerDied

T = TypeVar("T")
R = TypeVar("R")

_TASK: tuple[Callable, Sequence] | None = None
_IN_WORKER = False
MIN_PARALLEL = 32 << 10  # bytes of work below which map_batches runs inline


def available_workers() -> int:
    """Worker processes to use: the thread budget (``set_threads``, ``nct --threads``), at most the
    cores this process may run on; 1 inside a worker, where fork is unavailable, or once this
    process uses CUDA (a forked child cannot, and the GPU runs a whole batch at once)."""
    if _IN_WORKER or "fork" not in multiprocessing.get_all_start_methods() or _uses_cuda():
        return 1
    return max(1, min(_cores(), threads()))


def _uses_cuda() -> bool:
    """Whether this process has initialized CUDA (without importing PyTorch for the question)."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_initialized()


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads() -> int:
    """The thread budget: PyTorch's thread count once it is imported, else what ``set_threads``
    asked for (default: the cores)."""
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # OpenMP allows a list: "4,2"
    return int(first) if first.isdigit() and int(first) > 0 else _cores()


def set_threads(n: int) -> None:
    """Give PyTorch ``n`` threads, now if it is imported, else when it is (it reads
    ``OMP_NUM_THREADS`` then): code that needs no PyTorch never imports it for this."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    else:
        os.environ["OMP_NUM_THREADS"] = str(n)


def worker_count(requested: int | None) -> int:
    """Processes to use: ``requested`` (None: every available core), at most the available cores."""
    return min(requested or available_workers(), available_workers())


@contextmanager
def one_thread() -> Iterator[None]:
    """PyTorch on one thread while this lasts (whether it is imported before, during or not at all),
    then as before."""
    count, env = threads(), os.environ.get("OMP_NUM_THREADS")
    set_threads(1)
    try:
        yield
    finally:
        if env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env
        if "torch" in sys.modules:  # imported before or during: back to its count before
            set_threads(count)


def split_evenly(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` cut into ``parts`` contiguous slices whose sizes differ by at most one."""
    parts = max(1, min(parts, len(items)))
    q, r = divmod(len(items), parts)
    bounds = [i * q + min(i, r) for i in range(parts + 1)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` in order, over ``workers`` forked single-threaded processes (inline for one)."""
    global _TASK
    workers = min(workers, len(items), available_workers())
    if workers <= 1:
        yield from map(fn, items)
        return
    _TASK = (fn, items)  # set before the pool forks (all at once, on the first task: fork is not spawned lazily)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=init_worker)
    try:
        yield from pool.map(_run, range(len(items)))
    except BrokenProcessPool as e:
        _kill(pool)
        raise WorkerDied(f"a worker process was killed before it finished ({e}); with less memory, try fewer workers (--threads)") from None
    except BaseException:  # a worker's error, Ctrl-C, or the caller stopping early: the rest is not needed
        _kill(pool)
        raise
    finally:
        _TASK = None
        pool.shutdown(wait=True, cancel_futures=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers now, busy or not (``ProcessPoolExecutor.kill_workers`` from Python 3.14)."""
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def map_batches(
    fn: Callable[[Sequence[T], Callable[[int], object] | None], R],
    items: Sequence[T],
    batch: int,
    workers: int,
    progress: Callable[[int], object] | None = None,
    size: Callable[[Any], int] = len,
) -> Iterator[R]:
    """``fn(piece, progress)`` over pieces of at most ``batch`` items, as many pieces per round as
    workers, results in order. ``progress`` gets fine-grained updates from ``fn`` when it runs inline
    and the ``size`` of every item of a piece when that piece comes back from a worker."""
    if not items:
        return
    workers = min(workers, available_workers()) if sum(map(size, items)) >= MIN_PARALLEL else 1
    rounds = -(-len(items) // (batch * workers))
    pieces = split_evenly(items, rounds * workers)
    inline = progress if workers == 1 else None
    for piece, result in zip(pieces, parallel_map(lambda piece: fn(piece, inline), pieces, workers)):
        if progress is not None and inline is None:
            progress(sum(map(size, piece)))
        yield result


def serial() -> None:
    """Run every map of this process inline from now on, on one thread: for a process that is one
    worker of a pool already (a Ray actor)."""
    global _IN_WORKER
    _IN_WORKER = True
    set_threads(1)


def init_worker() -> None:
    """One thread per worker process; nested maps run inline; Ctrl-C is the parent's to handle,
    and the worker dies with its parent."""
    serial()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGKILL to this process when its parent exits."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent is already gone
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _run(index: int):
    """Apply the inherited task's function to its ``index``-th item."""
    assert _TASK is not None, "set by parallel_map before the pool forks"
    fn, items = _TASK
    return fn(items[index])
