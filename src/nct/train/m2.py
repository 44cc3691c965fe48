"""M2: a language model over token shards (any method), with the paper's metrics.

Sequences: every example's tokens are cut into pieces of ``context`` tokens, each read from BOS
(positions past the end of a short piece are padding and carry no loss); an epoch visits all
pieces in a seeded order. Held-out examples give bits/byte as the paper defines it: tokens/bytes x
loss per token / ln 2, i.e. the summed loss of the held-out tokens divided by their text bytes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..data.shards import Shards
from ..models.transformer import IGNORE, Transformer, TransformerConfig
from ..models.sizes import m2_config
from .loop import Batch, TrainConfig, train


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
        raise ValueError("no training tokens in the shards")
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


def train_m2(
    shards_dir: str | Path,
    size: str | TransformerConfig,
    run_dir: str | Path,
    train_cfg: TrainConfig,
    eval_dir: str | Path | None = None,
    context: int | None = None,
) -> tuple[Transformer, dict]:
    """Train an M2 on a shard directory and write ``run_dir/report.json`` with the paper's metrics.
    Held out: ``eval_dir`` shards if given, else the last 2% of the examples."""
    shards = Shards(shards_dir)
    shards.check()
    if eval_dir:
        eval_shards = Shards(eval_dir)
        train_idx, eval_idx = list(range(len(shards))), list(range(len(eval_shards)))
    else:
        train_idx, eval_idx = holdout(len(shards))
        eval_shards = shards
    if isinstance(size, str):
        cfg = m2_config(size, shards.manifest.vocab_size, context)
    else:
        cfg = replace(size, vocab_size=shards.manifest.vocab_size)
    torch.manual_seed(train_cfg.seed)
    model = Transformer(cfg)
    batches = sequence_batches(shards, train_idx, cfg.context, train_cfg.batch_size, cfg.bos, train_cfg.seed)
    tokens_to_bytes = shards.manifest.n_tokens / max(1, shards.manifest.n_bytes)
    log = train(
        model, batches, lambda m: evaluate(m, eval_shards, eval_idx).bits_per_byte, train_cfg, run_dir,
        description=f"train-m2 {shards.manifest.extra.get('tokenizer', shards.manifest.method)}", tokens_to_bytes=tokens_to_bytes,
    )
    report = m2_report(model, shards, train_idx, eval_shards, eval_idx, log)
    (Path(run_dir) / "report.json").write_text(json.dumps(report, indent=2))
    return model, report


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
