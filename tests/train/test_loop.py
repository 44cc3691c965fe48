import math

import pytest
import torch

from nct.data.corpus import Corpus, Document
from nct.models.transformer import Transformer, TransformerConfig, lm_loss
from nct.train.loop import TrainConfig, learning_rate, load_float_model, train, training_device
from nct.train.m1 import (
    blocks_of,
    byte_batches,
    corpus_array,
    evaluation_sample,
    export_m1,
    float_bits_per_byte,
    train_m1,
)

CFG = TransformerConfig(d_model=32, n_layers=1, n_heads=2, n_kv_heads=1, d_mlp=64, context=32, window=16, position_bias="alibi")
TEXT = (b"the cat sat on the mat. " * 200) + (b"a dog ran in the fog. " * 200)
CORPUS = Corpus("toy", (Document("a", TEXT), Document("b", TEXT[::-1])))


def _run(tmp_path, name, interrupt_at=None, device="cpu"):
    torch.manual_seed(0)
    model = Transformer(CFG)
    inner = byte_batches(corpus_array(CORPUS), CFG, 4, seed=1)

    def batches(step):
        if step == interrupt_at:
            raise KeyboardInterrupt
        return inner(step)

    cfg = TrainConfig(steps=6, warmup=2, eval_every=3, checkpoint_every=100, batch_size=4, dtype="fp32", device=device)
    train(model, batches, lambda m: 1.0, cfg, tmp_path / name)
    return model


def test_resume_equals_uninterrupted(tmp_path):
    straight = _run(tmp_path, "a")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "b", interrupt_at=4)
    resumed = _run(tmp_path, "b")
    for (n, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), n
    assert torch.equal(load_float_model(tmp_path / "b").head.weight, resumed.head.weight)


def test_schedules():
    cfg = TrainConfig(steps=100, warmup=10, lr=1.0, min_lr_ratio=0.1)
    assert learning_rate(cfg, 0) == pytest.approx(0.1)
    assert learning_rate(cfg, 9) == pytest.approx(1.0)
    assert learning_rate(cfg, 100) == pytest.approx(0.1)
    rsqrt = TrainConfig(steps=100, warmup=16, lr=1.0, schedule="rsqrt")
    assert learning_rate(rsqrt, 63) == pytest.approx(0.5)


def test_uniform_model_loss_is_8_bits():
    logits = torch.zeros(2, 5, 256)
    _, ce = lm_loss(logits, torch.randint(0, 256, (2, 5)))
    assert ce.item() / math.log(2) == pytest.approx(8.0)
    z, _ = lm_loss(logits, torch.zeros(2, 5, dtype=torch.long), z_loss=1.0)
    assert z.item() == pytest.approx(math.log(256) + math.log(256) ** 2)


def test_batches_are_deterministic_and_start_with_bos():
    b = byte_batches(corpus_array(CORPUS), CFG, 3, seed=5)
    x1, y1 = b(7)
    x2, _ = b(7)
    assert torch.equal(x1, x2) and (x1[:, 0] == CFG.bos).all() and torch.equal(x1[:, 1:], y1[:, :-1])


def test_blocks_of_lengths():
    x, y, n = blocks_of(b"abcdefg", 3, 256)
    assert n.tolist() == [3, 3, 1] and x[:, 0].tolist() == [256] * 3 and bytes(y[1].tolist()) == b"def"


def test_train_and_export_m1(tmp_path):
    cfg = TrainConfig(steps=30, warmup=3, eval_every=15, checkpoint_every=15, batch_size=8, lr=3e-3, dtype="fp32")
    model, log = train_m1(CORPUS, CFG, cfg, tmp_path / "run", eval_bytes=512)
    assert log[-1]["val_bpb"] < log[0]["val_bpb"] < 8.5
    m1 = export_m1(tmp_path / "run", CORPUS, eval_bytes=512)
    assert (tmp_path / "run" / "m1.safetensors").exists() and m1.meta["steps"] == 30
    assert abs(m1.meta["val_bpb_engine"] - m1.meta["val_bpb_float"]) < 0.05 * m1.meta["val_bpb_float"]
    sample = evaluation_sample(CORPUS.split("validation"), 512)
    assert m1.meta["val_bpb_float"] == pytest.approx(float_bits_per_byte(model.eval(), sample), rel=1e-5)


def test_training_goes_on_from_an_exported_engine(tmp_path):
    cfg = TrainConfig(steps=30, warmup=3, eval_every=15, checkpoint_every=15, batch_size=8, lr=3e-3, dtype="fp32")
    train_m1(CORPUS, CFG, cfg, tmp_path / "first", eval_bytes=512)
    first = export_m1(tmp_path / "first", CORPUS, eval_bytes=512)
    more = TrainConfig(steps=2, warmup=1, eval_every=1, checkpoint_every=1, batch_size=8, lr=1e-5, dtype="fp32")
    _, log = train_m1(CORPUS, CFG, more, tmp_path / "second", eval_bytes=512, init=first)
    assert log[0]["val_bpb"] == pytest.approx(first.meta["val_bpb_float"], abs=0.1)  # starts where the first ended
    second = export_m1(tmp_path / "second", CORPUS, eval_bytes=512, init={"fingerprint": first.fingerprint})
    assert second.meta["init"]["fingerprint"] == first.fingerprint
    with pytest.raises(ValueError, match="shape"):
        train_m1(CORPUS, TransformerConfig(d_model=64, n_layers=1, n_heads=2, n_kv_heads=1, d_mlp=64, context=32), more, tmp_path / "x", init=first)


def test_padding_is_ignored():
    logits = torch.randn(1, 4, 256)
    full, _ = lm_loss(logits[:, :2], torch.tensor([[3, 7]]), z_loss=1e-4)
    padded, _ = lm_loss(logits, torch.tensor([[3, 7, -100, -100]]), z_loss=1e-4)
    assert padded.item() == pytest.approx(full.item())


def test_training_device():
    assert training_device("cpu") == torch.device("cpu")
    assert training_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        training_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            training_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_resume_on_cuda(tmp_path):
    straight = _run(tmp_path, "a", device="cuda")
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "b", interrupt_at=4, device="cuda")
    resumed = _run(tmp_path, "b", device="cuda")
    assert straight.device.type == "cuda"
    for (n, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-6), n
