"""Manifolds: an atlas at one resolution together with the geometry it has.

An ``Atlas`` is a combinatorial value: charts, gluings, transitions. A ``Manifold`` holds one and
adds what the atlas cannot know:

- ``embedding()``: the 3D position of every pixel, where the surface lives in R³ (projected
  data, pictures, ``RigidMotion`` isometries);
- ``isometries()``: its symmetries, as ``Isometry`` objects that give their FieldMap at any
  resolution;
- ``with_chart_shape(chart_shape)``: the same manifold on charts of another shape, which pooling
  and upsampling need.

A manifold forwards the atlas's interface (``group``, ``shape``, ``padding_map``, ...), so layers
and checks take either. Everything derived from a manifold keeps its geometry: ``coarsened()``
(the grid after pooling) is the manifold at half resolution, and ``restricted(H)`` and
``reoriented(gauge)`` are ``DerivedManifold``s whose embedding is the base's (pixels moved with
the re-oriented charts) and whose isometries are the base's, transported to the new frames
(and, for a subgroup, those whose frame changes lie in it).

Writing one's own: subclass ``Manifold``, build the atlas in ``__init__`` and pass it to
``super().__init__``, and implement ``with_chart_shape`` and whatever geometry there is.
``gaugecnn.testing.check_manifold`` then checks it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .atlas import Atlas
from .atlas.maps import gauge_elements
from .fieldmap import FieldMap
from .geometry import tangent_frames
from .groups import StructureGroup
from .isometry import Isometry

__all__ = ["Manifold", "DerivedManifold", "TransportedIsometry", "Space", "atlas_of"]

# the atlas's read-only interface, forwarded by every manifold
_FORWARDED = frozenset(
    {
        "group",
        "chart_shape",
        "charts",
        "gluings",
        "grid_kind",
        "origins",
        "graph",
        "num_charts",
        "grid",
        "shape",
        "stores_edge",
        "transition",
        "crossing",
        "boundary_axes",
        "is_connected",
        "is_orientable",
        "euler_characteristic",
        "vertex_angles",
        "near_cones",
        "cone_pixels",
        "padding_map",
        "translation",
        "shape_preserving_elements",
        "gauge_transform",
    }
)


def atlas_of(space: Atlas | Manifold) -> Atlas:
    """The atlas value of an atlas or a manifold.

    Args:
        space: an ``Atlas`` or a ``Manifold``.
    """
    if isinstance(space, Manifold):
        return space.atlas
    if isinstance(space, Atlas):
        return space
    raise TypeError(f"expected a gaugecnn Atlas or Manifold, got {type(space).__name__}")


class Manifold:
    """An atlas at one resolution plus its geometry: embedding, isometries, other resolutions.

    Subclasses pass their atlas to ``__init__`` and override what they have:
    ``with_chart_shape`` (needed by pooling and upsampling), ``embedding`` and ``isometries``.
    Two manifolds are equal when they are of the same class with equal atlases (and equal
    ``_geometry_key()``, for subclasses whose geometry has parameters the atlas does not fix).

    Args:
        atlas: the manifold's atlas at this resolution.

    Examples:
        >>> from gaugecnn import Atlas, flip_group
        >>> class Strip(Manifold):
        ...     def __init__(self, width, length):
        ...         super().__init__(Atlas(flip_group(), (width, length), 1, [(0, "left", 0, "right", True)]))
        ...     def with_chart_shape(self, chart_shape):
        ...         return Strip(*chart_shape)
        >>> strip = Strip(6, 10)
        >>> strip.shape, strip.is_orientable, strip.coarsened().shape, strip.has_embedding
        ((6, 10), False, (3, 5), False)
    """

    def __init__(self, atlas: Atlas):
        if not isinstance(atlas, Atlas):
            raise TypeError(f"a Manifold holds a gaugecnn Atlas, got {type(atlas).__name__}")
        self._atlas = atlas

    @property
    def atlas(self) -> Atlas:
        """The atlas value: charts, gluings, transitions, topology."""
        return self._atlas

    def __getattr__(self, name: str) -> Any:
        if name in _FORWARDED:
            return getattr(self.atlas, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    # -- geometry: what subclasses provide -------------------------------------------------
    def embedding(self) -> np.ndarray:
        """The 3D position of every pixel, ``(charts, H, W, 3)``; manifolds embedded in R³ implement it."""
        raise NotImplementedError(
            f"{type(self).__name__} has no embedding in R³; a manifold that has one implements embedding(), "
            "returning the (charts, H, W, 3) positions of its pixels"
        )

    @property
    def has_embedding(self) -> bool:
        """Whether ``embedding()`` is implemented."""
        return type(self).embedding is not Manifold.embedding

    def isometries(self) -> Sequence[Isometry]:
        """The manifold's symmetries as ``Isometry`` objects (none known by default)."""
        return []

    def normals(self) -> np.ndarray | None:
        """The surface's unit normals at the pixels, ``(charts, H, W, 3)``, where known (``None`` by default).

        A manifold embedded as a sphere about the origin returns its points; the tangent frames then
        lie exactly in the sphere's tangent planes.
        """
        return None

    def tangent_frames(self) -> np.ndarray:
        """``(charts, H, W, 2, 3)``: each pixel's chart axes ``(y, x)`` as orthonormal 3D vectors (``gaugecnn.geometry.tangent_frames``)."""
        return tangent_frames(self.atlas, self.embedding(), self.normals())

    def to_tangent_field(self, vectors: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """3D vectors at the pixels, ``(..., *grid, 3)`` (``grid = (charts, H, W)``), as a tangent field ``(..., 2, *shape)``.

        The components are those along the chart's axes ``(y, x)``, the order of the ``tangent``
        representation; the part normal to the surface is dropped.

        Args:
            vectors: an array or tensor whose last four axes are ``(charts, H, W, 3)``.
        """
        frames = self.tangent_frames()
        if isinstance(vectors, torch.Tensor):
            out = torch.einsum("...cijd,cijad->...acij", vectors, torch.as_tensor(frames, dtype=vectors.dtype, device=vectors.device))
        else:
            out = np.einsum("...cijd,cijad->...acij", np.asarray(vectors), frames)
        return out.reshape(*out.shape[:-3], *self.shape)

    def from_tangent_field(self, field: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """A tangent field ``(..., 2, *shape)`` as 3D vectors at the pixels, ``(..., charts, H, W, 3)``.

        Args:
            field: an array or tensor of tangent fields (channels ``(y, x)`` along the chart's axes).
        """
        frames = self.tangent_frames()
        grid_field = field.reshape(*field.shape[: field.ndim - len(self.shape) - 1], 2, *self.grid)
        if isinstance(field, torch.Tensor):
            return torch.einsum("...acij,cijad->...cijd", grid_field, torch.as_tensor(frames, dtype=field.dtype, device=field.device))
        return np.einsum("...acij,cijad->...cijd", np.asarray(grid_field), frames)

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Manifold:
        """The same manifold on charts of ``chart_shape = (H, W)``: subclasses rebuild themselves.

        Args:
            chart_shape: the new ``(H, W)``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not say how to rebuild itself at another resolution (pooling and "
            "upsampling need it); implement with_chart_shape(chart_shape), returning the same manifold on charts of that shape"
        )

    def _geometry_key(self) -> tuple:
        """What, besides the atlas, tells two manifolds of one class apart (nothing by default)."""
        return ()

    # -- derived manifolds, geometry kept -----------------------------------------------------
    def coarsened(self) -> Manifold:
        """The manifold at half resolution (``atlas.coarsened()``'s chart shape): the grid after pooling."""
        coarse = self.atlas.coarsened()
        out = self.with_chart_shape(coarse.chart_shape)
        if out.atlas != coarse:
            raise ValueError(f"{type(self).__name__}.with_chart_shape({coarse.chart_shape}) does not give the coarsened atlas")
        return out

    def restricted(self, subgroup: StructureGroup) -> Manifold:
        """The same manifold over a subgroup ``H`` (every transition must lie in it), geometry kept.

        Its isometries are those of this manifold whose frame changes all lie in ``H``.

        Args:
            subgroup: the subgroup ``H``, on the same lattice.
        """
        return DerivedManifold(self, subgroup=subgroup)

    def reoriented(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> Manifold:
        """The same manifold with every chart's frame changed by ``g_c``; embedding and isometries move along.

        Args:
            gauge: one shape-preserving element per chart (see ``Atlas.gauge_transform``).
        """
        return DerivedManifold(self, gauge=gauge)

    # -- identity and printing ----------------------------------------------------------------
    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.atlas == other.atlas and self._geometry_key() == other._geometry_key()

    def __hash__(self) -> int:
        return hash((type(self).__qualname__, self.atlas, self._geometry_key()))

    def summary(self) -> str:
        """The atlas's summary and the geometry: embedding, number of isometries."""
        geometry = "embedded in R³" if self.has_embedding else "no embedding"
        return f"{self!r}: {geometry}, {len(self.isometries())} isometries\n{self.atlas.summary()}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.atlas!r})"


Space = Atlas | Manifold  # where fields live: the layers and checks take either


class DerivedManifold(Manifold):
    """A manifold restricted to a subgroup and/or with re-oriented charts; its geometry is the base's.

    Built by ``Manifold.restricted`` and ``Manifold.reoriented``; derived again, it folds the
    changes into one (restriction first, then the re-orientation, in the subgroup's elements).

    Args:
        base: the manifold it derives from.
        subgroup: the structure group to restrict to, or None.
        gauge: one shape-preserving element per chart (of the restricted group), or None.
    """

    base: Manifold
    subgroup: StructureGroup | None
    gauge: tuple[int, ...] | None

    def __init__(
        self,
        base: Manifold,
        subgroup: StructureGroup | None = None,
        gauge: Sequence[int] | Mapping[Hashable, int] | None = None,
    ):
        if isinstance(base, DerivedManifold):
            inner_group = base.subgroup or base.base.group
            group = subgroup or inner_group
            inner = None if base.gauge is None else _convert(base.gauge, inner_group, group)
            if gauge is not None:  # applied after the base's own: γ2 γ1, chart by chart
                outer = base.atlas if subgroup is None else base.atlas.restricted(group)
                new = gauge_elements(outer, gauge)
                inner = tuple(group.mul(g, h) for g, h in zip(new, inner or (0,) * base.num_charts))
            base, subgroup, elements = base.base, (None if group == base.base.group else group), inner
        else:
            restricted_atlas = base.atlas if subgroup is None else base.atlas.restricted(subgroup)
            elements = None if gauge is None else gauge_elements(restricted_atlas, gauge)
        self.base, self.subgroup = base, subgroup
        self.gauge = None if elements is None or not any(elements) else elements
        atlas = base.atlas if subgroup is None else base.atlas.restricted(subgroup)
        super().__init__(atlas if self.gauge is None else atlas.reoriented(list(self.gauge)))

    def _unoriented(self) -> Atlas:
        """The base's atlas over the subgroup, before the re-orientation."""
        return self.base.atlas if self.subgroup is None else self.base.atlas.restricted(self.subgroup)

    def embedding(self) -> np.ndarray:
        """The base's embedding, each chart's pixels moved with its re-oriented frame."""
        return self._moved(self.base.embedding())

    def normals(self) -> np.ndarray | None:
        """The base's normals, moved as the embedding is."""
        normals = self.base.normals()
        return None if normals is None else self._moved(normals)

    def _moved(self, values: np.ndarray) -> np.ndarray:
        if self.gauge is None:
            return values
        move = self._unoriented().gauge_transform(list(self.gauge))
        return values.reshape(-1, 3)[move.source.reshape(-1)].reshape(values.shape)

    @property
    def has_embedding(self) -> bool:
        """Whether the base has an embedding."""
        return self.base.has_embedding

    def isometries(self) -> Sequence[Isometry]:
        """The base's isometries carried to these frames; over a subgroup, those whose frame changes lie in it."""
        out = []
        for iso in self.base.isometries():
            moved = TransportedIsometry(iso)
            if self.subgroup is not None:
                try:
                    moved.field_map(self)
                except ValueError:
                    continue
            out.append(moved)
        return out

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Manifold:
        """The base at ``chart_shape``, derived the same way.

        Args:
            chart_shape: the new ``(H, W)``.
        """
        return DerivedManifold(self.base.with_chart_shape(chart_shape), self.subgroup, self.gauge)

    def _geometry_key(self) -> tuple:
        return (self.base, self.subgroup, self.gauge)

    def __repr__(self) -> str:
        parts = [repr(self.base)]
        if self.subgroup is not None:
            parts.append(f".restricted({self.subgroup.name})")
        if self.gauge is not None:
            parts.append(f".reoriented({list(self.gauge)})")
        return "".join(parts)


class TransportedIsometry(Isometry):
    """An isometry of a manifold, acting on a ``DerivedManifold`` of it: restricted and re-oriented.

    On ``M.restricted(H).reoriented(γ)`` the map is ``γ ∘ φ ∘ γ⁻¹`` with ``φ`` the isometry's map on
    ``M`` (at the same resolution), its frame changes read in ``H``; refused where one is not in ``H``.

    Args:
        isometry: the isometry of the base manifold.
    """

    def __init__(self, isometry: Isometry):
        self.isometry = isometry
        self.name = isometry.name

    def field_map(self, atlas) -> FieldMap:
        """The isometry on ``atlas``, a ``DerivedManifold`` (or the base manifold itself)."""
        if not isinstance(atlas, DerivedManifold):
            return self.isometry.field_map(atlas)
        fmap = self.isometry.field_map(atlas.base)
        group = atlas.group
        if atlas.subgroup is not None:
            inside = {int(g): h for h, g in enumerate(atlas.base.group.inclusion(group))}
            outside = sorted({int(e) for e in np.unique(fmap.element)} - set(inside))
            if outside:
                raise ValueError(
                    f"{self.name} changes frames by {atlas.base.group.describe(outside[0])}, which is not in {group.name}: "
                    f"it is no isometry of the manifold over {group.name}"
                )
            element = np.vectorize(inside.__getitem__, otypes=[np.int64])(fmap.element)
            fmap = FieldMap(group, fmap.source_grid, fmap.target_grid, np.asarray(fmap.source), element)
        if atlas.gauge is None:
            return fmap
        move = atlas._unoriented().gauge_transform(list(atlas.gauge))  # base frames -> these frames
        back = atlas.atlas.gauge_transform([group.inv(g) for g in atlas.gauge])  # these frames -> base frames
        return back.then(fmap).then(move)

    def __repr__(self) -> str:
        return self.name


def _convert(elements: Sequence[int], source: StructureGroup, target: StructureGroup) -> tuple[int, ...]:
    """Group elements of ``source`` as elements of ``target`` (same matrices); refused if one is not in it."""
    out = []
    for g in elements:
        h = target.element(source.matrix(int(g)))
        if h is None:
            raise ValueError(f"the re-orientation uses {source.describe(int(g))}, which is not in {target.name}")
        out.append(h)
    return tuple(out)
