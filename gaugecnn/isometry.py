"""Isometries: symmetries of the manifold, acting on fields as FieldMaps at any resolution."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod

import numpy as np

from .atlas import Atlas
from .fieldmap import FieldMap

__all__ = ["ChartRotation", "Isometry", "RigidMotion", "Translation"]


class Isometry(ABC):
    """An isometry of the manifold an atlas describes.

    It moves every pixel to another pixel and carries the feature along, changing its
    coefficients by a gauge element where the frames at both ends differ. Since networks
    change resolution (pooling), an isometry gives its FieldMap for the atlas at hand.
    """

    name: str = "isometry"

    @abstractmethod
    def field_map(self, atlas: Atlas) -> FieldMap:
        """The FieldMap ``f -> f ∘ φ⁻¹`` (with gauge elements) on this atlas.

        Raises ValueError if the isometry does not map pixels to pixels at this resolution.
        """

    def __repr__(self) -> str:
        return self.name


def _step(vector: np.ndarray) -> tuple[int, int]:
    """An integer lattice vector as a ``(dy, dx)`` tuple."""
    return int(vector[0]), int(vector[1])


def _scaled(value: int, new: int, old: int, what: str) -> int:
    if (value * new) % old:
        raise ValueError(f"{what} of {value} pixels at size {old} is {value * new / old} pixels at size {new}: not a pixel map")
    return value * new // old


class Translation(Isometry):
    """Move fields by ``offset = (dy, dx)`` pixels of charts of ``chart_shape``, through the gluings.

    On an atlas of another resolution the offset scales with the charts (and must stay whole
    pixels). ``period`` reduces the offset (0: no period), e.g. ``2 L`` along a Möbius strip.
    Raises if any pixel would come from beyond a boundary. Which offsets are isometries is
    the manifold's business; it hands out only those.
    """

    def __init__(self, offset: tuple[int, int], chart_shape: tuple[int, int], period: tuple[int, int] = (0, 0)):
        self.offset, self.chart_shape, self.period = tuple(offset), tuple(chart_shape), tuple(period)
        self.name = f"translation{self.offset} of {self.chart_shape[0]}x{self.chart_shape[1]}"

    def field_map(self, atlas: Atlas) -> FieldMap:
        """The shift at ``atlas``'s resolution (offsets scaled by its chart shape); refused where pixels would cross a boundary."""
        offset = []
        for axis, name in enumerate(("rows", "columns")):
            new, old = atlas.chart_shape[axis], self.chart_shape[axis]
            shift = _scaled(self.offset[axis], new, old, f"a shift of {name}")
            period = _scaled(self.period[axis], new, old, f"a period of {name}")
            offset.append(shift % period if period else shift)
        fmap = atlas.translation((offset[0], offset[1]))
        if not fmap.valid.all():
            raise ValueError(f"{self.name} moves pixels across a boundary of {atlas!r}: it is not an isometry there")
        return fmap


class ChartRotation(Isometry):
    """Rotate (or reflect) every chart about its centre by the group element ``element``.

    ``f'(y) = ρ(g) f(g⁻¹ y)``: the active twin of a gauge transform. It is an isometry of a
    single square chart with boundary (the plane); the manifold decides where else it is one.

    Args:
        element: the group element ``g`` (an index into the atlas's group).
        description: words for its name (e.g. ``group.describe(g)``); the index by default.
    """

    def __init__(self, element: int, description: str = ""):
        self.element = element
        self.name = f"rotation({description or element})"

    def field_map(self, atlas: Atlas) -> FieldMap:
        """The rotation as a FieldMap on ``atlas``: the same gauge transform in every chart."""
        return atlas.gauge_transform([self.element] * atlas.num_charts)


