"""Atlases: pixel-grid charts glued along their edges, with derived transition elements.

Every chart is an ``H x W`` grid of pixels with its own frame: offsets ``(dy, dx)``, rows
first. A gluing names an edge of one chart, an edge of another (or the same) chart, and
whether the edge is reversed. Walking along an edge in its canonical direction
(``top``/``bottom``: increasing column, ``left``/``right``: increasing row), position ``i``
of the first edge meets position ``i`` of the second, or ``n - 1 - i`` when reversed.

Crossing the first edge outwards means entering the second chart inwards, so the
transition element ``t`` -- the frame change from the first chart to the second,
``v_b = t v_a`` -- is the unique lattice map with

    t (outward normal of edge a) = -(outward normal of edge b)
    t (direction of edge a)      = ±(direction of edge b)     (- when reversed),

and the atlas refuses a gluing whose ``t`` is not in the structure group. Features are
carried across by ``ρ(t)``: this is the discrete parallel transport.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from .fieldmap import FieldMap, rotated_grid_source, spatial_shape
from .groups import StructureGroup, describe_matrix

__all__ = ["Atlas", "Gluing", "EDGES"]

EDGES = ("top", "bottom", "left", "right")
_NORMAL = {"top": (-1, 0), "bottom": (1, 0), "left": (0, -1), "right": (0, 1)}
_DIRECTION = {"top": (0, 1), "bottom": (0, 1), "left": (1, 0), "right": (1, 0)}
# corners at the start and end of each edge, in its canonical direction
_ENDS = {"top": ("tl", "tr"), "bottom": ("bl", "br"), "left": ("tl", "bl"), "right": ("tr", "br")}


@dataclass(frozen=True)
class Gluing:
    """Edge ``edge_a`` of ``chart_a`` glued to edge ``edge_b`` of ``chart_b``."""

    chart_a: Hashable
    edge_a: str
    chart_b: Hashable
    edge_b: str
    reversed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.reversed, (bool, np.bool_)):
            raise TypeError(
                f"gluing {self.chart_a}.{self.edge_a} ~ {self.chart_b}.{self.edge_b}: reversed must be True or "
                f"False, got {self.reversed!r}"
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


def _first_halo_pixel(edge: str, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return np.array({"top": (-1, 0), "bottom": (h, 0), "left": (0, -1), "right": (0, w)}[edge])


def _edge_pixel(edge: str, i: int, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return np.array({"top": (0, i), "bottom": (h - 1, i), "left": (i, 0), "right": (i, w - 1)}[edge])


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


def _transition_matrix(g: Gluing) -> np.ndarray:
    s = -1 if g.reversed else 1
    frame_a = np.column_stack([_NORMAL[g.edge_a], _DIRECTION[g.edge_a]])
    frame_b = np.column_stack([-np.array(_NORMAL[g.edge_b]), s * np.array(_DIRECTION[g.edge_b])])
    return frame_b @ frame_a.T  # frame_a is orthogonal


class Atlas:
    """Charts of one grid shape glued along edges; a networkx MultiGraph underneath.

    Args:
        group: the structure group G; every transition element must lie in it.
        chart_shape: ``(H, W)`` pixels of every chart.
        charts: chart names, or their number (names ``0 .. n-1``).
        gluings: ``Gluing`` objects or tuples ``(chart_a, edge_a, chart_b, edge_b, reversed)``.
            Unglued edges are boundaries: fields are zero beyond them.

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
    ):
        if len(chart_shape) != 2 or any(int(s) != s or s < 1 for s in chart_shape):
            raise ValueError(f"chart_shape must be two positive integers (H, W), got {chart_shape!r}")
        self.group = group
        self.chart_shape: tuple[int, int] = (int(chart_shape[0]), int(chart_shape[1]))
        self.charts: tuple[Hashable, ...] = tuple(range(charts)) if isinstance(charts, int) else tuple(charts)
        if not self.charts:
            raise ValueError("an atlas needs at least one chart")
        if len(set(self.charts)) != len(self.charts):
            raise ValueError(f"chart names must be unique, got {self.charts}")
        self._chart_index = {c: i for i, c in enumerate(self.charts)}
        self.gluings: tuple[Gluing, ...] = tuple(g if isinstance(g, Gluing) else Gluing(*g) for g in gluings)
        self.graph = nx.MultiGraph()
        self.graph.add_nodes_from(self.charts)
        self._crossings: dict[tuple[Hashable, str], _Crossing] = {}
        used: dict[tuple[Hashable, str], Gluing] = {}
        for gl in self.gluings:
            self._add_gluing(gl, used)

    # -- construction and validation ---------------------------------------------------
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
                    f"edge {chart}.{edge} is glued twice: in {used[(chart, edge)]} and in {gl}; "
                    "each edge can be glued at most once"
                )
            used[(chart, edge)] = gl
        la, lb = _edge_length(gl.edge_a, self.chart_shape), _edge_length(gl.edge_b, self.chart_shape)
        if la != lb:
            raise ValueError(
                f"gluing {gl} joins edges of different lengths ({la} and {lb} pixels) "
                f"on charts of shape {self.chart_shape}; glue edges of equal length"
            )
        t = _transition_matrix(gl)
        element = self.group.element(t)
        if element is None:
            kind = "a reflection" if round(np.linalg.det(t)) < 0 else "a rotation"
            raise ValueError(
                f"gluing {gl} needs {kind} as transition element ({describe_matrix(t)}, matrix {t.tolist()}), "
                f"which is not in the structure group {self.group.name}; use a group that contains it"
            )
        self.graph.add_edge(gl.chart_a, gl.chart_b, gluing=gl, transition=element)
        n = la
        for (src, e_src), (dst, e_dst), t_el in (
            ((gl.chart_a, gl.edge_a), (gl.chart_b, gl.edge_b), element),
            ((gl.chart_b, gl.edge_b), (gl.chart_a, gl.edge_a), self.group.inv(element)),
        ):
            m = self.group.matrix(t_el)
            arrive = _edge_pixel(e_dst, n - 1 if gl.reversed else 0, self.chart_shape)
            offset = arrive - m @ _first_halo_pixel(e_src, self.chart_shape)
            self._crossings[(src, e_src)] = _Crossing(dst, t_el, m, offset)

    # -- shapes ---------------------------------------------------------------------------
    @property
    def num_charts(self) -> int:
        return len(self.charts)

    @property
    def grid(self) -> tuple[int, int, int]:
        return (self.num_charts, *self.chart_shape)

    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape of field tensors: ``(H, W)`` for one chart, ``(charts, H, W)`` for several."""
        return spatial_shape(self.grid)

    def transition(self, gluing: Gluing) -> int:
        """The transition element (frame change from ``chart_a`` to ``chart_b``) of a gluing."""
        return self._crossings[(gluing.chart_a, gluing.edge_a)].element

    # -- topology ---------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
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
        """``V - E + F`` of the square complex: charts are faces, glued edges count once."""
        corners = nx.Graph()
        corners.add_nodes_from((c, k) for c in self.charts for k in ("tl", "tr", "bl", "br"))
        for gl in self.gluings:
            sa, ea = _ENDS[gl.edge_a]
            sb, eb = _ENDS[gl.edge_b]
            if gl.reversed:
                sb, eb = eb, sb
            corners.add_edge((gl.chart_a, sa), (gl.chart_b, sb))
            corners.add_edge((gl.chart_a, ea), (gl.chart_b, eb))
        vertices = nx.number_connected_components(corners)
        faces = self.num_charts
        edges = 4 * faces - len(self.gluings)
        return vertices - edges + faces

    # -- field maps ---------------------------------------------------------------------------
    def _resolve(self, chart: Hashable, y: np.ndarray, memo: dict | None = None):
        """Where pixel ``y`` of ``chart`` (possibly outside it) lies: ``(chart, i, j, t)`` or None.

        ``t`` is the frame change from ``chart`` to the chart found. A pixel beyond two edges
        (a halo corner) is resolved along both orders of crossing; it has a source only if
        both succeed and agree. Any number of crossings is followed: each one lowers the
        pixel's distance outside the chart (the crossed axis's excess shrinks by the chart's
        size, the other axis's carries over), so the recursion ends. ``memo`` caches results
        by ``(chart, i, j)``, which keeps far corners from branching exponentially.
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
        found = set()
        for side in sides:
            crossing = self._crossings.get((chart, side))
            rest = None if crossing is None else self._resolve(crossing.target, crossing.matrix @ y + crossing.offset, memo)
            if rest is None:
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
                    f"element {g} ({self.group.describe(g)}) swaps rows and columns; it cannot re-orient "
                    f"non-square charts of shape {self.chart_shape}"
                )
        return elements

    def shape_preserving_elements(self) -> list[int]:
        """Elements that map a chart's grid onto itself (all of them for square charts)."""
        h, w = self.chart_shape
        return [g for g in range(self.group.order) if self.group.preserves_grid(g, h, w)]

    def gauge_transform(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> FieldMap:
        """Re-orient the frame of every chart: ``f'_c(y) = ρ(g_c) f_c(g_c⁻¹ y)`` about the chart centre."""
        elements = self._check_gauge(gauge)
        n, h, w = self.grid
        source = np.empty((n, h, w), dtype=np.int64)
        element = np.empty((n, h, w), dtype=np.int64)
        for ci, g in enumerate(elements):
            source[ci] = ci * h * w + rotated_grid_source(self.group.matrix(g), h, w)
            element[ci] = g
        return FieldMap(self.group, self.grid, self.grid, source, element)

    def reoriented(self, gauge: Sequence[int] | Mapping[Hashable, int]) -> "Atlas":
        """The same manifold with every chart's frame changed by ``g_c``: gluings re-labelled."""
        elements = dict(zip(self.charts, self._check_gauge(gauge)))
        by_normal = {v: k for k, v in _NORMAL.items()}

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
        return Atlas(self.group, self.chart_shape, self.charts, gluings)

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> "Atlas":
        """The same charts and gluings on grids of another resolution."""
        return Atlas(self.group, chart_shape, self.charts, self.gluings)

    def coarsened(self) -> "Atlas":
        """The same atlas at half resolution, ``ceil(H/2) x ceil(W/2)``: the grid after stride-2 pooling."""
        h, w = self.chart_shape
        return self.with_chart_shape(((h + 1) // 2, (w + 1) // 2))

    # -- identity and printing ------------------------------------------------------------
    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Atlas)
            and self.group == other.group
            and self.chart_shape == other.chart_shape
            and self.charts == other.charts
            and set(self.gluings) == set(other.gluings)
        )

    def __hash__(self) -> int:
        return hash((self.group, self.chart_shape, self.charts, frozenset(self.gluings)))

    def summary(self) -> str:
        """Charts, gluings with their transition elements, and topology, as text."""
        lines = [
            f"Atlas over {self.group.name}: {self.num_charts} chart(s) of {self.chart_shape[0]}x{self.chart_shape[1]} pixels",
        ]
        for gl in self.gluings:
            lines.append(f"  {gl}: transition {self.group.describe(self.transition(gl))}")
        glued = {(g.chart_a, g.edge_a) for g in self.gluings} | {(g.chart_b, g.edge_b) for g in self.gluings}
        boundary = [f"{c}.{e}" for c in self.charts for e in EDGES if (c, e) not in glued]
        lines.append(f"  boundary edges: {', '.join(boundary) if boundary else 'none'}")
        lines.append(
            f"  connected: {self.is_connected}, orientable: {self.is_orientable}, "
            f"Euler characteristic: {self.euler_characteristic}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Atlas({self.group.name}, charts={self.num_charts}, chart_shape={self.chart_shape}, gluings={len(self.gluings)})"
