"""Isometries: symmetries of the manifold, acting on fields as FieldMaps at any resolution."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .atlas import Atlas
from .fieldmap import FieldMap

__all__ = ["ChartRotation", "Isometry", "Translation"]


class Isometry(ABC):
    """An isometry of the manifold an atlas describes.

    It moves every pixel to another pixel and carries the feature along, changing its
    coefficients by a gauge element where the frames at both ends differ. Since networks
    change resolution (pooling), an isometry gives its FieldMap for the atlas at hand.
    """

    name: str = "isometry"

    @abstractmethod
    def field_map(self, atlas: Atlas) -> FieldMap:
        """The FieldMap ``f -> f ∘ φ⁻¹`` (with gauge elements) on this atlas.

        Raises ValueError if the isometry does not map pixels to pixels at this resolution.
        """

    def __repr__(self) -> str:
        return self.name


def _scaled(value: int, new: int, old: int, what: str) -> int:
    if (value * new) % old:
        raise ValueError(f"{what} of {value} pixels at size {old} is {value * new / old} pixels at size {new}: not a pixel map")
    return value * new // old


class Translation(Isometry):
    """Move fields by ``offset = (dy, dx)`` pixels of charts of ``chart_shape``, through the gluings.

    On an atlas of another resolution the offset scales with the charts (and must stay whole
    pixels). ``period`` reduces the offset (0: no period), e.g. ``2 L`` along a Möbius strip.
    Raises if any pixel would come from beyond a boundary. Which offsets are isometries is
    the manifold's business; it hands out only those.
    """

    def __init__(self, offset: tuple[int, int], chart_shape: tuple[int, int], period: tuple[int, int] = (0, 0)):
        self.offset, self.chart_shape, self.period = tuple(offset), tuple(chart_shape), tuple(period)
        self.name = f"translation{self.offset} of {self.chart_shape[0]}x{self.chart_shape[1]}"

    def field_map(self, atlas: Atlas) -> FieldMap:
        offset = []
        for axis, name in enumerate(("rows", "columns")):
            new, old = atlas.chart_shape[axis], self.chart_shape[axis]
            shift = _scaled(self.offset[axis], new, old, f"a shift of {name}")
            period = _scaled(self.period[axis], new, old, f"a period of {name}")
            offset.append(shift % period if period else shift)
        fmap = atlas.translation(tuple(offset))
        if not fmap.valid.all():
            raise ValueError(f"{self.name} moves pixels across a boundary of {atlas!r}: it is not an isometry there")
        return fmap


class ChartRotation(Isometry):
    """Rotate (or reflect) every chart about its centre by the group element ``element``.

    ``f'(y) = ρ(g) f(g⁻¹ y)``: the active twin of a gauge transform. It is an isometry of a
    single square chart with boundary (the plane); the manifold decides where else it is one.
    """

    def __init__(self, element: int, description: str = ""):
        self.element = element
        self.name = f"rotation({description or element})"

    def field_map(self, atlas: Atlas) -> FieldMap:
        return atlas.gauge_transform([self.element] * atlas.num_charts)
