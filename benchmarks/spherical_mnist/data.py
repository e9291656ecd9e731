"""Spherical MNIST: MNIST digits projected onto a sphere, sampled at the pixels of any embedded atlas.

The protocol of the standard generator (s2cnn's ``examples/mnist/gendata.py``, Cohen et
al. 2018), written anew here: a unit sphere rests on the image plane, centred above the
digit; every pixel of the atlas (its 3D position, ``atlas.embedding()``) is projected along
the ray from the point just above the north pole, ``(0, 0, 2 + 1e-3)`` in the frame where
the sphere's centre is ``(0, 0, 1)``, onto the plane ``z = 0``, where the digit covers the
square ``[-1.5, 1.5]²``; the digit is read there by bilinear interpolation between the four
nearest pixel centres, zero outside, and each projected digit is rescaled to ``[0, 255]``.
(The generator's own code interpolates between the pixels one step before and one step
after the one the point falls in, which jumps where a coordinate crosses a whole number; the
interpolation here is continuous, so that a point read from two charts reads the same.)

A rotated digit is the same projection of the rotated sphere: the pixel positions are
rotated by ``R`` before projecting. Rotations are uniform over SO(3) from a fixed seed,
one per digit by default (``rotation_chunk=1``) or one per chunk of consecutive digits
(``rotation_chunk=500``: the published test sets, which hold only 20 distinct rotations).

Three test sets: ``N`` (unrotated), ``R`` (rotated) and ``G`` (the unrotated digits moved
by one of the atlas's own exact symmetries each -- the 24 rotations of the cube, the 60 of
the icosahedron -- where a gauge CNN must score exactly as on ``N``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from gaugecnn import Atlas, FieldType, trivial

from .._cache import cached_arrays
from .._mnist import default_cache_dir, load_mnist

__all__ = [
    "SphericalMNIST",
    "sample_digits",
    "project_digits",
    "uniform_rotations",
    "load_spherical_mnist",
    "fresh_rotations",
    "default_cache_dir",
]

_ABOVE_NORTH_POLE = 2.0 + 1e-3  # the projection centre, in the frame where the sphere's centre is (0, 0, 1)
_HALF_WIDTH = 1.5  # the digit covers [-1.5, 1.5]² of the plane


@dataclass
class SphericalMNIST:
    """One split: images ``(N, 1, *atlas.shape)`` float in [0, 1] for each set, and labels ``(N,)``."""

    sets: dict[str, torch.Tensor]
    labels: torch.Tensor


def uniform_rotations(count: int, seed: int, chunk: int = 1) -> np.ndarray:
    """``(count, 3, 3)`` rotation matrices, uniform over SO(3); one per chunk of ``chunk`` consecutive digits."""
    if chunk < 1:
        raise ValueError(f"the rotation chunk must be at least 1 digit, got {chunk}")
    distinct = -(-count // chunk)
    matrices = Rotation.random(distinct, random_state=seed).as_matrix() if distinct else np.zeros((0, 3, 3))
    return np.repeat(matrices, chunk, axis=0)[:count]


def _plane_coordinates(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image coordinates (rows, columns, in pixels of 28) where the rays through ``points`` meet the plane."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2] + 1.0  # the sphere rests on z = 0
    t = -z / (z - _ABOVE_NORTH_POLE)  # the ray from the projection centre through the point, to z = 0
    qx, qy = x * (1 + t), y * (1 + t)
    scale = 28 / (2 * _HALF_WIDTH)
    return (qx + _HALF_WIDTH) * scale, (qy + _HALF_WIDTH) * scale


def _sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Per digit, the image read at fractional ``(rows, cols)`` ``(N, P)`` by bilinear interpolation, zero outside.

    Pixel ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)``, its value sits at its centre; between
    centres the value is interpolated linearly along both axes (continuous everywhere).
    """
    n, h, w = images.shape
    flat = images.reshape(n, -1)
    u, v = rows - 0.5, cols - 0.5
    r0, c0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fr, fc = u - r0, v - c0
    out = np.zeros(rows.shape)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            r, c = r0 + dr, c0 + dc
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            values = np.take_along_axis(flat, np.where(inside, r * w + c, 0), axis=1)
            out += np.where(inside, values * wr * wc, 0.0)
    return out


def sample_digits(images: np.ndarray, points: np.ndarray, rotations: np.ndarray | None = None, batch: int = 1000) -> np.ndarray:
    """The digits ``(N, 28, 28)`` read at the projections of ``points`` ``(..., 3)``: float ``(N, P)``, not rescaled.

    With ``rotations`` ``(N, 3, 3)`` digit ``i`` is read on the sphere turned by ``rotations[i]``
    (its pixel positions rotated before projecting).
    """
    flat_points = points.reshape(-1, 3)
    out = np.empty((len(images), flat_points.shape[0]))
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch].astype(np.float64)
        if rotations is None:
            rows, cols = _plane_coordinates(flat_points)
            rows, cols = np.broadcast_to(rows, (len(chunk), rows.size)), np.broadcast_to(cols, (len(chunk), cols.size))
        else:
            turned = np.einsum("nab,pb->npa", rotations[start : start + batch], flat_points)
            rows, cols = _plane_coordinates(turned)
        out[start : start + batch] = _sample(chunk, rows, cols)
    return out


