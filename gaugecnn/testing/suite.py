"""The generic equivariance suite: every layer of ``gaugecnn.nn`` on any atlas or manifold.

``representative_field_types(group)`` picks field types that together use every kind of
representation the group has (trivial, regular, sign, tangent, every irrep); ``layer_suite``
builds every layer for one of them, with learned values made non-trivial so that they take
part in the check. ``check_manifold`` runs them all; the test suite runs it on every manifold.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import nn as gnn
from ..groups import StructureGroup
from ..lattices import square_lattice
from ..manifold import Space
from ..representations import FieldType, irreps
from .equivariance import SeededTraining

__all__ = ["representative_field_types", "layer_suite", "RESAMPLING"]

# outputs at another resolution
RESAMPLING = ("maxpool", "avgpool", "upsample", "convtranspose", "conv3_stride2", "conv2_stride2", "conv4_stride2", "convtranspose4")


_CONTINUOUS_FREQUENCIES = 3  # the irreps of SO(2) and O(2) the suite checks: frequencies 0 to 3


def _hidden(group: StructureGroup) -> str:
    """The field of the suite's hidden layers: regular, or for SO(2) and O(2) (no regular representation) the frequency-1 irrep."""
    return "regular" if not group.is_continuous else irreps(group, 1)[-1].name


def representative_field_types(group: StructureGroup) -> list[FieldType]:
    """Trivial and regular fields, then the tangent and sign representations, then every irrep (for ``|G| > 1``).

    SO(2) and O(2) have no regular representation: their first type has the frequency-1
    irrep in its place, their last the irreps up to frequency 3.

    Args:
        group: the structure group.
    """
    types = [FieldType(group, f"2 trivial + 1 {_hidden(group)}")]
    if group.order > 1 or not group.is_lattice_group:
        types.append(FieldType(group, "1 tangent + 1 sign + 1 trivial"))
        top = _CONTINUOUS_FREQUENCIES if group.is_continuous else None
        types.append(FieldType(group, " + ".join(f"1 {r.name}" for r in irreps(group, top))))
    return types


def layer_suite(space: Space, field_type: FieldType, seed: int = 0) -> dict[str, nn.Module]:
    """Every layer of ``gaugecnn.nn`` that reads fields of ``field_type`` on ``space``, by name.

    Biases, norm biases and batch-norm statistics get random values. Upsampling layers read
    ``space.coarsened()`` (their ``in_atlas``); dropout is wrapped in ``SeededTraining`` so that
    both runs of a check draw one mask; the gated nonlinearity reads ``field_type`` followed by
    its gates.

    Args:
        space: the atlas or manifold.
        field_type: the field type of the inputs.
        seed: seeds the random parameters.
    """
    t = field_type
    group = t.group
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nonlinearity = gnn.ELU(t)
        batchnorm = gnn.FieldBatchNorm(t)
        with torch.no_grad():
            if nonlinearity.norm_bias is not None:
                nonlinearity.norm_bias.normal_()
            batchnorm.running_mean.uniform_(-1, 1)
            batchnorm.running_var.uniform_(0.5, 2)
            if batchnorm.weight is not None:
                batchnorm.weight.normal_()
            if batchnorm.bias is not None:
                batchnorm.bias.normal_()
        regular_out = FieldType(group, f"1 {_hidden(group)} + 1 trivial")
        smooth = "bandlimited" if group.is_lattice_group else "harmonic"  # Gaussian rings: escnn's band limit
        layers: dict[str, nn.Module] = {
            "conv3": gnn.GaugeConv(space, t, t, 3),
            "conv5": gnn.GaugeConv(space, t, regular_out, 5),
            f"conv5_{smooth}": gnn.GaugeConv(space, t, t, 5, basis=smooth),
            "elu": nonlinearity,
            "relu": gnn.ReLU(t),
            "batchnorm": batchnorm,
            "maxpool": gnn.GaugePool(space, t),
            "avgpool": gnn.GaugePool(space, t, "avg"),
            "grouppool": gnn.GroupPool(t),
            "upsample": gnn.GaugeUpsample(space, t),
            "convtranspose": gnn.GaugeConvTranspose(space, t, regular_out, 3),
            "gated": gnn.GatedNonlinearity(t),
            "dropout": SeededTraining(gnn.FieldDropout(t, 0.5)),
        }
        if group.is_lattice_group:  # the separable kernel is turned by lattice matrices
            layers["separable"] = gnn.SeparableGaugeConv(space, FieldType(group, "1 regular"), FieldType(group, "2 regular"), 3)
        layers["conv3_dilated2"] = gnn.GaugeConv(space, t, regular_out, 3, dilation=2)
        if space.grid_kind == "vertices":  # stride 2 lands on the coarse vertices
            layers["conv3_stride2"] = gnn.GaugeConv(space, t, regular_out, 3, stride=2)
        elif group.lattice == square_lattice() and not any(n % 2 for n in space.chart_shape):
            # cell grids: even kernels centred on the 2 x 2 blocks, and their adjoint
            layers["conv2_stride2"] = gnn.GaugeConv(space, t, regular_out, 2, stride=2)
            layers["conv4_stride2"] = gnn.GaugeConv(space, t, t, 4, stride=2, basis=smooth)
            layers["convtranspose4"] = gnn.GaugeConvTranspose(space, t, regular_out, 4)
        with torch.no_grad():
            for layer in layers.values():
                for name, p in layer.named_parameters():
                    if "bias" in name:
                        p.normal_(0.0, 0.5)
    return layers
