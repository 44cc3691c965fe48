import numpy as np
import pytest
import torch

from nct.cli import main
from nct.compressors.generative import bits_per_byte, distribution, sample

CONTEXT = b"the cat sat on the mat. the cat sat on the "


@pytest.mark.parametrize("name", ["gzip", "zstd", "bz2", "m1"])
def test_next_byte_probabilities_sum_to_one(name, tiny_m1):
    p = distribution(name, tiny_m1)(CONTEXT)
    assert p.shape == (256,) and (p > 0).all() and p.sum() == pytest.approx(1.0)


def test_m1_distribution_is_the_engines_cdf(tiny_m1):
    cache = tiny_m1.start(1)
    cdf = tiny_m1.step(cache, torch.tensor([tiny_m1.bos]))
    for b in CONTEXT:
        cdf = tiny_m1.step(cache, torch.tensor([b]))
    cdf = cdf[0].double().numpy()
    assert np.array_equal(distribution("m1", tiny_m1)(CONTEXT), np.diff(cdf) / cdf[-1])


def test_gzip_prefers_continuing_a_repeat():
    p = distribution("gzip")(CONTEXT)
    assert p[ord("m")] == p.max()  # "the m" continues the match "the mat"


def test_sampling_is_reproducible_with_a_seed():
    model = distribution("gzip")
    a, b, c = (sample(model, CONTEXT, 12, seed=s) for s in (3, 3, 4))
    assert a == b != c and len(a) == 12
    greedy = sample(model, CONTEXT, 1, temperature=0)
    assert greedy == b"m"


def test_uniform_model_rates_eight_bits_per_byte():
    assert bits_per_byte(lambda x: np.full(256, 1 / 256), b"any bytes") == pytest.approx(8.0)


def test_cli_sample(capsys):
    assert main(["sample", "--compressor", "gzip", "--prompt", "ab", "--bytes", "4", "--seed", "1"]) == 0
    assert capsys.readouterr().out.startswith("ab")
