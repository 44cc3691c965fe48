import torch

from nct.data.sequences import holdout, sequence_batches


def test_batches_cover_every_piece_once_per_epoch(byte_shards):
    train, _ = holdout(len(byte_shards))
    b = sequence_batches(byte_shards, train, 32, 4, bos=256, seed=0)
    x, y = b(0)
    assert x.shape == y.shape == (4, 32) and (x[:, 0] == 256).all()
    assert torch.equal(b(3)[0], sequence_batches(byte_shards, train, 32, 4, bos=256, seed=0)(3)[0])
