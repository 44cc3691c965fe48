import numpy as np
import pytest

from nct.analysis.learn_ac import IGNORE, SEP, VOCAB, fit, pairs, run_probe, segments, to_batch
from nct.data.corpus import embedded
from nct.train.loop import TrainConfig
from tests.m2_fixtures import CORPUS, TINY


def test_pairs_and_batches_mask_everything_but_the_target():
    ex = pairs("decompress", [b"ab"], [[7, 8, 9]])
    assert ex == [([7, 8, 9], [97, 98])]
    x, y = to_batch(ex, 8, with_input=True)
    assert x[0].tolist() == [VOCAB, 7, 8, 9, SEP, 97, 0, 0]
    assert y[0].tolist() == [IGNORE] * 4 + [97, 98] + [IGNORE] * 2
    x, y = to_batch(ex, 8, with_input=False)
    assert x[0, :2].tolist() == [VOCAB, 97] and y[0, :3].tolist() == [97, 98, IGNORE]
    with pytest.raises(ValueError):
        to_batch(ex, 4, with_input=True)
    with pytest.raises(ValueError):
        pairs("sing", [], [])


def test_segments_are_seeded_and_sized():
    a = segments(embedded().split("train"), 10, 32, seed=3)
    assert a == segments(embedded().split("train"), 10, 32, seed=3) and {len(s) for s in a} == {32}


def test_a_probe_learns_what_the_input_tells_and_the_baseline_cannot(tmp_path):
    """Synthetic task: the target is the input's first symbol (one of 4): the probe can reach 100%,
    a model that sees only targets 25%."""
    rng = np.random.default_rng(0)
    ex = [([int(a), 5, 6], [int(a)]) for a in rng.integers(0, 4, 600)]
    cfg = TrainConfig(steps=120, warmup=10, batch_size=32, lr=1e-2, eval_every=60, checkpoint_every=60, dtype="fp32")
    acc, _ = fit(ex[:500], ex[500:], True, TINY, cfg, tmp_path / "probe", 8)
    base, _ = fit(ex[:500], ex[500:], False, TINY, cfg, tmp_path / "base", 8)
    assert acc > 0.9 and base < 0.45


def test_run_probe_end_to_end(tiny_m1, tmp_path):
    cfg = TrainConfig(steps=4, warmup=1, batch_size=8, eval_every=2, checkpoint_every=2, dtype="fp32")
    r = run_probe("decompress", "equal-info16", tiny_m1, CORPUS, tmp_path, cfg, size=TINY, segment_bytes=12, n_train=40, n_held=10)
    assert r.task == "decompress" and 0 <= r.accuracy <= 1 and r.bits_per_token > 0
    assert (tmp_path / "probe" / "model.safetensors").exists() and (tmp_path / "baseline" / "state.pt").exists()
