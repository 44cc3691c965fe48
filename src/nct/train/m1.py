"""Training M1, the byte-level model: random byte windows from a corpus, validation bits/byte."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..data.corpus import Corpus, Document, MappedCorpus, load_corpus
from ..models.m1 import M1
from ..models.sizes import m1_config
from ..models.transformer import Transformer, TransformerConfig
from .distributed import is_main
from .loop import Batch, TrainConfig, load_float_model, train

SEPARATOR = b"\n\n"


def corpus_array(corpus: Corpus) -> np.ndarray:
    """All documents joined by a blank line, as one uint8 array."""
    return np.frombuffer(bytearray(SEPARATOR.join(d.data for d in corpus.documents)), dtype=np.uint8)


def byte_batches(data: np.ndarray, cfg: TransformerConfig, batch_size: int, seed: int):
    """``batches(step)``: BOS + a random window of ``cfg.context`` bytes per row; deterministic in
    (seed, step). ``data`` is any uint8 array, an ``np.memmap`` included: only the drawn windows are read."""
    length = cfg.context
    if len(data) < length + 1:
        raise ValueError(f"training text has {len(data)} bytes; need more than the context ({length})")
    offsets = np.arange(length)

    def batches(step: int) -> Batch:
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, len(data) - length + 1, (batch_size,), generator=g)
        y = torch.from_numpy(np.asarray(data[starts.numpy()[:, None] + offsets], dtype=np.uint8)).long()
        x = torch.cat([torch.full((batch_size, 1), cfg.bos), y[:, :-1]], dim=1)
        return x, y

    return batches


def blocks_of(data: bytes, block: int, bos: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut bytes into blocks of ``block``: (inputs [B, block] starting with BOS, targets, lengths)."""
    n = max(1, math.ceil(len(data) / block))
    y = torch.zeros(n, block, dtype=torch.long)
    flat = torch.frombuffer(bytearray(data), dtype=torch.uint8).long() if data else torch.zeros(0, dtype=torch.long)
    y.view(-1)[: len(flat)] = flat
    lengths = torch.full((n,), block, dtype=torch.long)
    lengths[-1] = len(data) - block * (n - 1)
    x = torch.cat([torch.full((n, 1), bos, dtype=torch.long), y[:, :-1]], dim=1)
    return x, y, lengths


@torch.no_grad()
def float_bits_per_byte(model: Transformer, data: bytes, block: int | None = None, batch: int = 16) -> float:
    """Bits/byte of the float model on ``data`` cut into independent BOS-started blocks."""
    block = block or model.cfg.context
    x, y, lengths = blocks_of(data, block, model.cfg.bos)
    total = 0.0
    for i in range(0, len(x), batch):
        logits = model(x[i : i + batch]).float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), y[i : i + batch].to(logits.device), reduction="none").cpu()
        mask = torch.arange(block)[None, :] < lengths[i : i + batch, None]
        total += nll[mask].sum().item()
    return total / math.log(2) / max(1, len(data))


