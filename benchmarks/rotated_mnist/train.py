"""Training one rotated MNIST run on the shared trainer (``benchmarks._training``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .._training import RunConfig, finish, fit, provenance, run_name, test_error
from .data import TEST_SIZE, TRAIN_SIZE, RotatedMNIST
from .models import build_model, count_parameters, group_of, library_of

__all__ = ["RotatedConfig", "QUICK", "run_one", "HISTORY_TEST_DIGITS"]

HISTORY_TEST_DIGITS = 2000  # the test digits evaluated after every epoch (all of them at the end)
# the CPU preset: a few dozen Adam steps on 1000 digits, the whole pipeline in seconds to a minute a model on one core
QUICK = {"epochs": 1, "train_size": 1000, "test_size": 1000, "batch_size": 32}


@dataclass(frozen=True)
class RotatedConfig(RunConfig):
    """The protocol: Adam with a step schedule on the rotated training digits as generated (no augmentation)."""

    epochs: int = 12
    train_size: int = TRAIN_SIZE
    test_size: int = TEST_SIZE
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-7
    lr_step: int = 4
    lr_gamma: float = 0.5
    data_seed: int = 0


def run_one(
    model_name: str,
    seed: int,
    config: RotatedConfig,
    data: dict[str, RotatedMNIST],
    out_dir: Path,
    device: torch.device,
    progress: bool = True,
    on_epoch_end: Callable[[int], None] | None = None,
    ddp: bool = False,
) -> dict:
    """Train and test one model, resuming from its checkpoint; returns the result record.

    ``history`` holds per epoch the train loss and accuracy and the accuracy on the first 2000
    test digits; ``step_ms`` is the mean time of a training step (batch ``config.batch_size``).
    """
    out_dir = Path(out_dir)
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "checkpoints" / f"{run_name(model_name, 'R', seed, config)}.pt"
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    model = build_model(model_name).to(device)
    train, test, n = data["train"], data["test"], config.test_size
    watched = min(HISTORY_TEST_DIGITS, n)
    elapsed, history = fit(
        model,
        train.images[: config.train_size],
        train.labels[: config.train_size],
        config,
        ckpt,
        device,
        {"model": model_name, "train_mode": "R"},
        seed,
        progress,
        on_epoch_end,
        ddp,
        evaluate=lambda m: {"test_accuracy": round(100 - test_error(m, test.images[:watched], test.labels[:watched], device), 2)},
    )
    if ddp and torch.distributed.get_rank() != 0:
        torch.distributed.barrier()
        return {}
    start = time.perf_counter()
    record = {"model": model_name, "library": library_of(model_name), "group": group_of(model_name), "seed": seed, **asdict(config)}
    record["train_mode"] = "R"
    record["test_error"] = test_error(model, test.images[:n], test.labels[:n], device)
    record["params"] = count_parameters(model)
    record["history"] = history
    steps = config.epochs * (config.train_size // config.batch_size)
    record["step_ms"] = round(1000 * sum(h["epoch_s"] for h in history) / max(steps, 1), 1)
    record["wall_time_s"] = round(elapsed + time.perf_counter() - start, 1)
    record.update(provenance(device))
    finish(out_dir, ckpt, model, record)
    if ddp:
        torch.distributed.barrier()
    return record
