"""Can a Transformer learn the coder itself? Sequence-to-sequence probes (TLNCT §6).

Short segments of text are compressed with a method (plain ``ac`` or ``equal-info<B>``, 8-bit
tokens). For ``compress`` a model reads the text and must produce the tokens; for ``decompress`` it
reads the tokens and must produce the text. The probe is a decoder-only Transformer over
``input, SEP, target`` with the loss on the target only (a prefix LM). Its held-out target accuracy
(teacher-forced top-1) and cross-entropy are set beside a baseline: the same model trained on the
targets alone, which shows what can be predicted without the input. The paper found compression
hard to learn (1.7% accuracy for AC) and Equal-Info decompression easy (95.3% for b=16, v=256).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..data.corpus import Corpus, MappedCorpus
from ..errors import UsageError
from ..models.sizes import m2_config
from ..models.transformer import IGNORE, Transformer, TransformerConfig
from ..results import tagged
from ..tokenizers import MethodSpec, Tokenizer
from ..train.loop import TrainConfig, train
from ..util import markdown_table

SEP = 256  # between input and target; outputs are 0..255 (bytes or 8-bit tokens) and SEP
VOCAB = 257


@dataclass(frozen=True)
class ProbeResult:
    """Held-out figures of one probe and its target-only baseline."""

    task: str
    method: str
    segment_bytes: int
    accuracy: float  # teacher-forced top-1 accuracy on target tokens
    bits_per_token: float
    baseline_accuracy: float  # the same model trained on the targets alone
    baseline_bits_per_token: float
    train_pairs: int
    held_out_pairs: int


def segments(corpus: "Corpus | MappedCorpus", n: int, size: int, seed: int) -> list[bytes]:
    """``n`` segments of ``size`` bytes at seeded offsets of the corpus's documents (long enough ones)."""
    docs = [d.data for d in corpus.documents if len(d.data) > size]
    if not docs:
        raise UsageError(f"no document is longer than {size} bytes")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(docs), n)
    return [docs[i][(o := int(rng.integers(0, len(docs[i]) - size))) : o + size] for i in picks]


def probe_tokenizer(method: str, m1: Any) -> Tokenizer:
    """``ac`` (M1 + AC, 8-bit tokens) or ``equal-info<B>`` (B-bit windows, 8-bit tokens)."""
    try:
        spec = MethodSpec.parse(method)
    except ValueError:
        spec = None
    if spec is None or spec.method not in ("ac", "equal-info") or spec.token_bits != 8:
        raise UsageError(f"learn-ac probes ac or equal-info<B>, not {method!r}")
    return spec.build(m1)


def pairs(task: str, texts: Sequence[bytes], tokens: Sequence[Sequence[int]]) -> list[tuple[list[int], list[int]]]:
    """(input, target) per segment: text -> tokens for ``compress``, tokens -> text for ``decompress``."""
    if task not in ("compress", "decompress"):
        raise UsageError("task must be compress or decompress")
    both = [(list(t), list(k)) for t, k in zip(texts, tokens)]
    return both if task == "compress" else [(k, t) for t, k in both]


