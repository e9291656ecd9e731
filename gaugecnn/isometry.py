"""Isometries: symmetries of the manifold, acting on fields as FieldMaps at any resolution.

An isometry is handed the space its fields live on -- an ``Atlas``, or a ``gaugecnn.Manifold``,
which forwards the atlas's interface and adds its geometry -- and returns its FieldMap there.
``RigidMotion`` needs the embedding, so a manifold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Union

import numpy as np

from .atlas import Atlas
from .caching import value_cache
from .fieldmap import FieldMap
from .geometry import gluing_mismatches, neighbours, pixel_name, point_lookup
from .groups import describe_matrix

if TYPE_CHECKING:
    from .manifold import Manifold

Space = Union[Atlas, "Manifold"]  # where fields live: an atlas, or a manifold (an atlas with geometry)

__all__ = ["ChartRotation", "Isometry", "RigidMotion", "Translation"]


class Isometry(ABC):
    """An isometry of the manifold an atlas describes.

    It moves every pixel to another pixel and carries the feature along, changing its
    coefficients by a gauge element where the frames at both ends differ. Since networks
    change resolution (pooling), an isometry gives its FieldMap for the atlas at hand.
    """

    name: str = "isometry"

    @abstractmethod
    def field_map(self, atlas: Space) -> FieldMap:
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

    def field_map(self, atlas: Space) -> FieldMap:
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

    def field_map(self, atlas: Space) -> FieldMap:
        """The rotation as a FieldMap on ``atlas``: the same gauge transform in every chart."""
        return atlas.gauge_transform([self.element] * atlas.num_charts)


class RigidMotion(Isometry):
    """An orthogonal map ``Q`` of R³ acting on a manifold embedded in R³ by its ``embedding()``.

    It is an isometry of the manifold when it maps pixels to pixels: the pixel at ``x`` moves
    to the pixel at ``Q x``. The feature it carries is expressed in the new pixel's frame by the
    gauge element ``g`` read off the lattice: for a step ``e`` to a neighbour of the old pixel
    (the lattice's nearest neighbours: four on the square lattice, six on the hexagonal one),
    ``Q`` carries that neighbour to the neighbour of the new pixel at the step ``g e``.
    Neighbours are looked up through the atlas's transport padding, so the rule holds across
    chart edges. Pixels with no image among the pixels, and pixels at cone points
    (``atlas.cone_pixels``, which the layers keep at zero), get no source. Errors name the
    chart and pixel: a pixel that does not map to a pixel (not an isometry at this
    resolution), neighbours that the motion carries to pixels that are not neighbours (the
    embedding and the gluings disagree), or a frame change outside the group.

    Field maps are cached on the motion, the atlas and the embedding, so equal manifolds
    compute each one once.

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

    def field_map(self, atlas: Space) -> FieldMap:
        """The motion on ``atlas`` (a manifold with an embedding): each pixel from the pixel at ``Q⁻¹ x``, with the frame change."""
        embedding = getattr(atlas, "embedding", None)
        value = getattr(atlas, "atlas", atlas)
        if embedding is None or not isinstance(value, Atlas):
            raise TypeError(
                f"{self.name} needs a manifold with an embedding in R³ (a gaugecnn.Manifold), got {type(atlas).__name__}; "
                "a plain Atlas has no geometry"
            )
        points = np.ascontiguousarray(embedding(), dtype=np.float64)
        if points.shape != (*value.grid, 3):
            raise ValueError(f"the embedding of {atlas!r} has shape {points.shape}; expected (charts, H, W, 3) = {(*value.grid, 3)}")
        return _motion_map(self.matrix.tobytes(), self.name, value, points.tobytes())


@value_cache(512)
def _motion_map(matrix: bytes, name: str, atlas: Atlas, points_bytes: bytes) -> FieldMap:
    q = np.frombuffer(matrix, dtype=np.float64).reshape(3, 3)
    points = np.frombuffer(points_bytes, dtype=np.float64).reshape(-1, 3)
    lookup = point_lookup(points)
    n, h, w = atlas.grid
    group = atlas.group
    cone = atlas.cone_pixels.reshape(-1)
    # target t takes source s with Q x_s = x_t: s is the pixel at Qᵀ x_t
    source = lookup.find(points @ q)
    missing = (source < 0) & ~cone
    if missing.any():
        raise ValueError(
            f"{name} does not map the pixels of {atlas!r} to pixels: no pixel lands on "
            f"{pixel_name(atlas, int(np.flatnonzero(missing)[0]))}; it is not an isometry at this resolution"
        )
    table = neighbours(atlas)  # (P, K)
    steps = group.lattice.neighbour_steps()
    carried = np.where(table >= 0, lookup.find(points[np.maximum(table, 0)] @ q.T), -1)  # where Q takes each neighbour
    used = (source >= 0) & ~cone
    used &= ~cone[np.maximum(source, 0)]
    old = np.maximum(source, 0)
    # step b of the new pixel t that step a of its old pixel goes to (-1: unknown)
    image = carried[old]  # (P, K): the images of the old pixel's neighbours
    matched = (image[:, :, None] >= 0) & (image[:, :, None] == table[:, None, :])  # (P, K, K)
    goes_to = np.where(matched.any(2), matched.argmax(2), -1)
    # a cone pixel's neighbours through a chart corner are not all in the halo: only others count
    stray = used[:, None] & (image >= 0) & (goes_to < 0) & ~cone[np.maximum(image, 0)]
    if stray.any():
        t, a = (int(v) for v in np.argwhere(stray)[0])
        far = gluing_mismatches(atlas, points.reshape(*atlas.grid, 3))
        hint = f" The embedding puts glued neighbours apart, e.g. {far[0].describe(atlas)}." if far else ""
        raise ValueError(
            f"{name} on {atlas!r}: the embedding and the gluings disagree. {pixel_name(atlas, int(old[t]))} has the neighbour "
            f"{pixel_name(atlas, int(table[old[t], a]))} at step {tuple(int(v) for v in steps[a])}, which the motion carries to "
            f"{pixel_name(atlas, int(image[t, a]))}, not a neighbour of its image {pixel_name(atlas, t)}.{hint} "
            "gaugecnn.testing.check_manifold names the gluings that disagree"
        )
    # where each group element sends each step (-2: off the lattice's neighbours, which never matches)
    index = {(int(dy), int(dx)): k for k, (dy, dx) in enumerate(steps)}
    sends = np.array([[index.get(_pair(group.matrix(g) @ s), -2) for s in steps] for g in range(group.order)])
    consistent = ((goes_to[:, None, :] < 0) | (sends[None, :, :] == goes_to[:, None, :])).all(2)  # (P, G)
    decided = consistent.sum(1) == 1
    undecided = used & ~decided
    if undecided.any():
        t = int(np.flatnonzero(undecided)[0])
        far = gluing_mismatches(atlas, points.reshape(*atlas.grid, 3))
        if far:  # the frames cannot be read where the gluings put neighbours in the wrong places
            raise ValueError(
                f"{name} cannot read the frame change at {pixel_name(atlas, t)} of {atlas!r}: the embedding and the gluings "
                f"disagree, e.g. {far[0].describe(atlas)}. gaugecnn.testing.check_manifold names the gluings that disagree"
            )
        pairs = [(steps[a], steps[b]) for a, b in enumerate(goes_to[t]) if b >= 0]
        needed = _step_map(pairs)
        if needed is None:
            what = "by a map its neighbours do not pin down"
        else:
            what = f"by {describe_matrix(needed, group.lattice)} (lattice matrix {needed.tolist()})"
        raise ValueError(
            f"{name} changes the frame at {pixel_name(atlas, int(old[t]))} -> {pixel_name(atlas, t)} of {atlas!r} {what}, "
            f"which is not in {group.name}; use a group that contains it (reflections need a dihedral group)"
        )
    element = np.where(decided, consistent.argmax(1), 0)
    return FieldMap(group, atlas.grid, atlas.grid, source.reshape(atlas.grid), element.reshape(atlas.grid))


def _pair(vector: np.ndarray) -> tuple[int, int]:
    return int(vector[0]), int(vector[1])


def _step_map(pairs) -> np.ndarray | None:
    """The integer matrix sending each first step to its second (least squares), or None if there are too few."""
    if len(pairs) < 2:
        return None
    a = np.array([p[0] for p in pairs], dtype=np.float64)
    b = np.array([p[1] for p in pairs], dtype=np.float64)
    m, *_ = np.linalg.lstsq(a, b, rcond=None)
    rounded = np.round(m.T)
    return rounded.astype(np.int64) if np.allclose(m.T, rounded, atol=1e-9) else None
