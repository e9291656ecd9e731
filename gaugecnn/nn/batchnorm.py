"""Batch normalization per field.

Statistics are shared by all channels of a field, averaged over the batch and every pixel
of every chart, so they are gauge invariant:

- permutation fields (trivial, regular, ...): ``(x - μ) / sqrt(σ² + ε) · w + b`` with one mean
  ``μ``, variance ``σ²``, weight ``w`` and bias ``b`` per field (a constant vector ``(1, ..., 1)`` is
  invariant under permutations, so subtracting the mean and adding ``b`` commute with ρ);
- all other fields (sign-flip, irreps, tangent): ``x / sqrt(E|v|²/d + ε) · w``, no centring and
  no bias, since such fields have no invariant direction to shift along.

When every field is a permutation representation of one dimension ``d`` (all trivial, all
regular, ...), this is torch's own batch norm on the tensor viewed as ``(batch, fields,
d · pixels)``, one fused pass (its running variance is the unbiased estimate, as
``nn.BatchNorm2d``'s). Otherwise the statistics are computed field by field as above.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..representations import FieldType
from ._fields import check_channels, check_field_type

__all__ = ["FieldBatchNorm"]


class FieldBatchNorm(nn.Module):
    """Batch norm with statistics and affine parameters per field.

    Permutation fields (trivial, regular) are centred by their mean over batch, pixels and the
    field's channels, and get a learned bias; other fields are only scaled (a shift would not
    commute with ``ρ``). Each field is divided by the square root of its variance (mean square
    over its channels) plus ``eps`` and multiplied by a learned weight.

    Args:
        field_type: field type of input and output.
        eps: added to the variance.
        momentum: the running statistics' update rate, as in ``nn.BatchNorm2d``.
        affine: learn a weight per field (and a bias per permutation field).

    Shapes: ``(batch, field_type.size, *spatial) -> same``; any number of spatial axes
    (none after global pooling). Running statistics are used in eval mode, and for an empty
    batch, which leaves them unchanged.
    """

    field_of_channel: torch.Tensor
    averaging: torch.Tensor
    centred: torch.Tensor
    centred_fields: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, field_type: FieldType, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        check_field_type(field_type, "field_type")
        self.in_type = self.out_type = field_type
        self.eps, self.momentum = eps, momentum
        n_fields = len(field_type)
        centred = [r.is_permutation for r in field_type.reps]
        field_of_channel = [f for f, s in enumerate(field_type.slices) for _ in range(s.stop - s.start)]
        averaging = torch.zeros(n_fields, field_type.size)
        for f, s in enumerate(field_type.slices):
            averaging[f, s] = 1.0 / (s.stop - s.start)
        self.register_buffer("field_of_channel", torch.tensor(field_of_channel, dtype=torch.long), persistent=False)
        self.register_buffer("averaging", averaging, persistent=False)
        self.register_buffer("centred", torch.tensor(centred, dtype=torch.bool), persistent=False)
        # indices, not a boolean mask: masking costs a host-device sync on CUDA and a graph break under torch.compile
        self.register_buffer("centred_fields", torch.tensor([f for f, c in enumerate(centred) if c], dtype=torch.long), persistent=False)
        self.register_buffer("running_mean", torch.zeros(n_fields))
        self.register_buffer("running_var", torch.ones(n_fields))
        self.weight = nn.Parameter(torch.ones(n_fields)) if affine else None
        self.bias = nn.Parameter(torch.zeros(int(sum(centred)))) if affine and any(centred) else None
        # all fields permutation representations of one dimension d: per-field statistics are torch's own
        # batch norm on (batch, fields, d * pixels), one fused pass
        dims = {r.dim for r in field_type.reps}
        self.native = all(centred) and len(dims) == 1
        self.field_dim = dims.pop() if self.native else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(x, self.in_type, "FieldBatchNorm")
        if self.native and x.numel() > 0:
            fields = x.reshape(x.shape[0], len(self.in_type), -1)
            out = F.batch_norm(fields, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps)
            return out.view_as(x)
        dims = [0, *range(2, x.dim())]
        if self.training and x.numel() > 0:  # an empty batch has no statistics (its mean would be NaN)
            mean = (self.averaging @ x.mean(dims)) * self.centred
            var = self.averaging @ (x * x).mean(dims) - mean * mean
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = self.running_mean * self.centred, self.running_var
        scale, shift = self._affine(mean, var)
        view = (1, -1) + (1,) * (x.dim() - 2)
        return x * scale.view(view) + shift.view(view)

    def _affine(self, mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel ``(scale, shift)`` of the normalization with per-field statistics ``mean``, ``var``."""
        scale = torch.rsqrt(var + self.eps)
        shift = -mean * scale
        if self.weight is not None:
            scale, shift = scale * self.weight, shift * self.weight
        if self.bias is not None:
            shift = shift.index_add(0, self.centred_fields, self.bias)
        return scale[self.field_of_channel], shift[self.field_of_channel]

    def eval_affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Eval mode as a per-channel affine map ``x · scale + shift``: what ``export`` folds into a convolution."""
        return self._affine(self.running_mean * self.centred, self.running_var)

    def extra_repr(self) -> str:
        return f"'{self.in_type}', eps={self.eps}, momentum={self.momentum}"
