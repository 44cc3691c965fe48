"""The token match model (llm match 1): predictions from what a lockstep decoder has seen, and its bonus."""

from __future__ import annotations

import numpy as np
from nct.models.token_match import LIMIT, MAX_LENGTH, ORDER, SEARCH_BLOCKS, Mixer, TokenMatch


def matcher(blocks: list[list[int]]) -> TokenMatch:
    """Every position of every block added (as a compressor does)."""
    m = TokenMatch()
    for b, tokens in enumerate(blocks):
        m.track(b, tokens)
        for t in range(len(tokens)):
            m.add(b, t)
    return m


def test_predicts_what_followed_the_same_context_before_this_position():
    own = [1, 2, 3, 4, 9, 1, 2, 3, 4]
    m = matcher([own + [7]])
    assert m.predict(0, len(own)) == (9, ORDER)  # 1 2 3 4 was followed by 9
    assert m.predict(0, 4) is None  # its first occurrence: nothing before it


def test_other_blocks_count_only_before_the_same_position():
    later = [0, 5, 1, 2, 3, 4, 0]
    assert matcher([[5, 1, 2, 3, 4, 8], later]).predict(1, 6) == (8, 5)  # its 8 at position 5 < 6; agrees back to the 5
    assert matcher([[7, 7, 1, 2, 3, 4, 8], later]).predict(1, 6) is None  # that 8 sits at position 6: not decoded yet
    assert matcher([[9, 1, 2, 3, 4, 8], [0, 6, 1, 2, 3, 4, 0]]).predict(1, 6) == (8, ORDER)


def test_a_decoder_adding_as_it_goes_predicts_what_the_encoder_did():
    """Any batch, forgetting what no later block searches (as llm does): the same predictions as
    one model that kept everything, in a bounded number of blocks."""
    rng = np.random.default_rng(0)
    n, length = SEARCH_BLOCKS + 10, 12
    blocks = [list(rng.integers(0, 3, length)) for _ in range(n)]
    full = matcher(blocks)
    expected = [[full.predict(b, t) for t in range(length)] for b in range(n)]
    for batch in (1, 5, n):
        m, seen, got = TokenMatch(), [[] for _ in blocks], [[] for _ in blocks]
        for first in range(0, n, batch):
            m.forget(first - SEARCH_BLOCKS)
            rows = range(first, min(n, first + batch))
            for b in rows:
                m.track(b, seen[b])
            for t in range(length):  # lockstep: each row predicts, then learns its token
                for b in rows:
                    got[b].append(m.predict(b, t))
                    seen[b].append(blocks[b][t])
                    m.add(b, t)
            assert len(m._blocks) <= SEARCH_BLOCKS + batch
        assert got == expected
    assert any(p is not None and p[0] != blocks[b][t] for b, row in enumerate(expected) for t, p in enumerate(row))
    assert all(p is None or ORDER <= p[1] <= MAX_LENGTH for row in expected for p in row)


def test_a_group_gives_the_bonuses_of_the_compressors_walk():
    """``TokenMatch.group`` as a decoder steps it (rows growing, any batch) gives the bonuses the
    compressor computes from every position at once, each block with its own ``Mixer``."""
    rng = np.random.default_rng(1)
    n, length, total = 9, 40, 1 << 20
    blocks = [list(rng.integers(0, 3, length)) for _ in range(n)]
    frequency = lambda token: 1000 * (token + 1)  # noqa: E731 - a fixed LLM frequency per token
    full, expected = matcher(blocks), []
    for b in range(n):
        mixer, row = Mixer(), []
        for t in range(length):
            p = full.predict(b, t)
            bonuses, kind = mixer.bonus(p, frequency(p[0]) if p else 0, total)
            row.append(bonuses)
            mixer.update(kind, p is not None and blocks[b][t] == p[0])
        expected.append(row)
    for batch in (1, 4, n):
        m, got = TokenMatch(), [[] for _ in blocks]
        for first in range(0, n, batch):
            rows = [[] for _ in range(first, min(n, first + batch))]
            group = m.group(first, rows)
            for t in range(length):
                for j, row in enumerate(rows):
                    got[first + j].append(group.bonuses(j, t, frequency, total))
                    row.append(blocks[first + j][t])
                    group.learn(j, t, 0, total, (0, 1, total))
        assert got == expected
    assert any(row for blocks_bonuses in expected for row in blocks_bonuses)


def test_the_bonus_follows_the_hit_rate_and_stays_within_the_coder():
    mixer, total = Mixer(), 1 << 24
    assert mixer.bonus(None, 10, total) == ([], None)
    first, kind = mixer.bonus((3, 6), total // 4, total)
    assert first == [(3, total - 2 * (total // 4))]  # an estimate of 1 in 2 against the LLM's 1 in 4
    for _ in range(200):
        mixer.update(kind, True)
    sure, _ = mixer.bonus((3, 6), total // 4, total)
    assert sure == [(3, LIMIT - total)]  # capped: the coder's total stays within its limit
    for _ in range(2000):
        mixer.update(kind, False)
    assert mixer.bonus((3, 6), total // 4, total)[0] == []  # rarely right: no bonus, the LLM alone
