"""FieldMap: the one primitive that moves feature fields between pixel grids.

A FieldMap says, for every target pixel ``p``, which source pixel ``s(p)`` it takes its
value from (or none: zero) and which gauge element ``g(p)`` acts on that value:

    out[p] = ρ(g(p)) x[s(p)]        (out[p] = 0 where s(p) is none)

Transport padding, isometries and gauge transforms are all FieldMaps. Grids are
``(charts, H, W)``; tensors are ``(batch, channels, *spatial)`` where the spatial shape is
``(H, W)`` for a single chart and ``(charts, H, W)`` for several.

Applying a FieldMap to a field type folds the gather and ρ into index/coefficient tensors
computed once: ``out = Σ_k x[..., index[k]] * coeff[k]`` with ``k`` running over the
largest number of non-zeros in a row of ρ(g) (one for signed permutations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ._constants import ExactConstants
from .groups import StructureGroup
from .representations import FieldType

__all__ = ["FieldMap", "spatial_shape", "rotated_grid_source"]

Grid = tuple[int, int, int]


def spatial_shape(grid: Grid) -> tuple[int, ...]:
    """Tensor spatial shape of a ``(charts, H, W)`` grid: ``(H, W)`` for one chart."""
    n, h, w = grid
    return (h, w) if n == 1 else (n, h, w)


def rotated_grid_source(matrix: np.ndarray, h: int, w: int) -> np.ndarray:
    """Flat source index of every pixel of an ``h x w`` grid moved by ``matrix`` about its centre.

    Pixel ``y`` of the result takes pixel ``matrix⁻¹ y`` (centred coordinates) of the input.
    """
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    doubled = np.stack([2 * ii - (h - 1), 2 * jj - (w - 1)])  # centred coordinates, times 2
    back = np.einsum("ab,bij->aij", np.round(np.linalg.inv(matrix)).astype(np.int64), doubled)
    si, sj = (back[0] + (h - 1)) // 2, (back[1] + (w - 1)) // 2
    if si.min() < 0 or sj.min() < 0 or si.max() >= h or sj.max() >= w:
        raise ValueError(f"{matrix.tolist()} does not map an {h}x{w} grid onto itself")
    return si * w + sj


@dataclass(frozen=True, eq=False)
class FieldMap:
    """``target[p] <- ρ(element[p]) source[index[p]]``, with ``index[p] = -1`` meaning zero.

    ``source`` and ``element`` are integer arrays of the target grid's shape; ``source``
    holds flat indices into the source grid. Atlases build them (``Atlas.padding_map``,
    ``Atlas.translation``, ``Atlas.gauge_transform``); layers apply them through index tensors.

    Args:
        group: the structure group whose elements ``element`` holds.
        source_grid: ``(charts, H, W)`` of the field read.
        target_grid: ``(charts, H', W')`` of the field written.
        source: flat source index per target pixel, ``-1`` for none (zero).
        element: the group element ``g`` per target pixel; the feature is multiplied by ``ρ(g)``.
    """

    group: StructureGroup
    source_grid: Grid
    target_grid: Grid
    source: np.ndarray
    element: np.ndarray
    _plans: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # gather plans, built once

    def __post_init__(self):
        if self.source.shape != tuple(self.target_grid) or self.element.shape != tuple(self.target_grid):
            raise ValueError("FieldMap index arrays must have the target grid's shape")
        if self.source.max(initial=-1) >= int(np.prod(self.source_grid)):
            raise ValueError("FieldMap source index out of range of the source grid")
        for a in (self.source, self.element):
            a.setflags(write=False)

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of target pixels that have a source."""
        return self.source >= 0

    def without_gauge(self) -> FieldMap:
        """Same pixel map, every gauge element replaced by the identity (no parallel transport)."""
        return FieldMap(self.group, self.source_grid, self.target_grid, self.source, np.zeros_like(self.element))

    def then(self, other: FieldMap) -> FieldMap:
        """The map ``other ∘ self``: first apply ``self``, then ``other``."""
        if other.source_grid != self.target_grid:
            raise ValueError(f"cannot compose: {other.source_grid} != {self.target_grid}")
        flat_src = self.source.reshape(-1)
        flat_el = self.element.reshape(-1)
        mid = other.source.reshape(-1)
        src = np.where(mid >= 0, flat_src[np.maximum(mid, 0)], -1)
        el = self.group.multiplication_table[other.element.reshape(-1), flat_el[np.maximum(mid, 0)]]
        el = np.where(src >= 0, el, 0)
        return FieldMap(self.group, self.source_grid, other.target_grid, src.reshape(other.target_grid), el.reshape(other.target_grid))

    def gather_plan(self, field_type: FieldType, charts_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Index and coefficient arrays ``(D, n_out)`` over ``x.reshape(batch, -1)`` for fields of ``field_type``.

        With ``charts_first`` the output is laid out ``(charts, channels, H, W)``, ready to fold the
        charts into the batch for ``conv2d``; otherwise ``(channels, charts, H, W)``.
        """
        if field_type.group != self.group:
            raise ValueError(f"field type of group {field_type.group.name} on a map of group {self.group.name}")
        key = (field_type, charts_first)
        if key not in self._plans:
            self._plans[key] = self._gather_plan(field_type, charts_first)
        return self._plans[key]

    def _gather_plan(self, field_type: FieldType, charts_first: bool) -> tuple[np.ndarray, np.ndarray]:
        mats = field_type.matrices  # (order, C, C)
        nonzero = np.abs(mats) > 1e-12
        depth = max(1, int(nonzero.sum(axis=2).max()))
        order, channels = mats.shape[0], mats.shape[1]
        nz_col = np.zeros((order, channels, depth), dtype=np.int64)
        nz_val = np.zeros((order, channels, depth))
        for g in range(order):
            for c in range(channels):
                cols = np.flatnonzero(nonzero[g, c])
                # unused slots read a channel the row reads anyway (times 0): a NaN or Inf elsewhere never leaks in
                nz_col[g, c] = cols[0] if len(cols) else 0
                nz_col[g, c, : len(cols)] = cols
                nz_val[g, c, : len(cols)] = mats[g, c, cols]
        n_src = int(np.prod(self.source_grid))
        src = self.source.reshape(-1)  # (P,)
        el = self.element.reshape(-1)
        valid = src >= 0
        # (D, C, P)
        index = nz_col[el].transpose(2, 1, 0) * n_src + np.maximum(src, 0)[None, None, :]
        coeff = nz_val[el].transpose(2, 1, 0) * valid[None, None, :]  # targets without a source: all zero (and masked on use)
        grid = self.target_grid
        index = index.reshape(depth, channels, *grid)
        coeff = coeff.reshape(depth, channels, *grid)
        if charts_first:
            index, coeff = index.transpose(0, 2, 1, 3, 4), coeff.transpose(0, 2, 1, 3, 4)
        index, coeff = np.ascontiguousarray(index.reshape(depth, -1)), np.ascontiguousarray(coeff.reshape(depth, -1))
        index.setflags(write=False)
        coeff.setflags(write=False)
        return index, coeff

    def apply(self, x: torch.Tensor, field_type: FieldType) -> torch.Tensor:
        """Move a field ``x`` of ``field_type``, shape ``(batch, channels, *source spatial)``, to the target grid."""
        return FieldGather(self, field_type)(x)


class FieldGather(ExactConstants):
    """A FieldMap bound to a field type: index tensors built once, one gather per call.

    A padding map (the source grid copied unchanged into the middle of a larger target)
    takes a faster road: ``F.pad`` lays out the interior and the zeros, and only the halo
    pixels that have a source are gathered and written.
    """

    halo: torch.Tensor
    index: torch.Tensor
    coeff: torch.Tensor
    missing: torch.Tensor | None

    def __init__(self, field_map: FieldMap, field_type: FieldType, charts_first: bool = False):
        super().__init__()
        self.field_type = field_type
        self.charts_first = charts_first
        self.source_shape = (field_type.size, *spatial_shape(field_map.source_grid))
        n, h, w = field_map.target_grid
        self.target_shape = (n, field_type.size, h, w) if charts_first else (field_type.size, *spatial_shape(field_map.target_grid))
        index, coeff = field_map.gather_plan(field_type, charts_first)
        self.pad_widths = _pad_widths(field_map)
        if self.pad_widths is not None:
            # keep only halo entries with a source: (D, halo) positions, sources, coefficients
            ph, pw = self.pad_widths
            interior = torch.zeros(self.target_shape, dtype=torch.bool)
            interior[..., ph : h - ph, pw : w - pw] = True
            halo = np.flatnonzero(~interior.reshape(-1).numpy() & np.any(coeff != 0, axis=0))
            index, coeff = index[:, halo], coeff[:, halo]
            self.register_buffer("halo", torch.from_numpy(halo), persistent=False)
        self.register_buffer("index", torch.tensor(index), persistent=False)
        # float64, cast to the input's dtype on use: exact for any ρ, whatever the default dtype or casts
        self.register_constant("coeff", coeff)
        # a pure permutation needs no multiply
        self.plain_gather = bool(index.shape[0] == 1 and np.all(coeff == 1.0))
        # entries without a source read some pixel times zero; masked to exact zeros so that a NaN or Inf there stays put
        missing = ~np.any(coeff != 0, axis=0)
        self.register_buffer("missing", torch.from_numpy(missing) if missing.any() else None, persistent=False)

    def _gather(self, flat: torch.Tensor) -> torch.Tensor:
        # index_select, not flat[:, index]: the advanced-indexing kernel is several times slower here
        if self.plain_gather:
            return flat.index_select(1, self.index[0])
        coeff = self.coeff.to(flat.dtype)
        out = flat.index_select(1, self.index[0]) * coeff[0]
        for k in range(1, self.index.shape[0]):
            out = out + flat.index_select(1, self.index[k]) * coeff[k]
        return out if self.missing is None else out.masked_fill(self.missing, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.source_shape:
            raise ValueError(
                f"expected a field of shape (batch, {', '.join(map(str, self.source_shape))}) "
                f"for field type {self.field_type}, got {tuple(x.shape)}"
            )
        batch = x.shape[0]  # sizes spelled out: -1 is ambiguous for an empty batch
        flat = x.reshape(batch, math.prod(self.source_shape))
        if self.pad_widths is None:
            out = self._gather(flat)
        else:
            ph, pw = self.pad_widths
            layout = x.transpose(1, 2) if self.charts_first and x.dim() == 5 else x
            out = F.pad(layout, (pw, pw, ph, ph)).reshape(batch, math.prod(self.target_shape))
            if len(self.halo):  # in place: F.pad's backward does not need its output
                out.index_copy_(1, self.halo, self._gather(flat))
        if self.charts_first:
            n, c, h, w = self.target_shape
            return out.reshape(batch * n, c, h, w)
        return out.reshape(batch, *self.target_shape)


def _pad_widths(field_map: FieldMap) -> tuple[int, int] | None:
    """``(ph, pw)`` if the map copies its source unchanged into the middle of a grown grid, else None."""
    (n, h, w), (nt, ht, wt) = field_map.source_grid, field_map.target_grid
    ph, pw = (ht - h) // 2, (wt - w) // 2
    if nt != n or ht != h + 2 * ph or wt != w + 2 * pw or (ph, pw) == (0, 0):
        return None
    middle = (slice(None), slice(ph, ph + h), slice(pw, pw + w))
    same = np.array_equal(field_map.source[middle], np.arange(n * h * w).reshape(n, h, w))
    return (ph, pw) if same and not field_map.element[middle].any() else None
