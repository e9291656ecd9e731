"""Isometries: symmetries of the manifold, acting on fields as FieldMaps at any resolution."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .atlas import Atlas
from .fieldmap import FieldMap

__all__ = ["Isometry"]


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
