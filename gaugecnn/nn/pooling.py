"""Pooling: stride-2 gauge pooling, invariant group pooling, and global pooling over the manifold."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atlas import Atlas
from ..fieldmap import FieldGather, FieldMap, spatial_shape
from ..kernels import kernel_support
from ..representations import FieldType, trivial
from ._fields import FieldLayout
from .padding import AtlasModule, check_field, check_group

__all__ = ["GaugePool", "GroupPool", "GlobalPool"]


def mean_of_maxima(values: torch.Tensor, score: torch.Tensor, dim: int) -> torch.Tensor:
    """The mean of ``values`` over the positions where ``score`` reaches its maximum along ``dim``.

    Max pooling by norm must not break ties by position: where a window holds one point twice
    (a halo pixel whose source is in the same window, reached along a path with holonomy), the
    two copies have equal norms but differ by a transport, and "the first one" depends on the
    gauge. Averaging every maximiser is a function of the window as a set, hence equivariant.
    """
    winners = score == score.amax(dim, keepdim=True)
    return (values * winners).sum(dim) / winners.sum(dim)


def coarse_offset(atlas: Atlas, chart) -> tuple[int, int]:
    """Row and column of a chart's first coarse vertex on a vertex grid: counted from its origin corner."""
    origin = atlas.origins[chart]
    return (0 if origin[0] == "t" else 1, 0 if origin[1] == "l" else 1)


def _window_positions(atlas: Atlas, coarse: Atlas) -> np.ndarray:
    """``(K, charts, ho, wo)``: flat positions in the fine grid padded by one of every coarse
    vertex's pooling window, the ``K`` offsets of ``kernel_support(group, 3)`` around it."""
    (n, h, w), (ho, wo) = atlas.grid, coarse.chart_shape
    offsets = np.argwhere(kernel_support(atlas.group, 3)) - 1
    positions = np.empty((len(offsets), n, ho, wo), dtype=np.int64)
    for c, chart in enumerate(atlas.charts):
        row0, col0 = coarse_offset(atlas, chart)
        rows = 2 * np.arange(ho)[:, None] + row0 + 1
        cols = 2 * np.arange(wo)[None, :] + col0 + 1
        for k, (dy, dx) in enumerate(offsets):
            positions[k, c] = (c * (h + 2) + rows + dy) * (w + 2) + cols + dx
    return positions


def _unusable(atlas: Atlas, source: np.ndarray) -> np.ndarray:
    """Where a window position takes no part in pooling: it has no source, or its source is a cone pixel."""
    return (source < 0) | atlas.cone_pixels.reshape(-1)[np.maximum(source, 0)]


def _vertex_pool_reference(pool: GaugePool, x: torch.Tensor) -> torch.Tensor:
    """``pool(x)`` on a vertex grid the plain way, the reference its fused path is tested against.

    Pad the field by one pixel with transport padding, read every window's ``K`` positions,
    drop the unusable ones, and take the mean or the maximum (per channel for permutation
    fields, by norm through :func:`mean_of_maxima` for the others).
    """
    atlas, coarse = pool.atlas, pool.out_atlas
    padding = atlas.padding_map(1)
    cones = torch.from_numpy(atlas.cone_pixels.copy()).reshape(spatial_shape(atlas.grid))
    padded = FieldGather(padding, pool.in_type)(x.masked_fill(cones, 0.0)).flatten(2)
    positions = _window_positions(atlas, coarse)
    positions = positions.reshape(len(positions), -1)
    values = padded[:, :, torch.from_numpy(positions)]  # (B, C, K, P)
    missing = torch.from_numpy(_unusable(atlas, padding.source.reshape(-1)[positions]))
    if pool.mode == "avg":
        usable = (~missing).to(values.dtype)
        out = (values * usable).sum(2) / usable.sum(0).clamp_min(1.0)
    else:
        score = pool.layout.channel_norms(values).masked_fill(missing, float("-inf"))
        out = mean_of_maxima(values, score, 2)
    blind = coarse.cone_pixels | missing.all(0).numpy().reshape(coarse.cone_pixels.shape)
    out = out.reshape(x.shape[0], x.shape[1], *coarse.shape)
    return out.masked_fill(torch.from_numpy(blind).reshape(spatial_shape(coarse.grid)), 0.0)


