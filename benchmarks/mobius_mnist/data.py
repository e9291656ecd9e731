"""Möbius MNIST: MNIST digits on a 28 x 28 Möbius strip, centered and shifted along the strip.

The digits come from ``torchvision.datasets.MNIST`` (downloaded where a network exists,
or copied from a folder that already holds ``MNIST/raw/*.gz``). The shifted version moves
every digit by the strip isometry ``MobiusStrip(28, 28).shift(s)`` with ``s`` drawn
uniformly from ``0 .. 2L-1`` under a fixed seed, so that digits crossing the cut come back
reflected. Generated arrays are cached with a SHA-256 checksum; a missing or corrupt
cache is rebuilt with a message, never silently used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gaugecnn import FieldType, trivial
from manifolds import MobiusStrip

from .._cache import cached_arrays
from .._mnist import default_cache_dir, load_mnist

__all__ = ["MobiusMNIST", "default_cache_dir", "load_mobius_mnist", "mobius_shift"]


@dataclass
class MobiusMNIST:
    """Images ``(N, 1, 28, 28)`` float in [0, 1] and labels ``(N,)`` for one split, both versions."""

    centered: torch.Tensor
    shifted: torch.Tensor
    labels: torch.Tensor
    shifts: torch.Tensor


def mobius_shift(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move each scalar image ``(N, 1, W, L)`` along the Möbius strip by its own shift."""
    width, length = images.shape[-2:]
    strip = MobiusStrip(width, length)
    scalar = FieldType(strip.group, [trivial(strip.group)])
    out = torch.empty_like(images)
    for s in torch.unique(shifts).tolist():
        picked = shifts == s
        out[picked] = strip.shift(s).field_map(strip).apply(images[picked], scalar)
    return out


def _generate(cache: Path, data_root: Path | None, train_size: int, seed: int) -> dict[str, np.ndarray]:
    train, test = load_mnist(cache, data_root)
    if not 0 < train_size <= len(train.data):
        raise ValueError(f"train size must be in 1..{len(train.data)}, got {train_size}")
    arrays = {}
    for stream, (split, ds, n) in enumerate((("train", train, train_size), ("test", test, len(test.data)))):
        images = ds.data[:n].unsqueeze(1)  # uint8, exact under pixel permutations
        # one stream per split, drawn for the whole split: digit i gets the same shift whatever n is
        all_shifts = np.random.default_rng([seed, stream]).integers(0, 2 * images.shape[-1], size=len(ds.data))
        shifts = torch.from_numpy(all_shifts[:n])
        arrays[f"{split}_centered"] = images.numpy()
        arrays[f"{split}_shifted"] = mobius_shift(images, shifts).numpy()
        arrays[f"{split}_labels"] = ds.targets[:n].numpy()
        arrays[f"{split}_shifts"] = shifts.numpy()
    return arrays


def load_mobius_mnist(
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    train_size: int = 12000,
    seed: int = 0,
    log=print,
) -> dict[str, MobiusMNIST]:
    """Train and test splits of Möbius MNIST, generated once and cached with a checksum.

    Several processes may call it at once on one cache: one prepares the data while the
    others wait for it (a file lock), so none reads a half-written file.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    arrays = cached_arrays(
        cache,
        f"mobius_mnist_train{train_size}_seed{seed}",
        lambda: _generate(cache, Path(data_root) if data_root else None, train_size, seed),
        f"Möbius MNIST ({train_size} train digits, shift seed {seed})",
        log,
    )
    out = {}
    for split in ("train", "test"):
        out[split] = MobiusMNIST(
            centered=torch.from_numpy(arrays[f"{split}_centered"]).float() / 255.0,
            shifted=torch.from_numpy(arrays[f"{split}_shifted"]).float() / 255.0,
            labels=torch.from_numpy(arrays[f"{split}_labels"]).long(),
            shifts=torch.from_numpy(arrays[f"{split}_shifts"]).long(),
        )
    return out