class RigidMotion(Isometry):
    """An orthogonal map ``Q`` of R³ acting on an atlas embedded in R³ by ``atlas.embedding()``.

    It is an isometry of the atlas when it maps pixels to pixels: the pixel at ``x`` moves to
    the pixel at ``Q x``. The feature it carries is expressed in the new pixel's frame by the
    gauge element ``g`` read off the lattice: for a step ``e`` to a neighbour of the old
    pixel, ``Q`` carries that neighbour to the neighbour of the new pixel at the step
    ``g e``. Neighbours are looked up through the atlas's transport padding, so the rule
    holds across chart edges. Pixels with no image among the pixels, and pixels at cone
    points (``atlas.cone_pixels``, which the layers keep at zero), get no source; any other
    pixel that does not map to a pixel, or whose frame change is not in the group, is an
    error.

    Args:
        matrix: the orthogonal ``3 x 3`` matrix ``Q`` (rotation, or reflection when the group has them).
        name: its name in messages; the rounded matrix by default.
    """

    def __init__(self, matrix: np.ndarray, name: str = ""):
        q = np.asarray(matrix, dtype=np.float64)
        if q.shape != (3, 3) or not np.allclose(q @ q.T, np.eye(3), atol=1e-9):
            raise ValueError(f"a rigid motion is an orthogonal 3x3 matrix, got {q.tolist()}")
        self.matrix = q
        self.name = name or f"rigid motion {np.round(q, 3).tolist()}"

    def field_map(self, atlas: Atlas) -> FieldMap:
        """The motion on ``atlas``: each pixel from the pixel at ``Q⁻¹ x`` of its embedded position ``x``, with the frame change."""
        from scipy.spatial import cKDTree

        points = np.asarray(atlas.embedding(), dtype=np.float64).reshape(-1, 3)
        tree = cKDTree(points)
        spacing = tree.query(points, k=2)[0][:, 1].min()  # the closest two pixels
        tol = spacing / 4

        def pixel_at(xyz: np.ndarray) -> np.ndarray:
            dist, idx = tree.query(xyz)
            return np.where(dist < tol, idx, -1)

        n, h, w = atlas.grid
        group = atlas.group
        # target q takes source p with Q x_p = x_q: p is the pixel at Qᵀ x_q
        source = pixel_at(points @ self.matrix)
        cone = atlas.cone_pixels.reshape(-1)
        missing = (source < 0) & ~cone
        if missing.any():
            raise ValueError(
                f"{self.name} does not map pixels of {atlas!r} to pixels (first at flat index "
                f"{int(np.flatnonzero(missing)[0])}): it is not an isometry at this resolution"
            )
        # each pixel's neighbours at every step of the 3 x 3 window, through the padding map
        pad = atlas.padding_map(1).source.reshape(n, h + 2, w + 2)
        steps = [(dy, dx) for dy, dx in itertools.product((-1, 0, 1), repeat=2) if (dy, dx) != (0, 0)]
        ci, ii, jj = np.unravel_index(np.arange(n * h * w), (n, h, w))
        neighbour = np.stack([pad[ci, ii + 1 + dy, jj + 1 + dx] for dy, dx in steps], 1)  # (P, 8)
        carried = np.where(neighbour >= 0, pixel_at(points[np.maximum(neighbour, 0)] @ self.matrix.T), -1)
        # the step b from the new pixel that each step a from the old one goes to (-1: none)
        targets = source >= 0
        old = np.where(targets, source, 0)
        matched = (carried[old][:, :, None] >= 0) & (carried[old][:, :, None] == neighbour[:, None, :])  # (P, 8, 8)
        goes_to = np.where(matched.any(2), matched.argmax(2), -1)  # (P, 8)
        # where each group element sends each step (-1: out of the window)
        index = {step: k for k, step in enumerate(steps)}
        sends = np.array(
            [[index.get(_step(group.matrix(g) @ step), -2) for step in steps] for g in range(group.order)]
        )  # (G, 8); -2 never equals a match
        consistent = ((goes_to[:, None, :] < 0) | (sends[None, :, :] == goes_to[:, None, :])).all(2)  # (P, G)
        decided = consistent.sum(1) == 1
        undecided = targets & ~decided & ~cone & ~cone[old]
        if undecided.any():
            q = int(np.flatnonzero(undecided)[0])
            raise ValueError(
                f"{self.name} changes the frame at pixel {np.unravel_index(q, (n, h, w))} of {atlas!r} by a map "
                f"that is not in {group.name} (or that its neighbours do not pin down); use a group that contains "
                "it (reflections need a dihedral group)"
            )
        element = np.where(decided, consistent.argmax(1), 0)
        return FieldMap(group, atlas.grid, atlas.grid, source.reshape(atlas.grid), element.reshape(atlas.grid))
