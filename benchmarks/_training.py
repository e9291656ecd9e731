"""Training runs shared by the benchmarks: resumable, deterministic on CPU, one JSON line per finished run.

- ``RunConfig``: a benchmark's protocol (a frozen dataclass): which records it matches, the
  settings that shape training, and their hash, which names checkpoints.
- ``claim_run``: an exclusive claim on a run, so processes sharing a results folder never
  train the same run.
- ``fit``: the epoch loop with checkpoints after every epoch, resumed exactly; a checkpoint
  of other settings is never resumed, an unreadable one is set aside. It keeps a per-epoch
  history (train loss and accuracy, optionally test accuracy) that goes into the record.
- ``test_error``, ``provenance``, ``finish``: evaluation and the result record.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import platform
import random
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

import gaugecnn

from ._files import append_line, atomic_torch_save, read_json_lines

__all__ = [
    "RESULTS_FILE",
    "RunConfig",
    "CheckpointError",
    "finished_runs",
    "run_name",
    "claim_run",
    "data_parallel",
    "train_epoch",
    "test_error",
    "fit",
    "provenance",
    "finish",
]

RESULTS_FILE = "results.jsonl"


class RunConfig:
    """Mixin for a benchmark's protocol dataclass (frozen; its fields are the settings).

    A setting added after runs were made is declared ``field(default=..., metadata={"added": True})``:
    a record without it was made at its default, and at its default it stays out of
    ``training()``, so that checkpoint names (and resumption) of earlier runs do not change.
    """

    def matches(self, record: dict) -> bool:
        """Whether a result record was made under these settings."""
        added = {f.name: f.default for f in fields(self) if f.metadata.get("added")}  # type: ignore[arg-type]
        return all(record.get(k, added.get(k)) == v for k, v in asdict(self).items())

    def training(self) -> dict:
        """The settings that shape training (all but ``test_size``, which only evaluation reads)."""
        at_default = {f.name for f in fields(self) if f.metadata.get("added") and getattr(self, f.name) == f.default}  # type: ignore[arg-type]
        return {k: v for k, v in asdict(self).items() if k != "test_size" and k not in at_default}

    def key(self) -> str:
        """A short hash of ``training()``: runs of other settings get other checkpoint names."""
        return hashlib.sha256(json.dumps(self.training(), sort_keys=True).encode()).hexdigest()[:8]


def run_name(model_name: str, train_mode: str, seed: int, config: RunConfig) -> str:
    """The file stem of a run's checkpoint, lock and saved weights; it names every training setting."""
    return f"{model_name}_{train_mode}_seed{seed}_e{config.epochs}_n{config.train_size}_{config.key()}"


def finished_runs(out_dir: Path) -> list[dict]:
    """The records in ``out_dir/results.jsonl``; torn or corrupt lines are skipped with a warning."""
    return read_json_lines(Path(out_dir) / RESULTS_FILE)


@contextlib.contextmanager
def claim_run(out_dir: Path, name: str) -> Iterator[bool]:
    """Hold an exclusive claim on run ``name`` in ``out_dir``; yields False if another process holds it.

    The claim is an advisory ``flock`` on ``checkpoints/NAME.lock``: the operating system drops
    it when its process ends, however it ends, so a crashed run never blocks a later one.
    Several processes sharing one results folder (``--jobs``, or two commands started by
    hand) thus never train the same run at once. Where ``fcntl`` is missing (Windows) every
    claim succeeds.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        yield True
        return
    lock = Path(out_dir) / "checkpoints" / f"{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        # the holder before us may have removed the file after we opened it: then a third
        # process can lock a new file of that name, and our lock guards nothing
        owned = lock.exists() and os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino
        try:
            yield owned
        finally:
            if owned:
                lock.unlink(missing_ok=True)  # while still holding it; see the check above
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _world() -> tuple[int, int]:
    """``(rank, world size)`` of the torch.distributed group, ``(0, 1)`` without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def data_parallel(model: torch.nn.Module, device: torch.device) -> torch.nn.parallel.DistributedDataParallel:
    """DDP that syncs buffers once at start only: the index buffers never change, so broadcasting
    them every step would only cost time."""
    ddp = torch.nn.parallel.DistributedDataParallel
    no_resync = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(ddp).parameters else "broadcast_buffers"
    # parameters with a size-1 axis (one input field) have two equally contiguous stride
    # layouts; DDP's layout check flags the difference, which costs nothing here
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return ddp(model, device_ids=[device.index] if device.type == "cuda" else None, **{no_resync: False})


