"""M1's cached steps for one batch of sequences, split across forked processes.

Decoding a segment of ``cm`` is one lockstep loop: every step needs the bytes the last step
decoded, so only the M1 step inside it can run in parallel. Its rows are independent
(invariant 2, README: a row's CDFs do not depend on the batch), so the batch is cut into contiguous parts:
forked single-threaded children step the first ones and this process the last, each keeping its
own cache, and the CDFs come back over pipes (as int32: CDF values are below 2^24). A caller that
knows the children's rows' tokens first can ``send`` them early and work while the children step
(cm's decoder decodes those lanes first, then the rest while the children run). Two
single-threaded processes do not stall each other on a busy machine the way two threads of one
process do at every operation's barrier.
"""

from __future__ import annotations

import multiprocessing
from contextlib import contextmanager
from typing import Iterator, cast

import numpy as np

from ..parallel import available_workers, init_worker, one_thread, split_evenly
from .m1 import DEFAULT_FREQ_BITS, M1


class StepGroup:
    """``step(tokens)`` for ``batch`` sequences: like ``M1.step`` on one cache, in ``parts`` processes."""

    def __init__(self, model: M1, batch: int, parts: int, freq_bits: int = DEFAULT_FREQ_BITS):
        self.model, self.freq_bits = model, freq_bits
        self.slices = [slice(r.start, r.stop) for r in cast(list[range], split_evenly(range(batch), parts))]
        own = self.slices[-1]
        self.cache = model.start(own.stop - own.start)
        self.pipes, self.children = [], []
        ctx = multiprocessing.get_context("fork")
        for s in self.slices[:-1]:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(model, s.stop - s.start, freq_bits, child), daemon=True)
            p.start()
            child.close()
            self.pipes.append(parent)
            self.children.append(p)

    @property
    def children_rows(self) -> int:
        """How many rows, from the first, the children step (``send`` needs only their tokens)."""
        return self.slices[-1].start

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Integer CDFs [batch, 257] (int32: CDF values are below 2^24) of the next symbol after
        feeding ``tokens`` [batch]."""
        self.send(tokens)
        return self.finish(tokens)

    def send(self, tokens: np.ndarray) -> None:
        """Start the children's step on their rows of ``tokens`` (the first ``children_rows``)."""
        tokens = np.ascontiguousarray(tokens, np.int64)
        for pipe, s in zip(self.pipes, self.slices):
            pipe.send_bytes(tokens[s].tobytes())

    def finish(self, tokens: np.ndarray) -> np.ndarray:
        """This process's step on its rows of ``tokens`` after ``send``; every row's CDFs, as ``step``."""
        own = self.slices[-1]
        last = self.model.step(self.cache, np.ascontiguousarray(tokens[own], np.int64), self.freq_bits)
        out = np.empty((len(tokens), last.shape[1]), np.int32)
        out[own] = last
        for pipe, s in zip(self.pipes, self.slices):
            pipe.recv_bytes_into(out[s].data.cast("B"))
        return out

    def close(self) -> None:
        """Stop the children."""
        for pipe in self.pipes:
            try:
                pipe.send_bytes(b"")  # no tokens: the child exits
            except OSError:
                pass  # it is gone already
            pipe.close()
        for p in self.children:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()


def _serve(model: M1, batch: int, freq_bits: int, pipe) -> None:
    """A child's loop: tokens in, CDFs out, until an empty message (or the pipe's end)."""
    init_worker()
    cache = model.start(batch)
    try:
        while message := pipe.recv_bytes():
            tokens = np.frombuffer(message, np.int64)
            pipe.send_bytes(model.step(cache, tokens, freq_bits).astype(np.int32).tobytes())
    except (EOFError, OSError):
        pass


@contextmanager
def step_group(model: M1, batch: int, workers: int, freq_bits: int = DEFAULT_FREQ_BITS) -> Iterator[StepGroup]:
    """A ``StepGroup`` over at most ``workers`` processes (one per 16 rows at most: smaller parts
    cost more in hand-offs than they save), single-threaded in this process too while it lasts
    (a step's small operations gain little from threads and, on a busy machine, lose a lot)."""
    parts = max(1, min(workers, available_workers(), batch // 16))
    with one_thread():
        group = StepGroup(model, batch, parts, freq_bits)
        try:
            yield group
        finally:
            group.close()
