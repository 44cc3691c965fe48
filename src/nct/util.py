"""Small shared helpers: atomic file output, markdown tables, contained decoding."""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it over ``final`` only if the block succeeds.

    Nothing half-written is ever left at ``final``; the temporary file is removed on failure.
    """
    final = Path(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def markdown_table(head: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A markdown table: a header row, a rule, then the rows (cells as given). ``align``: a letter
    a column, ``r`` for right-aligned, anything else (or nothing) for the default."""
    rule = "".join("---:|" if a == "r" else "---|" for a in align.ljust(len(head)))
    lines = ["| " + " | ".join(head) + " |", "|" + rule]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


class ContainedFailure(Exception):
    """What went wrong in ``run_contained``'s child: an exception, the memory limit or the time limit."""


def run_contained(fn: Callable[[], bytes], limit: int, seconds: float, memory: int = 512 << 20) -> bytes:
    """``fn()`` run in a forked child process that may map ``memory`` more bytes than this process
    and run ``seconds``; its result must be at most ``limit`` bytes. For code that decodes untrusted
    input without bounds of its own (libzpaq). Any failure in the child raises ``ContainedFailure``
    with its message. Where there is no fork, ``fn`` runs here."""
    import multiprocessing
    import select
    import signal

    if "fork" not in multiprocessing.get_all_start_methods():
        return fn()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(r)
            _limit_memory(memory)
            try:
                out, status = fn(), b"\x00"
            except BaseException as e:  # noqa: BLE001 - every failure goes back to the parent as a message
                out, status = (str(e) or type(e).__name__).encode(errors="replace")[:500], b"\x01"
            with os.fdopen(w, "wb") as f:
                f.write(status + out)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks, size, deadline = [], 0, time.monotonic() + seconds
    try:
        with os.fdopen(r, "rb", buffering=0) as f:
            while size <= limit + 1:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([f], [], [], left)[0]:
                    raise ContainedFailure(f"took longer than {seconds:.0f} s")
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    out = b"".join(chunks)
    if not out:
        raise ContainedFailure(f"ran out of memory (more than {memory >> 20} MiB) or crashed")
    if out[0] != 0:
        raise ContainedFailure(out[1:].decode(errors="replace"))
    if len(out) - 1 > limit:
        raise ContainedFailure(f"gave more than {limit} bytes")
    return out[1:]


def _limit_memory(extra: int) -> None:
    """Limit this process's address space to what it maps now plus ``extra`` bytes (Linux)."""
    try:
        import resource

        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, mapped + extra))
    except (OSError, ValueError, ImportError):
        pass
