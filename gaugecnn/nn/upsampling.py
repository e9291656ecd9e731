"""Upsampling: from ``atlas.coarsened()`` back to ``atlas``, for encoder-decoder networks.

Both layers are bound to the *fine* atlas, the one they produce; their input lives on
``atlas.coarsened()``, the grid ``GaugePool(atlas, ...)`` produces.

- ``GaugeUpsample``: every fine pixel takes the mean of its nearest coarse pixels, carried
  into its frame by parallel transport. On a cell grid that is its parent pixel (for an odd
  number of pixels, a pixel between two parents takes their mean); on a vertex grid a
  fine vertex on a coarse vertex takes it, one halfway along a coarse edge the mean of the
  edge's two ends. Cone pixels take no part and come out zero.
- ``GaugeConvTranspose``: the learnable upsampling. With an odd kernel, a ``GaugeConv`` on the
  fine grid after the coarse field is laid onto it: on a vertex grid with zeros between the
  coarse vertices (exactly a stride-2 transposed convolution), on a cell grid by
  ``GaugeUpsample`` (a resize-convolution; inserting zeros between cells is not symmetric under
  the chart's symmetries). With an even kernel on a cell grid, the exact adjoint of the
  stride-2 ``GaugeConv``: each coarse cell spreads over the fine pixels around its block's
  centre, at half-integer offsets.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._constants import ExactConstants
from ..atlas.derived import coarse_offset
from ..fieldmap import FieldGather, FieldMap
from ..kernels import _check_kernel_size, kernel_support
from ..manifold import Space, atlas_of
from ..representations import FieldType
from ._atlas_conv import _autocasting
from .conv import GaugeConv
from .padding import AtlasModule, check_field, check_group

__all__ = ["GaugeUpsample", "GaugeConvTranspose"]


def _parents(n_fine: int) -> list[list[int]]:
    """Per fine index along one axis of a cell grid, the coarse indices it takes the mean of."""
    if n_fine % 2 == 0:
        return [[i // 2] for i in range(n_fine)]
    # GaugePool pads odd axes by one on each side: fine 2m lies in coarse m, fine 2m+1 between m and m+1
    return [[i // 2] if i % 2 == 0 else [i // 2, i // 2 + 1] for i in range(n_fine)]


def _cell_sources(atlas: Space) -> list[list[tuple[int, int]]]:
    """Per fine pixel (flat), the coarse pixels (flat index, element) it averages: in-chart parents."""
    (n, h, w), (ho, wo) = atlas.grid, atlas.coarsened().chart_shape
    rows, cols = _parents(h), _parents(w)
    out: list[list[tuple[int, int]]] = []
    for c in range(n):
        for i in range(h):
            for j in range(w):
                out.append([((c * ho + a) * wo + b, 0) for a in rows[i] for b in cols[j]])
    return out


def _vertex_sources(atlas: Space, only_coincident: bool = False) -> list[list[tuple[int, int]]]:
    """Per fine pixel (flat), the coarse vertices (flat index, element) in its radius-1 window.

    The window's positions come through transport padding, so a fine vertex next to a chart
    edge finds coarse vertices of the neighbouring chart, with the frame change. Positions
    without a source or on a cone pixel are left out.
    """
    coarse = atlas.coarsened()
    (n, h, w), (ho, wo) = atlas.grid, coarse.chart_shape
    fmap = atlas.padding_map(1)
    source = fmap.source.reshape(n, h + 2, w + 2)
    element = fmap.element.reshape(n, h + 2, w + 2)
    cones = atlas.cone_pixels.reshape(-1)
    offsets = np.argwhere(kernel_support(atlas.group, 3)) - 1
    if only_coincident:
        offsets = np.zeros((1, 2), dtype=np.int64)
    first = {c: coarse_offset(atlas_of(atlas), chart) for c, chart in enumerate(atlas.charts)}
    out = []
    for c in range(n):
        for i in range(h):
            for j in range(w):
                found = []
                for dy, dx in offsets:
                    s = int(source[c, i + 1 + dy, j + 1 + dx])
                    if s < 0 or cones[s]:
                        continue
                    sc, rest = divmod(s, h * w)
                    si, sj = divmod(rest, w)
                    r0, c0 = first[sc]
                    if (si - r0) % 2 == 0 and (sj - c0) % 2 == 0:  # a vertex of the coarse grid
                        found.append(((sc * ho + (si - r0) // 2) * wo + (sj - c0) // 2, int(element[c, i + 1 + dy, j + 1 + dx])))
                out.append(found)
    return out


class _CoarseToFine(ExactConstants):
    """``out[p] = Σ_k w_k[p] ρ(g_k[p]) x[s_k[p]]``: a weighted sum of FieldMaps from the coarse grid to the fine one."""

    weights: torch.Tensor

    def __init__(self, atlas: Space, field_type: FieldType, sources: list[list[tuple[int, int]]], mean: bool):
        super().__init__()
        coarse = atlas.coarsened()
        depth = max(1, max(len(f) for f in sources))
        grid = atlas.grid
        self.gathers = nn.ModuleList()
        weights = np.zeros((depth, len(sources)))
        for k in range(depth):
            src = np.array([f[k][0] if k < len(f) else -1 for f in sources], dtype=np.int64).reshape(grid)
            el = np.array([f[k][1] if k < len(f) else 0 for f in sources], dtype=np.int64).reshape(grid)
            self.gathers.append(FieldGather(FieldMap(atlas.group, coarse.grid, grid, src, el), field_type))
            weights[k] = [(1.0 / len(f) if mean else 1.0) if k < len(f) else 0.0 for f in sources]
        # float64, cast on use, kept exact through casts (1/3 is not a float32)
        self.register_constant("weights", weights.reshape(depth, 1, *_spatial(grid)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.weights.to(x.dtype)
        out = self.gathers[0](x) * weights[0]
        for k in range(1, len(self.gathers)):
            out = out + self.gathers[k](x) * weights[k]
        return out


def _spatial(grid: tuple[int, int, int]) -> tuple[int, ...]:
    n, h, w = grid
    return (h, w) if n == 1 else (n, h, w)


class GaugeUpsample(AtlasModule):
    """Upsampling from ``atlas.coarsened()`` to ``atlas``, gauge and isometry equivariant.

    ``mode="nearest"`` (default): see the module docstring; a fine pixel with several nearest
    coarse pixels (halfway between them) takes their mean, so no direction is preferred, and
    features coming from another chart are transported into the fine pixel's frame.
    ``mode="zeros"`` (vertex grids): coarse vertices copied, zeros between them -- with a
    convolution after it, a stride-2 transposed convolution (``GaugeConvTranspose``).

    Args:
        atlas: the fine atlas (the output's).
        field_type: field type of input and output (``C = field_type.size`` channels).
        mode: ``"nearest"`` or ``"zeros"``, as above.

    Shapes: ``(batch, C, *atlas.coarsened().shape) -> (batch, C, *atlas.shape)``.
    """

    in_cones: torch.Tensor | None

    def __init__(self, atlas: Space, field_type: FieldType, mode: str = "nearest"):
        super().__init__(atlas)
        check_group(field_type, atlas, "field_type")
        if mode not in ("nearest", "zeros"):
            raise ValueError(f"GaugeUpsample mode must be 'nearest' or 'zeros', got {mode!r}")
        if mode == "zeros" and atlas.grid_kind != "vertices":
            raise ValueError("mode='zeros' needs a vertex grid: between cells, zeros would break the charts' symmetry; use mode='nearest'")
        self.mode = mode
        self.in_type = self.out_type = field_type
        self._bind()

    def _bind(self) -> None:
        self.in_atlas = self.atlas.coarsened()
        if self.atlas.grid_kind == "vertices":
            sources = _vertex_sources(self.atlas, only_coincident=self.mode == "zeros")
        else:
            sources = _cell_sources(self.atlas)
        self.spread = _CoarseToFine(self.atlas, self.in_type, sources, mean=True)
        self._bind_cone_mask(self.atlas)
        self.register_buffer("in_cones", _mask(self.in_atlas), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self.in_type, self.in_atlas.shape, "GaugeUpsample")
        if self.in_cones is not None:
            x = x.masked_fill(self.in_cones, 0.0)
        return self._zero_blind(self.spread(x))

    def extra_repr(self) -> str:
        return f"'{self.in_type}', {self.mode}, {self.in_atlas.chart_shape} -> {self.atlas.chart_shape}"


class GaugeConvTranspose(nn.Module):
    """Learnable stride-2 upsampling from ``atlas.coarsened()`` to ``atlas``, exactly equivariant.

    - Odd kernels: the coarse field laid onto the fine grid (``GaugeUpsample`` with zeros
      between coarse vertices on a vertex grid -- exactly a stride-2 transposed convolution --,
      nearest on a cell grid), then ``GaugeConv(atlas, in_type, out_type, kernel_size)``.
    - Even kernels (2, 4, ...) on a square cell grid: the adjoint of the stride-2 ``GaugeConv`` with
      an even kernel, ``y(p) = Σ_I K(p - c_I) x_I`` over the coarse cells ``I`` whose block centre
      ``c_I`` lies within the kernel's reach of the fine pixel ``p`` (half-integer offsets), with
      the same steerable kernels; the coarse field is transport-padded by ``ceil((k - 2) / 4)``.

    Args:
        atlas: the fine atlas (the output's).
        in_type: field type of the coarse input.
        out_type: field type of the fine output.
        kernel_size: odd, or even on a square cell grid (as above).
        bias: learn G-invariant biases.
        stride: 2, one level of the atlas's coarsening (the only one).
        basis: the kernel basis, ``"lattice"``, ``"bandlimited"`` or ``"harmonic"``; ``None``: the group's default (as for ``GaugeConv``).

    Shapes: ``(batch, in_type.size, *atlas.coarsened().shape) -> (batch, out_type.size, *atlas.shape)``.
    """

    def __init__(
        self,
        atlas: Space,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        bias: bool = True,
        stride: int = 2,
        basis: str | None = None,
    ):
        super().__init__()
        if isinstance(stride, bool) or stride != 2:
            raise ValueError(f"GaugeConvTranspose upsamples by one level of the atlas's coarsening: stride must be 2, got {stride!r}")
        self.in_type, self.out_type, self.stride = in_type, out_type, stride
        self.spread: GaugeUpsample | None = None
        self.pad: _CoarsePad | None = None
        kernel_size = _check_kernel_size(kernel_size, even=True)
        if kernel_size % 2 == 0:
            # the even kernel's parameters and expansion are a stride-2 GaugeConv's (in_type -> out_type, half-integer offsets)
            self.conv = GaugeConv(atlas, in_type, out_type, kernel_size, bias=bias, basis=basis, stride=2)
            self.halo = -(-(kernel_size - 2) // 4)
            if self.halo:
                self.pad = _CoarsePad(atlas, in_type, self.halo)
        else:
            mode = "zeros" if atlas.grid_kind == "vertices" else "nearest"
            self.spread = GaugeUpsample(atlas, in_type, mode)
            self.conv = GaugeConv(atlas, in_type, out_type, kernel_size, bias=bias, basis=basis)

    @property
    def in_atlas(self) -> Space:
        """The coarse atlas the input lives on."""
        return self.spread.in_atlas if self.spread is not None else self.conv.out_atlas

    @property
    def atlas(self) -> Space:
        """The fine atlas the output lives on."""
        return self.conv.atlas

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.in_type.size, *self.in_atlas.shape)
        if isinstance(x, torch.Tensor) and tuple(x.shape[1:]) != expected and tuple(x.shape[1:]) == (self.in_type.size, *self.atlas.shape):
            raise ValueError(
                f"GaugeConvTranspose upsamples fields on {self.in_atlas!r} (shape (batch, {', '.join(map(str, expected))})) "
                f"to {self.atlas!r}, but got a field of the output's own shape {tuple(x.shape)}: pass the fine atlas, the one "
                "the output lives on (the atlas before the GaugePool), not the coarse one"
            )
        check_field(x, self.in_type, self.in_atlas.shape, f"GaugeConvTranspose (input on {self.in_atlas!r}; pass the fine atlas to it)")
        if self.spread is not None:
            return self.conv(self.spread(x))
        return self._transposed(x)

    def _transposed(self, x: torch.Tensor) -> torch.Tensor:
        """The even kernel's adjoint: ``conv_transpose2d`` of the padded coarse charts, cropped to the fine ones."""
        weight, bias = self.conv.expanded()
        if x.dtype != weight.dtype and not _autocasting(x):
            raise TypeError(
                f"GaugeConvTranspose has {weight.dtype} weights and got a {x.dtype} input: convert the input "
                f"(x.to({weight.dtype})) or the module (.to({x.dtype}))"
            )
        batch, charts = x.shape[0], self.conv.atlas.num_charts
        if self.pad is not None:
            x = self.pad(x)  # (batch * charts, C, h + 2 halo, w + 2 halo)
        elif x.dim() == 5:
            x = x.transpose(1, 2).reshape(-1, x.shape[1], *x.shape[3:])
        y = F.conv_transpose2d(x, weight.transpose(0, 1), bias, stride=2)
        start = 2 * self.halo + (self.conv.kernel_size - 2) // 2  # fine pixel (0, 0) of the chart
        h, w = self.conv.atlas.chart_shape
        y = y[..., start : start + h, start : start + w]
        if charts > 1:
            y = y.reshape(batch, charts, *y.shape[1:]).transpose(1, 2)
        return y.contiguous()


class _CoarsePad(AtlasModule):
    """Transport padding of fields on ``atlas.coarsened()`` (bound to the fine ``atlas``, as the layers that use it),
    charts folded into the batch: ``(batch, C, *coarse shape) -> (batch * charts, C, h + 2 halo, w + 2 halo)``."""

    def __init__(self, atlas: Space, field_type: FieldType, halo: int):
        super().__init__(atlas)
        self.field_type, self.halo = field_type, halo
        self._bind()

    def _bind(self) -> None:
        coarse = atlas_of(self.atlas.coarsened())
        self.gather = FieldGather(coarse.padding_map(self.halo), self.field_type, charts_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gather(x)


def _mask(atlas: Space) -> torch.Tensor | None:
    cones = atlas.cone_pixels
    return torch.from_numpy(cones.copy()).reshape(_spatial(atlas.grid)) if cones.any() else None
