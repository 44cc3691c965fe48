"""The token n-gram (llm match 2): PPM-blended predictions, bonuses within the coder, learned weights, a bounded window."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.coding.symbols import mixed_interval
from nct.models.token_ngram import CANDIDATES, DEPTH, LIMIT, ORDER, W_MAX, W_START, WINDOW, Prediction, TokenNgram


def seen(model: TokenNgram, tokens: list[int]) -> TokenNgram:
    """``tokens`` counted as one block of the current group."""
    for t in range(len(tokens)):
        model.add(tokens, t)
    return model


def test_the_longest_context_blends_with_the_shorter_ones():
    model = TokenNgram()
    model.begin([])
    seen(model, [1, 2, 3, 7, 5, 2, 3, 8, 6, 3, 9])  # after 2 3: 7, 8; after 3: 7, 8, 9
    p = model.predict([4, 2, 3], 3)
    assert p is not None and p.kind == (2, 2)  # context "2 3" (the longer ones unseen), N = 2
    # n2(x) / (N2 + E2) + E2 / (N2 + E2) * n1(x) / (N1 + E1), over (N2 + E2)(N1 + E1) = 4 * 6 (fewer than DEPTH
    # contexts: the last escape, 6 of the 24, goes to no candidate)
    assert DEPTH > 2 and p.scale == 4 * 6 and p.q == {7: 1 * 6 + 2 * 1, 8: 1 * 6 + 2 * 1, 9: 2 * 1}
    assert model.predict([0, 0, 0], 3) is None and model.predict([4], 0) is None


def test_the_last_blended_context_keeps_no_escape():
    model = TokenNgram()
    model.begin([])
    tokens = [1, 2, 3, 4, 5] * 3
    seen(model, tokens)
    p = model.predict(tokens, 4)  # context 1 2 3 4 and its shorter ones: followed by 5, 3 times each
    assert p is not None and list(p.q) == [5] and p.kind == (ORDER, 2)
    # N + E = 4 for the first DEPTH - 1 levels, N = 3 for the last: the candidate gets all of it
    assert p.scale == 4 ** (DEPTH - 1) * 3 and p.q[5] == p.scale


def test_a_prediction_keeps_the_likeliest_candidates():
    model = TokenNgram()
    model.begin([])
    counts = {x: 1 + x % 3 for x in range(CANDIDATES + 10)}  # token x followed token 1 that often
    for x, n in counts.items():
        for _ in range(n):
            seen(model, [1, x])
    p = model.predict([1], 1)
    assert p is not None and len(p.q) == CANDIDATES
    assert min(counts[x] for x in p.q) >= max(n for x, n in counts.items() if x not in p.q)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.integers(0, 1000), st.integers(1, 10**6), min_size=1, max_size=CANDIDATES),
       st.integers(1, 10**7), st.integers(0, W_MAX), st.integers(1 << 10, LIMIT // 2))
def test_bonuses_spread_the_mass_within_the_coders_limit(q, extra, w, total):
    model = TokenNgram()
    p = Prediction(q, sum(q.values()) + extra, (1, 1))
    model._weights[p.kind] = w
    bonuses = model.bonuses(p, total)
    assert [x for x, _ in bonuses] == sorted(x for x, _ in bonuses) and all(b > 0 for _, b in bonuses)
    assert total + sum(b for _, b in bonuses) <= LIMIT
    mass = min(w * total // ((1 << 16) - w), LIMIT - total)
    assert sum(b for _, b in bonuses) <= mass


def test_the_weight_follows_whether_the_counts_beat_the_llm():
    model, total = TokenNgram(), 1 << 24
    p = Prediction({5: 9}, 10, (3, 4))
    for _ in range(50):  # the counts say 0.9, the LLM 0.01, and the token is 5
        bonuses = model.bonuses(p, total)
        model.learn(p, 5, total // 100, total, mixed_interval((0, total // 100, total), 5, bonuses))
    assert model._weights[p.kind] == W_MAX
    for _ in range(200):  # now the token is never the candidate
        bonuses = model.bonuses(p, total)
        model.learn(p, 6, total // 2, total, mixed_interval((0, total // 2, total), 6, bonuses))
    assert model._weights[p.kind] < W_START // 10


def test_counts_older_than_the_window_are_forgotten():
    rng = np.random.default_rng(0)
    groups = [[list(rng.integers(0, 4, 20)) for _ in range(3)] for _ in range(WINDOW + 3)]
    model = TokenNgram()
    for group in groups:
        model.begin(group)
        for tokens in group:
            seen(model, tokens)
    recent = TokenNgram()
    for group in groups[-WINDOW:]:
        recent.begin(group)
        for tokens in group:
            seen(recent, tokens)
    assert model._counts == recent._counts and len(model._groups) == WINDOW
    assert all(len(c) <= ORDER for c in model._counts) and all(all(n > 0 for n in f.values()) for f in model._counts.values())


def test_a_decoders_group_gives_the_encoders_bonuses_and_weights():
    """Groups stepped with their rows growing (a decoder) give the bonuses and learned weights of
    groups over the whole rows (the encoder), over more groups than the window."""
    rng = np.random.default_rng(2)
    groups = [[rng.integers(0, 5, 30).tolist() for _ in range(3)] for _ in range(WINDOW + 2)]
    total = 1 << 20

    def walk(growing: bool) -> tuple[list, dict]:
        model, out = TokenNgram(), []
        for g, blocks in enumerate(groups):
            rows = [[] for _ in blocks] if growing else blocks
            group = model.group(3 * g, rows)
            for t in range(30):
                for j, tokens in enumerate(blocks):
                    bonuses = group.bonuses(j, t, lambda token: 0, total)
                    f = 1000 + 100 * tokens[t]  # a fixed LLM frequency per token
                    coded = mixed_interval((0, f, total), tokens[t], bonuses)
                    if growing:
                        rows[j].append(tokens[t])
                    group.learn(j, t, f, total, coded)
                    out.append(bonuses)
        return out, model._weights

    encoder, decoder = walk(False), walk(True)
    assert encoder == decoder and any(encoder[0]) and encoder[1] != {}
