"""Mixed intervals: a CDF with bonus frequency on a few symbols, exactly partitioned and found."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nct.coding.symbols import find_mixed, mixed_interval


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=2, max_size=12), st.data())
def test_mixed_intervals_partition_the_mixed_total_and_find_their_symbol(freqs, data):
    cdf = np.concatenate([[0], np.cumsum(freqs)])
    tokens = data.draw(st.lists(st.integers(0, len(freqs) - 1), unique=True, max_size=len(freqs)))
    bonuses = [(x, data.draw(st.integers(1, 100))) for x in sorted(tokens)]
    total = int(cdf[-1]) + sum(b for _, b in bonuses)
    intervals = [mixed_interval((int(cdf[x]), int(cdf[x + 1]), int(cdf[-1])), x, bonuses) for x in range(len(freqs))]
    assert [lo for lo, _, _ in intervals[1:]] == [h for _, h, _ in intervals[:-1]]  # adjacent, in order
    assert intervals[0][0] == 0 and intervals[-1][1] == total and all(t == total for _, _, t in intervals)
    for x, (low, high, _) in enumerate(intervals):
        assert high - low == freqs[x] + dict(bonuses).get(x, 0)
    for target in range(total):
        token = find_mixed(cdf, target, bonuses)
        assert intervals[token][0] <= target < intervals[token][1]
