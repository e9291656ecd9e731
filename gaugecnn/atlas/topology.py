"""The topology an atlas implies: connectedness, orientability, Euler characteristic, vertex angles, cones.

All are functions of the atlas's value, cached on it, so equal atlases compute them once.

- Orientability: a 2-colouring ``s_c = ±1`` of the charts with ``det t = s_a s_b`` on every gluing.
- Euler characteristic: ``V - E + F`` of the chart complex (corners identified through gluings).
- Vertex angles: per vertex, the sum of the lattice angles of its chart corners; an interior
  vertex whose total is not 360 degrees is a **cone point** (cube sphere: 270, icosahedral
  sphere: 300; for a closed surface the deficits add up to ``360 χ``, Gauss-Bonnet).
- Cone pixels: on a vertex grid, the pixels that sit on a cone point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from ..caching import value_cache
from .gluings import CORNER_EDGES, CORNER_STEPS, ENDS, corner_points

if TYPE_CHECKING:
    from .value import Atlas

__all__ = ["is_orientable", "euler_characteristic", "vertex_classes", "vertex_angles", "near_cones", "cone_pixels"]

_CACHE = 512  # atlases whose derived values are kept (equal atlases share one entry)


@value_cache(_CACHE)
def is_orientable(atlas: Atlas) -> bool:
    """Whether chart orientations ``s_c = ±1`` exist with ``det t = s_a s_b`` on every gluing."""
    orientation: dict = {}
    for start in atlas.charts:
        if start in orientation:
            continue
        orientation[start] = 1
        stack = [start]
        while stack:
            a = stack.pop()
            for _, b, data in atlas.graph.edges(a, data=True):
                gl = data["gluing"]
                det = atlas.group.det(data["transition"])
                want = orientation[a] * det
                if b not in orientation:
                    orientation[b] = want
                    stack.append(b)
                elif orientation[b] != want:
                    return False
                if gl.chart_a == gl.chart_b and det < 0:
                    return False
    return True


@value_cache(_CACHE)
def vertex_classes(atlas: Atlas) -> tuple[frozenset, ...]:
    """The chart corners ``(chart, "tl" | "tr" | "bl" | "br")`` identified by the gluings, one set per vertex."""
    corners = nx.Graph()
    corners.add_nodes_from((c, k) for c in atlas.charts for k in ("tl", "tr", "bl", "br"))
    for gl in atlas.gluings:
        sa, ea = ENDS[gl.edge_a]
        sb, eb = ENDS[gl.edge_b]
        if gl.reversed:
            sb, eb = eb, sb
        corners.add_edge((gl.chart_a, sa), (gl.chart_b, sb))
        corners.add_edge((gl.chart_a, ea), (gl.chart_b, eb))
    return tuple(frozenset(c) for c in nx.connected_components(corners))


@value_cache(_CACHE)
def euler_characteristic(atlas: Atlas) -> int:
    """``V - E + F`` of the chart complex: charts are faces, glued edges count once."""
    faces = atlas.num_charts
    edges = 4 * faces - len(atlas.gluings)
    return len(vertex_classes(atlas)) - edges + faces


@value_cache(_CACHE)
def vertex_angles(atlas: Atlas) -> tuple[tuple[frozenset, float, bool], ...]:
    """Per vertex of the chart complex: its chart corners, the total angle there (degrees), and whether it is interior."""
    glued = {(g.chart_a, g.edge_a) for g in atlas.gluings} | {(g.chart_b, g.edge_b) for g in atlas.gluings}
    lattice = atlas.group.lattice
    out = []
    for corners in vertex_classes(atlas):
        total = sum(lattice.angle(*CORNER_STEPS[k]) for _, k in corners)
        interior = all((c, e) in glued for c, k in corners for e in CORNER_EDGES[k])
        out.append((corners, round(total, 9), interior))
    return tuple(out)


def _near_cones(atlas: Atlas, offsets: np.ndarray) -> np.ndarray:
    m = offsets.shape[0] // 2
    mask = np.zeros(atlas.grid, dtype=bool)
    if atlas.grid_kind == "cells":
        return mask
    h, w = atlas.chart_shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    index = {c: i for i, c in enumerate(atlas.charts)}
    for corners, total, interior in vertex_angles(atlas):
        if not interior or abs(total - 360.0) <= 1e-6:
            continue
        for chart, corner in corners:
            py, px = corner_points(atlas.grid_kind, atlas.chart_shape, atlas.origins[chart])[corner] // 2  # the cone point
            dy = np.broadcast_to(py - rows, (h, w))  # offset from each pixel to the cone point
            dx = np.broadcast_to(px - cols, (h, w))
            inside = (np.abs(dy) <= m) & (np.abs(dx) <= m)
            hit = np.zeros((h, w), dtype=bool)
            hit[inside] = offsets[dy[inside] + m, dx[inside] + m]
            mask[index[chart]] |= hit
    mask.setflags(write=False)
    return mask


@value_cache(_CACHE)
def _near_cones_cached(atlas: Atlas, shape: tuple[int, int], packed: bytes) -> np.ndarray:
    return _near_cones(atlas, np.frombuffer(packed, dtype=bool).reshape(shape))


def near_cones(atlas: Atlas, offsets: np.ndarray) -> np.ndarray:
    """Boolean ``(charts, H, W)``, read-only: the pixels ``p`` with a cone point at ``p + d`` for some ``d`` in ``offsets``.

    ``offsets`` is a boolean ``(m, m)`` array centred on ``(0, 0)`` (a kernel support). Cone
    points near a pixel are corners of its chart, so chart coordinates suffice.
    """
    offsets = np.ascontiguousarray(offsets, dtype=bool)
    return _near_cones_cached(atlas, offsets.shape, offsets.tobytes())


def cone_pixels(atlas: Atlas) -> np.ndarray:
    """Boolean ``(charts, H, W)``, read-only: the pixels that sit on a cone point (vertex grids only)."""
    return near_cones(atlas, np.ones((1, 1), dtype=bool))
