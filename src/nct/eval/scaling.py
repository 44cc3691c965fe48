"""``nct scaling``: LMIC's scaling study with M1 — rate vs model size, data size and context length.

A grid of M1 sizes x amounts of training text. Every cell trains an M1 (``train_m1``) on the head
of the corpus's training split (the same share of every document, so more text extends less),
exports the exact engine (``export_m1``) and codes the evaluation text (a fixed sample of the
validation split) with the real ``ac`` compressor; a rate is used only if its output decoded back
to the input (``bench_one``). From each measured rate:

* raw rate: compressed bits per evaluated byte (measured);
* adjusted rate, LMIC's (compressed + model) / raw: measured on the evaluated text, and computed
  from the measured raw rate for other amounts of text N as raw + 8 x model bytes / N, for N = the
  run's own training text (LMIC's setting: compress the data the model was trained on, ship the
  model) and for hypothetical N (1 MB, 100 MB, 10 GB by default);
* rate vs context: the same text in AC blocks of 64, 128, ... bytes up to the model's context,
  each block coded from BOS (measured for the runs with the most training text, or all).

Finished runs and measured rates are kept under OUT and skipped, so an interrupted study resumes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from ..api import compressor
from ..errors import UsageError
from ..data.corpus import Corpus, MappedCorpus, load_corpus
from ..models.m1 import M1
from ..models.sizes import m1_config
from ..train.loop import TrainConfig
from ..train.m1 import evaluation_sample, export_m1, train_m1
from .bench import bench_one, model_bytes
from ..plots import pyplot, save
from ..results import environment, tagged
from ..util import markdown_table


@dataclass
class ScalingConfig:
    """The grid (M1 sizes x training-text sizes), how each M1 trains, and what is measured."""

    sizes: list[str] = field(default_factory=lambda: ["200k", "800k", "3m"])
    train_bytes: list[int] = field(default_factory=lambda: [100_000, 300_000, 1_000_000])
    steps: int = 150
    batch_size: int = 4
    lr: float = 2e-3
    eval_bytes: int = 65_536
    block: int | None = None  # AC block of the main rate; None: the smallest context among the sizes
    min_block: int = 64  # rate vs context: min_block, 2 x min_block, ... up to each model's context
    context_all: bool = False  # rate vs context for every run, not only those with the most text
    adjust_for: list[int] = field(default_factory=lambda: [10**6, 10**8, 10**10])
    seed: int = 0

    def __post_init__(self) -> None:
        """Check the grid before any work: known sizes, positive byte counts."""
        for size in self.sizes:
            m1_config(size)
        if not self.sizes or not self.train_bytes or min(self.train_bytes) < 1 or self.eval_bytes < 1:
            raise ValueError("scaling needs M1 sizes, positive training-text sizes and evaluation bytes")

    def train_config(self, **extra) -> TrainConfig:
        """The optimisation settings shared by every run (``extra`` is recorded with them): validation
        at the end only (the rates are the study's figures), checkpoints every quarter."""
        return TrainConfig(
            steps=self.steps, batch_size=self.batch_size, lr=self.lr, warmup=max(1, self.steps // 10),
            eval_every=self.steps, checkpoint_every=max(1, self.steps // 4), seed=self.seed, extra=extra,
        )

    def rate_block(self) -> int:
        """AC block of the main rate: the same for every model, so their rates compare."""
        return self.block or min(m1_config(s).context for s in self.sizes)


def parse_bytes(text: str) -> int:
    """A byte count: ``65536``, ``250k``, ``1M``, ``10G`` (decimal units, an optional trailing B)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgt]?)b?", text.strip().lower())
    if not m:
        raise ValueError(f"not a byte count: {text!r} (e.g. 65536, 250k, 1M, 10G)")
    return int(float(m[1]) * 1000 ** " kmgt".index(m[2] or " "))


def byte_label(n: int) -> str:
    """``n`` bytes in decimal units, three significant digits: 250 kB, 1 MB, 65.5 kB."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def context_blocks(context: int, smallest: int) -> list[int]:
    """Block lengths ``smallest``, doubling, below ``context``, then ``context`` itself."""
    blocks = []
    while smallest < context:
        blocks.append(smallest)
        smallest *= 2
    return [*blocks, context]


def adjusted_rate(bits_per_byte: float, model_size: int, n_bytes: int) -> float:
    """LMIC's adjusted rate in bits/byte, (compressed + model) / raw, for ``n_bytes`` coded at ``bits_per_byte``."""
    return bits_per_byte + 8 * model_size / n_bytes


def trained_m1(cfg: ScalingConfig, size: str, train_bytes: int, corpus: Corpus | MappedCorpus, run: Path) -> M1:
    """One cell's exact engine: trained (resuming a checkpoint) and exported, unless the run is finished."""
    train_cfg = cfg.train_config(corpus=corpus.name, corpus_bytes=corpus.n_bytes, train_bytes=train_bytes)
    started = run / "train_config.json"
    if started.exists() and json.loads(started.read_text())["train"] != asdict(train_cfg):
        raise ValueError(f"{run} was trained with other settings or data; give another --out or delete it")
    if not (run / "m1.manifest.json").exists():
        train_m1(corpus, m1_config(size), train_cfg, run, eval_bytes=cfg.eval_bytes, train_bytes=train_bytes)
        export_m1(run, corpus, eval_bytes=cfg.eval_bytes, seed=cfg.seed, train_bytes=train_bytes)
    return M1.load(run / "m1.safetensors")


def measure_rate(m1: M1, data: bytes, block: int) -> dict:
    """AC with ``m1`` in ``block``-byte blocks: ``data`` compressed, decompressed, compared and timed."""
    r = bench_one("evaluation", data, "ac", compressor("ac", m1, block=block))
    return {
        "block": block, "compressed": r.compressed, "bits_per_byte": r.bits_per_byte, "verified": r.verified,
        "compress_seconds": r.compress_seconds, "decompress_seconds": r.decompress_seconds,
    }


def cached_rates(run: Path, m1: M1, data: bytes, blocks: list[int]) -> dict[int, dict]:
    """``measure_rate`` for every block, each measured once and kept in ``run/rates.json`` under the
    model's fingerprint and the data's SHA-256 (another model or text is measured anew)."""
    path = run / "rates.json"
    key = {"fingerprint": m1.fingerprint, "data_sha256": hashlib.sha256(data).hexdigest()}
    saved = json.loads(path.read_text()) if path.exists() else {}
    rates = saved["rates"] if saved.get("key") == key else {}
    for block in blocks:
        if str(block) not in rates:
            rates[str(block)] = measure_rate(m1, data, block)
            path.write_text(json.dumps({"key": key, "rates": rates}, indent=2))
    return {block: rates[str(block)] for block in blocks}


def cell_row(size: str, train_bytes: int, m1: M1, rates: dict[int, dict], sweep: list[int], cfg: ScalingConfig, n: int) -> dict:
    """One grid cell's report: the model, its training, its measured rates (``n`` evaluated bytes)
    and the adjusted rates computed from them."""
    main, size_bytes = rates[cfg.rate_block()], model_bytes(m1)
    bpb = main["bits_per_byte"]
    return {
        "size": size,
        "train_bytes": train_bytes,
        "train_bytes_used": m1.meta["train_bytes"],
        "params": m1.n_params,
        "non_embedding_params": m1.non_embedding_params,
        "model_bytes": size_bytes,
        "fingerprint": m1.fingerprint,
        "steps": m1.meta["steps"],
        "train_seconds": m1.meta["train_seconds"],
        "val_bpb_float": m1.meta["val_bpb_float"],
        "val_bpb_engine_ideal": m1.meta["val_bpb_engine"],
        "eval_bytes": n,
        **main,
        "adjusted_bits_per_byte": adjusted_rate(bpb, size_bytes, n),
        "adjusted_at_train_bytes": adjusted_rate(bpb, size_bytes, m1.meta["train_bytes"]),
        "adjusted_at": {str(N): adjusted_rate(bpb, size_bytes, N) for N in cfg.adjust_for},
        "context": [rates[b] for b in sweep],
    }


def run_scaling(cfg: ScalingConfig, out: str | Path, corpus: Corpus | MappedCorpus) -> list[dict]:
    """Train, export and rate every cell of the grid under ``out``; write results.json, results.md
    and the plots; returns one row per cell."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = evaluation_sample(corpus.split("validation"), cfg.eval_bytes)
    rows = []
    for size, n in tqdm([(s, n) for s in cfg.sizes for n in cfg.train_bytes], desc="scaling", unit="run"):
        run = out / "runs" / f"{size}-{n}"
        m1 = trained_m1(cfg, size, n, corpus, run)
        sweep = context_blocks(m1.cfg.context, cfg.min_block) if cfg.context_all or n == max(cfg.train_bytes) else []
        rates = cached_rates(run, m1, data, sorted({cfg.rate_block(), *sweep}))
        rows.append(cell_row(size, n, m1, rates, sweep, cfg, len(data)))
    write_results(rows, cfg, corpus, out)
    return rows


def write_results(rows: list[dict], cfg: ScalingConfig, corpus: Corpus | MappedCorpus, out: Path) -> None:
    """results.json (config, environment, rows), results.md and the plots."""
    result = tagged("scaling", {
        "config": asdict(cfg), "rate_block": cfg.rate_block(), "corpus": corpus.name, "environment": environment(), "rows": rows,
    })
    (out / "results.json").write_text(json.dumps(result, indent=2))
    (out / "results.md").write_text(results_markdown(rows, cfg))
    plot_results(rows, cfg, out)


def _rate(r: dict, value: float) -> str:
    """A figure of a rate, or a mark that its round trip did not verify (the figure is not used)."""
    return f"{value:.3f}" if r["verified"] else "**not verified**"


def results_markdown(rows: list[dict], cfg: ScalingConfig) -> str:
    """The grid's table and the rate-vs-context table, with what is measured and what is computed."""
    hypothetical = [byte_label(N) for N in cfg.adjust_for]
    text = (
        f"Evaluation text: {rows[0]['eval_bytes']:,} bytes of the validation split, coded by `ac` in "
        f"{cfg.rate_block()}-byte blocks, decoded and compared. **Measured:** bits/byte and adjusted (eval) = "
        "(output + model) / evaluated bytes. **Computed** from the measured bits/byte: adjusted at N bytes = "
        "bits/byte + 8 x model bytes / N, for N = the run's training text and hypothetical N. Model bytes: "
        f"the exact engine's stored tensors (int8 weights). {cfg.steps} steps of {cfg.batch_size} x context bytes per run.\n\n"
    )
    head = ["M1", "params", "model bytes", "train text", "train s", "bits/byte", "adjusted (eval)", "adjusted (N = train)",
            *(f"N = {h}" for h in hypothetical)]
    text += markdown_table(head, [[
        r["size"], f"{r['params']:,}", f"{r['model_bytes']:,}", byte_label(r["train_bytes_used"]), f"{r['train_seconds']:,.0f}",
        *(_rate(r, v) for v in [r["bits_per_byte"], r["adjusted_bits_per_byte"], r["adjusted_at_train_bytes"], *r["adjusted_at"].values()]),
    ] for r in rows], "l" + "r" * (len(head) - 1))
    swept = [r for r in rows if r["context"]]
    blocks = sorted({c["block"] for r in swept for c in r["context"]})
    text += "\nRate vs context (measured): bits/byte of the same text coded in blocks of each length, every block from BOS.\n\n"
    by_block = [{c["block"]: c for c in r["context"]} for r in swept]
    text += markdown_table(["M1", "train text", *map(str, blocks)], [
        [r["size"], byte_label(r["train_bytes_used"]), *(_rate(by[b], by[b]["bits_per_byte"]) if b in by else "–" for b in blocks)]
        for r, by in zip(swept, by_block)
    ], "lr" + "r" * len(blocks))
    bad = [f"{r['size']}-{r['train_bytes']}" for r in rows if not all(c["verified"] for c in [r, *r["context"]])]
    if bad:
        text += f"\n**Round trips that did NOT verify** (their figures are not used): {', '.join(bad)}\n"
    return text


def _plot(ax, lines: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str, title: str) -> None:
    """One panel: a line with markers per label, log-scaled x."""
    for label, points in lines.items():
        points = sorted(points)
        ax.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
    ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _by(rows: list[dict], label: Callable, x: Callable, y: Callable) -> dict[str, list[tuple[float, float]]]:
    """Points (x(r), y(r)) of the verified rows, grouped by label(r)."""
    lines: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        if r["verified"]:
            lines.setdefault(label(r), []).append((x(r), y(r)))
    return lines


def _trained_on(r: dict) -> str:
    """A row's line label: how much text its M1 was trained on."""
    return f"trained on {byte_label(r['train_bytes_used'])}"


def plot_results(rows: list[dict], cfg: ScalingConfig, out: Path) -> None:
    """rate_vs_params.png (raw and adjusted rate vs parameters, a line per training-text size),
    adjusted_vs_params.png (LMIC's figure: adjusted rate vs parameters, a line per dataset size) and
    rate_vs_context.png; only verified rates are drawn."""
    plt = pyplot()

    params = itemgetter("params")
    fig, (raw, adj) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=150)
    _plot(raw, _by(rows, _trained_on, params, itemgetter("bits_per_byte")), "M1 parameters", "bits/byte",
          "raw rate (measured)")
    _plot(adj, _by(rows, _trained_on, params, itemgetter("adjusted_at_train_bytes")), "M1 parameters",
          "bits/byte", "adjusted rate, N = training text (computed)")
    adj.set_yscale("log")
    save(fig, out / "rate_vs_params.png")

    most = [r for r in rows if r["train_bytes"] == max(cfg.train_bytes)]
    lines = _by(most, lambda r: f"N = {byte_label(r['eval_bytes'])} (measured)", params, itemgetter("adjusted_bits_per_byte"))
    for N in cfg.adjust_for:
        lines |= _by(most, lambda r: f"N = {byte_label(N)}", params, lambda r: r["adjusted_at"][str(N)])
    lines |= _by(most, lambda r: "raw (N → ∞)", params, itemgetter("bits_per_byte"))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    _plot(ax, lines, "M1 parameters", "(compressed + model) bits / byte",
          f"adjusted rate vs dataset size N (trained on {byte_label(most[0]['train_bytes_used'])})")
    ax.set_yscale("log")
    save(fig, out / "adjusted_vs_params.png")

    swept = [{**c, "name": f"{r['size']}, {byte_label(r['train_bytes_used'])}"} for r in rows for c in r["context"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    _plot(ax, _by(swept, itemgetter("name"), itemgetter("block"), itemgetter("bits_per_byte")),
          "context: AC block length (bytes, each block from BOS)", "bits/byte", "rate vs context (measured)")
    ax.set_xscale("log", base=2)
    save(fig, out / "rate_vs_context.png")


def load_scaling_corpus(spec: str) -> Corpus | MappedCorpus:
    """``--data``: ``text:PATH`` or a bare PATH (a text file or a directory); ``text`` or ``default``:
    the embedded corpus."""
    kind, _, rest = spec.partition(":")
    if kind in ("image", "audio", "random"):
        raise UsageError(f"--data {kind}: the scaling study trains M1 on text (text:PATH)")
    return load_corpus((rest or "default") if kind == "text" else spec)


def main_scaling(cfg: ScalingConfig, out: str | Path, data: str = "default") -> list[dict]:
    """``nct scaling``: run the grid ``cfg`` on the text ``data`` (``load_scaling_corpus``), results
    under ``out``; print its tables."""
    rows = run_scaling(cfg, out, load_scaling_corpus(data))
    print(results_markdown(rows, cfg))
    return rows
