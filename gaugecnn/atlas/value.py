"""The Atlas value: pixel-grid charts glued along their edges.

An ``Atlas`` is immutable and compared by value: two atlases with the same group, chart shape,
charts, gluings, grid and origins are equal and hash alike, and everything derived from one
(transitions, topology, padding maps, derived atlases) is cached on its value, so it is built
once however many equal atlases a program makes. Geometry -- an embedding in R³, isometries --
is not part of the atlas: a ``gaugecnn.Manifold`` adds it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import cached_property

import networkx as nx
import numpy as np

from ..fieldmap import FieldMap, spatial_shape
from ..groups import StructureGroup
from . import derived, maps, topology
from .gluings import CORNERS, EDGES, GRIDS, Crossing, Gluing, crossings, stores_edge

__all__ = ["Atlas"]

_CORNER_NAMES = {v: k for k, v in CORNERS.items()}


class Atlas:
    """Charts of one grid shape glued along edges: an immutable value.

    Every chart is an ``H x W`` array of pixels on the structure group's lattice with its own
    frame. Two kinds of pixel grid:

    - ``grid="cells"`` (the default): pixels are cells; an edge runs between the last row of
      pixels and the next chart's first.
    - ``grid="vertices"``: pixels are the vertices of a subdivided polygon (the icosahedral
      grids of Cohen et al. 2019), shared with the next chart along an edge. Each vertex is
      stored once: a chart stores the two edges through its ``origin`` corner and leaves the
      opposite two to its neighbours. A gluing joins an edge a chart stores to one it does not.

    The transition element of every gluing is derived (``gaugecnn.atlas.gluings``) and must
    lie in the structure group.

    Args:
        group: the structure group G, on its lattice; every transition element must lie in it.
        chart_shape: ``(H, W)`` pixels of every chart.
        charts: chart names, or their number (names ``0 .. n-1``).
        gluings: ``Gluing`` objects or tuples ``(chart_a, edge_a, chart_b, edge_b, reversed)``.
            Unglued edges are boundaries: fields are zero beyond them.
        grid: ``"cells"`` (default) or ``"vertices"``.
        origins: for vertex grids, the corner each chart stores (``"top-left"``, the default,
            ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``), one for all charts or a
            mapping from chart name to corner.

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> mobius = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])
        >>> mobius.shape, mobius.is_orientable, mobius.euler_characteristic
        ((5, 8), False, 0)
        >>> mobius == Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # compared by value
        True
    """

    def __init__(
        self,
        group: StructureGroup,
        chart_shape: tuple[int, int],
        charts: int | Sequence[Hashable],
        gluings: Iterable[Gluing | tuple] = (),
        grid: str = "cells",
        origins: str | Mapping[Hashable, str] | None = None,
    ):
        if not isinstance(group, StructureGroup):
            raise TypeError(f"an atlas needs a StructureGroup (e.g. cyclic_group(4)), got {type(group).__name__}")
        if not isinstance(chart_shape, (tuple, list)) or len(chart_shape) != 2 or any(_bad_size(s) for s in chart_shape):
            raise ValueError(f"chart_shape must be two positive integers (H, W), got {chart_shape!r}")
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
        names = tuple(range(charts)) if isinstance(charts, int) else tuple(charts)
        if not names:
            raise ValueError("an atlas needs at least one chart")
        if len(set(names)) != len(names):
            raise ValueError(f"chart names must be unique, got {names}")
        set_ = object.__setattr__
        set_(self, "group", group)
        set_(self, "grid_kind", grid)
        set_(self, "chart_shape", (int(chart_shape[0]), int(chart_shape[1])))
        set_(self, "charts", names)
        set_(self, "origins", _check_origins(grid, names, origins))
        set_(self, "gluings", tuple(g if isinstance(g, Gluing) else Gluing(*g) for g in gluings))
        set_(self, "_crossings", crossings(group, self.chart_shape, names, self.gluings, grid, self.origins))
        origins_key = frozenset(self.origins.items())
        set_(self, "_key", (group, self.chart_shape, names, frozenset(self.gluings), grid, origins_key))
        set_(self, "_hash", hash(self._key))

    group: StructureGroup
    grid_kind: str
    chart_shape: tuple[int, int]
    charts: tuple[Hashable, ...]
    origins: dict[Hashable, str]
    gluings: tuple[Gluing, ...]
    _crossings: dict[tuple[Hashable, str], Crossing]
    _key: tuple
    _hash: int

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(
            f"an Atlas is an immutable value; derive another one (with_chart_shape, restricted, ...) instead of setting {name!r}"
        )

    def _derive(self, group=None, chart_shape=None, gluings=None, origins=None) -> Atlas:
        """A new atlas with some of its parts replaced (origins as corner names)."""
        if origins is None and self.grid_kind == "vertices":
            origins = {c: _CORNER_NAMES[o] for c, o in self.origins.items()}
        return Atlas(
            group or self.group,
            chart_shape or self.chart_shape,
            self.charts,
            self.gluings if gluings is None else gluings,
            self.grid_kind,
            origins,
        )

    # -- charts and gluings ---------------------------------------------------------------
    @property
    def num_charts(self) -> int:
        """How many charts the atlas has."""
        return len(self.charts)

    @property
    def grid(self) -> tuple[int, int, int]:
        """``(charts, H, W)``, also for a one-chart atlas (whose tensors are ``(..., H, W)``: see ``shape``)."""
        return (self.num_charts, *self.chart_shape)

    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape of field tensors: ``(H, W)`` for one chart, ``(charts, H, W)`` for several."""
        return spatial_shape(self.grid)

    def stores_edge(self, chart: Hashable, edge: str) -> bool:
        """Whether the chart's pixels include those on ``edge`` (always for cells; for vertices, the edges through its origin).

        Args:
            chart: a chart name.
            edge: one of ``top``, ``bottom``, ``left``, ``right``.
        """
        return stores_edge(self.grid_kind, self.origins.get(chart, "tl"), edge)

    @cached_property
    def graph(self) -> nx.MultiGraph:
        """The charts as nodes, one edge per gluing (attributes ``gluing`` and ``transition``)."""
        graph = nx.MultiGraph()
        graph.add_nodes_from(self.charts)
        for gl in self.gluings:
            graph.add_edge(gl.chart_a, gl.chart_b, gluing=gl, transition=self.transition(gl))
        return graph

    def transition(self, gluing: Gluing) -> int:
        """The transition element (frame change from ``chart_a`` to ``chart_b``) of a gluing.

        Args:
            gluing: one of the atlas's gluings.
        """
        return self._crossings[(gluing.chart_a, gluing.edge_a)].element

    def crossing(self, chart: Hashable, edge: str) -> Crossing | None:
        """Where leaving ``chart`` through ``edge`` arrives (chart, frame change, affine pixel map), or None at a boundary.

        Args:
            chart: a chart name.
            edge: one of its edges.
        """
        return self._crossings.get((chart, edge))

    @property
    def boundary_axes(self) -> tuple[bool, bool]:
        """Whether the rows (top and bottom edges) and the columns (left and right) are boundaries on every chart.

        Along such an axis nothing is glued, so a halo there is all zeros: convolutions leave
        it to ``conv2d``'s own zero padding and build halos only along glued axes.
        """
        glued = {g.edge_a for g in self.gluings} | {g.edge_b for g in self.gluings}
        return (not glued & {"top", "bottom"}, not glued & {"left", "right"})

    # -- topology (gaugecnn.atlas.topology) -------------------------------------------------
    @property
    def is_connected(self) -> bool:
        """Whether every chart can be reached from every other through gluings."""
        return nx.is_connected(self.graph)

    @property
    def is_orientable(self) -> bool:
        """Whether chart orientations ``s_c = ±1`` exist with ``det t = s_a s_b`` on every gluing."""
        return topology.is_orientable(self)

    @property
    def euler_characteristic(self) -> int:
        """``V - E + F`` of the chart complex: charts are faces, glued edges count once."""
        return topology.euler_characteristic(self)

    def vertex_angles(self) -> list[tuple[frozenset, float, bool]]:
        """Per vertex of the chart complex: its chart corners, the total angle there (degrees), and whether it is interior.

        A chart corner contributes the lattice angle between its two edges (90 degrees on the
        square lattice; 120 or 60 on the hexagonal one). An interior vertex (every edge at
        its corners glued) with a total other than 360 degrees is a cone point, where the
        surface is curved: the eight vertices of a cube sphere (270), the twelve of an
        icosahedron (300). For a closed surface the deficits ``360 - total`` add up to
        ``360 χ`` (Gauss-Bonnet).

        Examples:
            >>> from gaugecnn.groups import cyclic_group
            >>> torus = Atlas(cyclic_group(4), (3, 3), 1, [(0, "left", 0, "right", False), (0, "top", 0, "bottom", False)])
            >>> [(len(corners), total, interior) for corners, total, interior in torus.vertex_angles()]
            [(4, 360.0, True)]
        """
        return list(topology.vertex_angles(self))

    def near_cones(self, offsets: np.ndarray) -> np.ndarray:
        """Boolean ``(charts, H, W)``: the pixels ``p`` with a cone point at ``p + d`` for some offset ``d`` in ``offsets``.

        A kernel of radius ``r`` that covers a cone point strictly inside it sees positions
        around that point that no flat lattice can place; the convolutions zero their outputs
        there (``offsets``: the support of size ``k - 2``), which for ``k = 3`` is the cone
        pixels themselves.

        Args:
            offsets: a boolean ``(m, m)`` array centred on ``(0, 0)`` (a kernel support).
        """
        return topology.near_cones(self, offsets)

    @property
    def cone_pixels(self) -> np.ndarray:
        """Boolean ``(charts, H, W)``: the pixels that sit on a cone point (vertex grids only).

        A pixel at a cone point has fewer or more neighbours than the lattice gives it (five
        at an icosahedron's vertex), so no kernel sees it the same way from every frame. The
        convolution, pooling and upsampling layers set these pixels to zero, the rule of
        Cohen et al. (2019), which keeps them exactly equivariant. A cone point that no
        chart stores (the poles of the icosahedral charts) has no pixel: its halo is zero.
        On a cell grid no pixel sits on a vertex, and the mask is all False.
        """
        return topology.cone_pixels(self)

    # -- field maps (gaugecnn.atlas.maps) ---------------------------------------------------
    def padding_map(self, halo: int | tuple[int, int]) -> FieldMap:
        """Transport padding: each chart grown by ``halo`` pixels (rows, columns) on every side.

        A halo pixel takes the feature from the chart across the edge, carried into this
        chart's frame by ``ρ(t⁻¹)``; beyond boundaries, and at corners without a unique
        source, it is zero. Cached on the atlas's value.

        Args:
            halo: the halo width, or a pair ``(rows, columns)``.
        """
        return maps.padding_map(self, *maps.halo_widths(halo))

    def translation(self, offset: tuple[int, int]) -> FieldMap:
        """Move fields by ``offset = (dy, dx)`` pixels in chart coordinates, carried through the gluings.

        Pixel ``y`` of chart ``c`` takes the feature at ``y - offset``, found by crossing edges
        as for transport padding. Whether this is an isometry depends on the atlas (a shift
        along a Möbius strip or a torus is; on a bounded chart pixels leave through the
        boundary and become zero). Cached on the atlas's value.

        Args:
            offset: ``(dy, dx)`` in pixels.
        """
        return maps.translation(self, int(offset[0]), int(offset[1]))

    def shape_preserving_elements(self) -> list[int]:
        """Elements that map a chart's grid onto itself (all of them for square charts)."""
        return list(maps.shape_preserving_elements(self))

    def gauge_transform(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> FieldMap:
        """Re-orient the frame of every chart: ``f'_c(y) = ρ(g_c) f_c(g_c⁻¹ y)`` about the chart centre.

        Args:
            gauge: ``g_c`` per chart, a sequence in chart order or a mapping from chart name;
                each must map the chart's grid onto itself (``shape_preserving_elements()``).
        """
        return maps.gauge_transform(self, maps.gauge_elements(self, gauge))

    # -- derived atlases (gaugecnn.atlas.derived) ---------------------------------------------
    def reoriented(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> Atlas:
        """The same manifold with every chart's frame changed by ``g_c``: gluings (and origins) re-labelled.

        Layers rebound to the result take ``gauge_transform(gauge)`` of their inputs to
        ``gauge_transform(gauge)`` of their outputs.

        Args:
            gauge: as for ``gauge_transform``.
        """
        return derived.reoriented(self, maps.gauge_elements(self, gauge))

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Atlas:
        """The same charts and gluings on grids of ``chart_shape = (H, W)``, another resolution.

        Args:
            chart_shape: the new ``(H, W)``.
        """
        if not isinstance(chart_shape, (tuple, list)) or len(chart_shape) != 2 or any(_bad_size(s) for s in chart_shape):
            raise ValueError(f"chart_shape must be two positive integers (H, W), got {chart_shape!r}")
        return derived.with_chart_shape(self, (int(chart_shape[0]), int(chart_shape[1])))

    def restricted(self, subgroup: StructureGroup) -> Atlas:
        """The same charts and gluings over a subgroup H of the structure group.

        Possible only when every transition element lies in H: a plane or a cube sphere
        restricts from D4 to C4, a Möbius strip cannot drop its flip. Refused otherwise,
        naming a gluing whose transition is not in H.

        Args:
            subgroup: the subgroup H, on the same lattice.
        """
        if not isinstance(subgroup, StructureGroup):
            raise TypeError(f"restricted() needs a StructureGroup (e.g. cyclic_group(4)), got {type(subgroup).__name__}")
        return derived.restricted(self, subgroup)

    def coarsened(self) -> Atlas:
        """The same atlas at half resolution: the grid after stride-2 pooling.

        Cells: ``ceil(H/2) x ceil(W/2)``. Vertices: every second vertex, counted from each
        chart's origin, ``H/2 x W/2`` (``H`` and ``W`` must be even).
        """
        return derived.coarsened(self)

    # -- identity and printing ------------------------------------------------------------
    def __eq__(self, other) -> bool:
        return isinstance(other, Atlas) and (self is other or (self._hash == other._hash and self._key == other._key))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        origins = {c: _CORNER_NAMES[o] for c, o in self.origins.items()} if self.grid_kind == "vertices" else None
        return (Atlas, (self.group, self.chart_shape, self.charts, self.gluings, self.grid_kind, origins))

    def __copy__(self) -> Atlas:
        return self

    def __deepcopy__(self, memo) -> Atlas:
        return self  # immutable: copies are the value itself

    def summary(self) -> str:
        """Charts, gluings with their transition elements, and topology, as text."""
        kind = "pixels" if self.grid_kind == "cells" else f"vertices ({self.group.lattice.name} lattice)"
        lines = [f"Atlas over {self.group.name}: {self.num_charts} chart(s) of {self.chart_shape[0]}x{self.chart_shape[1]} {kind}"]
        for gl in self.gluings:
            lines.append(f"  {gl}: transition {self.group.describe(self.transition(gl))}")
        glued = {(g.chart_a, g.edge_a) for g in self.gluings} | {(g.chart_b, g.edge_b) for g in self.gluings}
        boundary = [f"{c}.{e}" for c in self.charts for e in EDGES if (c, e) not in glued]
        lines.append(f"  boundary edges: {', '.join(boundary) if boundary else 'none'}")
        lines.append(
            f"  connected: {self.is_connected}, orientable: {self.is_orientable}, Euler characteristic: {self.euler_characteristic}"
        )
        cones = [total for _, total, interior in self.vertex_angles() if interior and abs(total - 360) > 1e-6]
        if cones:
            stored = int(self.cone_pixels.sum())
            lines.append(f"  cone points: {len(cones)} (angles {sorted(set(cones))}), {stored} of them pixels kept at zero")
        return "\n".join(lines)

    def __repr__(self) -> str:
        grid = "" if self.grid_kind == "cells" else ", grid=vertices"
        return f"Atlas({self.group.name}, charts={self.num_charts}, chart_shape={self.chart_shape}, gluings={len(self.gluings)}{grid})"


def _bad_size(s) -> bool:
    """Whether ``s`` is not a positive integer (bools and non-integral floats are not sizes)."""
    if isinstance(s, (bool, np.bool_)):
        return True
    try:
        return int(s) != s or s < 1
    except (TypeError, ValueError):
        return True


def _check_origins(grid: str, charts: tuple[Hashable, ...], origins) -> dict[Hashable, str]:
    if grid == "cells":
        if origins is not None:
            raise ValueError("origins are for vertex grids (grid='vertices'); a cell grid has none")
        return {}
    given = {c: origins for c in charts} if isinstance(origins, str) or origins is None else dict(origins)
    out = {}
    for c in charts:
        corner = given.get(c, "top-left") or "top-left"
        if corner not in CORNERS:
            raise ValueError(f"origin of chart {c!r} must be one of {tuple(CORNERS)}, got {corner!r}")
        out[c] = CORNERS[corner]
    unknown = set(given) - set(charts)
    if unknown:
        raise ValueError(f"origins name unknown charts {sorted(map(str, unknown))}; charts are {list(charts)}")
    return out
