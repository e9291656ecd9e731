"""Restriction to a subgroup: the same features read as fields of H ⊂ G, on the atlas over H.

Deeper layers may need less symmetry than the first ones (escnn's introduction suggests
successively restricting the group, down to mirroring only). A field of G is a field of any
subgroup H, with ``ρ|H(h) = ρ(ι(h))``; only the channel order changes, so that e.g. the
regular field of D4 becomes two regular fields of C4 (see ``gaugecnn.restrict``). The
network after the restriction lives on ``atlas.restricted(H)``, which exists only if every
transition of the atlas lies in H.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..groups import StructureGroup
from ..manifold import Space
from ..representations import FieldType
from ._fields import check_channels
from .padding import check_group

__all__ = ["Restrict"]


class Restrict(nn.Module):
    """Fields of ``atlas.group`` re-read as fields of ``subgroup``: a fixed channel permutation.

    ``out_type`` is ``field_type.restrict(subgroup)[0]``; ``out_atlas`` is
    ``atlas.restricted(subgroup)``, the atlas for the layers that follow. Refused, with the
    gluing named, when some transition of ``atlas`` is not in ``subgroup``.

    Shapes: ``(batch, field_type.size, *atlas.shape) -> same``.

    Args:
        atlas: the atlas over ``G``.
        field_type: the field type over ``G`` of input (and, read over ``H``, of output).
        subgroup: the subgroup ``H``, on the same lattice.

    Examples:
        >>> from gaugecnn import Atlas, FieldType, cyclic_group, dihedral_group
        >>> image = Atlas(dihedral_group(4), (6, 6), 1, [])  # one square chart
        >>> to_c4 = Restrict(image, FieldType(image.group, "2 regular"), cyclic_group(4))
        >>> str(to_c4.out_type), to_c4.out_atlas.group.name
        ('4 regular', 'C4')
    """

    order: torch.Tensor

    def __init__(self, atlas: Space, field_type: FieldType, subgroup: StructureGroup):
        super().__init__()
        check_group(field_type, atlas, "field_type")
        if not isinstance(subgroup, StructureGroup):
            raise TypeError(f"subgroup must be a StructureGroup (e.g. cyclic_group(4)), got {type(subgroup).__name__} {subgroup!r}")
        self.atlas = atlas
        self.out_atlas = atlas.restricted(subgroup)
        self.in_type = field_type
        self.out_type, order = field_type.restrict(subgroup)
        self.identity = bool(np.array_equal(order, np.arange(len(order))))
        self.register_buffer("order", torch.from_numpy(order), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(x, self.in_type, "Restrict")
        return x if self.identity else x.index_select(1, self.order)

    def extra_repr(self) -> str:
        return f"'{self.in_type}' -> '{self.out_type}'"
