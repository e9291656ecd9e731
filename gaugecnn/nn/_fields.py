"""What the field-wise layers share: input checks, and which channels are pointwise, which fields need norms."""

from __future__ import annotations

import torch
from torch import nn

from ..representations import FieldType


def field_norm(v: torch.Tensor, dim: int = 2, keepdim: bool = False) -> torch.Tensor:
    """``|v|`` along ``dim``: ``sqrt(Σ v²)``, with gradient 0 where ``v = 0`` (not NaN), as ``torch.linalg.vector_norm``.

    The same values as the plain reference ``torch.linalg.vector_norm(v, dim=dim)`` (a test holds
    the two together), computed as a sum of squares: on CPU, torch's vector norm over a short
    middle axis (a field's 2 components, between the batch and the pixels) is tens of times slower.
    """
    squares = (v * v).sum(dim, keepdim=keepdim)
    positive = squares > 0
    return torch.where(positive, torch.where(positive, squares, torch.ones_like(squares)).sqrt(), torch.zeros_like(squares))


def check_field_type(value, what: str) -> FieldType:
    """``value`` if it is a ``FieldType``, else a ``TypeError`` that says how to make one."""
    if not isinstance(value, FieldType):
        raise TypeError(
            f"{what} must be a gaugecnn FieldType, got {type(value).__name__} {value!r}; "
            "build one with FieldType(group, '2 regular + 1 trivial')"
        )
    return value


def check_floating(x, where: str) -> None:
    """Raise unless ``x`` is a floating-point tensor (integer or bool fields would be rounded silently)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{where} takes floating-point fields, got {x.dtype}: transport coefficients and averages would be "
            "rounded to integers; convert with x.float() (or x.double())"
        )


def check_channels(x, field_type: FieldType, where: str, min_dims: int = 2, what: str = "") -> None:
    """Raise unless ``x`` is a floating tensor ``(batch, field_type.size, ...)`` with at least ``min_dims`` axes."""
    check_floating(x, where)
    if x.dim() < min_dims or x.shape[1] != field_type.size:
        axes = "..." if min_dims <= 2 else "*spatial"
        raise ValueError(
            f"{where} expects (batch, {field_type.size}, {axes}){what or f' for field type {field_type}'}, got {tuple(x.shape)}"
        )


class FieldLayout(nn.Module):
    """Which channels a pointwise function may touch, and which fields go by their norm.

    Permutation representations (trivial, regular, ...) commute with any pointwise
    function; the others are handled through their gauge-invariant norm ``|v|``. One-dim
    norm fields (sign-flip and the like) need no gathering: ``|v|`` is ``abs`` on their
    channels, picked out by a mask. Larger norm fields are gathered by dimension.
    """

    norm1_mask: torch.Tensor
    norm1_channels: torch.Tensor

    def __init__(self, field_type: FieldType):
        super().__init__()
        self.field_type = field_type
        fields = list(zip(field_type.reps, field_type.slices))
        norm1 = [s.start for r, s in fields if not r.is_permutation and r.dim == 1]
        self.all_pointwise = all(r.is_permutation for r, _ in fields)
        self.all_norm1 = len(norm1) == field_type.size
        self.num_norm_fields = sum(not r.is_permutation for r, _ in fields)
        # norm fields in the order of their learned biases: dimension first, then field order
        self.norm_dims = sorted({r.dim for r, _ in fields if not r.is_permutation})
        self.multi_dims = [d for d in self.norm_dims if d > 1]
        mask = torch.zeros(field_type.size, dtype=torch.bool)
        mask[norm1] = True
        self.register_buffer("norm1_mask", mask, persistent=False)
        self.register_buffer("norm1_channels", torch.tensor(norm1, dtype=torch.long), persistent=False)
        for d in self.multi_dims:
            idx = [list(range(s.start, s.stop)) for r, s in fields if not r.is_permutation and r.dim == d]
            self.register_buffer(f"norm_{d}", torch.tensor(idx, dtype=torch.long), persistent=False)

    def norm_index(self, d: int) -> torch.Tensor:
        """``(fields, d)`` channel indices of the norm fields of dimension ``d > 1``."""
        return getattr(self, f"norm_{d}")

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """The one-dim-norm-field channel mask, shaped to broadcast against ``x``."""
        return self.norm1_mask.view(1, -1, *([1] * (x.dim() - 2)))

    def fields(self, x: torch.Tensor, d: int) -> torch.Tensor:
        """``(batch, fields, d, ...)``: the norm fields of dimension ``d`` gathered from ``x``."""
        idx = self.norm_index(d)
        return x.index_select(1, idx.reshape(-1)).unflatten(1, idx.shape)

    def scatter(self, out: torch.Tensor, d: int, values: torch.Tensor) -> torch.Tensor:
        """``out`` with the channels of the dimension-``d`` norm fields replaced by ``values`` ``(batch, fields, d, ...)``."""
        return out.index_copy(1, self.norm_index(d).reshape(-1), values.flatten(1, 2))

    def channel_norms(self, x: torch.Tensor) -> torch.Tensor:
        """A tensor like ``x`` holding ``x`` on pointwise channels and the field norm on the others."""
        if self.all_pointwise:
            return x
        if self.all_norm1:
            return x.abs()
        out = torch.where(self.mask(x), x.abs(), x) if len(self.norm1_channels) else x
        for d in self.multi_dims:
            v = self.fields(x, d)
            out = self.scatter(out, d, field_norm(v, 2, keepdim=True).expand_as(v))
        return out
