"""Geometry of an atlas embedded in R³: pixel neighbours, point lookup, and whether the two agree.

An embedding gives every pixel a 3D position, ``(charts, H, W, 3)``. Its neighbours are those
of the lattice -- the nearest offsets, four on the square lattice and six on the hexagonal
one (``Lattice.neighbour_steps``) -- found through the atlas's transport padding, so that
they cross chart edges. Two things follow:

- isometries that are rigid motions find the pixel at a moved position (``PointLookup``,
  a KD-tree built once per embedding);
- the gluings can be checked against the embedding: pixels glued as neighbours must lie
  about one pixel apart in R³ (``gluing_mismatches``), which catches a gluing that is
  combinatorially valid but wrong (two edges' partners swapped, a missing reversal);
- every pixel has a tangent frame in R³, the chart's Cartesian axes (``tangent_frames``), in
  which 3D vectors (winds, normals, gradients) become tangent fields and back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .atlas import Atlas
from .caching import value_cache

__all__ = ["neighbours", "PointLookup", "point_lookup", "GluingMismatch", "gluing_mismatches", "pixel_name", "tangent_frames"]


def pixel_name(atlas: Atlas, flat: int) -> str:
    """``chart NAME pixel (i, j)`` for a flat pixel index, in plain integers."""
    c, i, j = (int(v) for v in np.unravel_index(int(flat), atlas.grid))
    return f"chart {atlas.charts[c]!r} pixel ({i}, {j})"


@value_cache(256)
def neighbours(atlas: Atlas) -> np.ndarray:
    """``(P, K)``: the flat index of every pixel's neighbour at each lattice step (``-1``: none), read-only.

    Steps are ``atlas.group.lattice.neighbour_steps()``; neighbours across chart edges come from
    the transport padding (a halo corner without a unique source has none).
    """
    n, h, w = atlas.grid
    pad = atlas.padding_map(1).source.reshape(n, h + 2, w + 2)
    steps = atlas.group.lattice.neighbour_steps()
    ci, ii, jj = np.unravel_index(np.arange(n * h * w), (n, h, w))
    out = np.stack([pad[ci, ii + 1 + dy, jj + 1 + dx] for dy, dx in steps], 1)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class PointLookup:
    """The pixels of an embedding, found by position: the nearest pixel within a quarter of the closest spacing."""

    tree: cKDTree
    tolerance: float

    def find(self, xyz: np.ndarray) -> np.ndarray:
        """Flat pixel index at each point of ``xyz`` (``(..., 3)``), ``-1`` where no pixel is that close.

        Args:
            xyz: points in R³.
        """
        dist, idx = self.tree.query(xyz)
        return np.where(dist < self.tolerance, idx, -1)


@value_cache(64)
def _lookup(digest: bytes, points_bytes: bytes) -> PointLookup:
    points = np.frombuffer(points_bytes, dtype=np.float64).reshape(-1, 3)
    tree = cKDTree(points)
    spacing = tree.query(points, k=2)[0][:, 1].min() if len(points) > 1 else 1.0
    return PointLookup(tree, spacing / 4)


def point_lookup(points: np.ndarray) -> PointLookup:
    """The ``PointLookup`` of ``points`` (``(P, 3)``), built once per distinct set of points.

    Args:
        points: the embedded pixel positions, flattened.
    """
    data = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3).tobytes()
    return _lookup(hashlib.blake2b(data, digest_size=16).digest(), data)


@dataclass(frozen=True)
class GluingMismatch:
    """Two pixels the atlas makes neighbours across a chart edge, far apart in the embedding."""

    pixel: int
    neighbour: int
    step: tuple[int, int]
    distance: float
    expected: float

    def describe(self, atlas: Atlas) -> str:
        """One line naming both pixels and the distances, in plain numbers.

        Args:
            atlas: the atlas the flat indices refer to.
        """
        return (
            f"{pixel_name(atlas, self.pixel)} and its neighbour at step {self.step}, {pixel_name(atlas, self.neighbour)}, "
            f"are {self.distance:.3g} apart in the embedding, against about {self.expected:.3g} for neighbours there"
        )


def gluing_mismatches(atlas: Atlas, points: np.ndarray, ratio: float = 2.5) -> list[GluingMismatch]:
    """Neighbours across chart edges that the embedding puts more than ``ratio`` times too far apart.

    For each pixel and each lattice step that leaves its chart, the 3D distance to the glued
    neighbour is compared with the distance to the neighbour at the opposite step inside the
    chart (the local pixel spacing; the median spacing where that one is missing too).

    Args:
        atlas: the atlas.
        points: its embedding, ``(charts, H, W, 3)``.
        ratio: how many times the local spacing a glued neighbour may lie away.
    """
    n, h, w = atlas.grid
    flat = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    table = neighbours(atlas)
    steps = atlas.group.lattice.neighbour_steps()
    _, ii, jj = np.unravel_index(np.arange(n * h * w), (n, h, w))
    inside = np.stack([(ii + dy >= 0) & (ii + dy < h) & (jj + dx >= 0) & (jj + dx < w) for dy, dx in steps], 1)
    dist = np.where(table >= 0, np.linalg.norm(flat[np.maximum(table, 0)] - flat[:, None, :], axis=2), np.nan)
    median = float(np.nanmedian(np.where(inside, dist, np.nan))) if inside.any() else float(np.nanmedian(dist))
    opposite = [int(np.flatnonzero((steps == -s).all(1))[0]) for s in steps]
    reference = dist[:, opposite]
    reference = np.where(inside[:, opposite] & (table[:, opposite] >= 0), reference, median)
    bad = (~inside) & (table >= 0) & (dist > ratio * reference)
    out = []
    for p, k in zip(*np.nonzero(bad)):
        out.append(
            GluingMismatch(int(p), int(table[p, k]), (int(steps[k][0]), int(steps[k][1])), float(dist[p, k]), float(reference[p, k]))
        )
    return out


def tangent_frames(atlas: Atlas, points: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
    """``(charts, H, W, 2, 3)``: at every pixel the 3D directions of the chart's Cartesian axes ``(y, x)``.

    The chart's map to the surface near a pixel is fitted by least squares from its lattice
    neighbours (``J`` sending a Cartesian step ``B s`` to the displacement ``x_{p+s} - x_p``, from all
    neighbour steps at once, so that no direction is preferred) and made orthonormal by its polar
    factor (the closest orthonormal pair to ``J``'s columns). The construction commutes with every
    symmetry of the lattice, so a rigid motion that maps the pixels onto each other maps the
    frames onto each other, up to the frame change the isometry's FieldMap applies. Cone
    pixels count as missing neighbours; a pixel with fewer than two independent neighbour steps
    (a lone pixel) gets NaN. The frames lie in the plane normal to ``normals`` where the surface's
    normals are known (a sphere's are its points), else in the plane of the fit.

    Args:
        atlas: the atlas.
        points: its embedding, ``(charts, H, W, 3)``.
        normals: the surface's unit normals at the pixels, ``(charts, H, W, 3)``, if known.
    """
    flat = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    table = neighbours(atlas)  # (P, K)
    steps = atlas.group.lattice.point(atlas.group.lattice.neighbour_steps())  # (K, 2) Cartesian (y, x)
    # cone pixels count as missing: the poles of an icosphere are stored by no chart, and each
    # rotation that sends a pole to a stored vertex must find the same neighbours missing there
    valid = (table >= 0) & ~atlas.cone_pixels.reshape(-1)[np.maximum(table, 0)]
    displacement = np.where(valid[..., None], flat[np.maximum(table, 0)] - flat[:, None, :], 0.0)  # (P, K, 3)
    weighted = steps[None, :, :] * valid[..., None]  # (P, K, 2)
    normal = np.einsum("pka,pkb->pab", weighted, weighted)  # (P, 2, 2)
    degenerate = np.linalg.det(normal) < 1e-9  # fewer than two independent neighbour steps: no plane to fit
    normal[degenerate] = np.eye(2)
    rhs = np.einsum("pka,pkd->pad", weighted, displacement)  # (P, 2, 3)
    jacobian = np.linalg.solve(normal, rhs).transpose(0, 2, 1)  # (P, 3, 2): Cartesian step -> 3D displacement
    # chords of a curved surface leave it: keep the part in the tangent plane (normal to J's two columns,
    # or to the surface's known normal)
    if normals is None:
        n = np.cross(jacobian[:, :, 0], jacobian[:, :, 1])
    else:
        n = np.asarray(normals, dtype=np.float64).reshape(-1, 3).copy()
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
    jacobian = jacobian - n[:, :, None] * np.einsum("pd,pda->pa", n, jacobian)[:, None, :]
    u, _, vt = np.linalg.svd(jacobian, full_matrices=False)
    frames = (u @ vt).transpose(0, 2, 1)  # (P, 2, 3): rows e_y, e_x
    frames[degenerate] = np.nan
    return frames.reshape(*atlas.grid, 2, 3)
