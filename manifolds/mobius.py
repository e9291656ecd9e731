"""The Möbius strip: one chart whose two ends are glued with a twist."""

from __future__ import annotations

from gaugecnn.atlas import Atlas
from gaugecnn.groups import StructureGroup, flip_group
from gaugecnn.isometry import Translation
from gaugecnn.manifold import Manifold

from ._sizes import rows_and_columns

__all__ = ["MobiusStrip"]


class MobiusStrip(Manifold):
    """A Möbius strip of ``width x length`` pixels: one chart, ends glued reversed.

    Picture it as a paper band: the chart's rows run across the band (its width), its
    columns along it (its length). Walking off the right end you come back in at the
    left end upside down: row ``i`` of the last column is the neighbour of row
    ``width - 1 - i`` of the first column. The top and bottom rows are the band's one
    boundary. The transition across the cut is the reflection of the width axis, so the
    structure group must contain it (``flip_group()``, the default, or ``dihedral_group(n)``).

    Isometries: shifts along the band (``shift(s)``, ``isometries()``); shifting by the
    length brings the band back reflected, by twice the length back to itself.

    Args:
        width: rows: across the strip, between its boundary edges.
        length: columns: along the strip, around to the twisted cut.
        group: the structure group; the flip group by default (it must contain the flip).
        chart_shape: ``(width, length)`` as one pair, the keyword every manifold takes.

    Examples:
        >>> strip = MobiusStrip(width=28, length=28)
        >>> strip.shape, strip.is_orientable
        ((28, 28), False)
    """

    def __init__(
        self,
        width: int | None = None,
        length: int | None = None,
        group: StructureGroup | None = None,
        *,
        chart_shape: tuple[int, int] | None = None,
    ):
        width, length = rows_and_columns("MobiusStrip", chart_shape, ("width", width, 28), ("length", length, 28))
        super().__init__(Atlas(group or flip_group(), (width, length), 1, [(0, "left", 0, "right", True)]))
        self.width, self.length = width, length

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> MobiusStrip:
        """The strip on a chart of ``chart_shape = (width, length)``.

        Args:
            chart_shape: the new ``(width, length)``.
        """
        return MobiusStrip(group=self.group, chart_shape=chart_shape)

    def shift(self, s: int) -> Translation:
        """The isometry moving everything ``s`` pixels along the band (at this resolution)."""
        return Translation((0, s), self.chart_shape, period=(0, 2 * self.length))

    def isometries(self, step: int = 1) -> list[Translation]:
        """All shifts ``0, step, ..., 2 L - step``: the isometries that map pixels to pixels."""
        return [self.shift(s) for s in range(0, 2 * self.length, step)]

    def __repr__(self) -> str:
        return f"MobiusStrip(width={self.width}, length={self.length}, group={self.group.name})"
