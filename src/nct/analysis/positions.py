"""Accuracy by token position inside an Equal-Info window (TLNCT §6): which tokens M2 learns first.

An Equal-Info window of b bits holds b / N tokens of N bits. The first token of a window carries
the window's first bits, which depend only on the first characters it codes (and M1), so it is the
easiest to predict; later tokens depend on more of the text and on the coder's state. A trained M2
is scored on its held-out examples position by position (top-1 accuracy and loss), and the training
log, which records the same accuracies at every evaluation, shows the order in which they rise.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..train.metrics import Evaluation, evaluate, window_tokens
from ..plots import pyplot, save
from ..results import tagged
from ..util import markdown_table


def position_figures(checkpoint: str | Path, eval_dir: str | Path | None = None) -> tuple[Evaluation, list[dict], int]:
    """(held-out evaluation by position, the training log's evaluations, tokens per window) of a run."""
    from ..train.m2 import load_run, run_data

    model, run = load_run(checkpoint)
    _, _, held, held_idx = run_data(run, eval_dir)
    state = Path(checkpoint) / "state.pt"
    log = []
    if state.exists():
        import torch

        log = torch.load(state, weights_only=True)["log"]
    return evaluate(model, held, held_idx), [e for e in log if "position_accuracy" in e], window_tokens(held.manifest)


def markdown(ev: Evaluation, log: list[dict]) -> str:
    """Held-out accuracy and loss per position, then accuracy per position at each logged step."""
    k = len(ev.position_accuracy)
    text = markdown_table(["position in window", "top-1 accuracy", "bits/token"], [
        [p + 1, f"{a:.4f}", f"{b:.3f}"] for p, (a, b) in enumerate(zip(ev.position_accuracy, ev.position_bits))
    ], "rrr")
    if log:
        head = ["step", *(f"accuracy, position {p + 1}" for p in range(k))]
        text += "\n" + markdown_table(head, [[e["step"], *(f"{a:.4f}" for a in e["position_accuracy"])] for e in log], "r" * (k + 1))
    return text


def plot(ev: Evaluation, log: list[dict], path: Path) -> None:
    """Accuracy per position: during training (lines) when logged, else after training (bars)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=150)
    if log:
        for p in range(len(ev.position_accuracy)):
            ax.plot([e["step"] for e in log], [e["position_accuracy"][p] for e in log], marker="o", label=f"position {p + 1}")
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    else:
        ax.bar([str(p + 1) for p in range(len(ev.position_accuracy))], ev.position_accuracy)
        ax.set_xlabel("token position in window")
    ax.set_ylabel("held-out top-1 accuracy")
    ax.grid(alpha=0.3)
    save(fig, path)


def main_positions(*, checkpoint: str | Path, shards: str | Path | None = None, out: str | Path | None = None) -> Evaluation:
    """``nct analyze positions``: accuracy by window position of a trained M2 -> table, JSON, plot."""
    ev, log, window = position_figures(checkpoint, shards)
    if window == 1:
        print("note: this run's tokens are not Equal-Info windows of several tokens; one position only")
    text = markdown(ev, log)
    print(text)
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        record = {"checkpoint": str(checkpoint), "window_tokens": window, "evaluation": asdict(ev), "log": log}
        (out / "positions.json").write_text(json.dumps(tagged("positions", record), indent=2))
        (out / "positions.md").write_text(text)
        plot(ev, log, out / "positions.png")
    return ev
