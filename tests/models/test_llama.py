"""The exact Llama engine: the same integer CDFs on every path, close to the float model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from nct.errors import ModelError
from nct.models.llama import Llama, exp_table, random_weights, reference_logits, rope_tables, sigmoid_table
from tests.llama_fixtures import tiny_config, tiny_llama


def ids(seed: int, batch: int, length: int, vocab: int) -> torch.Tensor:
    """Random token ids [batch, length] starting from the start token 1."""
    x = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))
    x[:, 0] = 1
    return x


def test_full_sequence_cached_steps_batch_and_length_agree():
    e = tiny_llama()
    x = ids(0, 3, 50, e.cfg.vocab_size)
    full = e.cdfs(x)
    cache = e.start(3, 50)
    steps = np.stack([e.step(cache, x[:, i]) for i in range(50)], 1)
    assert np.array_equal(full, steps)
    assert np.array_equal(e.cdfs(x[1:2, :23])[0], full[1, :23])  # another batch, another length
    assert (np.diff(full, axis=-1) >= 1).all() and (full[..., -1] <= 1 << 24).all()


def test_compiled_kernels_and_pytorch_operations_agree(monkeypatch):
    """The CPU's compiled kernels (``llama_kernels``: the whole cached step; the teacher-forced
    sequence's matmuls, here of 120 rows, quantization, heads and SwiGLU) and the PyTorch
    operations a GPU runs give the same CDFs, full sequence and steps; the compiled path never
    makes the GEMMs' fp32 copies of the weights."""
    from nct.models import llama

    cfg = tiny_config(tiny_llama().cfg.vocab_size)
    e = Llama.from_weights(cfg, random_weights(cfg, 0), tiny_llama().tokenizer_json, {"model": "tiny-llama"})
    x = ids(7, 4, 30, e.cfg.vocab_size)

    def both() -> tuple[np.ndarray, np.ndarray]:
        cache = e.start(4, 30)
        return e.cdfs(x), np.stack([e.step(cache, x[:, i]) for i in range(30)], 1)

    compiled = both()
    assert e._compiled and not e._gemm
    monkeypatch.setattr(llama, "COMPILED", False)
    assert not e._compiled
    operations = both()
    assert all(np.array_equal(a, b) for a, b in zip(compiled, operations))
    assert np.array_equal(compiled[0], compiled[1])


def test_intervals_are_the_cdfs_entries():
    e = tiny_llama()
    x = ids(1, 2, 40, e.cfg.vocab_size)
    low, high, total = e.intervals(x[:, :-1], x[:, 1:])
    cdf = e.cdfs(x[:, :-1]).reshape(-1, e.cfg.vocab_size + 1)
    t = x[:, 1:].reshape(-1).numpy()
    rows = np.arange(len(t))
    assert np.array_equal(low, cdf[rows, t]) and np.array_equal(high, cdf[rows, t + 1]) and np.array_equal(total, cdf[:, -1])


def test_thread_counts_agree():
    e = tiny_llama()
    x = ids(2, 2, 60, e.cfg.vocab_size)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = e.cdfs(x)
        torch.set_num_threads(2)
        two = e.cdfs(x)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(one, two)


SCRIPT = """
import hashlib, sys, torch
from tests.llama_fixtures import tiny_llama
e = tiny_llama()
x = torch.randint(0, e.cfg.vocab_size, (2, 48), generator=torch.Generator().manual_seed(3))
print(hashlib.sha256(e.cdfs(x).tobytes()).hexdigest())
"""


@pytest.mark.parametrize("capability", ["default", "avx2"])
def test_instruction_sets_agree(capability):
    """ATEN_CPU_CAPABILITY picks PyTorch's vectorized kernels: the CDFs must not change."""
    def run(env_capability: str | None) -> str:
        import os

        env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
        if env_capability:
            env["ATEN_CPU_CAPABILITY"] = env_capability
        return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True).stdout.strip()

    assert run(capability) == run(None)


def test_close_to_the_float_model():
    cfg = tiny_config(120)
    w = random_weights(cfg, 4, std=0.3)
    w["embed"] = w["embed"] * 0.2  # logits of a sensible size
    e = Llama.from_weights(cfg, w)
    x = ids(4, 2, 64, cfg.vocab_size)
    log_p = torch.log_softmax(reference_logits(cfg, w, x).double(), -1).numpy()
    q = np.diff(e.cdfs(x), axis=-1) / (1 << 24)
    kl = (np.exp(log_p) * (log_p - np.log(q))).sum(-1)
    assert kl.mean() < 0.02 and kl.max() < 0.1  # nats: int8 weights and activations, tables


def test_save_load_keeps_the_fingerprint_and_a_damaged_file_is_refused(tmp_path):
    e = tiny_llama()
    path = tmp_path / "e.safetensors"
    e.save(path)
    back = Llama.load(path)
    assert back.fingerprint == e.fingerprint and back.tokenizer_json == e.tokenizer_json
    x = ids(5, 1, 20, e.cfg.vocab_size)
    assert np.array_equal(back.cdfs(x), e.cdfs(x))
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 1  # one bit of a tensor
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="damaged"):
        Llama.load(path)
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable"):
        Llama.load(path)


def test_tables():
    lut = exp_table(8192, 64)
    assert lut[0] == 8192 and lut[-1] == 0 and lut[64] == round(8192 / np.e) and (np.diff(lut) <= 0).all()
    cos, sin = rope_tables(10000.0, 8, 50)
    angle = np.arange(50)[:, None] * 10000.0 ** (-np.arange(0, 8, 2) / 8)
    assert np.abs(cos - np.cos(angle)).max() < 1e-6 and np.abs(sin - np.sin(angle)).max() < 1e-6
    s = sigmoid_table()
    mid = len(s) // 2
    assert s[mid] == 0.5 and np.allclose(s[mid + 256], 1 / (1 + np.exp(-1.0))) and np.allclose(s + s[::-1], 1.0)


def test_blocks_longer_than_the_context_are_refused():
    e = tiny_llama()
    with pytest.raises(ValueError, match="context"):
        e.cdfs(ids(0, 1, e.cfg.context + 1, e.cfg.vocab_size))
    with pytest.raises(ValueError, match="context"):
        e.start(1, e.cfg.context + 1)


def test_the_gpu_paths_attention_weights_are_the_compiled_kernels():
    """``_attention_weights_torch`` (what a GPU runs) gives the numba kernel's integers, run here on the CPU."""
    from nct.models.llama import _attention_weights_torch
    from nct.models.llama_kernels import attention_weights
    from nct.models.m1 import ATTN_LUT_SCALE, ATTN_LUT_STEPS

    g = torch.Generator().manual_seed(6)
    rows, queries, keys = 3, 10, 12
    dots = torch.randint(-60000, 60000, (rows, queries, keys), generator=g).float()
    q_s, k_s, v_s = (torch.rand(shape, generator=g) + 0.01 for shape in ((rows, queries), (rows, keys), (rows, keys)))
    visible = np.arange(queries, dtype=np.int64) % keys + 1
    lut = exp_table(ATTN_LUT_SCALE, ATTN_LUT_STEPS)
    w, top = torch.empty_like(dots), torch.empty(rows, queries)
    attention_weights(dots.numpy(), (q_s * 0.001).numpy(), k_s.numpy(), v_s.numpy(), visible, lut, w.numpy(), top.numpy())
    w2, top2 = _attention_weights_torch(dots, q_s * 0.001, k_s, v_s, torch.from_numpy(visible), torch.from_numpy(lut))
    assert torch.equal(w, w2) and torch.equal(top, top2) and (w.sum(-1) <= 65537).all()
