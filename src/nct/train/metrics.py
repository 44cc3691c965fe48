"""Evaluating an M2 as the paper does: held-out bits/byte, FLOPs/byte, bytes per decoding step, and
the trivial baselines (a uniform and a unigram model over the same tokens). Training evaluates with
these as it goes and reports them at the end, so they live here, below ``nct.eval``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch

from ..data.shards import Manifest, Shards
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
    # by a token's position inside its Equal-Info window (one position for other methods):
    position_accuracy: list[float] = field(default_factory=list)  # top-1 accuracy
    position_bits: list[float] = field(default_factory=list)  # mean loss, bits per token


def window_tokens(manifest: Manifest) -> int:
    """Tokens per Equal-Info window (b / token bits); 1 for every other method."""
    p = manifest.params
    return max(1, p["bits"] // p["token_bits"]) if manifest.method == "equal-info" else 1


@torch.no_grad()
def evaluate(model: Transformer, shards: Shards, examples: Sequence[int], batch_size: int = 16) -> Evaluation:
    """Summed loss of every held-out token (each piece read from BOS) over the examples' text bytes,
    and accuracy and loss by position inside a window (pieces start at window boundaries)."""
    model.eval()
    length, window = model.cfg.context, window_tokens(shards.manifest)
    position = torch.arange(length) % window
    chosen = pieces(shards, examples, length)
    nll, correct, count = (torch.zeros(window, dtype=torch.float64) for _ in range(3))
    for k in range(0, len(chosen), batch_size):
        x, y = to_batch(shards, chosen[k : k + batch_size], length, model.cfg.bos)
        logits = model(x).float()
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y.to(logits.device), ignore_index=IGNORE, reduction="none").cpu()
        predicted = logits.argmax(-1).cpu()
        mask = y != IGNORE
        pos = position.expand_as(y)[mask]
        nll.index_add_(0, pos, loss[mask].double())
        correct.index_add_(0, pos, (predicted == y)[mask].double())
        count.index_add_(0, pos, torch.ones_like(pos, dtype=torch.float64))
    n_bytes = int(sum(shards.lengths[i] for i in examples))
    n_tokens = int(count.sum())
    model.train()
    seen = count.clamp_min(1)
    return Evaluation(
        bits_per_byte=nll.sum().item() / math.log(2) / max(1, n_bytes),
        bits_per_token=nll.sum().item() / math.log(2) / max(1, n_tokens),
        bytes_per_token=n_bytes / max(1, n_tokens),
        tokens=n_tokens,
        bytes=n_bytes,
        position_accuracy=(correct / seen).tolist(),
        position_bits=(nll / seen / math.log(2)).tolist(),
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
