"""One keyword for the size of every manifold: ``chart_shape=(rows, columns)``, the shape of its charts.

The manifolds' own size arguments read naturally for each of them (a Möbius strip's width and
length, a cube's pixels per edge, an icosphere's subdivision level) but mean different things;
``chart_shape`` means the same everywhere: the ``(H, W)`` of ``atlas.chart_shape``.
"""

from __future__ import annotations

import numbers

__all__ = ["rows_and_columns", "square_side"]


def _shape(name: str, chart_shape) -> tuple[int, int]:
    try:
        h, w = chart_shape
    except (TypeError, ValueError):
        raise ValueError(f"{name}: chart_shape must be (rows, columns), got {chart_shape!r}") from None
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name}: chart_shape must be two positive integers (rows, columns), got {chart_shape!r}")
    return int(h), int(w)


def rows_and_columns(name: str, chart_shape, rows: tuple[str, int | None, int], columns: tuple[str, int | None, int]) -> tuple[int, int]:
    """The chart's rows and columns from ``chart_shape`` or from the manifold's own arguments ``(name, value, default)``."""
    (row_name, r, row_default), (col_name, c, col_default) = rows, columns
    if chart_shape is not None:
        if r is not None or c is not None:
            raise TypeError(f"{name}: give chart_shape or {row_name} and {col_name}, not both")
        return _shape(name, chart_shape)
    return (row_default if r is None else r), (col_default if c is None else c)


def square_side(name: str, chart_shape, side: tuple[str, int | None, int]) -> int:
    """The side of square charts from ``chart_shape = (n, n)`` or from the manifold's own argument."""
    side_name, value, default = side
    if chart_shape is not None:
        if value is not None:
            raise TypeError(f"{name}: give chart_shape or {side_name}, not both")
        h, w = _shape(name, chart_shape)
        if h != w:
            raise ValueError(f"{name} has square charts: chart_shape must be (n, n), got {chart_shape!r}")
        return h
    return default if value is None else value