def to_batch(examples: Sequence[tuple[list[int], list[int]]], length: int, with_input: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (BOS, then the sequence shifted) and targets (the target tokens only; IGNORE elsewhere)
    of ``input SEP target`` sequences, or of ``target`` alone for the baseline."""
    x = torch.full((len(examples), length), 0, dtype=torch.long)
    y = torch.full((len(examples), length), IGNORE, dtype=torch.long)
    for r, (inp, tgt) in enumerate(examples):
        head = inp + [SEP] if with_input else []
        seq = head + tgt
        if len(seq) > length:
            raise UsageError(f"a sequence of {len(seq)} tokens does not fit the probe's context of {length}")
        x[r, 0] = VOCAB  # BOS
        x[r, 1 : len(seq)] = torch.tensor(seq[:-1])
        y[r, len(head) : len(seq)] = torch.tensor(tgt)
    return x, y


@torch.no_grad()
def score(model: Transformer, examples: Sequence[tuple[list[int], list[int]]], with_input: bool, batch: int = 64) -> tuple[float, float]:
    """(top-1 accuracy, bits per token) on the target tokens, teacher-forced."""
    model.eval()
    correct = nll = count = 0.0
    for i in range(0, len(examples), batch):
        x, y = to_batch(examples[i : i + batch], model.cfg.context, with_input)
        logits = model(x).float().cpu()
        mask = y != IGNORE
        nll += torch.nn.functional.cross_entropy(logits[mask], y[mask], reduction="sum").item()
        correct += (logits.argmax(-1)[mask] == y[mask]).sum().item()
        count += mask.sum().item()
    model.train()
    return correct / max(1, count), nll / math.log(2) / max(1, count)


def fit(
    train_ex, held_ex, with_input: bool, size: str | TransformerConfig, cfg: TrainConfig, run_dir: Path, length: int
) -> tuple[float, float]:
    """Train one probe (or the target-only baseline) and score it on the held-out pairs."""
    torch.manual_seed(cfg.seed)
    shape = m2_config(size, VOCAB) if isinstance(size, str) else replace(size, vocab_size=VOCAB)
    model = Transformer(replace(shape, context=length))

    def batches(step: int):
        rng = np.random.default_rng([cfg.seed, step])
        return to_batch([train_ex[i] for i in rng.integers(0, len(train_ex), cfg.batch_size)], length, with_input)

    def evaluate(m: Transformer) -> dict:
        acc, bits = score(m, held_ex, with_input)
        return {"val_bpb": bits, "accuracy": acc}  # val_bpb: bits per target token here

    train(model, batches, evaluate, cfg, run_dir, description=f"learn-ac {'probe' if with_input else 'baseline'}")
    return score(model, held_ex, with_input)


def run_probe(
    task: str, method: str, m1: Any, corpus: "Corpus | MappedCorpus", out: str | Path, cfg: TrainConfig,
    size: str | TransformerConfig = "cpu-1m", segment_bytes: int = 32, n_train: int = 20_000, n_held: int = 500,
) -> ProbeResult:
    """Build the pairs (training split -> training pairs, validation split -> held-out ones), train
    the probe and its baseline under ``out`` (resumable), and score both."""
    tok = probe_tokenizer(method, m1)
    data = {}
    for split, n in (("train", n_train), ("validation", n_held)):
        texts = segments(corpus.split(split), n, segment_bytes, cfg.seed + (split == "validation"))
        data[split] = pairs(task, texts, tok.encode_batch(texts))
    length = 1 + max(len(a) + 1 + len(b) for ex in data.values() for a, b in ex)
    out = Path(out)
    acc, bits = fit(data["train"], data["validation"], True, size, cfg, out / "probe", length)
    base_acc, base_bits = fit(data["train"], data["validation"], False, size, cfg, out / "baseline", length)
    return ProbeResult(task, method, segment_bytes, acc, bits, base_acc, base_bits, n_train, n_held)


def markdown(results: Sequence[ProbeResult]) -> str:
    """A markdown table of probe results."""
    head = ["task", "method", "segment bytes", "accuracy", "bits/token", "target-only accuracy", "target-only bits/token"]
    return markdown_table(head, [
        [r.task, r.method, r.segment_bytes, f"{r.accuracy:.4f}", f"{r.bits_per_token:.3f}", f"{r.baseline_accuracy:.4f}",
         f"{r.baseline_bits_per_token:.3f}"]
        for r in results
    ], "llrrrrr")


def main_learn_ac(
    *, task: str, method: str, segment_bytes: int, train_pairs: int, held_out_pairs: int, size: str, steps: int,
    batch_size: int, lr: float, seed: int = 0, corpus: str = "default", model: str | None = None, out: str | Path | None = None,
) -> ProbeResult:
    """``nct analyze learn-ac``: train and score one probe and its baseline -> table and JSON."""
    from ..api import load_model
    from ..data.corpus import load_corpus

    cfg = TrainConfig(
        steps=steps, batch_size=batch_size, lr=lr, warmup=max(1, steps // 10),
        eval_every=max(1, steps // 4), checkpoint_every=max(1, steps // 4), seed=seed,
    )
    out = Path(out or f"runs/learn-ac-{task}-{method}")
    result = run_probe(
        task, method, load_model(model), load_corpus(corpus), out, cfg,
        size=size, segment_bytes=segment_bytes, n_train=train_pairs, n_held=held_out_pairs,
    )
    text = markdown([result])
    print(text)
    (out / "learn_ac.json").write_text(json.dumps(tagged("learn-ac", asdict(result)), indent=2))
    (out / "learn_ac.md").write_text(text)
    return result
