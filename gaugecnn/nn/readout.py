"""Invariant readouts: every field to a scalar (``GroupPool``), scalars over the whole manifold (``GlobalPool``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..representations import FieldType, trivial
from ._fields import check_channels, check_field_type, field_norm

__all__ = ["GroupPool", "GlobalPool"]


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
        check_field_type(field_type, "field_type")
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
        check_channels(x, self.in_type, "GroupPool")
        parts = []
        for kind, name, _, start in self._by_dim:
            idx = getattr(self, f"channels_{name}")
            if start is None:
                v = x.index_select(1, idx.reshape(-1)).unflatten(1, idx.shape)  # (B, F, d, ...)
            else:
                v = x.narrow(1, start, idx.numel()).unflatten(1, idx.shape)
            parts.append(v.amax(2) if kind == "max" else field_norm(v, 2))
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
        check_field_type(field_type, "field_type")
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
        self.out_atlas = None  # invariant features: no spatial axes left

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(x, self.in_type, "GlobalPool", min_dims=3)
        flat = x.flatten(2)
        return flat.amax(2) if self.reduce == "max" else flat.mean(2)
