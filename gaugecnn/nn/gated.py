"""Gated nonlinearities: each non-permutation field scaled by the sigmoid of its own scalar gate.

For a field ``v`` of an orthogonal representation ρ and a gate ``s`` of the trivial one,

    v ↦ sigmoid(s) · v

commutes with ρ(g) because the factor is a gauge-invariant scalar (Weiler et al. 2018,
"3D Steerable CNNs"; escnn's ``GatedNonLinearity1``, e3nn's ``Gate``). Unlike the norm
nonlinearity it takes no square root, so its gradient is finite everywhere, zero vectors
included. Permutation fields (trivial, regular) need no gate: a pointwise σ commutes with ρ.
"""

from __future__ import annotations

import torch
from torch import nn

from ..representations import FieldType
from ._fields import check_channels, check_field_type
from .nonlinearities import _ACTIVATIONS

__all__ = ["GatedNonlinearity"]


class GatedNonlinearity(nn.Module):
    """Pointwise σ on permutation fields, ``sigmoid(gate) · v`` on the others.

    ``in_type`` is ``field_type`` followed by one trivial (gate) field per non-permutation
    field of ``field_type``, in their order; ``out_type`` is ``field_type``. A convolution
    in front produces the gates: ``GaugeConv(atlas, t_in, gated.in_type, k)``.

    Args:
        field_type: the field type of the output.
        activation: ``"elu"`` or ``"relu"``, the pointwise σ of the permutation fields.

    Shapes: ``(batch, in_type.size, *spatial) -> (batch, field_type.size, *spatial)``.

    Examples:
        >>> import torch
        >>> from gaugecnn import FieldType, cyclic_group
        >>> gate = GatedNonlinearity(FieldType(cyclic_group(4), "1 regular + 2 irrep(1)"))
        >>> str(gate.in_type)
        '1 regular + 2 irrep(1) + 2 trivial'
        >>> gate(torch.rand(3, 10, 6, 6)).shape
        torch.Size([3, 8, 6, 6])
    """

    gated_mask: torch.Tensor
    gate_index: torch.Tensor

    def __init__(self, field_type: FieldType, activation: str = "elu"):
        super().__init__()
        check_field_type(field_type, "field_type")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}")
        gated = [s for r, s in zip(field_type.reps, field_type.slices) if not r.is_permutation]
        self.activation = activation
        self.out_type = field_type
        self.num_gates = len(gated)
        self.in_type = field_type + FieldType(field_type.group, f"{len(gated)} trivial") if gated else field_type
        # channel -> index of its gate (among the gates), or -1 for pointwise channels
        gate_of = torch.full((field_type.size,), -1, dtype=torch.long)
        for i, s in enumerate(gated):
            gate_of[s] = i
        self.register_buffer("gated_mask", gate_of >= 0, persistent=False)
        self.register_buffer("gate_index", gate_of.clamp_min(0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(
            x,
            self.in_type,
            "GatedNonlinearity",
            what=f": the {self.out_type.size} channels of '{self.out_type}' followed by {self.num_gates} gates",
        )
        size = self.out_type.size
        fields = x[:, :size]
        pointwise = _ACTIVATIONS[self.activation](fields)
        if not self.num_gates:
            return pointwise
        gates = torch.sigmoid(x[:, size:]).index_select(1, self.gate_index)  # one gate per channel
        mask = self.gated_mask.view(1, -1, *([1] * (x.dim() - 2)))
        return torch.where(mask, fields * gates, pointwise)

    def extra_repr(self) -> str:
        return f"'{self.out_type}' + {self.num_gates} gates, activation={self.activation}"
