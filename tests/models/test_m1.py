"""Invariant 2 (README): M1's integer CDFs are identical on every computation path."""

import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.models.m1 import M1, ModelError
from tests.conftest import random_inputs


def _steps(m1, x):
    cache = m1.start(len(x))
    return torch.stack([m1.step(cache, x[:, t]) for t in range(x.shape[1])], 1)


@pytest.mark.parametrize("fixture", ["tiny_m1", "tiny_m1_full"])
def test_cdfs_are_valid(fixture, request):
    m1 = request.getfixturevalue(fixture)
    cdf = m1.cdfs(random_inputs(0, 3, 40))
    freq = cdf[..., 1:] - cdf[..., :-1]
    assert cdf.dtype == torch.int64 and (cdf[..., 0] == 0).all()
    assert (freq >= 1).all() and (cdf[..., -1] <= 1 << 24).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), batch=st.integers(1, 5), length=st.integers(1, 40))
def test_full_incremental_and_batch_agree(tiny_m1, seed, batch, length):
    x = random_inputs(seed, batch, length)
    full = tiny_m1.cdfs(x)
    assert torch.equal(full, _steps(tiny_m1, x))
    row = seed % batch
    assert torch.equal(full[row : row + 1], tiny_m1.cdfs(x[row : row + 1]))  # alone vs in a batch


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), length=st.integers(1, 48))
def test_full_attention_model_agrees(tiny_m1_full, seed, length):
    x = random_inputs(seed, 3, length)
    assert torch.equal(tiny_m1_full.cdfs(x), _steps(tiny_m1_full, x))


def test_padding_does_not_change_earlier_positions(tiny_m1):
    x = random_inputs(3, 2, 30)
    padded = torch.cat([x, torch.zeros(2, 10, dtype=torch.long)], 1)
    assert torch.equal(tiny_m1.cdfs(x), tiny_m1.cdfs(padded)[:, :30])


def test_window_longer_than_context_blocks(tiny_m1):
    """A windowed model codes blocks longer than its training context, identically on both paths."""
    x = random_inputs(5, 2, 150)
    assert torch.equal(tiny_m1.cdfs(x), _steps(tiny_m1, x))


def test_cache_grows_then_wraps():
    """The cache starts small, doubles up to the window, then reuses its slots as a ring."""
    from dataclasses import replace

    from tests.conftest import TINY, random_m1

    m1 = random_m1(replace(TINY, window=40, context=96), seed=2)
    x = random_inputs(9, 2, 120)
    cache = m1.start(2)
    assert cache.v[0].shape[3] == 16 and cache.slots == 40
    assert torch.equal(m1.cdfs(x), torch.stack([m1.step(cache, x[:, t]) for t in range(120)], 1))
    assert cache.v[0].shape[3] == 40


def test_real_text_agrees(tiny_m1):
    text = b"The quick brown fox jumps over the lazy dog. " * 3
    x = torch.tensor([[256] + list(text[:-1])])
    assert torch.equal(tiny_m1.cdfs(x), _steps(tiny_m1, x))


def test_thread_count_process_and_instruction_set_do_not_matter(tiny_model_path):
    """Same CDFs with 1 and 2 threads, in fresh processes, and with oneDNN held to AVX2 (whose int8
    GEMM adds products in saturating int16: M1 must notice and not use it) or torch's kernels to
    scalar code; for the tiny model and the shipped one, past its attention window."""
    code = (
        "import sys, torch, hashlib; torch.set_num_threads(int(sys.argv[2])); from nct.models.m1 import M1;"
        "m = M1.load(sys.argv[1]); g = torch.Generator().manual_seed(0);"
        "x = torch.randint(0, 256, (3, 300), generator=g); x[:, 0] = 256;"
        "print(hashlib.sha256(m.cdfs(x).numpy().tobytes()).hexdigest())"
    )
    runs = [("1", {}), ("2", {}), ("1", {"DNNL_MAX_CPU_ISA": "AVX2"}), ("1", {"ATEN_CPU_CAPABILITY": "default"})]
    for model in (tiny_model_path, "default"):
        out = {
            subprocess.run([sys.executable, "-c", code, model, n], capture_output=True, text=True, check=True, env={**os.environ, **env}).stdout
            for n, env in runs
        }
        assert len(out) == 1, model


def test_save_load_keeps_fingerprint(tiny_m1, tmp_path):
    tiny_m1.save(tmp_path / "m.safetensors")
    again = M1.load(tmp_path / "m.safetensors")
    assert again.fingerprint == tiny_m1.fingerprint
    x = random_inputs(1, 2, 20)
    assert torch.equal(again.cdfs(x), tiny_m1.cdfs(x))


def test_fingerprint_changes_with_weights(tiny_m1):
    t = dict(tiny_m1.t)
    t["head"] = t["head"].copy()
    t["head"][0, 0] += 1
    assert M1(tiny_m1.cfg, t).fingerprint != tiny_m1.fingerprint


def test_bad_model_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        M1.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="not a readable"):
        M1.load(junk)


def test_engine_tracks_float_model():
    """Quantization costs little: the engine's distribution is close to the float model's."""
    from nct.models.transformer import Transformer, TransformerConfig

    torch.manual_seed(0)
    cfg = TransformerConfig(d_model=64, n_layers=2, n_heads=2, n_kv_heads=1, d_mlp=128, context=64, window=32)
    model = Transformer(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    m1 = M1.from_float(model, torch.randint(0, 257, (4, 64)))
    x = random_inputs(0, 4, 64)
    logp = torch.log_softmax(model(x).double(), -1)
    cdf = m1.cdfs(x).double()
    q = (cdf[..., 1:] - cdf[..., :-1]) / cdf[..., -1:]
    kl_bits = (logp.exp() * (logp - q.log())).sum(-1).mean() / torch.log(torch.tensor(2.0))
    assert kl_bits < 0.01


def test_rows_restart_independently(tiny_m1):
    """Per-row resets (Equal-Info windows): a restarted row equals a fresh sequence, others are unaffected."""
    x = random_inputs(11, 3, 30)
    full = tiny_m1.cdfs(x)
    cache = tiny_m1.start(3)
    for t in range(20):
        tiny_m1.step(cache, x[:, t])
    tiny_m1.reset(cache, torch.tensor([1]))
    got = []
    for t in range(10):
        tokens = torch.stack([x[0, 20 + t], x[1, t], x[2, 20 + t]])
        got.append(tiny_m1.step(cache, tokens))
    got = torch.stack(got, 1)
    assert torch.equal(got[0], full[0, 20:30]) and torch.equal(got[2], full[2, 20:30])
    assert torch.equal(got[1], full[1, :10])
