"""nct scaling: a tiny grid end to end (M1 preset 200k, two training sizes, a few steps, tiny text)."""

import json
import random
from dataclasses import replace

import pytest
from safetensors.torch import load_file

import nct.eval.scaling as scaling
from nct.api import compressor
from nct.cli import main
from nct.data.corpus import Corpus, Document
from nct.eval.scaling import (
    ScalingConfig,
    adjusted_rate,
    byte_label,
    context_blocks,
    load_scaling_corpus,
    parse_bytes,
    results_markdown,
    run_scaling,
    trained_m1,
)
from nct.models.m1 import M1
from nct.train.m1 import evaluation_sample, training_array

WORDS = "the cat sat on a mat and a dog ran in the fog while a bird flew over the red hill".split()


def _text(seed: int, n_words: int) -> bytes:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n_words)).encode()


CORPUS = Corpus("toy", (Document("a", _text(0, 900)), Document("b", _text(1, 900))))
CFG = ScalingConfig(
    sizes=["200k"], train_bytes=[1000, 3000], steps=2, batch_size=2, eval_bytes=150, min_block=256,
    adjust_for=[10**6, 10**9],
)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling")
    return out, run_scaling(CFG, out, CORPUS)


def test_every_cell_is_trained_rated_and_verified(grid):
    out, rows = grid
    assert [(r["size"], r["train_bytes"]) for r in rows] == [("200k", 1000), ("200k", 3000)]
    data = evaluation_sample(CORPUS.split("validation"), CFG.eval_bytes)
    for r in rows:
        assert r["verified"] and all(c["verified"] for c in r["context"])
        assert r["steps"] == 2 and r["block"] == 512 and r["eval_bytes"] == len(data)
        assert r["train_bytes_used"] == len(training_array(CORPUS, r["train_bytes"]))
        m1 = M1.load(out / "runs" / f"200k-{r['train_bytes']}" / "m1.safetensors")
        assert len(compressor("ac", m1, block=512).compress(data)) == r["compressed"]
    # rate vs context only for the runs with the most text, blocks 256 and the model's context 512
    assert rows[0]["context"] == [] and [c["block"] for c in rows[1]["context"]] == [256, 512]
    assert rows[1]["context"][-1]["compressed"] == rows[1]["compressed"]


def test_adjusted_rates_count_the_stored_model(grid):
    out, rows = grid
    for r in rows:
        stored = load_file(str(out / "runs" / f"200k-{r['train_bytes']}" / "m1.safetensors"))
        size = sum(t.numel() * t.element_size() for t in stored.values())
        assert r["model_bytes"] == size
        assert r["bits_per_byte"] == pytest.approx(8 * r["compressed"] / r["eval_bytes"])
        assert r["adjusted_bits_per_byte"] == pytest.approx(8 * (r["compressed"] + size) / r["eval_bytes"])
        assert r["adjusted_at_train_bytes"] == pytest.approx(r["bits_per_byte"] + 8 * size / r["train_bytes_used"])
        assert r["adjusted_at"]["1000000000"] == pytest.approx(r["bits_per_byte"] + 8 * size / 1e9)


def test_reports_and_plots_are_written(grid):
    out, rows = grid
    for name in ("results.md", "rate_vs_params.png", "adjusted_vs_params.png", "rate_vs_context.png"):
        assert (out / name).stat().st_size > 0
    result = json.loads((out / "results.json").read_text())
    assert result["rows"] == rows and result["config"]["steps"] == 2 and result["rate_block"] == 512
    assert "torch" in result["environment"] and (result["kind"], result["schema"]) == ("scaling", 1)
    md = (out / "results.md").read_text()
    assert md.count("| 200k |") == 3 and "N = 1 GB" in md and "not verified" not in md


def test_second_call_skips_finished_runs_and_rates(grid, monkeypatch):
    out, rows = grid
    stamp = (out / "runs" / "200k-3000" / "m1.safetensors").stat().st_mtime_ns

    def fail(*args, **kwargs):
        raise AssertionError("a finished run was trained or measured again")

    monkeypatch.setattr(scaling, "train_m1", fail)
    monkeypatch.setattr(scaling, "measure_rate", fail)
    assert run_scaling(CFG, out, CORPUS) == rows
    assert (out / "runs" / "200k-3000" / "m1.safetensors").stat().st_mtime_ns == stamp


def test_a_run_with_other_settings_is_refused(grid):
    out, _ = grid
    with pytest.raises(ValueError, match="other settings"):
        trained_m1(replace(CFG, steps=3), "200k", 1000, CORPUS, out / "runs" / "200k-1000")


def test_unverified_round_trips_are_marked_not_reported(grid):
    _, rows = grid
    bad = [{**rows[0], "verified": False}, rows[1]]
    md = results_markdown(bad, CFG)
    assert md.count("**not verified**") == 5  # bits/byte and the four adjusted rates
    assert "did NOT verify**" in md and "200k-1000" in md.split("did NOT verify")[1]
    assert f"{rows[0]['bits_per_byte']:.3f}" not in md.split("\n| 200k |")[1].split("\n")[0]


def test_training_text_grows_by_extension():
    small, large = training_array(CORPUS, 1000), training_array(CORPUS, 3000)
    assert 990 <= len(small) <= 1010 and 2990 <= len(large) <= 3010
    first = bytes(small[:100])
    assert bytes(large).startswith(first) and b"\n\n" in bytes(small)  # each document's head, joined


def test_parsing_and_helpers():
    assert [parse_bytes(s) for s in ("65536", "250k", "1M", "1.5MB", "10G")] == [65536, 250_000, 10**6, 1_500_000, 10**10]
    with pytest.raises(ValueError):
        parse_bytes("lots")
    assert context_blocks(512, 64) == [64, 128, 256, 512] and context_blocks(1024, 1024) == [1024]
    assert context_blocks(300, 128) == [128, 256, 300]
    assert byte_label(250_000) == "250 kB" and byte_label(65_536) == "65.5 kB" and byte_label(10**10) == "10 GB"
    assert adjusted_rate(2.0, 1000, 8000) == 3.0
    assert ScalingConfig(sizes=["200k", "3m"]).rate_block() == 512
    with pytest.raises(ValueError, match="unknown M1 size"):
        ScalingConfig(sizes=["9m"])
    with pytest.raises(ValueError, match="text"):
        load_scaling_corpus("image:photos")


def test_cli(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_bytes(_text(2, 600))
    out = tmp_path / "out"
    args = ["--threads", "1", "scaling", "--sizes", "200k", "--data", f"text:{text}", "--train-bytes", "1k", "--steps", "2",
            "--batch-size", "2", "--eval-bytes", "100", "--min-block", "512", "--out", str(out)]
    assert main(args) == 0
    assert "| 200k | 213,056 |" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["rows"][0]["verified"] is True
    assert main(["scaling", "--sizes", "9m", "--out", str(tmp_path / "bad")]) == 1
    assert "unknown M1 size" in capsys.readouterr().err
