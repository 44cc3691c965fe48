import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from nct.models.transformer import IGNORE, lm_loss
from nct.train.distributed import local_rows, rank_and_world


def test_outside_torchrun_there_is_one_process():
    assert rank_and_world() == (0, 1)


def test_local_rows_partition_the_batch():
    batch = torch.arange(12).reshape(6, 2)
    rows = [local_rows(batch, r, 3) for r in range(3)]
    assert sorted(torch.cat(rows).flatten().tolist()) == list(range(12))
    with pytest.raises(ValueError, match="multiple"):
        local_rows(batch, 0, 4)


def test_losses_over_the_global_count_add_up_to_the_global_mean():
    torch.manual_seed(0)
    logits, targets = torch.randn(4, 7, 11), torch.randint(0, 11, (4, 7))
    targets[1, 3:] = IGNORE  # processes see different numbers of targets
    full, full_ce = lm_loss(logits, targets, z_loss=1e-2)
    count = int((targets != IGNORE).sum())
    parts = [lm_loss(logits[r::2], targets[r::2], 1e-2, count) for r in range(2)]
    assert torch.allclose(sum(p[0] for p in parts), full)
    assert torch.allclose(sum(p[1] for p in parts), full_ce)


def _train(tmp_path, shards, name, processes, launcher=False):
    args = [
        "train-m2", "--shards", str(shards), "--out", str(tmp_path / name), "--size", "cpu-1m", "--context", "32",
        "--steps", "6", "--warmup", "2", "--batch-size", "4", "--eval-every", "3", "--dtype", "fp32",
    ]
    if processes == 1 and not launcher:
        cmd = [sys.executable, "-m", "nct", "--threads", "1", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes), "-m", "nct", "--threads", "1", *args]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_two_gloo_processes_follow_the_single_process_run(byte_shards, tmp_path):
    one = _train(tmp_path, byte_shards.dir, "one", 1)
    two = _train(tmp_path, byte_shards.dir, "two", 2)
    assert two.count("bits/byte held out") == 1  # only process 0 reports
    a, b = load_file(str(tmp_path / "one" / "model.safetensors")), load_file(str(tmp_path / "two" / "model.safetensors"))
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-4), name
    ra, rb = (json.loads((tmp_path / n / "report.json").read_text()) for n in ("one", "two"))
    assert rb["bits_per_byte"] == pytest.approx(ra["bits_per_byte"], rel=1e-3)
    assert "bits/byte held out" in one


@pytest.mark.slow
def test_one_torchrun_process_runs_the_distributed_path(byte_shards, tmp_path):
    """torchrun with one process still joins a process group (gloo here, NCCL on a GPU) and trains through DDP."""
    _train(tmp_path, byte_shards.dir, "one", 1)
    assert json.loads((tmp_path / "one" / "run.json").read_text())["distributed"] is None
    _train(tmp_path, byte_shards.dir, "torchrun", 1, launcher=True)
    assert json.loads((tmp_path / "torchrun" / "run.json").read_text())["distributed"] == {"backend": "gloo", "world": 1}
