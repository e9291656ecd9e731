"""Gluings and the transition elements they imply.

A gluing names an edge of one chart, an edge of another (or the same) chart, and whether the
edge is reversed. Walking along an edge in its canonical direction (``top``/``bottom``:
increasing column, ``left``/``right``: increasing row), the start of the first edge meets
the start of the second, or its end when reversed.

Crossing the first edge outwards means entering the second chart inwards, so the
transition element ``t`` -- the frame change from the first chart to the second,
``v_b = t v_a`` -- is the lattice isometry with

    t (direction of edge a) = ±(direction of edge b)     (- when reversed)

that maps the side of edge a inside the first chart to the side of edge b outside the
second (on the square lattice: ``t`` maps the outward normal of edge a to minus that of
edge b). Features are carried across by ``ρ(t)``: the discrete parallel transport.

Each gluing gives two **crossings** (a -> b with ``t``, b -> a with ``t⁻¹``): affine maps of
pixel coordinates ``y_b = t y_a + o``, where ``o`` sends the start corner of the edge left to
the corner of the edge entered that it meets (corners in doubled coordinates, so that cell
corners at half pixels stay integral).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..caching import value_cache
from ..groups import StructureGroup, describe_matrix
from ..lattices import Lattice

__all__ = ["Gluing", "EDGES", "CORNERS", "GRIDS", "Crossing", "crossings"]

EDGES = ("top", "bottom", "left", "right")
GRIDS = ("cells", "vertices")
CORNERS = {"top-left": "tl", "top-right": "tr", "bottom-left": "bl", "bottom-right": "br"}
NORMAL = {"top": (-1, 0), "bottom": (1, 0), "left": (0, -1), "right": (0, 1)}
DIRECTION = {"top": (0, 1), "bottom": (0, 1), "left": (1, 0), "right": (1, 0)}
# corners at the start and end of each edge, in its canonical direction
ENDS = {"top": ("tl", "tr"), "bottom": ("bl", "br"), "left": ("tl", "bl"), "right": ("tr", "br")}
# the two edges through each corner, and the lattice steps along them into the chart
CORNER_EDGES = {"tl": ("top", "left"), "tr": ("top", "right"), "bl": ("bottom", "left"), "br": ("bottom", "right")}
CORNER_STEPS = {"tl": ((1, 0), (0, 1)), "tr": ((1, 0), (0, -1)), "bl": ((-1, 0), (0, 1)), "br": ((-1, 0), (0, -1))}


@dataclass(frozen=True)
class Gluing:
    """Edge ``edge_a`` of ``chart_a`` glued to edge ``edge_b`` of ``chart_b``.

    The start of one edge (in its canonical direction) meets the start of the other, or its
    end when ``reversed``: on a cell grid pixel ``i`` meets pixel ``i`` or ``n - 1 - i``, on a
    vertex grid vertex ``i`` meets vertex ``i`` or ``n - i``.

    Args:
        chart_a: the first chart's name.
        edge_a: its edge, one of ``EDGES``.
        chart_b: the second chart's name (may equal ``chart_a``).
        edge_b: its edge.
        reversed: whether the edges meet in opposite directions.
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
class Crossing:
    """Leaving a chart through one edge: where one arrives, ``y_b = matrix @ y_a + offset``."""

    target: Hashable
    element: int  # frame change from the chart left to the chart entered
    matrix: np.ndarray
    offset: np.ndarray


def edge_length(edge: str, shape: tuple[int, int]) -> int:
    """Pixels along ``edge`` of a chart of ``shape``."""
    return shape[1] if edge in ("top", "bottom") else shape[0]


def corner_points(grid: str, shape: tuple[int, int], origin: str) -> dict[str, np.ndarray]:
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


def stores_edge(grid: str, origin: str, edge: str) -> bool:
    """Whether a chart's pixels include those on ``edge``: always for cells; for vertices, the edges through its origin."""
    return grid == "cells" or edge in CORNER_EDGES[origin]


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def transition_matrix(g: Gluing, lattice: Lattice) -> np.ndarray | None:
    """The lattice isometry ``t`` of a gluing (see the module docstring), or None if none exists.

    Of the two orthogonal maps sending the direction of edge a to ``±`` that of edge b (a
    rotation and a reflection), ``t`` is the one that sends a vector pointing into chart a
    to the side of edge b away from chart b.
    """
    s = -1 if g.reversed else 1
    along_a, along_b = lattice.point(DIRECTION[g.edge_a]), s * lattice.point(DIRECTION[g.edge_b])
    into_a, out_of_b = lattice.point(-np.array(NORMAL[g.edge_a])), lattice.point(NORMAL[g.edge_b])
    theta = np.arctan2(_cross(along_a, along_b), along_a @ along_b)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    u = along_b / np.linalg.norm(along_b)
    mirror = 2 * np.outer(u, u) - np.eye(2)  # reflection across the line of edge b
    for candidate in (rotation, mirror @ rotation):
        if np.sign(_cross(along_b, candidate @ into_a)) == np.sign(_cross(along_b, out_of_b)):
            return lattice.lattice_matrix(candidate)
    return None  # pragma: no cover - one of the two always lies on the required side