def head(corpus: Corpus, n_bytes: int) -> Corpus:
    """The first ``n_bytes`` x (share of each document) of every document: a prefix of each, so a
    larger ``n_bytes`` extends a smaller one's text."""
    total = corpus.n_bytes
    return Corpus(corpus.name, tuple(Document(d.name, d.data[: max(1, n_bytes * len(d.data) // total)]) for d in corpus.documents))


def evaluation_sample(corpus: Corpus | MappedCorpus, n_bytes: int) -> bytes:
    """A fixed validation sample: the first ``n_bytes`` x (share of each document) of every document
    (of a ``MappedCorpus``: its ``sample``, heads of evenly spaced documents)."""
    if isinstance(corpus, MappedCorpus):
        return corpus.sample(n_bytes)
    return b"".join(d.data for d in head(corpus, n_bytes).documents)


def training_array(corpus: Corpus | MappedCorpus, train_bytes: int | None = None) -> np.ndarray:
    """The corpus's training split as one array (``corpus_array``); with ``train_bytes``, only the
    ``head`` of that many bytes. A ``MappedCorpus`` gives its train.bin memmap (a prefix view with
    ``train_bytes``), never a copy."""
    if isinstance(corpus, MappedCorpus):
        data = corpus.split("train").array()
        return data[:train_bytes] if train_bytes else data
    train = corpus.split("train")
    return corpus_array(head(train, train_bytes) if train_bytes else train)


def train_m1(
    corpus: Corpus | MappedCorpus,
    cfg: TransformerConfig,
    train_cfg: TrainConfig,
    run_dir: str | Path,
    eval_bytes: int = 65536,
    train_bytes: int | None = None,
    init: M1 | None = None,
) -> tuple[Transformer, list[dict]]:
    """Train M1 on the corpus's training split (its ``head`` of ``train_bytes`` if given);
    validation bits/byte on a fixed sample of its validation split. With ``init``, training goes on
    from that engine's weights (``M1.to_float``), and ``cfg`` must be its shape."""
    torch.manual_seed(train_cfg.seed)
    if init is not None and init.cfg != cfg:
        raise ValueError("the starting model's shape differs from the size asked for")
    model = init.to_float() if init is not None else Transformer(cfg)
    batches = byte_batches(training_array(corpus, train_bytes), cfg, train_cfg.batch_size, train_cfg.seed)
    sample = evaluation_sample(corpus.split("validation"), eval_bytes)

    def evaluate(m: Transformer) -> float:
        m.eval()
        bpb = float_bits_per_byte(m, sample)
        m.train()
        return bpb

    log = train(model, batches, evaluate, train_cfg, run_dir, description="train-m1")
    return model, log


def export_m1(
    run_dir: str | Path,
    corpus: Corpus | MappedCorpus,
    eval_bytes: int = 65536,
    seed: int = 0,
    train_bytes: int | None = None,
    init: dict | None = None,
) -> M1:
    """Turn a trained run into M1's exact engine (``run_dir/m1.safetensors``) with a manifest that
    records data, steps, and validation bits/byte of the float model and of the engine; calibration
    windows come from the text the run trained on (``train_bytes`` as given to ``train_m1``)."""
    import json

    run_dir = Path(run_dir)
    model = load_float_model(run_dir)
    model.eval()
    cfg = model.cfg
    train = training_array(corpus, train_bytes)
    calibration = byte_batches(train, cfg, 32, seed + 7919)(0)[0]
    state = json.loads((run_dir / "train_config.json").read_text())
    log = torch.load(run_dir / "state.pt", weights_only=True)["log"]
    sample = evaluation_sample(corpus.split("validation"), eval_bytes)
    manifest = {
        "corpus": corpus.name,
        "corpus_bytes": corpus.n_bytes,
        "train_bytes": len(train),
        "split": corpus.manifest["validation_rule"] if isinstance(corpus, MappedCorpus)
        else "validation = every 20th document, or the last 5% of each document (nct.data.corpus)",
        "train": state["train"],
        "steps": log[-1]["step"] if log else 0,
        "train_seconds": log[-1]["seconds"] if log else 0,
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "non_embedding_params": model.non_embedding_params(),
        "val_bpb_float": float_bits_per_byte(model, sample),
        "val_sample_bytes": len(sample),
        **({"init": init} if init else {}),  # the model training started from
    }
    m1 = M1.from_float(model, calibration, manifest)
    m1.meta["val_bpb_engine"] = engine_bits_per_byte(m1, sample, cfg.context)
    m1.save(run_dir / "m1.safetensors")
    (run_dir / "m1.manifest.json").write_text(json.dumps({"fingerprint": m1.fingerprint, **m1.meta}, indent=2))
    return m1


def engine_bits_per_byte(m1: M1, data: bytes, block: int) -> float:
    """Ideal code length of ``data`` in bits/byte under M1's integer CDFs (blocks from BOS)."""
    x, y, lengths = blocks_of(data, block, m1.bos)
    total = 0.0
    for i in range(0, len(x), 16):
        cdf = m1.cdfs(x[i : i + 16])
        freq = (cdf.gather(-1, y[i : i + 16, :, None] + 1) - cdf.gather(-1, y[i : i + 16, :, None]))[..., 0]
        bits = torch.log2(cdf[..., -1].double()) - torch.log2(freq.double())
        mask = torch.arange(block)[None, :] < lengths[i : i + 16, None]
        total += bits[mask].sum().item()
    return total / max(1, len(data))


def main_train_m1(corpus: str, size: str, out: str | Path, train: TrainConfig, init: str | None = None) -> None:
    """``nct train-m1``: train an M1 of preset ``size`` (or go on from the M1 ``init``, whose shape
    replaces it) on ``corpus`` into the run directory ``out`` (resuming if possible), then export
    the engine and print its figures."""
    from ..api import load_model

    text = load_corpus(corpus)
    start = load_model(init) if init else None
    cfg = start.cfg if start is not None else m1_config(size)
    train_m1(text, cfg, train, out, init=start)
    if not is_main():  # torchrun: process 0 exports
        return
    started = {"fingerprint": start.fingerprint, "manifest": start.meta} if start is not None else None
    m1 = export_m1(out, text, seed=train.seed, init=started)
    print(
        f"M1 {size}: validation {m1.meta['val_bpb_float']:.3f} bits/byte (float), "
        f"{m1.meta['val_bpb_engine']:.3f} (exact engine) -> {Path(out) / 'm1.safetensors'}"
    )
