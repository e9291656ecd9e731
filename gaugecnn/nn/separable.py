"""Separable convolutions between regular fields: a group part times a spatial part.

A steerable kernel between regular fields is a function on space × G (a group convolution
kernel): ``K(x)[g', g] = κ(g'⁻¹ x, g'⁻¹ g)``. Knigge, Romero and Bekkers (ICML 2022) observe
that such kernels are highly redundant along the group axis and factor them,
``κ_{c', c}(x, h) = κ^G_{c', c}(h) · κ^S_{c'}(x)``. Here that is two exactly equivariant steps:

1. **group mixing**: a 1 x 1 ``GaugeConv`` between the regular fields (a convolution over G
   at each pixel, ``|G|`` parameters per pair of fields);
2. **spatial**: a depthwise convolution in which channel ``g`` of output field ``c'`` uses the
   field's one free spatial kernel seen from frame ``g``, ``k_{c'}(g⁻¹ x)``. This is a
   steerable kernel: ``D(x) = diag_g k(g⁻¹ x)`` satisfies ``D(h x) = ρ(h) D(x) ρ(h)ᵀ``.

Parameters per layer: ``C_out C_in |G| + C_out |support| (+ C_out biases)`` against about
``C_out C_in |G| k²`` for the complete kernel; the spatial step costs ``k²`` multiply-adds per
channel instead of ``k² C_in |G|``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..kernels import _check_kernel_size, kernel_support
from ..manifold import Space
from ..representations import FieldType, regular
from ._atlas_conv import AtlasConvPlumbing
from .conv import GaugeConv
from .padding import AtlasModule, check_field, check_group

__all__ = ["SeparableGaugeConv"]


def _regular_fields(field_type: FieldType, what: str) -> int:
    """The number of fields, all of which must be regular."""
    others = sorted({r.name for r in field_type.reps if r != regular(field_type.group)})
    if others:
        raise ValueError(
            f"SeparableGaugeConv factors kernels between regular fields only; {what} '{field_type}' also has "
            f"{others}: use GaugeConv for those layers"
        )
    return len(field_type)


class SeparableGaugeConv(AtlasModule):
    """Regular -> regular convolution with a separable kernel (group mixing, then a steerable depthwise conv).

    Args:
        atlas: the atlas the fields live on.
        in_type: field type of the input, regular fields only.
        out_type: field type of the output, regular fields only.
        kernel_size: odd size of the spatial kernel (on ``kernel_support``).
        bias: one learned bias per output field (the G-invariant biases of a regular field).

    The spatial kernel is turned by the lattice matrices of ``G``, so ``G`` must be a lattice
    group (C8 or D8, larger than their lattice parts, are refused: use ``GaugeConv``).

    Shapes: ``(batch, in_type.size, *atlas.shape) -> (batch, out_type.size, *atlas.shape)``.

    Examples:
        >>> import torch
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # a Möbius strip
        >>> sep = SeparableGaugeConv(strip, FieldType(strip.group, "2 regular"), FieldType(strip.group, "3 regular"), 5)
        >>> sep(torch.rand(2, 4, 5, 8)).shape
        torch.Size([2, 6, 5, 8])
    """

    kernel_source: torch.Tensor

    def __init__(self, atlas: Space, in_type: FieldType, out_type: FieldType, kernel_size: int, bias: bool = True):
        super().__init__(atlas)
        kernel_size = _check_kernel_size(kernel_size)
        if not atlas.group.is_lattice_group:
            raise ValueError(
                f"SeparableGaugeConv turns its spatial kernel by the group's lattice matrices; {atlas.group.name} is "
                f"larger than its lattice part {atlas.group.lattice_part.name}: use GaugeConv (its harmonic basis)"
            )
        check_group(in_type, atlas, "in_type")
        check_group(out_type, atlas, "out_type")
        _regular_fields(in_type, "in_type")
        fields = _regular_fields(out_type, "out_type")
        group = atlas.group
        self.in_type, self.out_type, self.kernel_size = in_type, out_type, kernel_size
        self.mix = GaugeConv(atlas, in_type, out_type, 1, bias=False)
        support = kernel_support(group, kernel_size)
        self.spatial = nn.Parameter(torch.randn(fields, int(support.sum())) / math.sqrt(support.sum()))
        self.bias = nn.Parameter(torch.zeros(fields)) if bias else None
        # source[g, p]: the support offset k(g⁻¹ x) reads for the offset x at flat index p, or -1 (zero)
        r = kernel_size // 2
        offsets = np.argwhere(np.ones((kernel_size, kernel_size), dtype=bool)) - r
        position = -np.ones((kernel_size, kernel_size), dtype=np.int64)
        position[support] = np.arange(support.sum())
        source = np.full((group.order, kernel_size * kernel_size), -1, dtype=np.int64)
        for g in range(group.order):
            moved = offsets @ group.matrix(group.inv(g)).T + r  # g⁻¹ x, as array indices
            inside = support.reshape(-1) & np.all((moved >= 0) & (moved < kernel_size), axis=1)
            source[g, inside] = position[moved[inside, 0], moved[inside, 1]]
        self.register_buffer("kernel_source", torch.from_numpy(source), persistent=False)
        self._bind()

    def _bind(self) -> None:
        self.plumbing = AtlasConvPlumbing(self.atlas, self.out_type, self.kernel_size)

    def depthwise_weight(self) -> torch.Tensor:
        """``(out_type.size, 1, k, k)``: field ``c``'s spatial kernel seen from each frame ``g``."""
        k = self.kernel_size
        padded = F.pad(self.spatial, (0, 1))  # index -1 reads the appended zero
        kernel = padded[:, self.kernel_source]  # (fields, |G|, k²)
        return kernel.reshape(-1, 1, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self.in_type, self.atlas.shape, "SeparableGaugeConv")
        mixed = self.mix(x)
        bias = None if self.bias is None else self.bias.repeat_interleave(self.atlas.group.order)
        return self.plumbing(mixed, self.depthwise_weight(), bias, groups=self.out_type.size)

    def extra_repr(self) -> str:
        return f"in_type='{self.in_type}', out_type='{self.out_type}', kernel_size={self.kernel_size}"
