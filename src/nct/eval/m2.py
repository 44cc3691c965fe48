"""Evaluating an M2 as the paper does: held-out bits/byte, FLOPs/byte, bytes per decoding step, and
the trivial baselines (a uniform and a unigram model over the same tokens)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch

from ..data.shards import Shards
from ..models.transformer import IGNORE, Transformer
from ..data.sequences import pieces, to_batch


@dataclass
class Evaluation:
    """Held-out figures of an M2."""

    bits_per_byte: float
    bits_per_token: float
    bytes_per_token: float
    tokens: int
    bytes: int


@torch.no_grad()
def evaluate(model: Transformer, shards: Shards, examples: Sequence[int], batch_size: int = 16) -> Evaluation:
    """Summed loss of every held-out token (each piece read from BOS) over the examples' text bytes."""
    model.eval()
    length = model.cfg.context
    chosen = pieces(shards, examples, length)
    nll, n_tokens = 0.0, 0
    for k in range(0, len(chosen), batch_size):
        x, y = to_batch(shards, chosen[k : k + batch_size], length, model.cfg.bos)
        logits = model(x).float()
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y, ignore_index=IGNORE, reduction="sum")
        nll += loss.item()
        n_tokens += int((y != IGNORE).sum())
    n_bytes = int(sum(shards.lengths[i] for i in examples))
    model.train()
    return Evaluation(
        bits_per_byte=nll / math.log(2) / max(1, n_bytes),
        bits_per_token=nll / math.log(2) / max(1, n_tokens),
        bytes_per_token=n_bytes / max(1, n_tokens),
        tokens=n_tokens,
        bytes=n_bytes,
    )


def trivial_baselines(train: Shards, train_idx: Sequence[int], held: Shards, held_idx: Sequence[int]) -> dict[str, float]:
    """Bits/byte on the held-out tokens of a uniform model and of a unigram model (add-one counts
    of the training tokens): the paper's trivial-model table."""
    v = train.manifest.vocab_size
    counts = np.ones(v, dtype=np.float64)
    for i in train_idx:
        counts += np.bincount(np.asarray(train[i]), minlength=v)
    logp = np.log2(counts / counts.sum())
    tokens = np.concatenate([np.asarray(held[i]) for i in held_idx]) if held_idx else np.zeros(0, np.int64)
    n_bytes = max(1, int(sum(held.lengths[i] for i in held_idx)))
    return {"uniform": len(tokens) * math.log2(v) / n_bytes, "unigram": float(-logp[tokens].sum()) / n_bytes}


def flops_per_byte(non_embedding_params: int, bytes_per_token: float, m1_non_embedding_params: int = 0) -> float:
    """The paper's inference cost: 2 x M2's non-embedding parameters per token / bytes per token,
    plus 2 x M1's per byte for methods that run M1 (AC, EqualInfoAC)."""
    return 2 * non_embedding_params / bytes_per_token + 2 * m1_non_embedding_params


def m1_cost(manifest_extra: dict) -> int:
    """Non-embedding parameters of the M1 a method runs at inference (0 for methods without M1)."""
    return int(manifest_extra.get("m1_non_embedding_params", 0))


def m2_report(model: Transformer, shards: Shards, train_idx, held: Shards, held_idx, log: list) -> dict:
    """Everything the paper reports for one M2: held-out bits/byte, FLOPs/byte, bytes per decoding
    step, the trivial baselines, and where it came from."""
    ev = evaluate(model, held, held_idx)
    m = shards.manifest
    steps = log[-1]["step"] if log else 0
    return {
        "method": m.method,
        "tokenizer": m.extra.get("tokenizer", m.method),
        "params": m.params,
        "vocab_size": m.vocab_size,
        "m1": m.m1,
        "config": model.cfg.to_dict(),
        "non_embedding_params": model.non_embedding_params(),
        "evaluation": asdict(ev),
        "bits_per_byte": ev.bits_per_byte,
        "flops_per_byte": flops_per_byte(model.non_embedding_params(), ev.bytes_per_token, m1_cost(m.extra)),
        "bytes_per_step": ev.bytes_per_token,
        "baselines": trivial_baselines(shards, train_idx, held, held_idx),
        "steps": steps,
        "log": log,
    }
