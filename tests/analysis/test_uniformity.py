import math

import numpy as np
import pytest

from nct.analysis.uniformity import (
    bit_stream,
    kl_from_uniform,
    miller_madow_entropy_bits,
    ngram_counts,
    parse_ngram_range,
    plugin_entropy_bits,
    random_baseline,
    shard_kl,
)
from nct.data.shards import Manifest, write_shards


def test_entropy_hand_cases():
    assert plugin_entropy_bits(np.array([5, 5])) == pytest.approx(1.0)
    assert plugin_entropy_bits(np.array([7, 0, 0])) == 0.0
    h = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert plugin_entropy_bits(np.array([3, 1])) == pytest.approx(h)
    # Miller-Madow: + (m - 1) / (2 N ln 2) with m = 2 values seen, N = 4 samples
    assert miller_madow_entropy_bits(np.array([3, 1, 0])) == pytest.approx(h + 1 / (8 * math.log(2)))


def test_kl_hand_cases():
    assert kl_from_uniform(np.array([4, 4, 4, 4]), 4)[1] == pytest.approx(0.0)
    corrected, plugin = kl_from_uniform(np.array([9, 0, 0, 0]), 4)
    assert plugin == pytest.approx(2.0) and corrected == pytest.approx(2.0)  # one value: no correction
    with pytest.raises(ValueError):
        kl_from_uniform(np.zeros(4, dtype=np.int64), 4)


def test_bits_and_ngrams():
    bits = bit_stream([np.array([0b10, 0b01]), np.array([0b11])], 2)
    assert bits.tolist() == [1, 0, 0, 1, 1, 1]
    assert ngram_counts(bits, 2).tolist() == [0, 1, 1, 1]
    assert ngram_counts(bits, 4).tolist()[0b1001] == 1 and ngram_counts(bits, 4).sum() == 1  # tail dropped
    assert parse_ngram_range("1..4") == [1, 2, 3, 4] and parse_ngram_range("1,8") == [1, 8]


def test_random_bits_are_uniform_after_correction():
    rows = random_baseline(400_000, range(1, 15))
    sampled = [r for r in rows if r.pieces >= 8 << r.n]  # n <= 12 here
    assert len(sampled) == 12 and all(abs(r.kl_bits) < 3e-3 for r in sampled)
    assert rows[11].kl_plugin_bits > 20 * abs(rows[11].kl_bits)  # 12 bits: the plug-in estimate is biased
    assert rows[-1].kl_bits < rows[-1].kl_plugin_bits / 3  # undersampled: corrected, but only in part


def test_shard_kl_separates_skewed_from_uniform(tmp_path):
    rng = np.random.default_rng(1)
    texts = [bytes(rng.integers(0, 256, 3000, dtype=np.uint8)), b"aaaaabbbbb" * 300]
    for name, text in (("uniform", texts[0]), ("skewed", texts[1])):
        m = Manifest("bytes", {}, 256, None, "test", 3000)
        write_shards(tmp_path / name, m, [text], lambda group: [list(t) for t in group])
    uniform = shard_kl("uniform", tmp_path / "uniform", [1, 8])
    skewed = shard_kl("skewed", tmp_path / "skewed", [1, 8])
    assert [r.n for r in uniform] == [None, 1, 8]
    assert all(abs(r.kl_bits) < 0.1 for r in uniform)
    assert skewed[0].kl_bits == pytest.approx(7.0, abs=0.01)  # two equally likely bytes: 8 - 1 bits
    assert shard_kl("cut", tmp_path / "skewed", [8], max_tokens=100)[0].pieces == 100


def test_cli_writes_table_json_and_plot(tmp_path, capsys):
    from nct.cli import main

    m = Manifest("bytes", {}, 256, None, "test", 3000)
    write_shards(tmp_path / "s", m, [b"abcabcabd" * 400], lambda group: [list(t) for t in group])
    assert main(["analyze", "uniformity", "--shards", str(tmp_path / "s"), "--ngram", "1..8", "--out", str(tmp_path / "o")]) == 0
    assert "| random bits | 8 |" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"uniformity.json", "uniformity.md", "uniformity.png"}
