"""Data-parallel training over the processes ``torchrun`` starts (``torch.distributed``).

Every process builds the same global batch and trains on its own rows of it (rank r takes rows
r, r + world, ...); DistributedDataParallel averages the gradients. Losses are sums divided by the
global batch's target count, scaled by the world size, so the averaged gradient is the gradient
of the global batch's mean loss: a run over any number of processes follows the single-process
run up to float summation order. Process 0 evaluates, shows progress and writes checkpoints.

    torchrun --nproc-per-node 2 -m nct train-m2 --shards shards/eqi16 --out runs/eqi16
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.distributed as dist


def launched() -> bool:
    """Whether ``torchrun`` started this process (with any number of processes, one too: the
    distributed path then runs, NCCL on a GPU, over a world of one)."""
    return "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def backend() -> dict | None:
    """The process group's backend and size, or None outside one (recorded with a run)."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return {"backend": str(dist.get_backend()), "world": dist.get_world_size()}


def local_rank() -> int:
    """This process's index on its machine (0 without torchrun): which GPU it takes."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def processes_per_node() -> int:
    """Processes ``torchrun`` started on this machine (1 without torchrun)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


@contextmanager
def process_group() -> Iterator[None]:
    """Join the process group of a ``torchrun`` launch for the duration (NCCL for CUDA tensors where
    there are GPUs, gloo for CPU tensors); nothing without torchrun."""
    if not launched() or dist.is_initialized():
        yield
        return
    dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, number of processes): (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process writes outputs (rank 0)."""
    return rank_and_world()[0] == 0


def local_rows(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This process's rows of a global batch."""
    if len(batch) % world:
        raise ValueError(f"batch size {len(batch)} is not a multiple of the {world} training processes")
    return batch[rank::world]


def all_sum(value: torch.Tensor) -> torch.Tensor:
    """The sum of ``value`` over all processes (``value`` itself outside a process group)."""
    if rank_and_world()[1] == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total
