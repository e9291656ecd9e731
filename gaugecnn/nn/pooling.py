"""Pooling: stride-2 gauge pooling, invariant group pooling, and global pooling over the manifold."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atlas import Atlas
from ..fieldmap import FieldGather, rotated_grid_source, spatial_shape
from ..representations import FieldType, trivial
from ._fields import FieldLayout
from .padding import AtlasModule, check_field, check_group

__all__ = ["GaugePool", "GroupPool", "GlobalPool"]


class GaugePool(AtlasModule):
    """Stride-2 pooling of fields, ``mode="max"`` (default) or ``"avg"``.

    Max pooling is per channel for permutation fields and by norm for the others: each
    window keeps its whole vector of largest norm ``|v|`` (for a sign-flip field: the value of
    largest absolute value, with its sign). Average pooling is linear, so it commutes with
    every ρ and treats all fields alike.

    Odd sizes are handled through the atlas: an odd axis is padded by one pixel on each
    side with transport padding (pixels without a source never win), and the pooling is
    averaged over the chart symmetries of G, ``mean_g g⁻¹ · pool(g · x)``, so that it stays
    exactly gauge equivariant. The output lives on ``atlas.coarsened()``
    (``ceil(H/2) x ceil(W/2)``). Like any stride-2 operation it commutes only with
    isometries that move pixels by even amounts.
    """

    def __init__(self, atlas: Atlas, field_type: FieldType, mode: str = "max"):
        super().__init__(atlas)
        check_group(field_type, atlas, "field_type")
        if mode not in ("max", "avg"):
            raise ValueError(f"GaugePool mode must be 'max' or 'avg', got {mode!r}")
        self.mode = mode
        self.in_type = self.out_type = field_type
        self.layout = FieldLayout(field_type)
        h, w = atlas.chart_shape
        self.halo = (h % 2, w % 2)
        self._bind()

    def _bind(self) -> None:
        self.out_atlas = self.atlas.coarsened()
        if self.halo == (0, 0):
            return
        fmap = self.atlas.padding_map(self.halo)
        self.pad = FieldGather(fmap, self.in_type)
        self.register_buffer("missing", torch.from_numpy(~fmap.valid).reshape(spatial_shape(fmap.target_grid)), persistent=False)
        # spatial symmetries of the padded chart and of the pooled chart, one row per element
        (_, hp, wp), (ho, wo) = fmap.target_grid, self.out_atlas.chart_shape
        group = self.atlas.group
        elements = [g for g in range(group.order) if group.preserves_grid(g, hp, wp)]
        forward = [rotated_grid_source(group.matrix(g), hp, wp) for g in elements]
        backward = [rotated_grid_source(group.matrix(group.inv(g)), ho, wo) for g in elements]
        self.register_buffer("sym_in", torch.from_numpy(np.stack(forward).reshape(len(elements), -1)), persistent=False)
        self.register_buffer("sym_out", torch.from_numpy(np.stack(backward).reshape(len(elements), -1)), persistent=False)

    def _pool(self, x: torch.Tensor, score: torch.Tensor | None) -> torch.Tensor:
        """Window-wise argmax of ``score`` with values taken from ``x`` (plain max if no score)."""
        if self.mode == "avg":
            return F.avg_pool2d(x, 2, 2)
        if score is None:
            return F.max_pool2d(x, 2, 2)
        pooled, idx = F.max_pool2d(score, 2, 2, return_indices=True)
        return x.flatten(2).gather(2, idx.flatten(2)).view_as(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self.in_type, self.atlas.shape, "GaugePool")
        batch, channels = x.shape[:2]
        n, h, w = self.atlas.grid
        if self.halo == (0, 0):
            plain = self.layout.all_pointwise or self.mode == "avg"
            score = None if plain else self.layout.channel_norms(x).reshape(batch, channels * n, h, w)
            out = self._pool(x.reshape(batch, channels * n, h, w), score)
        else:
            padded = self.pad(x)
            # avg: missing pixels count as zeros; max: they never win
            score = padded if self.mode == "avg" else self.layout.channel_norms(padded).masked_fill(self.missing, float("-inf"))
            hp, wp = h + 2 * self.halo[0], w + 2 * self.halo[1]
            padded = padded.reshape(batch, channels * n, hp * wp)
            score = score.reshape(batch, channels * n, hp * wp)
            ho, wo = self.out_atlas.chart_shape
            out = 0
            for fwd, bwd in zip(self.sym_in, self.sym_out):
                moved = self._pool(padded.index_select(2, fwd).view(batch, channels * n, hp, wp),
                                   score.index_select(2, fwd).view(batch, channels * n, hp, wp))
                out = out + moved.flatten(2).index_select(2, bwd)
            out = (out / len(self.sym_in)).view(batch, channels * n, ho, wo)
        return out.reshape(batch, channels, *self.out_atlas.shape)

    def extra_repr(self) -> str:
        return f"'{self.in_type}', {self.mode}, {self.atlas.chart_shape} -> {self.out_atlas.chart_shape}"


class GroupPool(nn.Module):
    """Invariant readout: every field becomes one scalar (trivial) field.

    Permutation fields (trivial, regular) give the max over their channels, the others
    their norm ``|v|``. Shapes: ``(batch, field_type.size, *spatial) -> (batch, len(field_type), *spatial)``.
    """

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
                    self._by_dim.append((kind, name, group))
        grouped = [i for _, _, group in self._by_dim for i in group]
        self.register_buffer("order", torch.from_numpy(np.argsort(grouped)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.in_type.size:
            raise ValueError(f"GroupPool expects (batch, {self.in_type.size}, ...) for '{self.in_type}', got {tuple(x.shape)}")
        parts = []
        for kind, name, _ in self._by_dim:
            idx = getattr(self, f"channels_{name}")
            v = x.index_select(1, idx.reshape(-1)).unflatten(1, idx.shape)  # (B, F, d, ...)
            parts.append(v.amax(2) if kind == "max" else torch.linalg.vector_norm(v, dim=2))
        return torch.cat(parts, 1).index_select(1, self.order)


class GlobalPool(nn.Module):
    """Pool scalar fields over the whole manifold (all charts, all pixels) to invariant features.

    ``(batch, C, *atlas.shape) -> (batch, C)``; ``reduce`` is ``"max"`` or ``"mean"``. Only
    trivial fields are invariant under gauge transforms: pool the others with GroupPool first.
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
