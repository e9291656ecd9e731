"""Atlases: pixel-grid charts glued along their edges, with derived transition elements.

Every chart is an ``H x W`` array of pixels on the structure group's lattice
(``gaugecnn.lattices``) with its own frame: offsets ``(dy, dx)``, rows first. A gluing
names an edge of one chart, an edge of another (or the same) chart, and whether the edge
is reversed. Walking along an edge in its canonical direction (``top``/``bottom``:
increasing column, ``left``/``right``: increasing row), the start of the first edge
meets the start of the second, or its end when reversed.

Two kinds of pixel grid:

- ``grid="cells"`` (the default): pixels are cells, an edge runs between the last row of
  pixels and the next chart's first; the ``H x W`` pixels fill the chart.
- ``grid="vertices"``: pixels are the vertices of a subdivided polygon (the icosahedral
  grids of Cohen et al. 2019), so the vertices on an edge are shared with the next
  chart. Each vertex is stored once: a chart stores the two edges through one corner, its
  ``origin`` (top-left by default), and leaves the opposite two edges to its neighbours; so
  its closed polygon is ``(H+1) x (W+1)`` vertices of which it stores ``H x W``. A gluing
  joins an edge a chart stores to one it does not.

Crossing the first edge outwards means entering the second chart inwards, so the
transition element ``t`` -- the frame change from the first chart to the second,
``v_b = t v_a`` -- is the lattice isometry with

    t (direction of edge a) = ±(direction of edge b)     (- when reversed)

that maps the side of edge a inside the first chart to the side of edge b outside the
second (on the square lattice: ``t`` maps the outward normal of edge a to minus that of
edge b). The atlas refuses a gluing whose ``t`` is not in the structure group. Features
are carried across by ``ρ(t)``: this is the discrete parallel transport.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

from .fieldmap import FieldMap, rotated_grid_source, spatial_shape
from .groups import StructureGroup, describe_matrix
from .lattices import Lattice

__all__ = ["Atlas", "Gluing", "EDGES"]

EDGES = ("top", "bottom", "left", "right")
_NORMAL = {"top": (-1, 0), "bottom": (1, 0), "left": (0, -1), "right": (0, 1)}
_DIRECTION = {"top": (0, 1), "bottom": (0, 1), "left": (1, 0), "right": (1, 0)}
# corners at the start and end of each edge, in its canonical direction
_ENDS = {"top": ("tl", "tr"), "bottom": ("bl", "br"), "left": ("tl", "bl"), "right": ("tr", "br")}
CORNERS = {"top-left": "tl", "top-right": "tr", "bottom-left": "bl", "bottom-right": "br"}
# the two edges through each corner, and the lattice steps along them into the chart
_CORNER_EDGES = {"tl": ("top", "left"), "tr": ("top", "right"), "bl": ("bottom", "left"), "br": ("bottom", "right")}
_CORNER_STEPS = {"tl": ((1, 0), (0, 1)), "tr": ((1, 0), (0, -1)), "bl": ((-1, 0), (0, 1)), "br": ((-1, 0), (0, -1))}
GRIDS = ("cells", "vertices")


@dataclass(frozen=True)
class Gluing:
    """Edge ``edge_a`` of ``chart_a`` glued to edge ``edge_b`` of ``chart_b``.

    The start of one edge (in its canonical direction) meets the start of the other, or its
    end when ``reversed``: on a cell grid pixel ``i`` meets pixel ``i`` or ``n - 1 - i``, on a
    vertex grid vertex ``i`` meets vertex ``i`` or ``n - i``.
    """

    chart_a: Hashable
    edge_a: str
    chart_b: Hashable
    edge_b: str
    reversed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.reversed, (bool, np.bool_)):
            raise TypeError(
                f"gluing {self.chart_a}.{self.edge_a} ~ {self.chart_b}.{self.edge_b}: reversed must be True or False, got {self.reversed!r}"
            )
        object.__setattr__(self, "reversed", bool(self.reversed))

    def __str__(self) -> str:
        how = "reversed" if self.reversed else "straight"
        return f"{self.chart_a}.{self.edge_a} ~ {self.chart_b}.{self.edge_b} ({how})"


@dataclass(frozen=True)
class _Crossing:
    """Leaving a chart through one edge: where one arrives, ``y_b = matrix @ y_a + offset``."""

    target: Hashable
    element: int  # frame change from the chart left to the chart entered
    matrix: np.ndarray
    offset: np.ndarray


def _edge_length(edge: str, shape: tuple[int, int]) -> int:
    return shape[1] if edge in ("top", "bottom") else shape[0]


def _corner_points(grid: str, shape: tuple[int, int], origin: str) -> dict[str, np.ndarray]:
    """The chart's corners in doubled coordinates (``2 y``): where its boundary lines cross.

    Cells: the lines run half a pixel outside the outermost pixels. Vertices: the lines
    through the stored corner ``origin`` are stored rows/columns; the others lie one pixel
    beyond the array.
    """
    h, w = shape
    if grid == "cells":
        top, bottom, left, right = -1, 2 * h - 1, -1, 2 * w - 1
    else:
        top, bottom = (0, 2 * h) if origin[0] == "t" else (-2, 2 * h - 2)
        left, right = (0, 2 * w) if origin[1] == "l" else (-2, 2 * w - 2)
    return {"tl": np.array([top, left]), "tr": np.array([top, right]), "bl": np.array([bottom, left]), "br": np.array([bottom, right])}


def _halo_widths(halo) -> tuple[int, int]:
    """``(rows, columns)`` of padding from an int or a pair of non-negative integers."""
    pair = (halo, halo) if not isinstance(halo, (tuple, list)) else tuple(halo)
    try:
        if len(pair) != 2 or any(isinstance(v, bool) for v in pair):
            raise TypeError
        ph, pw = (operator.index(v) for v in pair)
    except TypeError:
        ph = pw = -1
    if ph < 0 or pw < 0:
        raise ValueError(f"padding width must be a non-negative integer or a pair (rows, columns) of them, got {halo!r}")
    return ph, pw


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _transition_matrix(g: Gluing, lattice: Lattice) -> np.ndarray | None:
    """The lattice isometry ``t`` of a gluing (see the module docstring), or None if none exists.

    Of the two orthogonal maps sending the direction of edge a to ``±`` that of edge b (a
    rotation and a reflection), ``t`` is the one that sends a vector pointing into chart a
    to the side of edge b away from chart b.
    """
    s = -1 if g.reversed else 1
    along_a, along_b = lattice.point(_DIRECTION[g.edge_a]), s * lattice.point(_DIRECTION[g.edge_b])
    into_a, out_of_b = lattice.point(-np.array(_NORMAL[g.edge_a])), lattice.point(_NORMAL[g.edge_b])
    theta = np.arctan2(_cross(along_a, along_b), along_a @ along_b)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    u = along_b / np.linalg.norm(along_b)
    mirror = 2 * np.outer(u, u) - np.eye(2)  # reflection across the line of edge b
    for candidate in (rotation, mirror @ rotation):
        if np.sign(_cross(along_b, candidate @ into_a)) == np.sign(_cross(along_b, out_of_b)):
            return lattice.lattice_matrix(candidate)
    return None  # pragma: no cover - one of the two always lies on the required side


class Atlas:
    """Charts of one grid shape glued along edges; a networkx MultiGraph underneath.

    Args:
        group: the structure group G, on its lattice; every transition element must lie in it.
        chart_shape: ``(H, W)`` pixels of every chart.
        charts: chart names, or their number (names ``0 .. n-1``).
        gluings: ``Gluing`` objects or tuples ``(chart_a, edge_a, chart_b, edge_b, reversed)``.
            Unglued edges are boundaries: fields are zero beyond them.
        grid: ``"cells"`` (default) or ``"vertices"`` (see the module docstring).
        origins: for vertex grids, the corner each chart stores (``"top-left"``, the default,
            ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``), one for all charts or a
            mapping from chart name to corner.

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> mobius = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])
        >>> mobius.shape, mobius.is_orientable, mobius.euler_characteristic
        ((5, 8), False, 0)
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
        if len(chart_shape) != 2 or any(int(s) != s or s < 1 for s in chart_shape):
            raise ValueError(f"chart_shape must be two positive integers (H, W), got {chart_shape!r}")
        if grid not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
        self.group = group
        self.grid_kind = grid
        self.chart_shape: tuple[int, int] = (int(chart_shape[0]), int(chart_shape[1]))
        self.charts: tuple[Hashable, ...] = tuple(range(charts)) if isinstance(charts, int) else tuple(charts)
        if not self.charts:
            raise ValueError("an atlas needs at least one chart")
        if len(set(self.charts)) != len(self.charts):
            raise ValueError(f"chart names must be unique, got {self.charts}")
        self._chart_index = {c: i for i, c in enumerate(self.charts)}
        self.origins: dict[Hashable, str] = self._check_origins(origins)
        self.gluings: tuple[Gluing, ...] = tuple(g if isinstance(g, Gluing) else Gluing(*g) for g in gluings)
        self.graph = nx.MultiGraph()
        self.graph.add_nodes_from(self.charts)
        self._crossings: dict[tuple[Hashable, str], _Crossing] = {}
        used: dict[tuple[Hashable, str], Gluing] = {}
        for gl in self.gluings:
            self._add_gluing(gl, used)

    # -- construction and validation ---------------------------------------------------
    def _check_origins(self, origins) -> dict[Hashable, str]:
        if self.grid_kind == "cells":
            if origins is not None:
                raise ValueError("origins are for vertex grids (grid='vertices'); a cell grid has none")
            return {}
        given = {c: origins for c in self.charts} if isinstance(origins, str) or origins is None else dict(origins)
        out = {}
        for c in self.charts:
            corner = given.get(c, "top-left") or "top-left"
            if corner not in CORNERS:
                raise ValueError(f"origin of chart {c!r} must be one of {tuple(CORNERS)}, got {corner!r}")
            out[c] = CORNERS[corner]
        unknown = set(given) - set(self.charts)
        if unknown:
            raise ValueError(f"origins name unknown charts {sorted(map(str, unknown))}; charts are {list(self.charts)}")
        return out

    def stores_edge(self, chart: Hashable, edge: str) -> bool:
        """Whether the chart's pixels include those on ``edge`` (always for cells; for vertices, the edges through its origin)."""
        return self.grid_kind == "cells" or edge in _CORNER_EDGES[self.origins[chart]]

    def _corners(self, chart: Hashable) -> dict[str, np.ndarray]:
        return _corner_points(self.grid_kind, self.chart_shape, self.origins.get(chart, "tl"))

    def _add_gluing(self, gl: Gluing, used: dict) -> None:
        if (gl.chart_a, gl.edge_a) == (gl.chart_b, gl.edge_b):
            raise ValueError(f"gluing {gl} glues an edge to itself; glue it to another edge")
        for chart, edge in ((gl.chart_a, gl.edge_a), (gl.chart_b, gl.edge_b)):
            if chart not in self._chart_index:
                raise ValueError(f"gluing {gl} names unknown chart {chart!r}; charts are {list(self.charts)}")
            if edge not in EDGES:
                raise ValueError(f"gluing {gl} names unknown edge {edge!r}; edges are {EDGES}")
            if (chart, edge) in used:
                raise ValueError(
                    f"edge {chart}.{edge} is glued twice: in {used[(chart, edge)]} and in {gl}; each edge can be glued at most once"
                )
            used[(chart, edge)] = gl
        la, lb = _edge_length(gl.edge_a, self.chart_shape), _edge_length(gl.edge_b, self.chart_shape)
        if la != lb:
            raise ValueError(
                f"gluing {gl} joins edges of different lengths ({la} and {lb} pixels) "
                f"on charts of shape {self.chart_shape}; glue edges of equal length"
            )
        if self.grid_kind == "vertices" and self.stores_edge(gl.chart_a, gl.edge_a) == self.stores_edge(gl.chart_b, gl.edge_b):
            which = "both store" if self.stores_edge(gl.chart_a, gl.edge_a) else "neither stores"
            raise ValueError(
                f"gluing {gl}: on a vertex grid the shared vertices belong to one chart, but {which} that edge; "
                "glue an edge through a chart's origin to one that is not, or change the charts' origins"
            )
        lattice = self.group.lattice
        t = _transition_matrix(gl, lattice)
        element = None if t is None else self.group.element(t)
        if element is None:
            if t is None:
                raise ValueError(f"gluing {gl} needs a map that is no isometry of the {lattice.name} lattice")
            kind = "a reflection" if round(np.linalg.det(t)) < 0 else "a rotation"
            raise ValueError(
                f"gluing {gl} needs {kind} as transition element ({describe_matrix(t, lattice)}, matrix {t.tolist()}), "
                f"which is not in the structure group {self.group.name} ({lattice.name} lattice); use a group that contains it"
            )
        self.graph.add_edge(gl.chart_a, gl.chart_b, gluing=gl, transition=element)
        for (src, e_src), (dst, e_dst), t_el in (
            ((gl.chart_a, gl.edge_a), (gl.chart_b, gl.edge_b), element),
            ((gl.chart_b, gl.edge_b), (gl.chart_a, gl.edge_a), self.group.inv(element)),
        ):
            m = self.group.matrix(t_el)
            # the start corner of the edge left meets the start (straight) or end (reversed) of the edge entered
            start = self._corners(src)[_ENDS[e_src][0]]
            meet = self._corners(dst)[_ENDS[e_dst][1 if gl.reversed else 0]]
            offset = meet - m @ start
            if np.any(offset % 2):  # pragma: no cover - corners of equal kind differ by whole pixels
                raise ValueError(f"gluing {gl} does not map pixels to pixels")
            self._crossings[(src, e_src)] = _Crossing(dst, t_el, m, offset // 2)

    # -- shapes ---------------------------------------------------------------------------
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

    def embedding(self) -> np.ndarray:
        """The 3D position of every pixel, ``(charts, H, W, 3)``, for atlases of surfaces in R³.

        Curved manifolds implement it (unit vectors on the sphere for the cube and icosahedral
        spheres); data projection, plots and ``RigidMotion`` isometries use it.
        """
        raise NotImplementedError(f"{type(self).__name__} has no embedding in R³; manifolds that have one implement embedding()")

    @cached_property
    def boundary_axes(self) -> tuple[bool, bool]:
        """Whether the rows (top and bottom edges) and the columns (left and right) are boundaries on every chart.

        Along such an axis nothing is glued, so a halo there is all zeros: convolutions leave
        it to ``conv2d``'s own zero padding and build halos only along glued axes.
        """
        glued = {g.edge_a for g in self.gluings} | {g.edge_b for g in self.gluings}
        return (not glued & {"top", "bottom"}, not glued & {"left", "right"})

    def transition(self, gluing: Gluing) -> int:
        """The transition element (frame change from ``chart_a`` to ``chart_b``) of a gluing."""
        return self._crossings[(gluing.chart_a, gluing.edge_a)].element

    # -- topology ---------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        """Whether every chart can be reached from every other through gluings."""
        return nx.is_connected(self.graph)

    @cached_property
    def is_orientable(self) -> bool:
        """Whether chart orientations ``s_c = ±1`` exist with ``det t = s_a s_b`` on every gluing."""
        orientation: dict[Hashable, int] = {}
        for start in self.charts:
            if start in orientation:
                continue
            orientation[start] = 1
            stack = [start]
            while stack:
                a = stack.pop()
                for _, b, data in self.graph.edges(a, data=True):
                    gl = data["gluing"]
                    det = self.group.det(data["transition"])
                    want = orientation[a] * det
                    if b not in orientation:
                        orientation[b] = want
                        stack.append(b)
                    elif orientation[b] != want:
                        return False
                    if gl.chart_a == gl.chart_b and det < 0:
                        return False
        return True

    @cached_property
    def euler_characteristic(self) -> int:
        """``V - E + F`` of the chart complex: charts are faces, glued edges count once."""
        vertices = len(self._vertex_classes)
        faces = self.num_charts
        edges = 4 * faces - len(self.gluings)
        return vertices - edges + faces

    @cached_property
    def _vertex_classes(self) -> list[frozenset]:
        """The chart corners ``(chart, "tl" | "tr" | "bl" | "br")`` identified by the gluings, one set per vertex."""
        corners = nx.Graph()
        corners.add_nodes_from((c, k) for c in self.charts for k in ("tl", "tr", "bl", "br"))
        for gl in self.gluings:
            sa, ea = _ENDS[gl.edge_a]
            sb, eb = _ENDS[gl.edge_b]
            if gl.reversed:
                sb, eb = eb, sb
            corners.add_edge((gl.chart_a, sa), (gl.chart_b, sb))
            corners.add_edge((gl.chart_a, ea), (gl.chart_b, eb))
        return [frozenset(c) for c in nx.connected_components(corners)]

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
        glued = {(g.chart_a, g.edge_a) for g in self.gluings} | {(g.chart_b, g.edge_b) for g in self.gluings}
        lattice = self.group.lattice
        out = []
        for corners in self._vertex_classes:
            total = sum(lattice.angle(*_CORNER_STEPS[k]) for _, k in corners)
            interior = all((c, e) in glued for c, k in corners for e in _CORNER_EDGES[k])
            out.append((corners, round(total, 9), interior))
        return out

    def near_cones(self, offsets: np.ndarray) -> np.ndarray:
        """Boolean ``(charts, H, W)``: the pixels ``p`` with a cone point at ``p + d`` for some offset ``d`` in ``offsets``.

        ``offsets`` is a boolean ``(m, m)`` array centred on ``(0, 0)`` (a kernel support).
        Cone points near a pixel are corners of its chart, so chart coordinates suffice. A
        kernel of radius ``r`` that covers a cone point strictly inside it sees positions
        around that point that no flat lattice can place; the convolutions zero their
        outputs there (``offsets``: the support of size ``k - 2``), which for ``k = 3`` is the
        cone pixels themselves.
        """
        offsets = np.asarray(offsets, dtype=bool)
        m = offsets.shape[0] // 2
        mask = np.zeros(self.grid, dtype=bool)
        if self.grid_kind == "cells":
            return mask
        h, w = self.chart_shape
        rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
        for corners, total, interior in self.vertex_angles():
            if not interior or abs(total - 360.0) <= 1e-6:
                continue
            for chart, corner in corners:
                py, px = self._corners(chart)[corner] // 2  # the cone point in the chart's coordinates
                dy = np.broadcast_to(py - rows, (h, w))  # offset from each pixel to the cone point
                dx = np.broadcast_to(px - cols, (h, w))
                inside = (np.abs(dy) <= m) & (np.abs(dx) <= m)
                hit = np.zeros((h, w), dtype=bool)
                hit[inside] = offsets[dy[inside] + m, dx[inside] + m]
                mask[self._chart_index[chart]] |= hit
        return mask

    @cached_property
    def cone_pixels(self) -> np.ndarray:
        """Boolean ``(charts, H, W)``: the pixels that sit on a cone point (vertex grids only).

        A pixel at a cone point has fewer or more neighbours than the lattice gives it (five
        at an icosahedron's vertex), so no kernel sees it the same way from every frame. The
        convolution, pooling and upsampling layers set these pixels to zero, the rule of
        Cohen et al. (2019), which keeps them exactly equivariant. A cone point that no
        chart stores (the poles of the icosahedral charts) has no pixel: its halo is zero.
        On a cell grid no pixel sits on a vertex, and the mask is all False.
        """
        mask = self.near_cones(np.ones((1, 1), dtype=bool))
        mask.setflags(write=False)
        return mask

    # -- field maps ---------------------------------------------------------------------------
    def _resolve(self, chart: Hashable, y: np.ndarray, memo: dict | None = None):
        """Where pixel ``y`` of ``chart`` (possibly outside it) lies: ``(chart, i, j, t)`` or None.

        ``t`` is the frame change from ``chart`` to the chart found. A pixel beyond two edges
        (a halo corner) is resolved along both orders of crossing; it has a source only if
        both succeed and agree. Any number of crossings is followed: on a cell grid each one
        lowers the pixel's distance outside the chart (the crossed axis's excess shrinks by
        the chart's size, the other axis's carries over), so the recursion ends; on a vertex
        grid a path may circle a vertex that no chart stores, which is detected (no source).
        ``memo`` caches results by ``(chart, i, j)``, which keeps far corners from branching
        exponentially.
        """
        h, w = self.chart_shape
        i, j = int(y[0]), int(y[1])
        sides = [s for s, out in (("top", i < 0), ("bottom", i >= h), ("left", j < 0), ("right", j >= w)) if out]
        if not sides:
            return (chart, i, j, self.group.identity)
        memo = {} if memo is None else memo
        key = (chart, i, j)
        if key in memo:
            return memo[key]
        memo[key] = None  # a path that comes back here (round a vertex no chart stores) finds no source
        found: set[tuple[int, int, int, int]] = set()
        for side in sides:
            crossing = self._crossings.get((chart, side))
            rest = None if crossing is None else self._resolve(crossing.target, crossing.matrix @ y + crossing.offset, memo)
            if crossing is None or rest is None:
                found = set()
                break
            c, i2, j2, t = rest
            found.add((c, i2, j2, self.group.mul(t, crossing.element)))
        memo[key] = found.pop() if len(found) == 1 else None
        return memo[key]

    def _resolved_map(self, target_grid: tuple[int, int, int], position) -> FieldMap:
        """FieldMap whose pixel ``(c, i, j)`` takes the point ``position(i, j)`` of chart ``c``, resolved through the gluings."""
        n, h, w = self.grid
        source = np.full(target_grid, -1, dtype=np.int64)
        element = np.zeros(target_grid, dtype=np.int64)
        memo: dict = {}
        for ci, chart in enumerate(self.charts):
            for i in range(target_grid[1]):
                for j in range(target_grid[2]):
                    found = self._resolve(chart, np.array(position(i, j)), memo)
                    if found is not None:
                        c, i2, j2, t = found
                        source[ci, i, j] = (self._chart_index[c] * h + i2) * w + j2
                        element[ci, i, j] = self.group.inv(t)
        return FieldMap(self.group, self.grid, target_grid, source, element)

    def padding_map(self, halo: int | tuple[int, int]) -> FieldMap:
        """Transport padding: each chart grown by ``halo`` pixels (rows, columns) on every side.

        A halo pixel takes the feature from the chart across the edge, carried into this
        chart's frame by ``ρ(t⁻¹)``; beyond boundaries, and at corners without a unique
        source, it is zero. Cached per atlas.
        """
        ph, pw = _halo_widths(halo)
        key = ("pad", ph, pw)
        if key not in self._maps:
            n, h, w = self.grid
            self._maps[key] = self._resolved_map((n, h + 2 * ph, w + 2 * pw), lambda i, j: (i - ph, j - pw))
        return self._maps[key]

    def translation(self, offset: tuple[int, int]) -> FieldMap:
        """Move fields by ``offset = (dy, dx)`` pixels in chart coordinates, carried through the gluings.

        Pixel ``y`` of chart ``c`` takes the feature at ``y - offset``, found by crossing edges
        as for transport padding. Whether this is an isometry depends on the atlas (a shift
        along a Möbius strip or a torus is; on a bounded chart pixels leave through the
        boundary and become zero). Cached per atlas.
        """
        dy, dx = int(offset[0]), int(offset[1])
        key = ("translate", dy, dx)
        if key not in self._maps:
            self._maps[key] = self._resolved_map(self.grid, lambda i, j: (i - dy, j - dx))
        return self._maps[key]

    @cached_property
    def _maps(self) -> dict:
        return {}

    def _check_gauge(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> list[int]:
        elements = [gauge[c] for c in self.charts] if isinstance(gauge, Mapping) else list(gauge)
        if len(elements) != self.num_charts:
            raise ValueError(f"a gauge transform needs one group element per chart ({self.num_charts}), got {len(elements)}")
        h, w = self.chart_shape
        for g in elements:
            if not 0 <= g < self.group.order:
                raise ValueError(f"{g} is not an element index of {self.group.name} (0..{self.group.order - 1})")
            if not self.group.preserves_grid(g, h, w):
                raise ValueError(
                    f"element {g} ({self.group.describe(g)}) does not map a chart of {h}x{w} pixels on the "
                    f"{self.group.lattice.name} lattice onto itself, so it cannot re-orient one; use "
                    f"atlas.shape_preserving_elements()"
                )
        return elements

    def shape_preserving_elements(self) -> list[int]:
        """Elements that map a chart's grid onto itself (all of them for square charts)."""
        h, w = self.chart_shape
        return [g for g in range(self.group.order) if self.group.preserves_grid(g, h, w)]

    def gauge_transform(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> FieldMap:
        """Re-orient the frame of every chart: ``f'_c(y) = ρ(g_c) f_c(g_c⁻¹ y)`` about the chart centre.

        ``gauge`` gives ``g_c`` per chart: a sequence in chart order or a mapping from chart name;
        each must map the chart's grid onto itself (``shape_preserving_elements()``).
        """
        elements = self._check_gauge(gauge)
        n, h, w = self.grid
        source = np.empty((n, h, w), dtype=np.int64)
        element = np.empty((n, h, w), dtype=np.int64)
        for ci, g in enumerate(elements):
            source[ci] = ci * h * w + rotated_grid_source(self.group.matrix(g), h, w)
            element[ci] = g
        return FieldMap(self.group, self.grid, self.grid, source, element)

    def reoriented(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> Atlas:
        """The same manifold with every chart's frame changed by ``g_c``: gluings (and origins) re-labelled.

        ``gauge`` is as for ``gauge_transform``; layers rebound to the result take
        ``gauge_transform(gauge)`` of their inputs to ``gauge_transform(gauge)`` of their outputs.
        """
        elements = dict(zip(self.charts, self._check_gauge(gauge)))
        by_normal = {v: k for k, v in _NORMAL.items()}
        h, w = self.chart_shape
        centred = {
            k: (np.array(v) - [h - 1, w - 1])
            for k, v in {"tl": (0, 0), "tr": (0, 2 * w - 2), "bl": (2 * h - 2, 0), "br": (2 * h - 2, 2 * w - 2)}.items()
        }
        by_corner = {tuple(v): k for k, v in centred.items()}

        def moved(chart, edge):
            m = self.group.matrix(elements[chart])
            new_edge = by_normal[tuple(int(v) for v in m @ _NORMAL[edge])]
            same_direction = np.array_equal(m @ _DIRECTION[edge], _DIRECTION[new_edge])
            return new_edge, 1 if same_direction else -1

        gluings = []
        for gl in self.gluings:
            ea, sa = moved(gl.chart_a, gl.edge_a)
            eb, sb = moved(gl.chart_b, gl.edge_b)
            rev = sa * sb * (-1 if gl.reversed else 1) < 0
            gluings.append(Gluing(gl.chart_a, ea, gl.chart_b, eb, rev))
        origins = None
        if self.grid_kind == "vertices":  # the stored corner moves with the chart
            names = {v: k for k, v in CORNERS.items()}
            origins = {c: names[by_corner[tuple(self.group.matrix(elements[c]) @ centred[o])]] for c, o in self.origins.items()}
        return Atlas(self.group, self.chart_shape, self.charts, gluings, self.grid_kind, origins)

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Atlas:
        """The same charts and gluings on grids of ``chart_shape = (H, W)``, another resolution."""
        names = {v: k for k, v in CORNERS.items()}
        origins = {c: names[o] for c, o in self.origins.items()} if self.grid_kind == "vertices" else None
        return Atlas(self.group, chart_shape, self.charts, self.gluings, self.grid_kind, origins)

    def restricted(self, subgroup: StructureGroup) -> Atlas:
        """The same charts and gluings over a subgroup H of the structure group.

        Possible only when every transition element lies in H: a plane or a cube sphere
        restricts from D4 to C4, a Möbius strip cannot drop its flip. Refused otherwise,
        naming a gluing whose transition is not in H.
        """
        inclusion = set(self.group.inclusion(subgroup).tolist())
        for gl in self.gluings:
            t = self.transition(gl)
            if t not in inclusion:
                raise ValueError(
                    f"cannot restrict this atlas from {self.group.name} to {subgroup.name}: gluing {gl} has the "
                    f"transition {self.group.describe(t)}, which is not in {subgroup.name}; keep a group that "
                    "contains every transition (on a non-orientable atlas, one with reflections)"
                )
        names = {v: k for k, v in CORNERS.items()}
        origins = {c: names[o] for c, o in self.origins.items()} if self.grid_kind == "vertices" else None
        return Atlas(subgroup, self.chart_shape, self.charts, self.gluings, self.grid_kind, origins)

    def coarsened(self) -> Atlas:
        """The same atlas at half resolution: the grid after stride-2 pooling.

        Cells: ``ceil(H/2) x ceil(W/2)``. Vertices: every second vertex, counted from each
        chart's origin, ``H/2 x W/2`` (``H`` and ``W`` must be even).
        """
        h, w = self.chart_shape
        if self.grid_kind == "vertices":
            if h % 2 or w % 2:
                raise ValueError(
                    f"a vertex grid of {h}x{w} pixels per chart has no vertex subgrid at half resolution; "
                    "use an even number of pixels per side"
                )
            return self.with_chart_shape((h // 2, w // 2))
        return self.with_chart_shape(((h + 1) // 2, (w + 1) // 2))

    # -- identity and printing ------------------------------------------------------------
    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Atlas)
            and self.group == other.group
            and self.chart_shape == other.chart_shape
            and self.charts == other.charts
            and set(self.gluings) == set(other.gluings)
            and self.grid_kind == other.grid_kind
            and self.origins == other.origins
        )

    def __hash__(self) -> int:
        return hash((self.group, self.chart_shape, self.charts, frozenset(self.gluings), self.grid_kind))

    def summary(self) -> str:
        """Charts, gluings with their transition elements, and topology, as text."""
        kind = "pixels" if self.grid_kind == "cells" else f"vertices ({self.group.lattice.name} lattice)"
        lines = [
            f"Atlas over {self.group.name}: {self.num_charts} chart(s) of {self.chart_shape[0]}x{self.chart_shape[1]} {kind}",
        ]
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
