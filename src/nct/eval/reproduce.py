"""``nct reproduce``: the paper's experiment grid (methods x M2 sizes) from one config.

Every method's training and held-out text is tokenized into shards, an M2 of every size is trained
on each for the same number of tokens (so, at a given size, for the same training FLOPs), and the
held-out figures are collected into a table (markdown + JSON) and plots, as the paper's Figure 3
(bits/byte vs inference FLOPs/byte) and bits/byte vs model size. Finished steps are skipped, so an
interrupted run continues where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..data.shards import Manifest
from ..tokenizers.methods import MethodSpec
from ..tokenizers.pipeline import AnyCorpus, tokenize_corpus
from ..train.loop import TrainConfig
from ..train.m2 import train_m2
from ..plots import pyplot, save
from ..results import environment, tagged
from ..util import markdown_table


@dataclass
class ReproduceConfig:
    """Methods (``MethodSpec``: ``equal-info16-v65k`` or ``EqualInfoAC[b=16, v=65k]`` in a YAML file),
    M2 sizes, how long each M2 trains, and SentencePiece's vocabulary."""

    methods: list[MethodSpec]
    sizes: list[str]
    steps: int = 400
    batch_size: int = 16
    context: int = 512
    lr: float = 2e-3
    warmup: int = 40
    train_bytes: int = 2_000_000  # training text tokenized per method
    eval_bytes: int = 204_800  # held-out text (from the validation split)
    example_bytes: int = 10_240
    seed: int = 0
    vocab_size: int = 32000  # SentencePiece's
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, source: str) -> "ReproduceConfig":
        """A preset name (``cpu``, ``paper``) or a YAML file with these fields."""
        if source in PRESETS:
            return PRESETS[source]
        d = yaml.safe_load(Path(source).read_text())
        d["methods"] = [MethodSpec.parse(str(m)) for m in d["methods"]]
        return cls(**d)

    def to_dict(self) -> dict:
        """Plain values, each method by its short name (what results.json and config.yaml hold)."""
        return {**asdict(self), "methods": [m.short for m in self.methods]}

    def to_yaml(self) -> str:
        """This config as YAML (the format ``load`` reads)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# The paper's methods: Bytes, SentencePiece, AC, StaticAC, GZip, EqualInfoAC b=16 and b=32
PAPER_METHODS = ("bytes", "sentencepiece", "gzip", "ac", "static-ac", "equal-info16", "equal-info16-v65k", "equal-info32", "equal-info32-v65k")


PRESETS = {
    # Sized for a 2-core CPU: 409,600 tokens per M2; measured 62.8 min with bf16 on AVX-512-BF16 and
    # about 2.9 h in fp32 on an AVX2 machine (README, "Training M2"), over half of it in the v=65k
    # runs, whose 65,536-way softmax costs more than the model.
    "cpu": ReproduceConfig(methods=[MethodSpec.parse(m) for m in PAPER_METHODS], sizes=["cpu-1m", "cpu-3m"], steps=200, batch_size=4,
                           warmup=20, vocab_size=8000),
    # The paper's grid: 200k steps of 256 x 512 tokens per M2 (an accelerator cluster's job).
    "paper": ReproduceConfig(
        methods=[MethodSpec.parse(m) for m in PAPER_METHODS], sizes=["25m", "113m", "403m", "2b"], steps=200_000, batch_size=256, warmup=10_000,
        train_bytes=10**12, eval_bytes=10**8,
    ),
}


def run_reproduce(cfg: ReproduceConfig, out: str | Path, corpus: AnyCorpus, m1: Any) -> list[dict]:
    """Tokenize, train and evaluate the whole grid under ``out``; returns one report per run."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(cfg.to_yaml())
    reports = []
    timings = _load_timings(out)
    train_cfg = _train_config(cfg)
    for spec in cfg.methods:
        train_dir, val_dir = out / "shards" / spec.short, out / "shards" / f"{spec.short}-val"
        for split, d, n in (("train", train_dir, cfg.train_bytes), ("validation", val_dir, cfg.eval_bytes)):
            if not (d / "manifest.json").exists() or not Manifest.load(d).complete:
                t0 = time.perf_counter()
                tokenize_corpus(
                    corpus, spec.method, d, m1=m1, split=split, token_bits=spec.token_bits, bits=spec.bits or 16,
                    rule=spec.rule or "greedy", vocab_size=cfg.vocab_size, example_bytes=cfg.example_bytes, seed=cfg.seed,
                    max_bytes=n, sentencepiece_dir=train_dir,
                )
                timings[d.name] = timings.get(d.name, 0.0) + time.perf_counter() - t0
                _save_timings(out, timings)
        for size in cfg.sizes:
            run = out / "runs" / f"{spec.short}-{size}"
            if not (run / "report.json").exists():
                t0 = time.perf_counter()
                _, report = train_m2(train_dir, size, run, train_cfg, eval_dir=val_dir, context=cfg.context)
                report["seconds"] = time.perf_counter() - t0
                (run / "report.json").write_text(json.dumps(report, indent=2))
            report = json.loads((run / "report.json").read_text())
            reports.append({"name": spec.display, "size": size, **report})
    write_results(reports, cfg, out, timings)
    return reports


