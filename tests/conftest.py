"""Shared fixtures: a tiny random M1 (exactness does not need a trained model)."""

from __future__ import annotations

import pytest
import torch

from nct.data.shards import Shards
from nct.models.m1 import M1
from nct.models.transformer import Transformer, TransformerConfig

# Tiny models gain nothing from threads, and thread hand-offs cost a lot on a busy machine;
# tests/models/test_m1.py checks 1 vs 2 threads explicitly in fresh processes.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """Back to one thread after every test: ``nct.cli.main`` gives PyTorch every core, and tests run
    after a CLI test would otherwise share them (a Hugging Face round trip ran 20x slower)."""
    yield
    torch.set_num_threads(1)

TINY = TransformerConfig(
    d_model=32, n_layers=2, n_heads=2, n_kv_heads=1, d_mlp=64, context=64, window=16, position_bias="alibi"
)
TINY_FULL = TransformerConfig(d_model=32, n_layers=2, n_heads=2, n_kv_heads=2, d_mlp=64, context=48)


def random_inputs(seed: int, batch: int, length: int, bos: int = 256) -> torch.Tensor:
    """Random byte ids [batch, length], each row starting with ``bos``."""
    x = torch.randint(0, 256, (batch, length), generator=torch.Generator().manual_seed(seed))
    x[:, 0] = bos
    return x


def random_m1(cfg: TransformerConfig, seed: int = 0, std: float = 0.3) -> M1:
    """An M1 engine from a randomly initialised float model with large weights (peaky outputs; the
    larger ``std``, the peakier)."""
    torch.manual_seed(seed)
    model = Transformer(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.normal_(0, std)
    return M1.from_float(model, torch.randint(0, 257, (4, cfg.context)))


@pytest.fixture(scope="session")
def tiny_m1() -> M1:
    """Windowed multi-query tiny M1."""
    return random_m1(TINY)


@pytest.fixture(scope="session")
def tiny_m1_full() -> M1:
    """Full-attention multi-head tiny M1 (no window)."""
    return random_m1(TINY_FULL, seed=1)


@pytest.fixture(scope="session")
def tiny_model_path(tiny_m1, tmp_path_factory) -> str:
    """The tiny M1 saved to disk."""
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    tiny_m1.save(path)
    return str(path)


@pytest.fixture(scope="module")
def byte_shards(tmp_path_factory) -> Shards:
    """Byte-level shards of a toy corpus (M2 tests)."""
    from nct.tokenizers.pipeline import tokenize_corpus
    from tests.m2_fixtures import CORPUS

    d = tmp_path_factory.mktemp("shards") / "bytes"
    tokenize_corpus(CORPUS, "bytes", d, split="all", example_bytes=200)
    return Shards(d)


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster of 2 CPUs for the Ray engines' tests (an engine leaves a cluster it did
    not start running); skipped where Ray is not installed."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()