def train_epoch(
    model, optimizer, images, labels, order, batch_size: int, device, progress=None, rank: int = 0, world: int = 1
) -> tuple[float, float]:
    """One epoch of Adam steps over ``order`` in global batches of ``batch_size``; returns the
    epoch's mean training loss and its training accuracy (%), both taken on the batches as
    they were trained (train mode, before each step), over all processes.

    Under torch.distributed (``model`` wrapped in DistributedDataParallel) every rank takes
    its contiguous share of each global batch and DDP averages the gradients, so the
    update equals one process's on the whole batch (up to batch-norm statistics and
    dropout masks, which are per rank).
    """
    if batch_size % world:
        raise ValueError(f"batch size {batch_size} must be divisible by the {world} processes")
    share = batch_size // world
    model.train()
    totals = torch.zeros(3, dtype=torch.float64)  # summed loss, correct digits, digits
    for step in range(len(order) // batch_size):
        idx = order[step * batch_size + rank * share : step * batch_size + (rank + 1) * share]
        optimizer.zero_grad(set_to_none=True)
        target = labels[idx].to(device)
        logits = model(images[idx].to(device))
        loss = F.cross_entropy(logits, target)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            totals += torch.tensor([loss.item() * len(idx), int((logits.argmax(1) == target).sum()), len(idx)], dtype=torch.float64)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
    if world > 1:
        summed = totals.to(device)
        torch.distributed.all_reduce(summed)
        totals = summed.cpu()
    loss_sum, correct, count = totals.tolist()
    return loss_sum / max(count, 1), 100.0 * correct / max(count, 1)


@torch.no_grad()
def test_error(model, images: torch.Tensor, labels: torch.Tensor, device, batch_size: int = 500) -> float:
    """Percentage of ``images`` whose argmax logit is not the label, in eval mode."""
    model.eval()
    wrong = 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start : start + batch_size].to(device))
        wrong += int((logits.argmax(1).cpu() != labels[start : start + batch_size]).sum())
    return 100.0 * wrong / len(labels)


class CheckpointError(RuntimeError):
    """A checkpoint that must not be resumed (made under other settings)."""


def _load_checkpoint(ckpt: Path, device: torch.device, config: RunConfig, rank: int) -> dict | None:
    """The state saved in ``ckpt``, or None to start over (no file, or an unreadable one, set aside).

    A checkpoint made under other training settings is never resumed: the settings are part
    of its name, and the ones stored inside are checked too (a renamed or copied file).
    """
    if not ckpt.exists():
        return None
    try:
        state = torch.load(ckpt, map_location=device, weights_only=False)
        if not isinstance(state, dict) or not {"model", "optimizer", "epoch"} <= state.keys():
            raise ValueError("not a checkpoint of this trainer")
    except Exception as error:  # truncated, empty, or another file: keep it for inspection, train afresh
        if rank == 0:
            bad = ckpt.with_name(ckpt.name + ".corrupt")
            with contextlib.suppress(FileNotFoundError):
                os.replace(ckpt, bad)
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            tqdm.write(f"checkpoint {ckpt} is unreadable ({reason}); moved it to {bad.name} and starting this run over")
        return None
    stored = state.get("run", {})
    expected = config.training()
    differ = sorted(k for k in expected if k in stored and stored[k] != expected[k])
    if "run" not in state or differ:
        what = ", ".join(f"{k} {stored[k]!r} there, {expected[k]!r} here" for k in differ) or "settings not recorded"
        raise CheckpointError(
            f"checkpoint {ckpt} was made under other training settings ({what}); it is not resumed. "
            f"Delete it to start this run over, or run with its settings to finish it"
        )
    return state


