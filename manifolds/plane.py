"""The plane: one square image with boundary on all sides (escnn's rot2dOnR2 / flipRot2dOnR2 on a grid)."""

from __future__ import annotations

from gaugecnn.atlas import Atlas
from gaugecnn.groups import StructureGroup, cyclic_group
from gaugecnn.isometry import ChartRotation
from gaugecnn.manifold import Manifold

from ._sizes import square_side

__all__ = ["Plane"]


class Plane(Manifold):
    """A ``size x size`` image: one chart, no gluings, boundary (zeros) all around.

    Its isometries are the rotations by multiples of 90 degrees about the image centre
    (and the reflections, when the group has them): the group elements that map the chart
    onto itself. On the hexagonal lattice a chart is a rhombus, which only the half turn and
    (under D6) the reflections across its diagonals preserve.

    Args:
        size: the side of the square image in pixels.
        group: the structure group; ``C4`` by default (``D4`` adds the reflections, ``C6``/``D6`` use the hexagonal lattice).
        chart_shape: ``(size, size)``, the keyword every manifold takes.

    Examples:
        >>> plane = Plane(8)
        >>> len(plane.isometries()), plane.euler_characteristic
        (4, 1)
    """

    def __init__(self, size: int | None = None, group: StructureGroup | None = None, *, chart_shape: tuple[int, int] | None = None):
        size = square_side("Plane", chart_shape, ("size", size, 28))
        super().__init__(Atlas(group or cyclic_group(4), (size, size), 1, []))
        self.size = size

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> Plane:
        """The plane on a square chart of ``chart_shape = (size, size)``.

        Args:
            chart_shape: the new ``(size, size)``.
        """
        return Plane(group=self.group, chart_shape=chart_shape)

    def isometries(self) -> list[ChartRotation]:
        """The rotations (and reflections) of the image about its centre that map it onto itself."""
        return [ChartRotation(g, self.group.describe(g)) for g in self.shape_preserving_elements()]

    def __repr__(self) -> str:
        return f"Plane(size={self.size}, group={self.group.name})"
