"""Gauge-equivariant nonlinearities.

- Permutation representations (trivial, regular): any pointwise σ commutes with ρ(g).
- All others (sign-flip, irreps, tangent): the norm nonlinearity
  ``v -> v/|v| · σ(|v| + b)`` with one learned bias ``b`` per field; for a 1-dim field
  this is ``sign(x) · σ(|x| + b)``. It commutes with every orthogonal ρ(g). At ``v = 0``
  it is 0 with gradient 0, as ``sign`` is at 0 (a zero field has no direction to keep);
  the gradient is finite everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..representations import FieldType
from ._fields import FieldLayout, check_channels, check_field_type, field_norm

__all__ = ["FieldNonlinearity", "ELU", "ReLU"]

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"elu": F.elu, "relu": F.relu}
_INPLACE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"elu": F.elu_, "relu": F.relu_}


class FieldNonlinearity(nn.Module):
    """Pointwise σ on permutation fields, norm nonlinearity on the others; same field type out.

    Shapes: ``(batch, field_type.size, *spatial) -> same``. ``inplace=True`` overwrites the
    input, like ``nn.ReLU(inplace=True)``, when every field is a permutation representation
    (otherwise it is ignored), except on a view of another tensor while autograd records:
    it would rewrite the base tensor's history, whose backward copies more than the in-place
    op saves (``FieldBatchNorm``'s output is such a view).

    The norm nonlinearity is ``v ↦ v/|v| σ(|v| + b)`` with a learned bias ``b`` per field
    (``sign(v) σ(|v| + b)`` for one-dimensional fields), and ``0`` at ``v = 0``.

    Args:
        field_type: field type of input and output.
        activation: ``"elu"`` or ``"relu"``.
        inplace: as above.

    Examples:
        >>> import torch
        >>> from gaugecnn import FieldType, flip_group
        >>> act = FieldNonlinearity(FieldType(flip_group(), "1 trivial + 1 sign"), "relu")
        >>> act(torch.tensor([[-1.0, -2.0]])).tolist()  # ReLU on the scalar, sign(x) ReLU(|x|) on the sign field
        [[0.0, -2.0]]
    """

    def __init__(self, field_type: FieldType, activation: str = "elu", inplace: bool = False):
        super().__init__()
        check_field_type(field_type, "field_type")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}")
        self.in_type = self.out_type = field_type
        self.activation = activation
        self.layout = FieldLayout(field_type)
        # in place, as nn.ReLU(inplace=True): only where every channel is pointwise
        self.inplace = inplace and self.layout.all_pointwise
        self.norm_bias = nn.Parameter(torch.zeros(self.layout.num_norm_fields)) if self.layout.num_norm_fields else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(x, self.in_type, type(self).__name__)
        sigma = _ACTIVATIONS[self.activation]
        layout = self.layout
        if layout.all_pointwise:
            in_place = self.inplace and (x._base is None or not torch.is_grad_enabled())
            return _INPLACE[self.activation](x) if in_place else sigma(x)
        spatial = (1,) * (x.dim() - 2)
        n1 = len(layout.norm1_channels)
        out = x if layout.all_norm1 else sigma(x)
        norm_bias = self.norm_bias
        assert norm_bias is not None  # there are norm fields
        if n1:  # one-dim norm fields, elementwise: sign(x) σ(|x| + b)
            bias = x.new_zeros(x.shape[1]).index_copy(0, layout.norm1_channels, norm_bias[:n1].to(x.dtype))
            signed = torch.sign(x) * sigma(x.abs() + bias.view(1, -1, *spatial))
            out = signed if layout.all_norm1 else torch.where(layout.mask(x), signed, out)
        start = n1
        for d in layout.multi_dims:  # v/|v| σ(|v| + b), gathered by dimension
            v = layout.fields(x, d)
            n = v.shape[1]
            bias = norm_bias[start : start + n].view(1, n, 1, *spatial)
            start += n
            norm = field_norm(v, 2, keepdim=True)  # gradient 0 at v = 0, not NaN
            # v/|v| σ(|v|+b) as v · σ(|v|+b)/|v|, and 0 at v = 0, where (as sign(0) = 0) the direction is taken as none
            positive = norm > 0
            gain = torch.where(positive, sigma(norm + bias) / torch.where(positive, norm, torch.ones_like(norm)), 0.0)
            out = layout.scatter(out, d, v * gain)
        return out

    def extra_repr(self) -> str:
        return f"'{self.in_type}', activation={self.activation}"


class ELU(FieldNonlinearity):
    """``FieldNonlinearity(field_type, "elu", inplace)``: ELU, pointwise or on the norm."""

    def __init__(self, field_type: FieldType, inplace: bool = False):
        super().__init__(field_type, "elu", inplace)


class ReLU(FieldNonlinearity):
    """``FieldNonlinearity(field_type, "relu", inplace)``: ReLU, pointwise or on the norm."""

    def __init__(self, field_type: FieldType, inplace: bool = False):
        super().__init__(field_type, "relu", inplace)
