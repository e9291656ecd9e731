"""Stride-2 gauge pooling: one layer, two strategies chosen by the grid.

- ``CellPooling`` (cell grids): windows of 2 along even axes, 3 centred on the even pixels
  along odd ones, over a transport padding of one pixel where an axis is odd; max per
  channel for permutation fields, by norm otherwise; average pooling is linear.
- ``VertexPooling`` (vertex grids): every second vertex, counted from each chart's origin,
  pools its radius-1 window (``kernel_support(G, 3)``), read by one FieldMap gather with the
  transport folded in; positions without a source or on a cone pixel take no part.

Invariant readouts (``GroupPool``, ``GlobalPool``) live in ``gaugecnn.nn.readout``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atlas.derived import coarse_offset
from ..fieldmap import FieldGather, FieldMap, spatial_shape
from ..kernels import kernel_support
from ..manifold import Space, atlas_of
from ..representations import FieldType
from ._fields import FieldLayout
from .padding import AtlasModule, check_field, check_group

__all__ = ["GaugePool", "CellPooling", "VertexPooling", "mean_of_maxima"]


def mean_of_maxima(values: torch.Tensor, score: torch.Tensor, dim: int) -> torch.Tensor:
    """The mean of ``values`` over the positions where ``score`` reaches its maximum along ``dim``.

    Max pooling by norm must not break ties by position: where a window holds one point twice
    (a halo pixel whose source is in the same window, reached along a path with holonomy), the
    two copies have equal norms but differ by a transport, and "the first one" depends on the
    gauge. Averaging every maximiser is a function of the window as a set, hence equivariant.
    """
    winners = score == score.amax(dim, keepdim=True)
    return (values * winners).sum(dim) / winners.sum(dim)


def window_positions(atlas: Space, coarse: Space) -> np.ndarray:
    """``(K, charts, ho, wo)``: flat positions in the fine grid padded by one of every coarse
    vertex's pooling window, the ``K`` offsets of ``kernel_support(group, 3)`` around it."""
    (n, h, w), (ho, wo) = atlas.grid, coarse.chart_shape
    offsets = np.argwhere(kernel_support(atlas.group, 3)) - 1
    positions = np.empty((len(offsets), n, ho, wo), dtype=np.int64)
    for c, chart in enumerate(atlas.charts):
        row0, col0 = coarse_offset(atlas_of(atlas), chart)
        rows = 2 * np.arange(ho)[:, None] + row0 + 1
        cols = 2 * np.arange(wo)[None, :] + col0 + 1
        for k, (dy, dx) in enumerate(offsets):
            positions[k, c] = (c * (h + 2) + rows + dy) * (w + 2) + cols + dx
    return positions


def unusable_positions(atlas: Space, source: np.ndarray) -> np.ndarray:
    """Where a window position takes no part in pooling: it has no source, or its source is a cone pixel."""
    return (source < 0) | atlas.cone_pixels.reshape(-1)[np.maximum(source, 0)]


