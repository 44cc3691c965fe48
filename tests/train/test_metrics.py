import pytest
import torch

from nct.train.metrics import evaluate, flops_per_byte, trivial_baselines
from nct.models.sizes import M2_SIZES, m2_config
from nct.models.transformer import Transformer
from tests.m2_fixtures import TINY


def test_paper_sizes_have_the_papers_parameter_counts():
    assert Transformer(m2_config("25m", 256)).non_embedding_params() == _count(M2_SIZES["25m"])
    for name, millions in [("25m", 25), ("113m", 113), ("403m", 403)]:
        assert abs(_count(M2_SIZES[name]) / 1e6 - millions) / millions < 0.01


def _count(cfg):
    per_layer = 4 * cfg.d_model**2 + 3 * cfg.d_model * cfg.d_mlp + 2 * cfg.d_model
    return cfg.n_layers * per_layer + cfg.d_model


def test_flops_per_byte():
    assert flops_per_byte(25_000_000, 1.0) == 50_000_000
    # EqualInfoAC[b=16, v=65k] in the paper: 5.31 bytes/token, and M1 "3m" adds ~6M FLOPs/byte
    assert flops_per_byte(25_000_000, 5.31, 3_000_000) == pytest.approx(2 * 25e6 / 5.31 + 6e6)


def test_uniform_model_has_the_analytic_bits_per_byte(byte_shards):
    model = Transformer(TINY.__class__(**{**TINY.to_dict(), "vocab_size": 256}))
    with torch.no_grad():
        model.head.weight.zero_()
    held = list(range(len(byte_shards)))
    ev = evaluate(model, byte_shards, held)
    assert ev.bits_per_token == pytest.approx(8.0, abs=1e-5)
    assert ev.bits_per_byte == pytest.approx(trivial_baselines(byte_shards, [], byte_shards, held)["uniform"], rel=1e-5)