def _train_config(cfg: ReproduceConfig) -> TrainConfig:
    """How every M2 of the grid is trained (four evaluations and checkpoints per run)."""
    return TrainConfig(
        steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, warmup=cfg.warmup,
        eval_every=max(1, cfg.steps // 4), checkpoint_every=max(1, cfg.steps // 4), seed=cfg.seed,
    )


def _load_timings(out: Path) -> dict[str, float]:
    """Seconds spent tokenizing each shard directory so far (``timings.json``; resumed runs add up)."""
    path = out / "timings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save_timings(out: Path, timings: dict[str, float]) -> None:
    """Write ``timings.json``."""
    (out / "timings.json").write_text(json.dumps(timings, indent=2))


def training_flops(report: dict, cfg: ReproduceConfig) -> float:
    """6 x non-embedding parameters x training tokens (the usual estimate)."""
    return 6.0 * report["non_embedding_params"] * cfg.steps * cfg.batch_size * cfg.context


def results_markdown(reports: list[dict], cfg: ReproduceConfig) -> str:
    """One row per (method, size): held-out bits/byte beside the trivial baselines, and costs."""
    head = ["method", "M2", "non-emb params", "bits/byte", "uniform", "unigram", "FLOPs/byte", "bytes/step", "train FLOPs"]
    return markdown_table(head, [[
        r["name"], r["size"], f"{r['non_embedding_params']:,}", f"{r['bits_per_byte']:.3f}", f"{r['baselines']['uniform']:.3f}",
        f"{r['baselines']['unigram']:.3f}", f"{r['flops_per_byte']:.3g}", f"{r['bytes_per_step']:.2f}", f"{training_flops(r, cfg):.3g}",
    ] for r in reports], "llrrrrrrr")


def write_results(reports: list[dict], cfg: ReproduceConfig, out: Path, timings: dict[str, float] | None = None) -> None:
    """results.json (with the environment and the time every part took), results.md and the two plots."""
    slim = [{k: v for k, v in r.items() if k != "log"} for r in reports]
    tokenize = dict(timings or {})
    seconds = {
        "tokenize": sum(tokenize.values()),
        "train_and_evaluate": sum(r.get("seconds", 0.0) for r in reports),
        "tokenize_by_shards": tokenize,
    }
    seconds["total"] = seconds["tokenize"] + seconds["train_and_evaluate"]
    result = tagged("reproduce", {
        "config": cfg.to_dict(), "environment": environment(), **_training_precision(_train_config(cfg)), "seconds": seconds, "runs": slim,
    })
    (out / "results.json").write_text(json.dumps(result, indent=2))
    (out / "results.md").write_text(results_markdown(reports, cfg))
    plot_results(reports, out)


def _training_precision(train_cfg: TrainConfig) -> dict[str, str]:
    """The device and dtype ``train`` resolves ``train_cfg`` to on this machine."""
    import torch

    from ..train.loop import autocast_dtype, training_device

    device = training_device(train_cfg.device)
    amp = autocast_dtype(train_cfg.dtype, device)
    return {"device": str(device), "autocast": "bf16" if amp is torch.bfloat16 else "fp32"}


def plot_results(reports: list[dict], out: Path) -> None:
    """bits/byte vs FLOPs/byte per method (TLNCT Figure 3) and bits/byte vs M2 size."""
    plt = pyplot()

    for x_key, x_label, name in (
        ("flops_per_byte", "inference FLOPs/byte", "bpb_vs_flops.png"),
        ("non_embedding_params", "M2 non-embedding parameters", "bpb_vs_size.png"),
    ):
        fig, ax = plt.subplots(figsize=(8.4, 4.2), dpi=150)
        for method in dict.fromkeys(r["name"] for r in reports):
            rs = sorted((r for r in reports if r["name"] == method), key=lambda r: r[x_key])
            ax.plot([r[x_key] for r in rs], [r["bits_per_byte"] for r in rs], marker="o", label=method)
        ax.set_xscale("log")
        ax.set_xlabel(x_label)
        ax.set_ylabel("held-out bits/byte")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        save(fig, out / name)
