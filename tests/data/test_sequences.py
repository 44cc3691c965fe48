import torch

from nct.data.sequences import IGNORE, holdout, pieces, sequence_batches
from nct.models.transformer import IGNORE as MODEL_IGNORE


def _targets(shards, piece, length):
    """A piece's targets as ``to_batch`` lays them out (padded with IGNORE)."""
    i, s = piece
    y = torch.full((length,), IGNORE, dtype=torch.long)
    t = torch.as_tensor(shards[i][s : s + length].astype("int64"))
    y[: len(t)] = t
    return tuple(y.tolist())


def test_batches_cover_every_piece_once_per_epoch(byte_shards):
    train, _ = holdout(len(byte_shards))
    length = 32
    every = [_targets(byte_shards, p, length) for p in pieces(byte_shards, train, length)]
    n = len(every)
    assert n >= 4
    one = sequence_batches(byte_shards, train, length, 1, bos=256, seed=0)  # one piece a step: epoch = n steps
    epochs = [[tuple(one(step)[1][0].tolist()) for step in range(e * n, (e + 1) * n)] for e in range(2)]
    assert all(sorted(epoch) == sorted(every) for epoch in epochs)  # each piece exactly once per epoch
    assert epochs[0] != epochs[1]  # each epoch in a new order
    b = sequence_batches(byte_shards, train, length, 4, bos=256, seed=0)
    x, y = b(0)
    assert x.shape == y.shape == (4, length) and (x[:, 0] == 256).all()
    assert torch.equal(x[:, 1:], y[:, :-1].clamp_min(0))  # inputs: BOS, then the piece shifted
    assert [tuple(r) for r in y.tolist()] == epochs[0][:4]  # the batch size does not change the order
    assert torch.equal(b(3)[0], sequence_batches(byte_shards, train, length, 4, bos=256, seed=0)(3)[0])


def test_padding_id_is_the_models():
    assert IGNORE == MODEL_IGNORE
