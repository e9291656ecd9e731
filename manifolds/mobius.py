"""The Möbius strip: one chart whose two ends are glued with a twist."""

from __future__ import annotations

import numpy as np

from gaugecnn.atlas import Atlas
from gaugecnn.fieldmap import FieldMap
from gaugecnn.groups import StructureGroup, flip_group
from gaugecnn.isometry import Isometry

__all__ = ["MobiusStrip", "MobiusShift"]


class MobiusStrip(Atlas):
    """A Möbius strip of ``width x length`` pixels: one chart, ends glued reversed.

    Picture it as a paper band: the chart's rows run across the band (its width), its
    columns along it (its length). Walking off the right end you come back in at the
    left end upside down: row ``i`` of the last column is the neighbour of row
    ``width - 1 - i`` of the first column. The top and bottom rows are the band's one
    boundary. The transition across the cut is the reflection of the width axis, so the
    structure group must contain it (``flip_group()``, the default, or ``dihedral_group(n)``).

    Isometries: shifts along the band (``shift(s)``, ``isometries()``); shifting by the
    length brings the band back reflected, by twice the length back to itself.

    >>> strip = MobiusStrip(width=28, length=28)
    >>> strip.shape, strip.is_orientable
    ((28, 28), False)
    """

    def __init__(self, width: int = 28, length: int = 28, group: StructureGroup | None = None):
        super().__init__(group or flip_group(), (width, length), 1, [(0, "left", 0, "right", True)])
        self.width, self.length = width, length

    def shift(self, s: int) -> "MobiusShift":
        """The isometry moving everything ``s`` pixels along the band (at this resolution)."""
        return MobiusShift(s, self.length)

    def isometries(self, step: int = 1) -> list["MobiusShift"]:
        """All shifts ``0, step, ..., 2 L - step``: the isometries that map pixels to pixels."""
        return [self.shift(s) for s in range(0, 2 * self.length, step)]

    def __repr__(self) -> str:
        return f"MobiusStrip(width={self.width}, length={self.length}, group={self.group.name})"


class MobiusShift(Isometry):
    """Shift along a Möbius strip by ``shift`` pixels of a strip of length ``length``.

    On an atlas of another resolution it shifts by the same fraction of the length,
    ``shift * L' / length`` pixels, which must be a whole number.
    """

    def __init__(self, shift: int, length: int):
        self.shift, self.length = shift % (2 * length), length
        self.name = f"shift({shift} of {length})"

    def field_map(self, atlas: Atlas) -> FieldMap:
        if atlas.num_charts != 1 or len(atlas.gluings) != 1:
            raise ValueError(f"a Möbius shift acts on a one-chart Möbius atlas, not {atlas!r}")
        width, length = atlas.chart_shape
        if (self.shift * length) % self.length:
            raise ValueError(f"{self.name} moves {self.shift * length / self.length} pixels at length {length}")
        s = self.shift * length // self.length
        # the double cover has 2L columns; column m >= L is column m - L seen upside down
        twist = atlas.transition(atlas.gluings[0])
        i, j = np.meshgrid(np.arange(width), np.arange(length), indexing="ij")
        m = (j - s) % (2 * length)
        upside_down = m >= length
        rows = np.where(upside_down, width - 1 - i, i)
        cols = np.where(upside_down, m - length, m)
        source = (rows * length + cols)[None]
        element = np.where(upside_down, twist, 0)[None]
        return FieldMap(atlas.group, atlas.grid, atlas.grid, source, element)