def project_digits(images: np.ndarray, points: np.ndarray, rotations: np.ndarray | None = None, batch: int = 1000) -> np.ndarray:
    """Project digits ``(N, 28, 28)`` onto the sphere at ``points`` ``(..., 3)``: uint8 ``(N, *points.shape[:-1])``,
    each digit rescaled to ``[0, 255]`` (``sample_digits``, then the rescaling)."""
    sampled = sample_digits(images, points, rotations, batch)
    low, high = sampled.min(axis=1, keepdims=True), sampled.max(axis=1, keepdims=True)
    scaled = (sampled - low) / np.where(high > low, high - low, 1.0)
    return np.round(scaled * 255).astype(np.uint8).reshape(len(images), *points.shape[:-1])


def _symmetry_moved(images: np.ndarray, atlas: Atlas, seed: int) -> np.ndarray:
    """Each digit moved by one of the atlas's isometries, drawn uniformly with ``seed``."""
    isometries = atlas.isometries()
    choice = np.random.default_rng(seed).integers(len(isometries), size=len(images))
    scalar = FieldType(atlas.group, [trivial(atlas.group)])
    x = torch.from_numpy(images)[:, None]
    out = torch.empty_like(x)
    for k in np.unique(choice):
        picked = torch.from_numpy(choice == k)
        out[picked] = isometries[k].field_map(atlas).apply(x[picked], scalar)
    return out[:, 0].numpy()


def _generate(atlas: Atlas, cache: Path, data_root: Path | None, train_size: int, seed: int, chunk: int) -> dict:
    train, test = load_mnist(cache, data_root)
    if not 0 < train_size <= len(train.data):
        raise ValueError(f"train size must be in 1..{len(train.data)}, got {train_size}")
    points = atlas.embedding()
    arrays = {}
    for stream, (split, ds, n) in enumerate((("train", train, train_size), ("test", test, len(test.data)))):
        digits = ds.data[:n].numpy()
        # one stream per split and protocol, drawn for the whole split: digit i's rotation does not depend on n
        rotations = uniform_rotations(len(ds.data), seed=seed * 1000 + 10 * stream + 1, chunk=chunk)[:n]
        arrays[f"{split}_N"] = project_digits(digits, points)
        arrays[f"{split}_R"] = project_digits(digits, points, rotations)
        arrays[f"{split}_labels"] = ds.targets[:n].numpy()
    arrays["test_G"] = _symmetry_moved(arrays["test_N"], atlas, seed)
    return arrays


def load_spherical_mnist(
    atlas: Atlas,
    name: str,
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    train_size: int = 60000,
    seed: int = 0,
    rotation_chunk: int = 1,
    log=print,
) -> dict[str, SphericalMNIST]:
    """Train and test splits on ``atlas`` (``name`` keys the cache), generated once and cached with a checksum.

    Sets: ``"N"`` and ``"R"`` for both splits, ``"G"`` for the test split. Several processes may
    call it at once on one cache: one prepares the data while the others wait.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    arrays = cached_arrays(
        cache,
        f"spherical_mnist_{name}_train{train_size}_seed{seed}_chunk{rotation_chunk}",
        lambda: _generate(atlas, cache, Path(data_root) if data_root else None, train_size, seed, rotation_chunk),
        f"spherical MNIST on {name} ({train_size} train digits, rotation seed {seed}, one rotation per "
        f"{rotation_chunk} digit{'s' if rotation_chunk > 1 else ''})",
        log,
    )
    out = {}
    for split, sets in (("train", ("N", "R")), ("test", ("N", "R", "G"))):
        out[split] = SphericalMNIST(
            sets={s: torch.from_numpy(arrays[f"{split}_{s}"]).float().unsqueeze(1) / 255.0 for s in sets},
            labels=torch.from_numpy(arrays[f"{split}_labels"]).long(),
        )
    return out


def fresh_rotations(
    atlas: Atlas, cache_dir: Path | str | None, data_root: Path | str | None, train_size: int, seed: int, chunk: int
) -> Callable[[int], torch.Tensor]:
    """``images(epoch)``: the first ``train_size`` training digits under new random rotations for every epoch.

    Epoch ``e`` draws its rotations from a stream of its own (``seed``, ``e``), so a resumed run
    sees the same digits, and none of the streams is the fixed rotated set's. Images as in
    ``SphericalMNIST``: ``(N, 1, *atlas.shape)`` float in [0, 1].
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    train, _ = load_mnist(cache, Path(data_root) if data_root else None)
    digits = train.data[:train_size].numpy()
    points = atlas.embedding()

    def images(epoch: int) -> torch.Tensor:
        rotations = uniform_rotations(len(train.data), seed=seed * 1000 + 100 + epoch, chunk=chunk)[:train_size]
        return torch.from_numpy(project_digits(digits, points, rotations)).float().unsqueeze(1) / 255.0

    return images