def _check_edges(gl: Gluing, charts: Sequence[Hashable], used: dict) -> None:
    if (gl.chart_a, gl.edge_a) == (gl.chart_b, gl.edge_b):
        raise ValueError(f"gluing {gl} glues an edge to itself; glue it to another edge")
    for chart, edge in ((gl.chart_a, gl.edge_a), (gl.chart_b, gl.edge_b)):
        if chart not in charts:
            raise ValueError(f"gluing {gl} names unknown chart {chart!r}; charts are {list(charts)}")
        if edge not in EDGES:
            raise ValueError(f"gluing {gl} names unknown edge {edge!r}; edges are {EDGES}")
        if (chart, edge) in used:
            raise ValueError(
                f"edge {chart}.{edge} is glued twice: in {used[(chart, edge)]} and in {gl}; each edge can be glued at most once"
            )
        used[(chart, edge)] = gl


def _transition_element(gl: Gluing, group: StructureGroup) -> int:
    lattice = group.lattice
    t = transition_matrix(gl, lattice)
    element = None if t is None else group.element(t)
    if element is None:
        if t is None:
            raise ValueError(f"gluing {gl} needs a map that is no isometry of the {lattice.name} lattice")
        kind = "a reflection" if round(np.linalg.det(t)) < 0 else "a rotation"
        where = (
            f"the structure group {group.name} ({lattice.name} lattice)"
            if group.is_lattice_group
            else f"{group.lattice_part.name}, the lattice part of the structure group {group.name} on the {lattice.name} "
            "lattice (transitions between charts must map pixels onto pixels)"
        )
        raise ValueError(
            f"gluing {gl} needs {kind} as transition element ({describe_matrix(t, lattice)}, matrix {t.tolist()}), "
            f"which is not in {where}; use a group that contains it"
        )
    return element


def crossings(
    group: StructureGroup,
    chart_shape: tuple[int, int],
    charts: tuple[Hashable, ...],
    gluings: tuple[Gluing, ...],
    grid: str,
    origins: Mapping[Hashable, str],
) -> dict[tuple[Hashable, str], Crossing]:
    """Validate the gluings and return the crossing of every glued edge, keyed ``(chart, edge)``.

    Refuses, naming the gluing: unknown charts or edges, an edge glued twice or to itself,
    edges of different lengths, on a vertex grid a gluing that does not join a stored edge
    to an unstored one, and a transition element that is not in ``group``.
    """
    return _crossings(group, chart_shape, charts, gluings, grid, tuple(sorted(origins.items(), key=repr)))


@value_cache(1024)
def _crossings(group, chart_shape, charts, gluings, grid, origin_items) -> dict[tuple[Hashable, str], Crossing]:
    origins = dict(origin_items)
    out: dict[tuple[Hashable, str], Crossing] = {}
    used: dict[tuple[Hashable, str], Gluing] = {}
    for gl in gluings:
        _check_edges(gl, charts, used)
        la, lb = edge_length(gl.edge_a, chart_shape), edge_length(gl.edge_b, chart_shape)
        if la != lb:
            raise ValueError(
                f"gluing {gl} joins edges of different lengths ({la} and {lb} pixels) "
                f"on charts of shape {chart_shape}; glue edges of equal length"
            )
        if grid == "vertices":
            stored_a = stores_edge(grid, origins[gl.chart_a], gl.edge_a)
            if stored_a == stores_edge(grid, origins[gl.chart_b], gl.edge_b):
                which = "both store" if stored_a else "neither stores"
                raise ValueError(
                    f"gluing {gl}: on a vertex grid the shared vertices belong to one chart, but {which} that edge; "
                    "glue an edge through a chart's origin to one that is not, or change the charts' origins"
                )
        element = _transition_element(gl, group)
        for (src, e_src), (dst, e_dst), t_el in (
            ((gl.chart_a, gl.edge_a), (gl.chart_b, gl.edge_b), element),
            ((gl.chart_b, gl.edge_b), (gl.chart_a, gl.edge_a), group.inv(element)),
        ):
            m = group.matrix(t_el)
            # the start corner of the edge left meets the start (straight) or end (reversed) of the edge entered
            start = corner_points(grid, chart_shape, origins.get(src, "tl"))[ENDS[e_src][0]]
            meet = corner_points(grid, chart_shape, origins.get(dst, "tl"))[ENDS[e_dst][1 if gl.reversed else 0]]
            offset = meet - m @ start
            if np.any(offset % 2):  # pragma: no cover - corners of equal kind differ by whole pixels
                raise ValueError(f"gluing {gl} does not map pixels to pixels")
            out[(src, e_src)] = Crossing(dst, t_el, m, offset // 2)
    return out