def fit(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    config,
    ckpt: Path,
    device: torch.device,
    run: dict,
    seed: int,
    progress: bool = True,
    on_epoch_end: Callable[[int], None] | None = None,
    ddp: bool = False,
    evaluate: Callable[[torch.nn.Module], dict] | None = None,
    epoch_images: Callable[[int], torch.Tensor] | None = None,
) -> tuple[float, list[dict]]:
    """Train ``model`` (built under ``torch.manual_seed(seed)``) with Adam and a step schedule.

    Returns the seconds spent training and the per-epoch history: one dict per epoch with
    ``epoch``, ``lr`` (the rate the epoch trained at), ``train_loss``, ``train_accuracy`` (%,
    on the batches as trained) and ``epoch_s``, plus what ``evaluate(model)`` returns (say a
    test accuracy; rank 0 only, in eval mode, not counted in the seconds; it draws no random
    numbers, so training is the same with or without it).

    ``config`` has ``epochs, batch_size, lr, weight_decay, lr_step, lr_gamma``; ``run`` names the
    run in the checkpoint and the progress bar. After every epoch the model, optimizer,
    schedule, shuffling, random states and history go to ``ckpt`` (rank 0, atomically); a
    later call resumes from it bitwise. Under ``ddp`` (an initialized torch.distributed group)
    training is data parallel. ``epoch_images(epoch)``, if given, supplies each epoch's training
    images (fresh augmentations, drawn from seeds of their own: a resumed run draws the same).
    """
    rank, world = _world() if ddp else (0, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step, gamma=config.lr_gamma)
    shuffle = torch.Generator().manual_seed(seed)
    first_epoch, elapsed = 0, 0.0
    history: list[dict] = []
    prefix = f"{run.get('model')}_{run.get('train_mode')}_seed{seed}_"
    others = [p.name for p in ckpt.parent.glob(prefix + "*.pt") if p != ckpt]
    if others and rank == 0:
        tqdm.write(
            f"note: {', '.join(sorted(others))} in {ckpt.parent} belong to other settings of this run; they are kept and not resumed"
        )
    state = _load_checkpoint(ckpt, device, config, rank)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        shuffle.set_state(state["shuffle"])
        _set_rng_state(state["rng"])
        first_epoch, elapsed = state["epoch"], state["elapsed"]
        history = list(state.get("history", []))  # checkpoints older than the history have none
        if rank == 0:
            tqdm.write(f"resuming {run.get('model')} ({run.get('train_mode')}, seed {seed}) after epoch {first_epoch}")
    net = data_parallel(model, device) if world > 1 else model
    if device.type == "cuda":  # a few dozen MB: one copy instead of one per step
        images, labels = images.to(device), labels.to(device)
    steps = len(labels) // config.batch_size
    if steps == 0:
        raise ValueError(f"train size {len(labels)} is smaller than one batch ({config.batch_size})")
    for epoch in range(first_epoch, config.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(labels), generator=shuffle)
        if epoch_images is not None:
            images = epoch_images(epoch).to(device) if device.type == "cuda" else epoch_images(epoch)
        desc = f"{run.get('model')} {run.get('train_mode')} s{seed} epoch {epoch + 1}/{config.epochs}"
        lr = optimizer.param_groups[0]["lr"]
        with tqdm(total=steps, desc=desc, disable=not progress or rank != 0, leave=False) as bar:
            loss, accuracy = train_epoch(net, optimizer, images, labels, order, config.batch_size, device, bar, rank, world)
        scheduler.step()
        seconds = time.perf_counter() - start
        elapsed += seconds
        entry = {"epoch": epoch + 1, "lr": lr, "train_loss": round(loss, 5), "train_accuracy": round(accuracy, 3)}
        entry["epoch_s"] = round(seconds, 1)
        if evaluate is not None and rank == 0:
            entry.update(evaluate(model))
        history.append(entry)
        if rank == 0:
            atomic_torch_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "shuffle": shuffle.get_state(),
                    "rng": _rng_state(),
                    "epoch": epoch + 1,
                    "elapsed": elapsed,
                    "history": history,
                    "run": {**run, "seed": seed, **config.training()},
                },
                ckpt,
            )
        if world > 1:
            torch.distributed.barrier()
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1)
    return elapsed, history


def provenance(device: torch.device) -> dict:
    """Where and with what a run was made: device, versions, time."""
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    )
    return {
        "device": name,
        "gaugecnn_version": gaugecnn.__version__,
        "torch_version": torch.__version__,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def finish(out_dir: Path, ckpt: Path, model: torch.nn.Module, record: dict) -> dict:
    """Save the trained weights to ``models/``, append the record, remove the checkpoint."""
    models_dir = Path(out_dir) / "models"
    models_dir.mkdir(exist_ok=True)
    atomic_torch_save(model.state_dict(), models_dir / ckpt.name)
    append_line(Path(out_dir) / RESULTS_FILE, record)
    ckpt.unlink(missing_ok=True)
    return record
