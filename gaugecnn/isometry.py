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
        offset = []
        for axis, name in enumerate(("rows", "columns")):
            new, old = atlas.chart_shape[axis], self.chart_shape[axis]
            shift = _scaled(self.offset[axis], new, old, f"a shift of {name}")
            period = _scaled(self.period[axis], new, old, f"a period of {name}")
            offset.append(shift % period if period else shift)
        fmap = atlas.translation(tuple(offset))
        if not fmap.valid.all():
            raise ValueError(f"{self.name} moves pixels across a boundary of {atlas!r}: it is not an isometry there")
        return fmap


class ChartRotation(Isometry):
    """Rotate (or reflect) every chart about its centre by the group element ``element``.

    ``f'(y) = ρ(g) f(g⁻¹ y)``: the active twin of a gauge transform. It is an isometry of a
    single square chart with boundary (the plane); the manifold decides where else it is one.
    """

    def __init__(self, element: int, description: str = ""):
        self.element = element
        self.name = f"rotation({description or element})"

    def field_map(self, atlas: Atlas) -> FieldMap:
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
    """

    def __init__(self, matrix: np.ndarray, name: str = ""):
        q = np.asarray(matrix, dtype=np.float64)
        if q.shape != (3, 3) or not np.allclose(q @ q.T, np.eye(3), atol=1e-9):
            raise ValueError(f"a rigid motion is an orthogonal 3x3 matrix, got {q.tolist()}")
        self.matrix = q
        self.name = name or f"rigid motion {np.round(q, 3).tolist()}"

    def field_map(self, atlas: Atlas) -> FieldMap:
        from scipy.spatial import cKDTree

        points = np.asarray(atlas.embedding(), dtype=np.float64).reshape(-1, 3)
        tree = cKDTree(points)
        spacing = tree.query(points, k=2)[0][:, 1].min()  # the closest two pixels
        tol = spacing / 4

        def pixel_at(xyz: np.ndarray) -> np.ndarray:
            dist, idx = tree.query(xyz)
            return np.where(dist < tol, idx, -1)

        n, h, w = atlas.grid
        group, lattice = atlas.group, atlas.group.lattice
        # target q takes source p with Q x_p = x_q: p is the pixel at Qᵀ x_q
        source = pixel_at(points @ self.matrix)
        cone = atlas.cone_pixels.reshape(-1)
        missing = (source < 0) & ~cone
        if missing.any():
            raise ValueError(f"{self.name} does not map pixels of {atlas!r} to pixels (first at flat index "
                             f"{int(np.flatnonzero(missing)[0])}): it is not an isometry at this resolution")
        # each pixel's neighbours at every step of the 3 x 3 window, through the padding map
        pad = atlas.padding_map(1).source.reshape(n, h + 2, w + 2)
        steps = [(dy, dx) for dy, dx in itertools.product((-1, 0, 1), repeat=2) if (dy, dx) != (0, 0)]
        ci, ii, jj = np.unravel_index(np.arange(n * h * w), (n, h, w))
        neighbour = np.stack([pad[ci, ii + 1 + dy, jj + 1 + dx] for dy, dx in steps], 1)  # (P, 8)
        carried = np.where(neighbour >= 0, pixel_at(points[np.maximum(neighbour, 0)] @ self.matrix.T), -1)
        element = np.zeros(n * h * w, dtype=np.int64)
        for q in np.flatnonzero(source >= 0):
            p = source[q]
            if cone[q] or cone[p]:
                continue
            # pairs (e, e'): the step e from p goes to the pixel at step e' from q
            pairs = [(steps[a], steps[b]) for a in range(8) for b in range(8)
                     if carried[p, a] >= 0 and carried[p, a] == neighbour[q, b]]
            g = self._element(group, lattice, pairs)
            if g is None:
                raise ValueError(
                    f"{self.name} changes the frame at pixel {np.unravel_index(q, (n, h, w))} of {atlas!r} by a map "
                    f"that is not in {group.name}; use a group that contains it (reflections need a dihedral group)"
                )
            element[q] = g
        return FieldMap(group, atlas.grid, atlas.grid, source.reshape(atlas.grid), element.reshape(atlas.grid))

    @staticmethod
    def _element(group, lattice, pairs) -> int | None:
        """The group element mapping every step ``e`` to its ``e'``, from two independent pairs."""
        for (e1, f1), (e2, f2) in itertools.combinations(pairs, 2):
            a = np.array([e1, e2], dtype=np.float64).T
            if abs(np.linalg.det(a)) < 0.5:
                continue
            m = np.array([f1, f2], dtype=np.float64).T @ np.linalg.inv(a)
            g = group.element(np.round(m).astype(np.int64)) if np.allclose(m, np.round(m)) else None
            if g is not None and all(np.array_equal(group.matrix(g) @ e, f) for e, f in pairs):
                return g
        return None
