"""Channel bookkeeping shared by the field-wise layers: which channels are pointwise, which fields need norms."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..representations import FieldType


class FieldLayout(nn.Module):
    """Index buffers splitting a field type into permutation channels and norm fields.

    Permutation representations (trivial, regular, ...) commute with any pointwise
    function; the others are handled through their gauge-invariant norm ``|v|``.
    """

    def __init__(self, field_type: FieldType):
        super().__init__()
        self.field_type = field_type
        pointwise = [c for r, s in zip(field_type.reps, field_type.slices) if r.is_permutation for c in range(s.start, s.stop)]
        norm_fields = [(r, s) for r, s in zip(field_type.reps, field_type.slices) if not r.is_permutation]
        self.all_pointwise = not norm_fields
        self.norm_dims = sorted({r.dim for r, _ in norm_fields})
        grouped = list(pointwise)
        self.register_buffer("pointwise", torch.tensor(pointwise, dtype=torch.long), persistent=False)
        for d in self.norm_dims:
            idx = [list(range(s.start, s.stop)) for r, s in norm_fields if r.dim == d]
            self.register_buffer(f"norm_{d}", torch.tensor(idx, dtype=torch.long), persistent=False)
            grouped.extend(c for field in idx for c in field)
        self.register_buffer("order", torch.from_numpy(np.argsort(grouped)), persistent=False)
        self.num_norm_fields = len(norm_fields)

    def norm_index(self, d: int) -> torch.Tensor:
        """``(fields, d)`` channel indices of the norm fields of dimension ``d``."""
        return getattr(self, f"norm_{d}")

    def assemble(self, pointwise: torch.Tensor | None, norm_parts: list[torch.Tensor]) -> torch.Tensor:
        """Concatenate grouped parts (pointwise channels, then norm fields by dim) and restore the channel order."""
        parts = ([pointwise] if pointwise is not None and pointwise.shape[1] else []) + norm_parts
        return torch.cat(parts, dim=1).index_select(1, self.order)

    def channel_norms(self, x: torch.Tensor) -> torch.Tensor:
        """A tensor like ``x`` holding ``x`` on pointwise channels and the field norm on the others."""
        if self.all_pointwise:
            return x
        parts = []
        for d in self.norm_dims:
            idx = self.norm_index(d)
            v = x.index_select(1, idx.reshape(-1)).unflatten(1, idx.shape)  # (B, F, d, ...)
            norm = v.abs() if d == 1 else v.pow(2).sum(2, keepdim=True).sqrt()
            parts.append(norm.expand_as(v).flatten(1, 2))
        return self.assemble(x.index_select(1, self.pointwise), parts)
