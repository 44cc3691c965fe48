import json

import numpy as np
import pytest
import torch

from nct.analysis.positions import markdown, position_figures
from nct.data.shards import Manifest, Shards, write_shards
from nct.train.metrics import evaluate, window_tokens
from nct.models.transformer import Transformer
from nct.train.loop import TrainConfig
from nct.train.m2 import train_m2
from tests.m2_fixtures import TINY


class AlwaysSeven(torch.nn.Module):
    """A synthetic M2 that predicts token 7 everywhere."""

    def __init__(self):
        super().__init__()
        self.cfg = TINY

    def forward(self, x):
        logits = torch.zeros(*x.shape, 256)
        logits[..., 7] = 20.0
        return logits


def _window_shards(directory, n_examples=4, windows=40):
    """Equal-Info-like shards, 2 tokens per window: the first always 7, the second random (never 7)."""
    rng = np.random.default_rng(0)
    texts = [bytes(10 for _ in range(windows)) for _ in range(n_examples)]  # lengths only
    ids = [[t for _ in range(windows) for t in (7, int(rng.integers(8, 256)))] for _ in texts]
    m = Manifest("equal-info", {"bits": 16, "token_bits": 8}, 256, None, "synthetic", 40)
    queue = iter(ids)
    write_shards(directory, m, texts, lambda group: [next(queue) for _ in group])
    return Shards(directory)


def test_accuracy_by_position_of_a_synthetic_model(tmp_path):
    shards = _window_shards(tmp_path / "s")
    assert window_tokens(shards.manifest) == 2
    ev = evaluate(AlwaysSeven(), shards, range(len(shards)))
    assert ev.position_accuracy == [1.0, 0.0]
    assert ev.position_bits[0] < 0.01 < 10 < ev.position_bits[1]
    assert ev.tokens == 4 * 80


def test_training_logs_position_accuracy_and_the_analysis_reads_it(tmp_path):
    shards = _window_shards(tmp_path / "s", n_examples=20)
    cfg = TrainConfig(steps=30, warmup=3, eval_every=10, checkpoint_every=10, batch_size=8, lr=1e-2, dtype="fp32")
    train_m2(shards.dir, TINY, tmp_path / "run", cfg)
    ev, log, window = position_figures(tmp_path / "run")
    assert window == 2 and [e["step"] for e in log] == [10, 20, 30]
    assert ev.position_accuracy[0] == pytest.approx(1.0) and ev.position_accuracy[1] < 0.1  # learns position 1 only
    assert "| 30 | 1.0000 |" in markdown(ev, log)


def test_cli_positions(tmp_path, capsys):
    from nct.cli import main

    shards = _window_shards(tmp_path / "s", n_examples=20)
    cfg = TrainConfig(steps=4, warmup=1, eval_every=2, checkpoint_every=2, batch_size=4, dtype="fp32")
    train_m2(shards.dir, TINY, tmp_path / "run", cfg)
    assert main(["analyze", "positions", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "o")]) == 0
    assert "| position in window |" in capsys.readouterr().out
    assert json.loads((tmp_path / "o" / "positions.json").read_text())["window_tokens"] == 2
    assert (tmp_path / "o" / "positions.png").exists()


def test_bytes_have_one_position(byte_shards):
    model = Transformer(TINY)
    ev = evaluate(model, byte_shards, [0, 1])
    assert window_tokens(byte_shards.manifest) == 1 and len(ev.position_accuracy) == 1
