"""Rotated MNIST: digits rotated by uniform random angles, generated from the MNIST files.

The protocol's sizes are those of MNIST-rot (Larochelle et al. 2007): 12000 training digits and
50000 test digits. The set here is **generated**, not the original MNIST-rot file: the 70000
MNIST digits (train then test) are shuffled with a fixed seed, the first 12000 become the
training digits and the next 50000 the test digits; each is padded to 29 x 29 (one row and
column of zeros below and right, so that the rotation centre is the centre pixel (14, 14)) and
rotated about that centre by an angle drawn uniformly from [0, 360) degrees, by bilinear
interpolation (zero outside). Stored as bytes in [0, 255], cached with a checksum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .._cache import cached_arrays
from .._mnist import default_cache_dir, load_mnist

__all__ = ["RotatedMNIST", "SIZE", "TRAIN_SIZE", "TEST_SIZE", "rotate", "load_rotated_mnist", "default_cache_dir"]

SIZE, TRAIN_SIZE, TEST_SIZE = 29, 12000, 50000


@dataclass
class RotatedMNIST:
    """One split: images ``(N, 1, 29, 29)`` float in [0, 1], labels ``(N,)`` and the rotation angles in degrees."""

    images: torch.Tensor
    labels: torch.Tensor
    angles: torch.Tensor


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Each image ``(N, 1, S, S)`` (odd ``S``) rotated about its centre pixel by its angle, bilinear, zero outside."""
    theta = torch.deg2rad(degrees.to(torch.float64))
    c, s = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(c)
    # output pixel p reads the input at R⁻¹ p (normalized (x, y) coordinates, align_corners=True: the centre pixel is
    # 0); the sense of torch.rot90: 90 degrees moves the right-hand column to the top row
    affine = torch.stack([torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1)], 1)
    grid = F.affine_grid(affine, list(images.shape), align_corners=True)
    return F.grid_sample(images.to(torch.float64), grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _generate(cache: Path, data_root: Path | None, seed: int, train_size: int, test_size: int) -> dict[str, np.ndarray]:
    train, test = load_mnist(cache, data_root)
    digits = torch.cat([train.data, test.data]).to(torch.float64)[:, None]  # (70000, 1, 28, 28) in [0, 255]
    labels = torch.cat([train.targets, test.targets])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits))[: TRAIN_SIZE + TEST_SIZE]
    angles = rng.uniform(0.0, 360.0, len(order))
    # the first train_size training and test_size test digits of the full set: fewer digits, the same ones
    keep = np.concatenate([np.arange(train_size), TRAIN_SIZE + np.arange(test_size)])
    order, angles = order[keep], angles[keep]
    padded = F.pad(digits[torch.from_numpy(order)], (0, 1, 0, 1))
    out = []
    for start in range(0, len(order), 5000):  # in batches: the sampling grid of 62000 images at once is large
        part = rotate(padded[start : start + 5000], torch.from_numpy(angles[start : start + 5000]))
        out.append(part.round().clamp(0, 255).to(torch.uint8))
    images = torch.cat(out)[:, 0].numpy()
    chosen = labels[torch.from_numpy(order)].numpy().astype(np.int64)
    return {
        "train_images": images[:train_size],
        "train_labels": chosen[:train_size],
        "train_angles": angles[:train_size],
        "test_images": images[train_size:],
        "test_labels": chosen[train_size:],
        "test_angles": angles[train_size:],
    }


def load_rotated_mnist(
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    seed: int = 0,
    train_size: int = TRAIN_SIZE,
    test_size: int = TEST_SIZE,
    log=print,
) -> dict[str, RotatedMNIST]:
    """The training and test splits (the first ``train_size`` and ``test_size`` digits of each), generated once and
    cached with a checksum; several processes may ask at once."""
    if not (1 <= train_size <= TRAIN_SIZE and 1 <= test_size <= TEST_SIZE):
        raise ValueError(f"sizes must be in 1..{TRAIN_SIZE} (train) and 1..{TEST_SIZE} (test), got {train_size} and {test_size}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    arrays = cached_arrays(
        cache,
        f"rotated_mnist_seed{seed}_train{train_size}_test{test_size}",
        lambda: _generate(cache, Path(data_root) if data_root else None, seed, train_size, test_size),
        f"rotated MNIST ({train_size} train / {test_size} test digits, seed {seed})",
        log,
    )
    return {
        split: RotatedMNIST(
            images=torch.from_numpy(arrays[f"{split}_images"]).float().unsqueeze(1) / 255.0,
            labels=torch.from_numpy(arrays[f"{split}_labels"]).long(),
            angles=torch.from_numpy(arrays[f"{split}_angles"]),
        )
        for split in ("train", "test")
    }
