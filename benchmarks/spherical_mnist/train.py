"""Training one spherical MNIST run on the shared trainer (``benchmarks._training``).

A run trains one model on unrotated (``train_mode="N"``) or rotated (``"R"``) digits and is
tested on all three test sets: unrotated (``N``), rotated (``R``) and moved by the atlas's
exact symmetries (``G``). The published columns are N/N (trained N, tested N), N/R and R/R.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._training import RunConfig, finish, fit, provenance, run_name, test_error
from .data import SphericalMNIST
from .models import build_atlas, build_model, count_parameters

__all__ = ["SphericalConfig", "config_of", "run_one", "TRAIN_MODES", "TEST_SETS"]

TRAIN_MODES = ("N", "R")
TEST_SETS = ("N", "R", "G")


@dataclass(frozen=True)
class SphericalConfig(RunConfig):
    """The protocol: Adam with a step schedule on the full training set; rotations one per digit by default."""

    epochs: int = 10
    train_size: int = 60000
    test_size: int = 10000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-6
    lr_step: int = 3
    lr_gamma: float = 0.5
    data_seed: int = 0
    rotation_chunk: int = 1
    quick_grids: bool = False
    # a protocol change for investigating the R/R row: new random rotations of the training digits every epoch
    fresh_rotations: bool = field(default=False, metadata={"added": True})


def config_of(record: dict) -> SphericalConfig:
    """The settings a result record was made under (settings added later at their defaults)."""
    return SphericalConfig(**{k: record[k] for k in SphericalConfig.__dataclass_fields__ if k in record})


def run_one(
    model_name: str,
    train_mode: str,
    seed: int,
    config: SphericalConfig,
    data: dict[str, SphericalMNIST],
    out_dir: Path,
    device: torch.device,
    progress: bool = True,
    on_epoch_end: Callable[[int], None] | None = None,
    ddp: bool = False,
    epoch_images: Callable[[int], torch.Tensor] | None = None,
) -> dict:
    """Train and evaluate one model; resume from its checkpoint if one exists. Returns the result record.

    The record's ``history`` holds, per epoch, the train loss and accuracy and the accuracy on
    the test set of the run's own train mode (``test_accuracy_N`` or ``test_accuracy_R``).
    """
    if train_mode not in TRAIN_MODES:
        raise ValueError(f"train mode must be one of {TRAIN_MODES}, got {train_mode!r}")
    out_dir = Path(out_dir)
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "checkpoints" / f"{run_name(model_name, train_mode, seed, config)}.pt"
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = build_model(model_name, build_atlas(model_name, config.quick_grids)).to(device)
    train, test, n = data["train"], data["test"], config.test_size
    images = train.sets[train_mode][: config.train_size]
    own_test = test.sets[train_mode][:n]  # the test set of the run's own train mode, evaluated after every epoch
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
        evaluate=lambda m: {f"test_accuracy_{train_mode}": round(100 - test_error(m, own_test, test.labels[:n], device), 2)},
        epoch_images=epoch_images if train_mode == "R" else None,
    )
    world = torch.distributed.get_world_size() if ddp else 1
    if ddp and torch.distributed.get_rank() != 0:
        torch.distributed.barrier()  # rank 0 evaluates and records
        return {}
    start = time.perf_counter()
    record = {"model": model_name, "train_mode": train_mode, "seed": seed, **asdict(config)}
    for name in TEST_SETS:
        record[f"test_error_{name}"] = test_error(model, test.sets[name][:n], test.labels[:n], device)
    record["params"] = count_parameters(model)
    record["history"] = history
    record["wall_time_s"] = round(elapsed + time.perf_counter() - start, 1)
    record.update(provenance(device))
    record["processes"] = world
    finish(out_dir, ckpt, model, record)
    if ddp:
        torch.distributed.barrier()
    return record