class CellPooling(nn.Module):
    """Stride-2 pooling of a cell grid: the strategy ``GaugePool`` uses on ``grid="cells"``.

    Along an odd axis the windows are three pixels wide, centred on the even pixels (the
    chart's symmetries map even pixels to even pixels), over a transport padding of one pixel
    on each side (pixels without a source never win). A tie between different points is
    broken by position, as any max pooling does; where the halo puts one point twice into a
    window (``repeated_points``, known from the padding map) the maximisers are averaged.

    Args:
        atlas: the atlas of the input (a cell grid).
        field_type: the field type of input and output.
        mode: ``"max"`` or ``"avg"``.
        layout: the field type's channel layout (norms of the fields).
    """

    missing: torch.Tensor

    def __init__(self, atlas: Space, field_type: FieldType, mode: str, layout: FieldLayout):
        super().__init__()
        self.mode, self.layout = mode, layout
        self.grid = atlas.grid
        self.out_shape = atlas.coarsened().shape
        h, w = atlas.chart_shape
        self.halo = (h % 2, w % 2)
        self.repeated_points = False  # whether some window holds one point twice (see mean_of_maxima)
        self.window = tuple(3 if halo else 2 for halo in self.halo)
        if self.halo == (0, 0):
            return
        fmap = atlas.padding_map(self.halo)
        self.pad = FieldGather(fmap, field_type)
        self.register_buffer("missing", torch.from_numpy(~fmap.valid).reshape(spatial_shape(fmap.target_grid)), persistent=False)
        windows = np.lib.stride_tricks.sliding_window_view(fmap.source, self.window, axis=(1, 2))[:, ::2, ::2]
        sources = np.sort(windows.reshape(-1, self.window[0] * self.window[1]), axis=1)
        self.repeated_points = bool(((sources[:, 1:] == sources[:, :-1]) & (sources[:, 1:] >= 0)).any())

    def _pool(self, x: torch.Tensor, score: torch.Tensor | None, window) -> torch.Tensor:
        """Window-wise argmax of ``score`` with values taken from ``x`` (plain max if no score)."""
        if self.mode == "avg":
            return F.avg_pool2d(x, window, 2)
        if score is None:
            return F.max_pool2d(x, window, 2)
        if not self.repeated_points or self.layout.all_pointwise:  # equal values are interchangeable
            pooled, idx = F.max_pool2d(score, window, 2, return_indices=True)
            return x.flatten(2).gather(2, idx.flatten(2)).view_as(pooled)
        (batch, channels, h, w), k = x.shape, window[0] * window[1]
        ho, wo = (h - window[0]) // 2 + 1, (w - window[1]) // 2 + 1

        def windows(t: torch.Tensor) -> torch.Tensor:  # (b, c, ho, wo, kh * kw)
            return t.unfold(2, window[0], 2).unfold(3, window[1], 2).reshape(batch, channels, ho, wo, k)

        return mean_of_maxima(windows(x), windows(score), -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``x`` ``(batch, C, *atlas.shape)`` to ``(batch, C, *atlas.coarsened().shape)``."""
        batch, channels = x.shape[:2]
        n, h, w = self.grid
        if self.halo == (0, 0):
            plain = self.layout.all_pointwise or self.mode == "avg"
            score = None if plain else self.layout.channel_norms(x).reshape(batch, channels * n, h, w)
            out = self._pool(x.reshape(batch, channels * n, h, w), score, 2)
        else:
            padded = self.pad(x)
            hp, wp = h + 2 * self.halo[0], w + 2 * self.halo[1]
            if self.mode == "avg":  # missing pixels count as zeros
                score = None
            else:  # missing pixels never win
                score = self.layout.channel_norms(padded).masked_fill(self.missing, float("-inf"))
                score = score.reshape(batch, channels * n, hp, wp)
            out = self._pool(padded.reshape(batch, channels * n, hp, wp), score, self.window)
        return out.reshape(batch, channels, *self.out_shape)


class VertexPooling(nn.Module):
    """Stride-2 pooling of a vertex grid: the strategy ``GaugePool`` uses on ``grid="vertices"``.

    Every coarse vertex's window is one FieldMap from the fine grid, transport padding folded
    in: its target grid is ``(K * charts, ho, wo)``, window position ``k`` of coarse pixel ``p``
    being target pixel ``(k, p)``, so one gather lays out all windows, ``(batch, C, K, P)``.
    For permutation fields under max pooling an unusable position repeats its window's first
    usable one, so a plain maximum needs no mask.

    Args:
        atlas: the atlas of the input (a vertex grid).
        field_type: the field type of input and output.
        mode: ``"max"`` or ``"avg"``.
        layout: the field type's channel layout (norms of the fields).
    """

    window_missing: torch.Tensor
    window_count: torch.Tensor
    out_blind: torch.Tensor | None

    def __init__(self, atlas: Space, field_type: FieldType, mode: str, layout: FieldLayout):
        super().__init__()
        self.mode, self.layout = mode, layout
        coarse = atlas.coarsened()
        self.out_shape = coarse.shape
        padding = atlas.padding_map(1)
        positions = window_positions(atlas, coarse)  # (K, charts, ho, wo) in the padded grid
        source, element = padding.source.reshape(-1)[positions], padding.element.reshape(-1)[positions]
        unusable = unusable_positions(atlas, source)
        source, element = np.where(unusable, -1, source), np.where(unusable, 0, element)
        if mode == "max" and layout.all_pointwise:
            # a maximum per channel does not see repeats: an unusable position reads the window's
            # first usable one, so every position has a source and no mask is needed
            first = unusable.argmin(0)[None]
            source = np.where(unusable, np.take_along_axis(source, first, 0), source)
            element = np.where(unusable, np.take_along_axis(element, first, 0), element)
        k, p = len(positions), int(np.prod(positions.shape[1:]))
        grid = (k * coarse.num_charts, *coarse.chart_shape)
        self.windows = FieldGather(FieldMap(atlas.group, atlas.grid, grid, source.reshape(grid), element.reshape(grid)), field_type)
        self.register_buffer("window_missing", torch.from_numpy(unusable.reshape(k, p)), persistent=False)
        self.register_buffer("window_count", torch.from_numpy(np.maximum((~unusable).sum(0), 1).reshape(p)), persistent=False)
        # zero where nothing can be pooled (no usable position) and on the coarse cone pixels
        out_blind = coarse.cone_pixels | unusable.all(0).reshape(coarse.cone_pixels.shape)
        blind = torch.from_numpy(out_blind).reshape(spatial_shape(coarse.grid)) if out_blind.any() else None
        self.register_buffer("out_blind", blind, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``x`` ``(batch, C, *atlas.shape)`` to ``(batch, C, *atlas.coarsened().shape)``."""
        batch, channels = x.shape[:2]
        values = self.windows(x).reshape(batch, channels, *self.window_missing.shape)  # (B, C, K, P)
        if self.mode == "avg":  # unusable positions read zero
            out = values.sum(2) / self.window_count.to(values.dtype)
        elif self.layout.all_pointwise:  # unusable positions repeat a usable one
            out = values.max(2).values  # max, not amax: its backward is a scatter
        else:
            score = self.layout.channel_norms(values).masked_fill(self.window_missing, float("-inf"))
            out = mean_of_maxima(values, score, 2)
        out = out.reshape(batch, channels, *self.out_shape)
        return out if self.out_blind is None else out.masked_fill(self.out_blind, 0.0)


class GaugePool(AtlasModule):
    """Stride-2 pooling of fields, ``mode="max"`` (default) or ``"avg"``.

    Max pooling is per channel for permutation fields and by norm for the others: each
    window keeps its whole vector of largest norm ``|v|`` (for a sign-flip field: the value of
    largest absolute value, with its sign). Average pooling is linear, so it commutes with
    every ρ and treats all fields alike. The strategy follows the grid: ``CellPooling`` or
    ``VertexPooling`` (see the module docstring). The output lives on ``atlas.coarsened()``
    (``out_atlas``; a manifold stays a manifold, with its geometry). Like any stride-2
    operation it commutes only with isometries that map the pooled pixels onto each other.

    Args:
        atlas: the atlas (or manifold) of the input.
        field_type: field type of input and output.
        mode: ``"max"`` or ``"avg"``.

    Shapes: ``(batch, field_type.size, *atlas.shape) -> (batch, field_type.size, *atlas.coarsened().shape)``.

    Examples:
        >>> import torch
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # a Möbius strip
        >>> pool = GaugePool(strip, FieldType(strip.group, "1 sign + 1 regular"))
        >>> pool(torch.rand(2, 3, 5, 8)).shape, pool.out_atlas.chart_shape
        (torch.Size([2, 3, 3, 4]), (3, 4))
    """

    def __init__(self, atlas: Space, field_type: FieldType, mode: str = "max"):
        super().__init__(atlas)
        check_group(field_type, atlas, "field_type")
        if mode not in ("max", "avg"):
            raise ValueError(f"GaugePool mode must be 'max' or 'avg', got {mode!r}")
        self.mode = mode
        self.in_type = self.out_type = field_type
        self.layout = FieldLayout(field_type)
        self._bind()

    def _bind(self) -> None:
        self.out_atlas = self.atlas.coarsened()
        strategy = VertexPooling if self.atlas.grid_kind == "vertices" else CellPooling
        self.strategy = strategy(self.atlas, self.in_type, self.mode, self.layout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self.in_type, self.atlas.shape, "GaugePool")
        return self.strategy(x)

    def extra_repr(self) -> str:
        return f"'{self.in_type}', {self.mode}, {self.atlas.chart_shape} -> {self.out_atlas.chart_shape}"
