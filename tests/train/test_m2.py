import pytest

from nct.train.loop import TrainConfig
from nct.train.m2 import train_m2
from tests.m2_fixtures import TINY


def test_train_m2_end_to_end(byte_shards, tmp_path):
    cfg = TrainConfig(steps=40, warmup=4, eval_every=20, checkpoint_every=20, batch_size=8, lr=3e-3, dtype="fp32")
    model, report = train_m2(byte_shards.dir, TINY, tmp_path / "run", cfg)
    assert report["bits_per_byte"] < report["baselines"]["unigram"] < report["baselines"]["uniform"] == pytest.approx(8.0)
    assert report["flops_per_byte"] == pytest.approx(2 * model.non_embedding_params())
    assert report["bytes_per_step"] == 1.0 and (tmp_path / "run" / "report.json").exists()
