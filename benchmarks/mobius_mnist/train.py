"""Training one Möbius MNIST run: the paper's protocol on the shared trainer (``benchmarks._training``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from manifolds import MobiusStrip

from .._training import (
    RESULTS_FILE,
    CheckpointError,
    RunConfig,
    claim_run,
    data_parallel,
    finish,
    finished_runs,
    fit,
    provenance,
    run_name,
    test_error,
    train_epoch,
)
from .data import MobiusMNIST
from .models import build_model, count_parameters

__all__ = [
    "TrainConfig",
    "run_one",
    "train_epoch",
    "data_parallel",
    "finished_runs",
    "claim_run",
    "run_name",
    "CheckpointError",
    "RESULTS_FILE",
]


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """The protocol; defaults are the paper's."""

    epochs: int = 20
    train_size: int = 12000
    test_size: int = 10000
    batch_size: int = 128
    lr: float = 5e-3
    weight_decay: float = 1e-6
    lr_step: int = 4
    lr_gamma: float = 0.5
    data_seed: int = 0


def run_one(
    model_name: str,
    train_mode: str,
    seed: int,
    config: TrainConfig,
    data: dict[str, MobiusMNIST],
    out_dir: Path,
    device: torch.device,
    progress: bool = True,
    on_epoch_end: Callable[[int], None] | None = None,
    ddp: bool = False,
) -> dict:
    """Train and evaluate one model; resume from its checkpoint if one exists. Returns the result record.

    With ``ddp`` (inside an initialized torch.distributed group) the run is data parallel over
    the group's processes; rank 0 checkpoints, evaluates and records, the others return ``{}``.
    """
    out_dir = Path(out_dir)
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "checkpoints" / f"{run_name(model_name, train_mode, seed, config)}.pt"
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = build_model(model_name, MobiusStrip(28, 28)).to(device)
    train = data["train"]
    images = (train.shifted if train_mode == "shifted" else train.centered)[: config.train_size]
    elapsed, history = fit(
        model,
        images,
        train.labels[: config.train_size],
        config,
        ckpt,
        device,
        {"model": model_name, "train_mode": train_mode},
        seed,
        progress,
        on_epoch_end,
        ddp,
    )
    world = torch.distributed.get_world_size() if ddp else 1
    if ddp and torch.distributed.get_rank() != 0:
        torch.distributed.barrier()  # rank 0 evaluates and records
        return {}
    test, n = data["test"], config.test_size
    start = time.perf_counter()
    record = {
        "model": model_name,
        "train_mode": train_mode,
        "seed": seed,
        **asdict(config),
        "test_error_shifted": test_error(model, test.shifted[:n], test.labels[:n], device),
        "test_error_centered": test_error(model, test.centered[:n], test.labels[:n], device),
        "params": count_parameters(model),
        "history": history,
    }
    record["wall_time_s"] = round(elapsed + time.perf_counter() - start, 1)
    record.update(provenance(device))
    record["processes"] = world
    finish(out_dir, ckpt, model, record)
    if ddp:
        torch.distributed.barrier()
    return record
