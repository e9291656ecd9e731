"""Flat manifolds from one rectangular chart: cylinder, torus, Klein bottle."""

from __future__ import annotations

from itertools import product

from gaugecnn.atlas import Atlas
from gaugecnn.groups import StructureGroup, flip_group, trivial_group
from gaugecnn.isometry import Translation
from gaugecnn.manifold import Manifold

from ._sizes import rows_and_columns

__all__ = ["Cylinder", "Torus", "KleinBottle"]


class Cylinder(Manifold):
    """A ``height x length`` band whose left and right edges are glued straight.

    Walking off the right end you come back in at the left end, the same way up; the top
    and bottom rows are its two boundary circles. Transitions are trivial. Isometries:
    shifts along the band (period ``length``).

    Args:
        height: rows: across the band, between its two boundary circles.
        length: columns: around the band.
        group: the structure group; trivial by default (any group works: every transition is the identity).
        chart_shape: ``(height, length)`` as one pair, the keyword every manifold takes.

    Examples:
        >>> Cylinder(4, 6).is_orientable, Cylinder(4, 6).euler_characteristic
        (True, 0)
    """

    def __init__(
        self,
        height: int | None = None,
        length: int | None = None,
        group: StructureGroup | None = None,
        *,
        chart_shape: tuple[int, int] | None = None,
    ):
        height, length = rows_and_columns("Cylinder", chart_shape, ("height", height, 28), ("length", length, 28))
        super().__init__(Atlas(group or trivial_group(), (height, length), 1, [(0, "left", 0, "right", False)]))

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Cylinder:
        """The cylinder on a chart of ``chart_shape = (height, length)``.

        Args:
            chart_shape: the new ``(height, length)``.
        """
        return Cylinder(group=self.group, chart_shape=chart_shape)

    def shift(self, s: int) -> Translation:
        """The isometry moving everything ``s`` pixels around the cylinder (along the columns)."""
        return Translation((0, s), self.chart_shape, period=(0, self.chart_shape[1]))

    def isometries(self) -> list[Translation]:
        """All shifts around the cylinder, one per column."""
        return [self.shift(s) for s in range(self.chart_shape[1])]

    def __repr__(self) -> str:
        return f"Cylinder(height={self.chart_shape[0]}, length={self.chart_shape[1]}, group={self.group.name})"


class Torus(Manifold):
    """A ``height x width`` chart with both pairs of opposite edges glued straight.

    Isometries: shifts by ``(dy, dx)`` (periods ``height`` and ``width``); the halo corners
    are filled from the diagonally opposite corner.

    Args:
        height: rows (the period of vertical shifts).
        width: columns (the period of horizontal shifts).
        group: the structure group; trivial by default.
        chart_shape: ``(height, width)`` as one pair, the keyword every manifold takes.

    Examples:
        >>> Torus(4, 6).euler_characteristic
        0
    """

    def __init__(
        self,
        height: int | None = None,
        width: int | None = None,
        group: StructureGroup | None = None,
        *,
        chart_shape: tuple[int, int] | None = None,
    ):
        height, width = rows_and_columns("Torus", chart_shape, ("height", height, 28), ("width", width, 28))
        super().__init__(
            Atlas(group or trivial_group(), (height, width), 1, [(0, "left", 0, "right", False), (0, "top", 0, "bottom", False)])
        )

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Torus:
        """The torus on a chart of ``chart_shape = (height, width)``.

        Args:
            chart_shape: the new ``(height, width)``.
        """
        return Torus(group=self.group, chart_shape=chart_shape)

    def shift(self, dy: int, dx: int) -> Translation:
        """The isometry moving everything ``dy`` rows and ``dx`` columns, both periodic."""
        return Translation((dy, dx), self.chart_shape, period=self.chart_shape)

    def isometries(self) -> list[Translation]:
        """All ``H W`` shifts of the torus."""
        h, w = self.chart_shape
        return [self.shift(dy, dx) for dy, dx in product(range(h), range(w))]

    def __repr__(self) -> str:
        return f"Torus(height={self.chart_shape[0]}, width={self.chart_shape[1]}, group={self.group.name})"


class KleinBottle(Manifold):
    """A ``height x length`` chart: left and right glued reversed (the twist), top and bottom straight.

    Going around the length brings you back upside down (the transition is the flip, so
    the group must contain it); going around the height brings you back as you were.
    Isometries: shifts along the length (period ``2 length``; crossing the twist reflects,
    as on the Möbius strip) combined with shifts across it by 0 or ``height / 2`` (the only
    ones that commute with the twist).

    Args:
        height: rows: across the length.
        length: columns: along the twisted direction.
        group: the structure group; the flip group by default (it must contain the flip).
        chart_shape: ``(height, length)`` as one pair, the keyword every manifold takes.

    Examples:
        >>> k = KleinBottle(4, 6)
        >>> k.is_orientable, k.euler_characteristic, len(k.isometries())
        (False, 0, 24)
    """

    def __init__(
        self,
        height: int | None = None,
        length: int | None = None,
        group: StructureGroup | None = None,
        *,
        chart_shape: tuple[int, int] | None = None,
    ):
        height, length = rows_and_columns("KleinBottle", chart_shape, ("height", height, 28), ("length", length, 28))
        super().__init__(Atlas(group or flip_group(), (height, length), 1, [(0, "left", 0, "right", True), (0, "top", 0, "bottom", False)]))

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> KleinBottle:
        """The Klein bottle on a chart of ``chart_shape = (height, length)``.

        Args:
            chart_shape: the new ``(height, length)``.
        """
        return KleinBottle(group=self.group, chart_shape=chart_shape)

    def shift(self, dy: int, dx: int) -> Translation:
        """The isometry moving everything ``dy`` rows (0 or ``height / 2``) and ``dx`` columns (period ``2 length``)."""
        h, length = self.chart_shape
        if (2 * dy) % h:
            raise ValueError(f"a shift of {dy} rows does not commute with the twist; use 0 or height/2 = {h / 2}")
        return Translation((dy, dx), self.chart_shape, period=(h, 2 * length))

    def isometries(self) -> list[Translation]:
        """All shifts that map pixels to pixels: ``2 length`` along, times 0 or ``height / 2`` across."""
        h, length = self.chart_shape
        rows = (0, h // 2) if h % 2 == 0 else (0,)
        return [self.shift(dy, dx) for dy, dx in product(rows, range(2 * length))]

    def __repr__(self) -> str:
        return f"KleinBottle(height={self.chart_shape[0]}, length={self.chart_shape[1]}, group={self.group.name})"
