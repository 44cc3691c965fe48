"""Model inputs from token shards: examples cut into fixed-length pieces, each read from BOS."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..errors import UsageError
from .shards import Shards

Batch = tuple[torch.Tensor, torch.Tensor]
IGNORE = -100  # target id of padding positions: no loss (cross_entropy's ignore_index, as nct.models.transformer.IGNORE)


def pieces(shards: Shards, examples: Sequence[int], length: int) -> list[tuple[int, int]]:
    """(example, start) of every ``length``-token piece of the given examples."""
    return [(i, s) for i in examples for s in range(0, len(shards[i]), length)]


def to_batch(shards: Shards, chosen: Sequence[tuple[int, int]], length: int, bos: int) -> Batch:
    """Inputs (BOS, then the piece without its last token) and targets (the piece, padded with IGNORE)."""
    y = torch.full((len(chosen), length), IGNORE, dtype=torch.long)
    for r, (i, s) in enumerate(chosen):
        piece = torch.from_numpy(np.asarray(shards[i][s : s + length], dtype=np.int64))
        y[r, : len(piece)] = piece
    x = torch.cat([torch.full((len(chosen), 1), bos), y[:, :-1].clamp_min(0)], dim=1)
    return x, y


def sequence_batches(shards: Shards, examples: Sequence[int], length: int, batch_size: int, bos: int, seed: int):
    """``batches(step)``: deterministic in (seed, step); each epoch is a new seeded permutation."""
    all_pieces = pieces(shards, examples, length)
    if not all_pieces:
        raise UsageError("no training tokens in the shards")
    orders: dict[int, np.ndarray] = {}

    def batches(step: int) -> Batch:
        chosen = []
        for k in range(step * batch_size, (step + 1) * batch_size):
            epoch, j = divmod(k, len(all_pieces))
            if epoch not in orders:
                orders.clear()
                orders[epoch] = np.random.default_rng([seed, epoch]).permutation(len(all_pieces))
            chosen.append(all_pieces[orders[epoch][j]])
        return to_batch(shards, chosen, length, bos)

    return batches


def holdout(n_examples: int, fraction: float = 0.02) -> tuple[list[int], list[int]]:
    """(train, held-out) example indices: the last ``fraction`` of examples (at least one) is held out."""
    k = max(1, int(round(n_examples * fraction))) if n_examples > 1 else 0
    return list(range(n_examples - k)), list(range(n_examples - k, n_examples))
