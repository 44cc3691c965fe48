"""Shipped models by name; archives that need another model say which, by its shipped name."""

import pytest

import nct
from nct.container import ArchiveError
from nct.models import shipped
from nct.models.m1 import M1
from nct.models.shipped import ShippedModel, models_table, name_of, shipped_models
from tests.conftest import TINY_FULL, random_m1


def test_every_shipped_model_loads_by_name_and_matches_its_manifest():
    models = shipped_models()
    assert models and models[0].name == "default"
    for m in models:
        m1 = M1.load(m.name)
        assert m1.fingerprint == m.fingerprint
        assert name_of(m1.fingerprint) == m.name
    assert name_of("0" * 64) is None


def test_models_table_lists_them():
    text = models_table()
    for m in shipped_models():
        assert f"| {m.name} |" in text and m.fingerprint[:12] in text


def test_wrong_model_error_names_the_shipped_model(tiny_m1, monkeypatch, tmp_path):
    other = random_m1(TINY_FULL, seed=3)
    fake = [ShippedModel("tiny", tmp_path / "m1.safetensors", {"fingerprint": tiny_m1.fingerprint})]
    monkeypatch.setattr(shipped, "shipped_models", lambda: fake)
    archive = nct.compress(b"some text to code " * 4, model=tiny_m1, block=32)
    with pytest.raises(ArchiveError, match=r"made with model tiny \(.*pass --model tiny"):
        nct.decompress(archive, model=other)


def test_to_float_keeps_the_engine_s_predictions(tiny_m1):
    import torch

    model = tiny_m1.to_float().eval()
    x = torch.randint(0, 256, (2, 40))
    x[:, 0] = tiny_m1.bos
    logp = torch.log_softmax(model(x).float(), -1)
    cdf = tiny_m1.cdfs(x)
    p = (cdf[..., 1:] - cdf[..., :-1]).double() / cdf[..., -1:].double()
    assert (logp.exp() - p).abs().max() < 0.05
