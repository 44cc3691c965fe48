"""The portable engine (every operation in PyTorch, nct.models.exact_torch) gives the CPU engine's
integers: kernel by kernel against the numba kernels, whole CDFs and cached steps (with resets,
a growing cache and a ring past the window) on the CPU and, where there is one, on a GPU."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from nct.models import exact_kernels, exact_torch
from nct.models.m1 import M1
from tests.conftest import TINY, TINY_FULL, random_inputs, random_m1


def _rows(seed, n=64, k=96):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, k, generator=g) * torch.logspace(-3, 3, n)[:, None]  # scales far apart
    x[0] = 0.0  # an all-zero row
    return x


@pytest.mark.parametrize("normalize", [False, True])
def test_quantize_equals_the_compiled_kernel(normalize):
    x = _rows(1)
    q, r = np.empty(x.shape, np.int8), np.empty((len(x), 1), np.float32)
    exact_kernels.quantize_int8(x.numpy(), normalize, q, r)
    got_q, got_r = exact_torch.quantize(x, normalize)
    assert np.array_equal(got_q.numpy(), q) and np.array_equal(got_r.numpy(), r)


def test_integer_cdf_equals_the_compiled_kernel():
    m1 = M1.load("default")
    z, r = _rows(2, 32, 256), torch.rand(32, 1, generator=torch.Generator().manual_seed(3)) * 4
    out = np.empty((32, 257), np.int64)
    exact_kernels.integer_cdf(z.numpy(), r.numpy(), m1.t["out_lut"], (1 << 24) - 256, out)
    assert np.array_equal(exact_torch.integer_cdf(z, r, torch.from_numpy(m1.t["out_lut"]), (1 << 24) - 256).numpy(), out)


@pytest.mark.parametrize("cfg", [replace(TINY, window=24), replace(TINY_FULL, n_kv_heads=2)], ids=["windowed", "two-kv-heads"])
def test_portable_cdfs_equal_the_cpu_engine(cfg):
    m1 = random_m1(cfg, seed=4)
    x = random_inputs(5, 3, 45)  # past the window
    assert torch.equal(m1.cdfs(x, engine="portable"), m1.cdfs(x))


def test_portable_cdfs_of_the_shipped_model_on_text_past_its_window():
    m1 = M1.load("default")
    text = (b"The quick brown fox jumps over the lazy dog; " * 8)[:299]
    x = torch.tensor([[m1.bos, *text], [m1.bos, *text[::-1]]])
    assert torch.equal(m1.cdfs(x, engine="portable"), m1.cdfs(x))


def _stepped(m1, x, reset_at=None):
    """CDFs [B, T, V+1] of cached steps over x; row 1 restarts (reads x[1] again from BOS) at ``reset_at``."""
    cache, out = m1.start(len(x)), []
    for t in range(x.shape[1]):
        tokens = x[:, t].clone()
        if reset_at is not None and t >= reset_at:
            if t == reset_at:
                m1.reset(cache, [1])
            tokens[1] = x[1, t - reset_at]
        out.append(m1.step(cache, tokens))
    return torch.stack(out, 1)


def test_device_model_shares_the_tensors_and_the_fingerprint():
    m1 = random_m1(TINY, seed=7)
    on = m1.to("cpu")
    assert on.device == "cpu" and m1.device is None and on.t is m1.t and on.fingerprint == m1.fingerprint
    assert isinstance(on.start(2).k[0], torch.Tensor) and isinstance(m1.start(2).k[0], np.ndarray)
    assert on.to(None).device is None


@pytest.mark.parametrize("cfg", [replace(TINY, window=24), replace(TINY_FULL, n_kv_heads=2)], ids=["windowed", "two-kv-heads"])
@pytest.mark.parametrize("rows", [3, 40])  # 40: above the compiled step's rows, so the CPU side is PyTorch's step
def test_portable_steps_equal_the_cpu_engine(cfg, rows):
    m1 = random_m1(cfg, seed=8)
    x = random_inputs(9, rows, 45)  # the cache grows, then (windowed) wraps
    want = _stepped(m1, x, reset_at=30)
    assert torch.equal(_stepped(m1.to("cpu"), x, reset_at=30), want)
    assert torch.equal(want[1, 30:], m1.cdfs(x[1:2, :15])[0])  # the restarted row reads as a fresh one


def test_portable_steps_of_the_shipped_model_equal_its_full_sequence():
    m1 = M1.load("default").to("cpu")
    x = random_inputs(10, 2, 300, m1.bos)  # past its window
    assert torch.equal(_stepped(m1, x), m1.to(None).cdfs(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_cdfs_equal_the_cpu_engine():
    m1 = M1.load("default")
    x = random_inputs(6, 4, 600, m1.bos)
    assert torch.equal(m1.cdfs(x, engine="portable", device="cuda"), m1.cdfs(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_steps_equal_the_cpu_engine():
    m1 = M1.load("default")
    x = random_inputs(11, 24, 300, m1.bos)
    assert torch.equal(_stepped(m1.to("cuda"), x, reset_at=200), _stepped(m1, x, reset_at=200))
