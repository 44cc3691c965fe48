"""The compiled step (nct.models.exact_kernels.step) gives M1's CDFs bit for bit: it is checked
against the full-sequence path and the PyTorch step path, past the attention window's wrap, with
several key/value heads, per-row restarts, and on the shipped model."""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from nct.models import m1 as m1_module
from nct.models.m1 import M1
from tests.conftest import TINY, TINY_FULL, random_inputs, random_m1


def _steps(m1, x, compiled_rows, monkeypatch, restart_at=None):
    """CDFs of every position of x [B, T] by cached steps, with steps of up to ``compiled_rows``
    rows compiled; row 0 restarts at ``restart_at`` (and is fed x[0] from its start again)."""
    monkeypatch.setattr(m1_module, "COMPILED_STEP_ROWS", compiled_rows)
    cache = m1.start(len(x))
    out = []
    for t in range(x.shape[1]):
        tokens = x[:, t].clone()
        if restart_at is not None and t >= restart_at:
            if t == restart_at:
                m1.reset(cache, torch.tensor([0]))
            tokens[0] = x[0, t - restart_at]
        out.append(m1.step(cache, tokens))
    return torch.stack(out, 1)


@pytest.mark.parametrize("cfg", [replace(TINY, window=24), replace(TINY_FULL, n_kv_heads=2)], ids=["windowed", "two-kv-heads"])
def test_compiled_steps_equal_the_full_sequence_and_pytorch_steps(cfg, monkeypatch):
    m1 = random_m1(cfg, seed=3)
    x = random_inputs(4, 3, 45)
    compiled, pytorch = _steps(m1, x, 16, monkeypatch), _steps(m1, x, 0, monkeypatch)
    assert torch.equal(compiled, m1.cdfs(x)) and torch.equal(pytorch, compiled)


def test_compiled_steps_restart_rows_like_pytorch(monkeypatch):
    m1 = random_m1(replace(TINY, window=24), seed=5)
    x = random_inputs(6, 2, 40)
    compiled = _steps(m1, x, 16, monkeypatch, restart_at=30)
    assert torch.equal(compiled, _steps(m1, x, 0, monkeypatch, restart_at=30))
    assert torch.equal(compiled[0, 30:], m1.cdfs(x[:1, :10])[0])


def test_shipped_model_compiled_and_pytorch_steps_agree_past_the_window(monkeypatch):
    m1 = M1.load("default")
    x = random_inputs(7, 2, 300, m1.bos)
    assert torch.equal(_steps(m1, x, 16, monkeypatch), _steps(m1, x, 0, monkeypatch))


@pytest.mark.parametrize("cfg", [replace(TINY, window=24), TINY_FULL], ids=["windowed", "full-attention"])
def test_compiled_engine_scores_a_sequence_as_pytorch_does(cfg):
    m1 = random_m1(cfg, seed=8)
    x = random_inputs(9, 3, 40)
    compiled = m1.cdfs(x.numpy(), engine="compiled")
    assert isinstance(compiled, np.ndarray) and isinstance(m1.cdfs(x), torch.Tensor)  # the kind given
    assert np.array_equal(compiled, m1.cdfs(x.numpy()))
    assert torch.equal(torch.from_numpy(compiled), m1.cdfs(x))
    with pytest.raises(ValueError, match="unknown engine"):
        m1.cdfs(x, engine="gpu")


def test_loading_and_stepping_a_small_batch_do_not_import_torch():
    """Up to 32 rows step compiled while PyTorch is not imported (a file under 32 KB decodes without it)."""
    code = ("import sys, numpy as np\nfrom nct.models.m1 import M1\nm = M1.load('default')\n"
            "c = m.start(32)\nm.step(c, np.full(32, m.bos))\nm.cdfs(np.full((1, 8), m.bos), engine='compiled')\n"
            "print('torch' in sys.modules, m.fingerprint)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", M1.load("default").fingerprint]


def test_read_only_tokens_are_fine_on_both_paths(monkeypatch):
    """Tokens straight from a pipe (np.frombuffer: read-only) give no PyTorch warning and the same CDFs."""
    import warnings

    m1 = random_m1(TINY, seed=2)
    tokens = np.frombuffer(np.full(20, m1.bos, np.int64).tobytes(), np.int64)
    got = []
    for rows in (0, 16):
        monkeypatch.setattr(m1_module, "COMPILED_STEP_ROWS", rows)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got.append(m1.step(m1.start(20), tokens))
            m1.cdfs(tokens.reshape(4, 5))
    assert np.array_equal(*got)
