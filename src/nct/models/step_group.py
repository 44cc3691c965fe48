"""M1's cached steps for one batch of sequences, split across forked processes.

Decoding a segment of ``cm`` is one lockstep loop: every step needs the bytes the last step
decoded, so only the M1 step inside it can run in parallel. Its rows are independent (DESIGN
invariant 2: a row's CDFs do not depend on the batch), so the batch is cut into contiguous parts:
this process steps the first, forked single-threaded children step the others, each keeping its
own cache, and the CDFs come back over pipes (as int32: CDF values are below 2^24). Two
single-threaded processes do not stall each other on a busy machine the way two threads of one
process do at every operation's barrier.
"""

from __future__ import annotations

import multiprocessing
from contextlib import contextmanager
from typing import Iterator, cast

import numpy as np
import torch

from ..parallel import init_worker, available_workers, split_evenly
from .m1 import DEFAULT_FREQ_BITS, M1


class StepGroup:
    """``step(tokens)`` for ``batch`` sequences: like ``M1.step`` on one cache, in ``parts`` processes."""

    def __init__(self, model: M1, batch: int, parts: int, freq_bits: int = DEFAULT_FREQ_BITS):
        self.model, self.freq_bits = model, freq_bits
        self.slices = [slice(r.start, r.stop) for r in cast(list[range], split_evenly(range(batch), parts))]
        self.cache = model.start(self.slices[0].stop - self.slices[0].start)
        self.pipes, self.children = [], []
        ctx = multiprocessing.get_context("fork")
        for s in self.slices[1:]:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(model, s.stop - s.start, freq_bits, child), daemon=True)
            p.start()
            child.close()
            self.pipes.append(parent)
            self.children.append(p)

    def step(self, tokens: np.ndarray) -> np.ndarray:
        """Integer CDFs [batch, 257] (int32: CDF values are below 2^24) of the next symbol after
        feeding ``tokens`` [batch]."""
        tokens = np.ascontiguousarray(tokens, np.int64)
        for pipe, s in zip(self.pipes, self.slices[1:]):
            pipe.send_bytes(tokens[s].tobytes())
        first = self.model.step(self.cache, torch.from_numpy(tokens[self.slices[0]]), self.freq_bits).numpy()
        out = np.empty((len(tokens), first.shape[1]), np.int32)
        out[self.slices[0]] = first
        for pipe, s in zip(self.pipes, self.slices[1:]):
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
            pipe.send_bytes(model.step(cache, torch.from_numpy(tokens.copy()), freq_bits).numpy().astype(np.int32).tobytes())
    except (EOFError, OSError):
        pass


@contextmanager
def step_group(model: M1, batch: int, workers: int, freq_bits: int = DEFAULT_FREQ_BITS) -> Iterator[StepGroup]:
    """A ``StepGroup`` over at most ``workers`` processes (one per 16 rows at most: smaller parts
    cost more in hand-offs than they save), single-threaded in this process too while it lasts
    (a step's small operations gain little from threads and, on a busy machine, lose a lot)."""
    parts = max(1, min(workers, available_workers(), batch // 16))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    group = StepGroup(model, batch, parts, freq_bits)
    try:
        yield group
    finally:
        group.close()
        torch.set_num_threads(threads)
