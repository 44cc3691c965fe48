import math

import pytest
import torch

from nct.data.corpus import Corpus, Document
from nct.data.shards import Shards
from nct.models.sizes import M2_SIZES, m2_config
from nct.models.transformer import Transformer, TransformerConfig
from nct.tokenizers.pipeline import tokenize_corpus
from nct.train.loop import TrainConfig
from nct.train.m2 import evaluate, flops_per_byte, holdout, sequence_batches, train_m2, trivial_baselines

TINY = TransformerConfig(d_model=32, n_layers=1, n_heads=2, n_kv_heads=2, d_mlp=64, context=32, position_bias="alibi")
CORPUS = Corpus("toy", tuple(Document(f"d{i}", b"abracadabra, said the wizard. " * (2 + i % 3)) for i in range(30)))


@pytest.fixture(scope="module")
def byte_shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("shards") / "bytes"
    tokenize_corpus(CORPUS, "bytes", d, split="all", example_bytes=200)
    return Shards(d)


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


def test_batches_cover_every_piece_once_per_epoch(byte_shards):
    train, _ = holdout(len(byte_shards))
    b = sequence_batches(byte_shards, train, 32, 4, bos=256, seed=0)
    x, y = b(0)
    assert x.shape == y.shape == (4, 32) and (x[:, 0] == 256).all()
    assert torch.equal(b(3)[0], sequence_batches(byte_shards, train, 32, 4, bos=256, seed=0)(3)[0])


def test_train_m2_end_to_end(byte_shards, tmp_path):
    cfg = TrainConfig(steps=40, warmup=4, eval_every=20, checkpoint_every=20, batch_size=8, lr=3e-3, dtype="fp32")
    model, report = train_m2(byte_shards.dir, TINY, tmp_path / "run", cfg)
    assert report["bits_per_byte"] < report["baselines"]["unigram"] < report["baselines"]["uniform"] == pytest.approx(8.0)
    assert report["flops_per_byte"] == pytest.approx(2 * model.non_embedding_params())
    assert report["bytes_per_step"] == 1.0 and (tmp_path / "run" / "report.json").exists()
