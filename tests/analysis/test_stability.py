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


def test_conditional_entropy_hand_cases():
    from nct.analysis.stability import conditional_entropy_bits

    assert conditional_entropy_bits([(1, 5), (1, 5), (2, 6)]) == 0.0  # the first tells the second
    assert conditional_entropy_bits([(1, 5), (1, 6), (1, 7), (1, 8)]) == pytest.approx(2.0)


def test_position_map_of_synthetic_windows():
    from nct.analysis.stability import position_map, position_map_markdown

    windows = [([7, i], b"the" if i % 2 else b"tax") for i in range(10)] + [([9, 1], b"a")]
    first, second = position_map("toy", windows)
    assert (first.position, first.occurrences, first.distinct_ids) == (1, 11, 2)
    assert first.texts_per_id == pytest.approx(1.5) and first.first_byte_bits == 0.0  # 7 -> 't', 9 -> 'a'
    assert second.distinct_ids == 10 and list(first.examples)[0] == 7
    assert "| toy | 2 | 11 | 10 |" in position_map_markdown([first, second])


def test_window_texts_decode_each_equal_info_window(tiny_m1):
    from nct.analysis.stability import window_texts
    from nct.tokenizers import EqualInfoAC

    text = b"The quick brown fox jumps over the lazy dog. " * 3
    tok = EqualInfoAC(tiny_m1, bits=16, token_bits=8, rule="delay")
    windows = window_texts(tok, [text])
    assert b"".join(t for _, t in windows) == text and all(len(ids) == 2 for ids, _ in windows)
    with pytest.raises(ValueError):
        window_texts(EqualInfoAC(tiny_m1, bits=16, token_bits=8, reset_every=2), [text])
