"""Training M2, a language model over token shards of any method (metrics: ``nct.train.metrics``).

Sequences: every example's tokens are cut into pieces of ``context`` tokens, each read from BOS
(positions past the end of a short piece are padding and carry no loss); an epoch visits all
pieces in a seeded order. The last 2% of examples are held out unless other shards are given.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch

from ..data.sequences import holdout, sequence_batches
from ..data.shards import Shards
from .metrics import Evaluation, evaluate, m2_report
from ..models.sizes import m2_config
from ..models.transformer import Transformer, TransformerConfig
from .distributed import backend, is_main
from .loop import TrainConfig, train


def train_m2(
    shards_dir: str | Path,
    size: str | TransformerConfig,
    run_dir: str | Path,
    train_cfg: TrainConfig,
    eval_dir: str | Path | None = None,
    context: int | None = None,
) -> tuple[Transformer, dict]:
    """Train an M2 on a shard directory and write ``run_dir/report.json`` with the paper's metrics.
    Held out: ``eval_dir`` shards if given, else the last 2% of the examples. In a ``torchrun``
    launch, only process 0 writes files and returns a report (the others return an empty one)."""
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
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    if is_main():
        run = {"shards": str(Path(shards_dir).resolve()), "eval_shards": str(Path(eval_dir).resolve()) if eval_dir else None,
               "distributed": backend()}
        (Path(run_dir) / "run.json").write_text(json.dumps(run, indent=2))
    log = train(
        model, batches, lambda m: held_out_figures(evaluate(m, eval_shards, eval_idx)), train_cfg, run_dir,
        description=f"train-m2 {shards.manifest.extra.get('tokenizer', shards.manifest.method)}", tokens_to_bytes=tokens_to_bytes,
    )
    if not is_main():
        return model, {}
    report = m2_report(model, shards, train_idx, eval_shards, eval_idx, log)
    (Path(run_dir) / "report.json").write_text(json.dumps(report, indent=2))
    return model, report


def held_out_figures(ev: Evaluation) -> dict:
    """What the training log keeps of each evaluation: bits/byte, and accuracy by window position."""
    return {"val_bpb": ev.bits_per_byte, "position_accuracy": ev.position_accuracy}


def load_run(run_dir: str | Path) -> tuple[Transformer, dict]:
    """A trained M2 and its run.json (where its shards are)."""
    from .loop import load_float_model

    return load_float_model(run_dir), json.loads((Path(run_dir) / "run.json").read_text())


def run_data(run: dict, eval_dir: str | Path | None = None) -> tuple[Shards, list[int], Shards, list[int]]:
    """(training shards, their training examples, held-out shards, held-out examples) of a run
    (``run.json``); ``eval_dir`` replaces its held-out shards."""
    from ..data.sequences import holdout

    shards = Shards(run["shards"])
    if eval_dir or run["eval_shards"]:
        held = Shards(eval_dir or run["eval_shards"])
        return shards, list(range(len(shards))), held, list(range(len(held)))
    train_idx, held_idx = holdout(len(shards))
    return shards, train_idx, shards, held_idx
