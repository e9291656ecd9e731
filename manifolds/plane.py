"""The plane: one square image with boundary on all sides (escnn's rot2dOnR2 / flipRot2dOnR2 on a grid)."""

from __future__ import annotations

from gaugecnn.atlas import Atlas
from gaugecnn.groups import StructureGroup, cyclic_group
from gaugecnn.isometry import ChartRotation

__all__ = ["Plane"]


class Plane(Atlas):
    """A ``size x size`` image: one chart, no gluings, boundary (zeros) all around.

    Its isometries are the rotations by multiples of 90 degrees about the image centre
    (and the reflections, when the group has them): the group elements themselves.

    Args:
        size: the side of the square image in pixels.
        group: the structure group; ``C4`` by default (``D4`` adds the reflections, ``C6``/``D6`` use the hexagonal lattice).

    Examples:
        >>> plane = Plane(8)
        >>> len(plane.isometries()), plane.euler_characteristic
        (4, 1)
    """

    def __init__(self, size: int = 28, group: StructureGroup | None = None):
        super().__init__(group or cyclic_group(4), (size, size), 1, [])
        self.size = size

    def isometries(self) -> list[ChartRotation]:
        """The rotations (and reflections) of the image about its centre: one per group element."""
        return [ChartRotation(g, self.group.describe(g)) for g in range(self.group.order)]

    def __repr__(self) -> str:
        return f"Plane(size={self.size}, group={self.group.name})"
