"""Atlases derived from an atlas: re-oriented charts, a subgroup, another resolution.

Each is a new atlas value, cached on the one it comes from. A manifold (``gaugecnn.manifold``)
derives its own versions from these and carries its geometry along.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..caching import value_cache
from ..groups import StructureGroup
from .gluings import CORNERS, DIRECTION, NORMAL, Gluing

if TYPE_CHECKING:
    from .value import Atlas

__all__ = ["reoriented", "restricted", "with_chart_shape", "coarsened", "coarse_offset"]

_CACHE = 512
_CORNER_NAMES = {v: k for k, v in CORNERS.items()}


@value_cache(_CACHE)
def reoriented(atlas: Atlas, elements: tuple[int, ...]) -> Atlas:
    """The atlas with chart ``c``'s frame changed by ``elements[c]``: its edges (and origin) re-labelled."""
    gauge = dict(zip(atlas.charts, elements))
    by_normal = {v: k for k, v in NORMAL.items()}
    h, w = atlas.chart_shape
    centred = {
        k: (np.array(v) - [h - 1, w - 1])
        for k, v in {"tl": (0, 0), "tr": (0, 2 * w - 2), "bl": (2 * h - 2, 0), "br": (2 * h - 2, 2 * w - 2)}.items()
    }
    by_corner = {tuple(v): k for k, v in centred.items()}

    def moved(chart, edge):
        m = atlas.group.matrix(gauge[chart])
        new_edge = by_normal[tuple(int(v) for v in m @ NORMAL[edge])]
        same_direction = np.array_equal(m @ DIRECTION[edge], DIRECTION[new_edge])
        return new_edge, 1 if same_direction else -1

    gluings = []
    for gl in atlas.gluings:
        ea, sa = moved(gl.chart_a, gl.edge_a)
        eb, sb = moved(gl.chart_b, gl.edge_b)
        gluings.append(Gluing(gl.chart_a, ea, gl.chart_b, eb, sa * sb * (-1 if gl.reversed else 1) < 0))
    origins = None
    if atlas.grid_kind == "vertices":  # the stored corner moves with the chart
        origins = {c: _CORNER_NAMES[by_corner[tuple(atlas.group.matrix(gauge[c]) @ centred[o])]] for c, o in atlas.origins.items()}
    return atlas._derive(gluings=gluings, origins=origins)


@value_cache(_CACHE)
def with_chart_shape(atlas: Atlas, chart_shape: tuple[int, int]) -> Atlas:
    """The same charts and gluings on grids of ``chart_shape``."""
    return atlas._derive(chart_shape=chart_shape)


@value_cache(_CACHE)
def restricted(atlas: Atlas, subgroup: StructureGroup) -> Atlas:
    """The same charts and gluings over ``subgroup``; refused, naming a gluing, unless every transition lies in it."""
    inclusion = set(atlas.group.inclusion(subgroup).tolist())
    for gl in atlas.gluings:
        t = atlas.transition(gl)
        if t not in inclusion:
            raise ValueError(
                f"cannot restrict this atlas from {atlas.group.name} to {subgroup.name}: gluing {gl} has the "
                f"transition {atlas.group.describe(t)}, which is not in {subgroup.name}; keep a group that "
                "contains every transition (on a non-orientable atlas, one with reflections)"
            )
    return atlas._derive(group=subgroup)


def coarsened(atlas: Atlas) -> Atlas:
    """The atlas at half resolution: cells ``ceil(H/2) x ceil(W/2)``; vertices every second one, ``H/2 x W/2``."""
    h, w = atlas.chart_shape
    if atlas.grid_kind == "vertices":
        if h % 2 or w % 2:
            raise ValueError(
                f"a vertex grid of {h}x{w} pixels per chart has no vertex subgrid at half resolution; use an even number of pixels per side"
            )
        return with_chart_shape(atlas, (h // 2, w // 2))
    return with_chart_shape(atlas, ((h + 1) // 2, (w + 1) // 2))


def coarse_offset(atlas: Atlas, chart) -> tuple[int, int]:
    """Row and column of a chart's first vertex in ``coarsened()`` on a vertex grid: counted from its origin corner."""
    origin = atlas.origins[chart]
    return (0 if origin[0] == "t" else 1, 0 if origin[1] == "l" else 1)
