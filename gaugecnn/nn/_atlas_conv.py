"""The plumbing every convolution on an atlas shares, written once.

A convolution on an atlas is ``conv2d`` on each chart's field grown by a halo: zero the cone
pixels (never read), lay the field out with its halo and the charts folded into the batch,
``conv2d``, unfold the charts, and zero the output pixels a kernel cannot see exactly (the
cone pixels; for ``k >= 5`` those within ``k // 2`` of a cone point). ``GaugeConv``,
``ConventionalConv``, ``SeparableGaugeConv`` and the exported ``FrozenConv`` all run through
``AtlasConvPlumbing``; they differ only in the kernel they hand it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atlas.derived import coarse_offset
from ..fieldmap import FieldGather, spatial_shape
from ..kernels import kernel_support
from ..manifold import Space, atlas_of
from ..representations import FieldType

__all__ = ["AtlasConvPlumbing", "blind_spots"]


def blind_spots(atlas: Space, kernel_size: int, dilation: int = 1) -> np.ndarray:
    """The pixels a ``k x k`` kernel (taps ``dilation`` apart) cannot see exactly on an atlas with cone points.

    A ``3 x 3`` kernel reads the flat star of its own pixel (its six lattice neighbours), so
    only the cone pixels are blind, the rule of Cohen et al. (2019). A kernel reaching further,
    ``R = dilation * (k // 2)`` pixels, on a pixel within ``R`` of a cone point reaches around it,
    where the halo of a chart cannot be right for every pixel reading it: those pixels are blind too.
    """
    reach = dilation * (kernel_size // 2)
    if reach <= 1 or not atlas.cone_pixels.any():
        return atlas.cone_pixels
    return atlas.near_cones(kernel_support(atlas.group, 2 * reach + 1))


def _autocasting(x: torch.Tensor) -> bool:
    """Whether autocast is on for ``x``'s device (then ``conv2d`` casts input and weights itself)."""
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_enabled() if x.device.type == "cuda" else torch.is_autocast_cpu_enabled()


def _mask(mask: np.ndarray, grid: tuple[int, int, int]) -> torch.Tensor | None:
    return torch.from_numpy(np.array(mask)).reshape(spatial_shape(grid)) if mask.any() else None


class AtlasConvPlumbing(nn.Module):
    """Halo, chart folding, ``conv2d`` and cone masks for a ``k x k`` kernel on an atlas.

    Along an axis whose edges are boundaries on every chart (``atlas.boundary_axes``) the halo
    is all zeros, which ``conv2d`` pads itself; at stride 1 transport padding is built only along
    glued axes (the stride-2 paths pad every axis with the halo they read). Outputs are contiguous ``(batch, C_out, *atlas.shape)``.

    With ``stride=2`` the output lives on ``atlas.coarsened()``. On a vertex grid (odd kernels):
    every second vertex, counted from each chart's origin. Those vertices are a subgrid that
    every gauge transform and isometry maps onto itself, so the strided convolution is exactly
    as equivariant as the stride-1 one whose outputs it keeps; ``conv2d`` computes only them.
    On a cell grid (even kernels): one output per 2 x 2 block, the ``k x k`` window centred on
    the block's centre, a halo of ``(k - 2) / 2``. ``dilation`` spreads the taps (stride 1).

    Args:
        space: the atlas (or manifold) of the input.
        field_type: the field type the halo carries (its transport).
        kernel_size: the kernel size (odd; even at stride 2 on a cell grid).
        transport: apply ``ρ`` of the transitions in the halo (``False``: naive padding).
        stride: 1, or 2 (see above).
        dilation: the taps' spacing, at stride 1.
    """

    cones: torch.Tensor | None
    blind: torch.Tensor | None

    def __init__(self, space: Space, field_type: FieldType, kernel_size: int, transport: bool = True, stride: int = 1, dilation: int = 1):
        super().__init__()
        atlas = atlas_of(space)
        even = kernel_size % 2 == 0
        r = (kernel_size - 2) // 2 if even else dilation * (kernel_size // 2)
        rows_open, cols_open = atlas.boundary_axes
        halo = (0 if rows_open else r, 0 if cols_open else r)
        self.stride, self.dilation = stride, dilation
        self.offsets: list[tuple[int, int]] = []  # stride 2: the first kept row and column, one group of charts each
        if even:  # stride 2 on a cell grid: the blocks start at every chart's (0, 0)
            self.offsets = [(0, 0)]
            halo = (r, r)
        elif stride == 2:
            per_chart = [coarse_offset(atlas, chart) for chart in atlas.charts]
            self.offsets = sorted(set(per_chart))
            for k, offset in enumerate(self.offsets):  # which charts keep which rows and columns
                charts = torch.tensor([c for c, o in enumerate(per_chart) if o == offset], dtype=torch.long)
                self.register_buffer(f"charts_{k}", charts, persistent=False)
            halo = (r, r)  # strided: one explicit padding, then conv2d without its own
        self.pad: FieldGather | None = None
        if halo != (0, 0):
            fmap = atlas.padding_map(halo)
            self.pad = FieldGather(fmap if transport else fmap.without_gauge(), field_type, charts_first=True)
        self.conv_padding = (r - halo[0], r - halo[1])
        self.charts = atlas.num_charts
        self.register_buffer("cones", _mask(atlas.cone_pixels, atlas.grid), persistent=False)
        blind = blind_spots(atlas, kernel_size, dilation)
        if even:  # cell grids have no cone pixels
            self.register_buffer("blind", None, persistent=False)
        elif stride == 2:  # the kept vertices' blind spots, and the coarse grid's cones (fine cones there already)
            coarse = atlas.coarsened()
            kept = np.stack([blind[c, r0::2, c0::2] for c, (r0, c0) in enumerate(coarse_offset(atlas, ch) for ch in atlas.charts)])
            self.register_buffer("blind", _mask(kept | coarse.cone_pixels, coarse.grid), persistent=False)
        else:
            self.register_buffer("blind", _mask(blind, atlas.grid), persistent=False)

    def forward(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        groups: int = 1,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> torch.Tensor:
        """``conv2d`` of ``x`` on the atlas with ``weight`` and ``bias`` (``groups`` as for ``conv2d``)."""
        batch = x.shape[0]
        if x.dtype != weight.dtype and not _autocasting(x):
            raise TypeError(
                f"the convolution's weights are {weight.dtype} and its input is {x.dtype}: convert the input "
                f"(x.to({weight.dtype})) or the module (module.to({x.dtype}))"
            )
        if self.cones is not None:  # the values at cone pixels depend on the frame: never read
            x = x.masked_fill(self.cones, 0.0)
        if self.pad is not None:
            x = self.pad(x)  # (batch * charts, C, H', W')
        elif x.dim() == 5:  # several charts, no halo: fold the charts into the batch
            x = x.transpose(1, 2).reshape(-1, x.shape[1], *x.shape[3:])
        if memory_format is not torch.contiguous_format:
            x = x.contiguous(memory_format=memory_format)
        if self.stride == 2:  # only the kept vertices: rows and columns offset, offset + 2, ..., per group of charts
            y = self._strided(x, weight, bias, groups, batch)
        else:
            y = F.conv2d(x, weight, bias, padding=self.conv_padding, groups=groups, dilation=self.dilation)
        if self.charts > 1:
            y = y.reshape(batch, self.charts, *y.shape[1:]).transpose(1, 2).contiguous()
        return y if self.blind is None else y.masked_fill(self.blind, 0.0)

    def _strided(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int, batch: int) -> torch.Tensor:
        """Stride-2 ``conv2d`` of the padded ``(batch * charts, C, H', W')``: each group of charts from its own first vertex."""
        if len(self.offsets) == 1:
            r0, c0 = self.offsets[0]
            return F.conv2d(x[..., r0:, c0:], weight, bias, stride=2, groups=groups)
        x = x.reshape(batch, self.charts, *x.shape[1:])
        parts, order = [], []
        for k, (r0, c0) in enumerate(self.offsets):  # re-oriented charts keep other corners
            charts = getattr(self, f"charts_{k}")
            out = F.conv2d(x.index_select(1, charts)[..., r0:, c0:].flatten(0, 1), weight, bias, stride=2, groups=groups)
            parts.append(out.reshape(batch, len(charts), *out.shape[1:]))
            order.append(charts)
        y = torch.cat(parts, 1).index_select(1, torch.argsort(torch.cat(order)))  # back to chart order
        return y.flatten(0, 1)
