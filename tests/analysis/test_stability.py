import random

import pytest

from nct.analysis.stability import common_words, levenshtein, sentence_tokens, strip_common_prefix, summarize
from nct.data.corpus import embedded
from nct.tokenizers import Bytes, GZipTokens


def _reference(a, b):
    """Textbook dynamic programme."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


def test_levenshtein_hand_cases():
    assert levenshtein(b"kitten", b"sitting") == 3
    assert levenshtein([1, 2, 3], [1, 2, 3]) == 0
    assert levenshtein([], [4, 5]) == 2 and levenshtein([4, 5], []) == 2
    assert levenshtein([1, 2, 3, 4], [2, 3, 4, 1]) == 2
    assert levenshtein(b"flaw", b"lawn") == 2


def test_levenshtein_matches_textbook_on_random_sequences():
    rng = random.Random(0)
    for _ in range(200):
        a = [rng.randrange(4) for _ in range(rng.randrange(12))]
        b = [rng.randrange(4) for _ in range(rng.randrange(12))]
        assert levenshtein(a, b) == _reference(a, b) == levenshtein(b, a)


def test_strip_common_prefix():
    assert strip_common_prefix([1, 2, 3, 4], [1, 2, 9]) == [3, 4]
    assert strip_common_prefix([1, 2], [1, 2, 3]) == []


def test_bytes_are_perfectly_stable_and_gzip_is_not():
    prefixes = common_words(embedded(), 40)
    assert len(prefixes) == 40 and "the" in prefixes
    sentence = " and then the rain came down upon the hills."
    stable = summarize("bytes", sentence_tokens(Bytes(), prefixes, sentence))
    assert stable.distinct == 1 and stable.mean_distance == 0 and stable.mean_tokens == len(sentence)
    gz = summarize("gzip", sentence_tokens(GZipTokens(), prefixes, sentence))
    assert gz.distinct > 20 and gz.mean_normalized > 0.1


def test_summarize_samples_pairs_with_a_seed():
    seqs = [[i % 3, i % 5] for i in range(30)]
    a, b = summarize("x", seqs, max_pairs=50, seed=1), summarize("x", seqs, max_pairs=50, seed=1)
    assert a == b and a.pairs == 50
    assert summarize("x", seqs).pairs == 30 * 29 // 2
    with pytest.raises(ValueError):
        common_words(embedded(), 10**7)


def test_cli_stability(tmp_path, capsys):
    from nct.cli import main

    out = tmp_path / "o"
    assert main(["analyze", "stability", "--methods", "bytes,gzip", "--prefixes", "20", "--out", str(out)]) == 0
    assert "| bytes | 20 | 1 |" in capsys.readouterr().out
    assert (out / "stability.png").exists() and (out / "stability.json").exists()
    assert main(["analyze", "stability", "--methods", "nonsense"]) == 1
