"""M1 steps split over processes give the CDFs of one cache, and the children go when it closes."""

import numpy as np
import torch

from nct.models.step_group import StepGroup, step_group


def test_split_steps_equal_one_cache(tiny_m1):
    batch, steps = 130, 24
    tokens = np.random.default_rng(0).integers(0, 256, (steps, batch))
    tokens[0] = tiny_m1.bos
    cache = tiny_m1.start(batch)
    group = StepGroup(tiny_m1, batch, parts=3)
    try:
        assert len(group.children) == 2 and group.children_rows == 87  # the children step the first rows
        for t in range(steps):
            if t % 2:  # the children started early, on their rows' tokens only
                early = tokens[t].copy()
                early[group.children_rows :] = -1
                group.send(early)
                cdf = group.finish(tokens[t])
            else:
                cdf = group.step(tokens[t])
            assert np.array_equal(cdf, tiny_m1.step(cache, torch.from_numpy(tokens[t])).numpy())  # int32 == int64 values
    finally:
        group.close()
    assert not any(p.is_alive() for p in group.children)


def test_small_batches_stay_in_process(tiny_m1):
    with step_group(tiny_m1, 20, workers=2) as group:
        assert group.children == []  # one part of at least 16 rows only
        assert group.step(np.full(20, tiny_m1.bos)).shape == (20, 257)
