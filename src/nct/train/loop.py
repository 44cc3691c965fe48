"""One training loop for M1 and M2: warm-up + decay, z-loss, autocast where the CPU has bf16,
safetensors checkpoints that resume exactly, a progress bar with live bits/byte, data-parallel
over the processes of a ``torchrun`` launch (``nct.train.distributed``)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..models.transformer import IGNORE, Transformer, TransformerConfig, lm_loss
from ..util import atomic_path
from .distributed import all_sum, backend, local_rank, local_rows, rank_and_world

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class TrainConfig:
    """Optimisation settings (defaults sized for a 2-core CPU)."""

    steps: int = 2000
    batch_size: int = 32
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup: int = 200
    schedule: str = "cosine"  # or "rsqrt", the papers' inverse-square-root decay
    weight_decay: float = 0.01
    z_loss: float = 1e-4
    grad_clip: float = 1.0
    dtype: str = "auto"  # auto | fp32 | bf16
    device: str = "auto"  # auto (CUDA if present) | cpu | cuda
    eval_every: int = 250
    checkpoint_every: int = 250
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from plain values, ignoring unknown keys."""
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Learning rate at ``step``: linear warm-up, then cosine to min_lr_ratio or rsqrt decay."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "rsqrt":
        return cfg.lr * math.sqrt(max(cfg.warmup, 1) / (step + 1))
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def training_device(setting: str = "auto") -> torch.device:
    """The device to train on: CUDA when present (``auto``), this process's GPU under ``torchrun``."""
    if setting not in ("auto", "cpu", "cuda"):
        raise ValueError(f"unknown device {setting!r} (auto, cpu or cuda)")
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    return torch.device("cuda", local_rank() % torch.cuda.device_count())


def autocast_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """bf16 where the hardware runs it fast (CUDA, or a CPU with AVX-512-BF16/AMX), else fp32."""
    if setting == "fp32":
        return None
    if setting == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return torch.bfloat16 if ("amx_bf16" in flags or "avx512_bf16" in flags) else None


def _save_checkpoint(run_dir: Path, model: Transformer, opt: torch.optim.Optimizer, step: int, log: list) -> None:
    """Write weights (safetensors) and optimizer state atomically; the state file is written last."""
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(run_dir / "model.safetensors") as tmp:
        save_file(weights, str(tmp), metadata={"config": json.dumps(model.cfg.to_dict()), "step": str(step)})
    with atomic_path(run_dir / "state.pt") as tmp:
        torch.save({"optimizer": opt.state_dict(), "step": step, "log": log}, tmp)


def load_float_model(path: str | Path) -> Transformer:
    """A trained float Transformer from a run directory or its model.safetensors."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.safetensors"
    from safetensors import safe_open

    with safe_open(str(p), "pt") as f:
        cfg = TransformerConfig.from_dict(json.loads(f.metadata()["config"]))
    model = Transformer(cfg)
    model.load_state_dict(load_file(str(p)))
    return model


def train(
    model: Transformer,
    batches: Callable[[int], Batch],
    evaluate: Callable[[Transformer], float | dict],
    cfg: TrainConfig,
    run_dir: str | Path,
    description: str = "train",
    tokens_to_bytes: float = 1.0,
) -> list[dict]:
    """Train ``model`` on ``batches(step)`` for cfg.steps, resuming from ``run_dir`` if it holds a
    checkpoint. ``evaluate`` returns validation bits/byte, or a dict of figures with it as ``val_bpb``. Returns the log (one dict per evaluation).
    In a ``torchrun`` process group every process trains on its rows of each batch; process 0
    evaluates and writes the checkpoints."""
    run_dir = Path(run_dir)
    rank, world = rank_and_world()
    run_dir.mkdir(parents=True, exist_ok=True)
    device = training_device(cfg.device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    start, log = 0, []
    if (run_dir / "state.pt").exists():
        model.load_state_dict(load_file(str(run_dir / "model.safetensors")))
        state = torch.load(run_dir / "state.pt", weights_only=True, map_location="cpu")
        opt.load_state_dict(state["optimizer"])
        start, log = state["step"], state["log"]
    amp = autocast_dtype(cfg.dtype, device)
    ids = [device.index] if device.type == "cuda" else None
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids) if backend() else model
    main = rank == 0
    if main:
        (run_dir / "train_config.json").write_text(json.dumps({"train": asdict(cfg), "model": model.cfg.to_dict()}, indent=2))
    bar = tqdm(total=cfg.steps, initial=start, desc=description, unit="step", dynamic_ncols=True, disable=not main)
    ema, t0 = None, time.perf_counter()
    completed = start
    try:
        for step in range(start, cfg.steps):
            for g in opt.param_groups:
                g["lr"] = learning_rate(cfg, step)
            x, y = batches(step)
            count = max(1, int((y != IGNORE).sum()))  # targets of the global batch
            x, y = local_rows(x, rank, world).to(device), local_rows(y, rank, world).to(device)
            with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
                logits = net(x)
            loss, ce = lm_loss(logits, y, cfg.z_loss, count)
            opt.zero_grad(set_to_none=True)
            (loss * world).backward()  # DDP averages gradients over the processes: undo the 1/world
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            completed = step + 1
            bpb = all_sum(ce).item() / math.log(2) * tokens_to_bytes
            ema = bpb if ema is None else 0.98 * ema + 0.02 * bpb
            bar.update(1)
            bar.set_postfix(train_bpb=f"{ema:.3f}", val_bpb=f"{log[-1]['val_bpb']:.3f}" if log else "-")
            if main and (completed % cfg.eval_every == 0 or completed == cfg.steps):
                val = evaluate(model)
                figures = val if isinstance(val, dict) else {"val_bpb": val}
                log.append({"step": completed, "train_bpb": ema, **figures, "seconds": time.perf_counter() - t0})
                bar.set_postfix(train_bpb=f"{ema:.3f}", val_bpb=f"{figures['val_bpb']:.3f}")
            if main and (completed % cfg.checkpoint_every == 0 or completed == cfg.steps):
                _save_checkpoint(run_dir, model, opt, completed, log)
    except KeyboardInterrupt:
        if main:
            _save_checkpoint(run_dir, model, opt, completed, log)
        bar.close()
        raise
    bar.close()
    if main and start >= cfg.steps and not (run_dir / "model.safetensors").exists():
        _save_checkpoint(run_dir, model, opt, cfg.steps, log)
    return log