class GaugePool(AtlasModule):
    """Stride-2 pooling of fields, ``mode="max"`` (default) or ``"avg"``.

    Max pooling is per channel for permutation fields and by norm for the others: each
    window keeps its whole vector of largest norm ``|v|`` (for a sign-flip field: the value of
    largest absolute value, with its sign). Average pooling is linear, so it commutes with
    every ρ and treats all fields alike.

    Odd sizes are handled through the atlas: along an odd axis the windows are three pixels
    wide, centred on the even pixels (the chart's symmetries map even pixels to even pixels,
    so the pooling stays exactly gauge equivariant), and the axis is padded by one pixel on
    each side with transport padding (pixels without a source never win). The output lives
    on ``atlas.coarsened()`` (``ceil(H/2) x ceil(W/2)``). Like any stride-2 operation it
    commutes only with isometries that move pixels by even amounts.

    On a vertex grid (``atlas.grid_kind == "vertices"``) the coarse grid is every second
    vertex, counted from each chart's origin (resolution ``r`` to ``r - 1`` of an icosahedral
    grid), and each coarse vertex pools its window of radius 1 -- the G-invariant
    neighbourhood of ``kernel_support(group, 3)``, a hexagon of 7 on the hexagonal lattice --
    through transport padding. Positions with no source or on a cone pixel take no part;
    coarse cone pixels come out zero.

    Args:
        atlas: the atlas of the input.
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

    missing: torch.Tensor
    window_missing: torch.Tensor
    window_count: torch.Tensor
    out_blind: torch.Tensor | None

    def __init__(self, atlas: Atlas, field_type: FieldType, mode: str = "max"):
        super().__init__(atlas)
        check_group(field_type, atlas, "field_type")
        if mode not in ("max", "avg"):
            raise ValueError(f"GaugePool mode must be 'max' or 'avg', got {mode!r}")
        self.mode = mode
        self.in_type = self.out_type = field_type
        self.layout = FieldLayout(field_type)
        h, w = atlas.chart_shape
        self.vertex_grid = atlas.grid_kind == "vertices"
        self.halo = (1, 1) if self.vertex_grid else (h % 2, w % 2)
        self._bind()

    def _bind(self) -> None:
        self.out_atlas = self.atlas.coarsened()
        self.repeated_points = False  # whether some window holds one point twice (see mean_of_maxima)
        if self.vertex_grid:
            self._bind_vertex_windows()
            return
        if self.halo == (0, 0):
            return
        fmap = self.atlas.padding_map(self.halo)
        self.pad = FieldGather(fmap, self.in_type)
        self.register_buffer("missing", torch.from_numpy(~fmap.valid).reshape(spatial_shape(fmap.target_grid)), persistent=False)
        # windows 2 wide along even axes, 3 wide (centred on the even pixels) along odd ones
        self.window = tuple(3 if halo else 2 for halo in self.halo)
        windows = np.lib.stride_tricks.sliding_window_view(fmap.source, self.window, axis=(1, 2))[:, ::2, ::2]
        sources = np.sort(windows.reshape(-1, self.window[0] * self.window[1]), axis=1)
        self.repeated_points = bool(((sources[:, 1:] == sources[:, :-1]) & (sources[:, 1:] >= 0)).any())

    def _bind_vertex_windows(self) -> None:
        """Every coarse vertex's window as one FieldMap from the fine grid, transport padding folded in.

        The map's target grid is ``(K * charts, ho, wo)``: window position ``k`` of coarse pixel
        ``p`` is target pixel ``(k, p)``, so one gather lays out all windows, ``(batch, C, K, P)``.
        """
        atlas, coarse = self.atlas, self.out_atlas
        padding = atlas.padding_map(1)
        positions = _window_positions(atlas, coarse)  # (K, charts, ho, wo) in the padded grid
        source, element = padding.source.reshape(-1)[positions], padding.element.reshape(-1)[positions]
        unusable = _unusable(atlas, source)
        source, element = np.where(unusable, -1, source), np.where(unusable, 0, element)
        if self.mode == "max" and self.layout.all_pointwise:
            # a maximum per channel does not see repeats: an unusable position reads the window's
            # first usable one, so every position has a source and no mask is needed
            first = unusable.argmin(0)[None]
            source = np.where(unusable, np.take_along_axis(source, first, 0), source)
            element = np.where(unusable, np.take_along_axis(element, first, 0), element)
        k, p = len(positions), int(np.prod(positions.shape[1:]))
        grid = (k * coarse.num_charts, *coarse.chart_shape)
        self.windows = FieldGather(FieldMap(atlas.group, atlas.grid, grid, source.reshape(grid), element.reshape(grid)), self.in_type)
        self.register_buffer("window_missing", torch.from_numpy(unusable.reshape(k, p)), persistent=False)
        self.register_buffer("window_count", torch.from_numpy(np.maximum((~unusable).sum(0), 1).reshape(p)), persistent=False)
        # zero where nothing can be pooled (no usable position) and on the coarse cone pixels
        out_blind = coarse.cone_pixels | unusable.all(0).reshape(coarse.cone_pixels.shape)
        blind = torch.from_numpy(out_blind).reshape(spatial_shape(coarse.grid)) if out_blind.any() else None
        self.register_buffer("out_blind", blind, persistent=False)

    def _vertex_forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels = x.shape[:2]
        values = self.windows(x).reshape(batch, channels, *self.window_missing.shape)  # (B, C, K, P)
        if self.mode == "avg":  # unusable positions read zero
            out = values.sum(2) / self.window_count.to(values.dtype)
        elif self.layout.all_pointwise:  # unusable positions repeat a usable one
            out = values.max(2).values  # max, not amax: its backward is a scatter
        else:
            score = self.layout.channel_norms(values).masked_fill(self.window_missing, float("-inf"))
            out = mean_of_maxima(values, score, 2)
        out = out.reshape(batch, channels, *self.out_atlas.shape)
        return out if self.out_blind is None else out.masked_fill(self.out_blind, 0.0)

    def _pool(self, x: torch.Tensor, score: torch.Tensor | None, window=2) -> torch.Tensor:
        """Window-wise argmax of ``score`` with values taken from ``x`` (plain max if no score).

        A tie between different points is broken by position, as any max pooling does. Where
        the halo puts one point twice into a window (``repeated_points``, known from the
        padding map; see :func:`mean_of_maxima`), the maximisers are averaged instead.
        """
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
        check_field(x, self.in_type, self.atlas.shape, "GaugePool")
        if self.vertex_grid:
            return self._vertex_forward(x)
        batch, channels = x.shape[:2]
        n, h, w = self.atlas.grid
        if self.halo == (0, 0):
            plain = self.layout.all_pointwise or self.mode == "avg"
            score = None if plain else self.layout.channel_norms(x).reshape(batch, channels * n, h, w)
            out = self._pool(x.reshape(batch, channels * n, h, w), score)
        else:
            padded = self.pad(x)
            hp, wp = h + 2 * self.halo[0], w + 2 * self.halo[1]
            if self.mode == "avg":  # missing pixels count as zeros
                score = None
            else:  # missing pixels never win
                score = self.layout.channel_norms(padded).masked_fill(self.missing, float("-inf"))
                score = score.reshape(batch, channels * n, hp, wp)
            out = self._pool(padded.reshape(batch, channels * n, hp, wp), score, self.window)
        return out.reshape(batch, channels, *self.out_atlas.shape)

    def extra_repr(self) -> str:
        return f"'{self.in_type}', {self.mode}, {self.atlas.chart_shape} -> {self.out_atlas.chart_shape}"


class GroupPool(nn.Module):
    """Invariant readout: every field becomes one scalar (trivial) field.

    Permutation fields (trivial, regular) give the max over their channels, the others
    their norm ``|v|``.

    Args:
        field_type: field type of the input.

    Shapes: ``(batch, field_type.size, *spatial) -> (batch, len(field_type), *spatial)``.

    Examples:
        >>> import torch
        >>> from gaugecnn import FieldType, cyclic_group
        >>> readout = GroupPool(FieldType(cyclic_group(4), "2 regular + 1 irrep(1)"))
        >>> readout(torch.rand(8, 10, 6, 6)).shape
        torch.Size([8, 3, 6, 6])
    """

    order: torch.Tensor

    def __init__(self, field_type: FieldType):
        super().__init__()
        self.in_type = field_type
        self.out_type = FieldType(field_type.group, [trivial(field_type.group)] * len(field_type))
        dims = sorted({r.dim for r in field_type.reps})
        self._by_dim = []
        for d in dims:
            fields = [i for i, r in enumerate(field_type.reps) if r.dim == d]
            perm = [i for i in fields if field_type.reps[i].is_permutation]
            norm = [i for i in fields if not field_type.reps[i].is_permutation]
            for kind, group in (("max", perm), ("norm", norm)):
                if group:
                    name = f"{kind}_{d}"
                    channels = [list(range(field_type.slices[i].start, field_type.slices[i].stop)) for i in group]
                    self.register_buffer(f"channels_{name}", torch.tensor(channels, dtype=torch.long), persistent=False)
                    flat = np.ravel(channels)
                    # channels in one consecutive run: a view (narrow) instead of a gathered copy
                    start = int(flat[0]) if np.array_equal(flat, np.arange(flat[0], flat[0] + len(flat))) else None
                    self._by_dim.append((kind, name, group, start))
        grouped = [i for *_, group, _ in self._by_dim for i in group]
        self.register_buffer("order", torch.from_numpy(np.argsort(grouped)), persistent=False)
        self._in_order = bool(np.array_equal(grouped, np.arange(len(grouped))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.in_type.size:
            raise ValueError(f"GroupPool expects (batch, {self.in_type.size}, ...) for '{self.in_type}', got {tuple(x.shape)}")
        parts = []
        for kind, name, _, start in self._by_dim:
            idx = getattr(self, f"channels_{name}")
            if start is None:
                v = x.index_select(1, idx.reshape(-1)).unflatten(1, idx.shape)  # (B, F, d, ...)
            else:
                v = x.narrow(1, start, idx.numel()).unflatten(1, idx.shape)
            parts.append(v.amax(2) if kind == "max" else torch.linalg.vector_norm(v, dim=2))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
        return out if self._in_order else out.index_select(1, self.order)


class GlobalPool(nn.Module):
    """Pool scalar fields over the whole manifold (all charts, all pixels) to invariant features.

    Only trivial fields are invariant under gauge transforms: pool the others with
    ``GroupPool`` first.

    Args:
        field_type: field type of the input: trivial fields only.
        reduce: ``"max"`` or ``"mean"``.

    Shapes: ``(batch, C, *atlas.shape) -> (batch, C)``.
    """

    def __init__(self, field_type: FieldType, reduce: str = "max"):
        super().__init__()
        if reduce not in ("max", "mean"):
            raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
        bad = sorted({r.name for r in field_type.reps if r != trivial(field_type.group)})
        if bad:
            raise ValueError(
                f"GlobalPool needs scalar (trivial) fields, but '{field_type}' has {', '.join(bad)} fields; "
                "apply GroupPool first to make them invariant"
            )
        self.in_type, self.reduce = field_type, reduce
        self.out_type = field_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[1] != self.in_type.size:
            raise ValueError(f"GlobalPool expects (batch, {self.in_type.size}, *spatial), got {tuple(x.shape)}")
        flat = x.flatten(2)
        return flat.amax(2) if self.reduce == "max" else flat.mean(2)
