"""The FieldMaps an atlas defines: transport padding, translations, gauge transforms.

Halo pixels are resolved by crossing edges: a pixel beyond one edge crosses it; a corner
pixel beyond two edges is resolved along both orders of crossing and has a source only if
both succeed and agree (a torus corner: yes; a Möbius strip's corners, at its boundary: no;
a cube vertex, where the two orders lead to different faces: no). The value there is
``ρ(t⁻¹)`` applied to the source, ``t`` the accumulated frame change. Maps are functions of the
atlas's value, cached on it, so equal atlases build each map once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..caching import value_cache
from ..fieldmap import FieldMap, rotated_grid_source

if TYPE_CHECKING:
    from .value import Atlas

__all__ = ["halo_widths", "padding_map", "translation", "gauge_elements", "gauge_transform", "shape_preserving_elements"]

_CACHE = 512


def halo_widths(halo) -> tuple[int, int]:
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


def _resolve(atlas: Atlas, chart: Hashable, i: int, j: int, memo: dict):
    """Where pixel ``(i, j)`` of ``chart`` (possibly outside it) lies: ``(chart, i, j, t)`` or None.

    ``t`` is the frame change from ``chart`` to the chart found. A pixel beyond two edges is
    resolved along both orders of crossing; it has a source only if both succeed and agree.
    Any number of crossings is followed: on a cell grid each one lowers the pixel's distance
    outside the chart, so the recursion ends; on a vertex grid a path may circle a vertex that
    no chart stores, which the memo detects (no source). ``memo`` caches results by
    ``(chart, i, j)``, which keeps far corners from branching exponentially.
    """
    h, w = atlas.chart_shape
    sides = [s for s, out in (("top", i < 0), ("bottom", i >= h), ("left", j < 0), ("right", j >= w)) if out]
    if not sides:
        return (chart, i, j, atlas.group.identity)
    key = (chart, i, j)
    if key in memo:
        return memo[key]
    memo[key] = None  # a path that comes back here (round a vertex no chart stores) finds no source
    found: set[tuple] = set()
    for side in sides:
        crossing = atlas.crossing(chart, side)
        if crossing is None:
            found = set()
            break
        y = crossing.matrix @ np.array([i, j]) + crossing.offset
        rest = _resolve(atlas, crossing.target, int(y[0]), int(y[1]), memo)
        if rest is None:
            found = set()
            break
        c, i2, j2, t = rest
        found.add((c, i2, j2, atlas.group.mul(t, crossing.element)))
    memo[key] = found.pop() if len(found) == 1 else None
    return memo[key]


def _resolved_map(atlas: Atlas, target_grid: tuple[int, int, int], position: Callable[[int, int], tuple[int, int]]) -> FieldMap:
    """FieldMap whose pixel ``(c, i, j)`` takes the point ``position(i, j)`` of chart ``c``, resolved through the gluings."""
    n, h, w = atlas.grid
    source = np.full(target_grid, -1, dtype=np.int64)
    element = np.zeros(target_grid, dtype=np.int64)
    index = {c: k for k, c in enumerate(atlas.charts)}
    memo: dict = {}
    for ci, chart in enumerate(atlas.charts):
        for i in range(target_grid[1]):
            for j in range(target_grid[2]):
                found = _resolve(atlas, chart, *position(i, j), memo)
                if found is not None:
                    c, i2, j2, t = found
                    source[ci, i, j] = (index[c] * h + i2) * w + j2
                    element[ci, i, j] = atlas.group.inv(t)
    return FieldMap(atlas.group, atlas.grid, target_grid, source, element)


@value_cache(_CACHE)
def padding_map(atlas: Atlas, ph: int, pw: int) -> FieldMap:
    """Transport padding: each chart grown by ``ph`` rows and ``pw`` columns on every side."""
    n, h, w = atlas.grid
    return _resolved_map(atlas, (n, h + 2 * ph, w + 2 * pw), lambda i, j: (i - ph, j - pw))


@value_cache(_CACHE)
def translation(atlas: Atlas, dy: int, dx: int) -> FieldMap:
    """Fields moved by ``(dy, dx)`` pixels in chart coordinates, carried through the gluings."""
    return _resolved_map(atlas, atlas.grid, lambda i, j: (i - dy, j - dx))


@value_cache(_CACHE)
def shape_preserving_elements(atlas: Atlas) -> tuple[int, ...]:
    """Elements that map a chart's grid onto itself (all of them for square charts on the square lattice)."""
    h, w = atlas.chart_shape
    return tuple(g for g in range(atlas.group.order) if atlas.group.preserves_grid(g, h, w))


def gauge_elements(atlas: Atlas, gauge: Sequence[int] | Mapping[Hashable, int]) -> tuple[int, ...]:
    """One element per chart, in chart order, from a sequence or a mapping by chart name; checked."""
    elements = [gauge[c] for c in atlas.charts] if isinstance(gauge, Mapping) else list(gauge)
    if len(elements) != atlas.num_charts:
        raise ValueError(f"a gauge transform needs one group element per chart ({atlas.num_charts}), got {len(elements)}")
    h, w = atlas.chart_shape
    allowed = shape_preserving_elements(atlas)
    out = []
    for g in elements:
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or not 0 <= g < atlas.group.order:
            part = "" if atlas.group.is_lattice_group else f", whose indices number its lattice part {atlas.group.lattice_part.name}"
            raise ValueError(f"{g!r} is not an element index of {atlas.group.name} (0..{atlas.group.order - 1}{part})")
        if int(g) not in allowed:
            raise ValueError(
                f"element {g} ({atlas.group.describe(int(g))}) does not map a chart of {h}x{w} pixels on the "
                f"{atlas.group.lattice.name} lattice onto itself, so it cannot re-orient one; use "
                f"atlas.shape_preserving_elements()"
            )
        out.append(int(g))
    return tuple(out)


@value_cache(_CACHE)
def gauge_transform(atlas: Atlas, elements: tuple[int, ...]) -> FieldMap:
    """Re-orient every chart: ``f'_c(y) = ρ(g_c) f_c(g_c⁻¹ y)`` about the chart centre (``elements`` checked)."""
    n, h, w = atlas.grid
    source = np.empty((n, h, w), dtype=np.int64)
    element = np.empty((n, h, w), dtype=np.int64)
    for ci, g in enumerate(elements):
        source[ci] = ci * h * w + rotated_grid_source(atlas.group.matrix(g), h, w)
        element[ci] = g
    return FieldMap(atlas.group, atlas.grid, atlas.grid, source, element)
