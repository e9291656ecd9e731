"""Rotated MNIST models: one architecture, in gaugecnn under C4, C8, C16 and SO(2), and in escnn under C8 and C16.

The architecture follows the MNIST models of the E(2)-steerable CNNs experiments (six
convolutions, 7 x 7 then 5 x 5, batch norm and ELU after each, pooling after the second and the
fourth, group pooling, a global maximum over the plane, two fully connected layers), narrowed
for CPUs: the channel widths ``16, 32, 32, 32, 48, 64`` are kept across groups (``channels /
|G|`` regular fields, whole for C4, C8 and C16; for SO(2), copies of the irreps of frequencies 0
to 3, 7 channels a copy, the nearest whole number of copies: 14, 35, 35, 35, 49, 63 channels).
Convolutions keep the 29 x 29 size (zero padding); pooling is a 3 x 3 maximum at stride 2 about
the even pixels (29 -> 15 -> 8), which the rotations by 90 degrees keep. In escnn the same
layers are ``R2Conv``, ``InnerBatchNorm``, ``ELU``, ``PointwiseMaxPool(3, 2, 1)``, ``GroupPooling``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MODELS", "GAUGECNN_MODELS", "ESCNN_MODELS", "build_model", "count_parameters", "group_of", "library_of"]

CHANNELS = (16, 32, 32, 32, 48, 64)
KERNELS = (7, 5, 5, 5, 5, 5)
POOL_AFTER = (1, 3)  # after the second and the fourth convolution
FREQUENCIES = 3  # SO(2): irreps of frequencies 0 .. 3, 7 channels a copy
GAUGECNN_MODELS = {"c4_regular": "C4", "c8_regular": "C8", "c16_regular": "C16", "so2_irreps": "SO(2)"}
ESCNN_MODELS = {"escnn_c8_regular": "C8", "escnn_c16_regular": "C16"}
MODELS = {**GAUGECNN_MODELS, **ESCNN_MODELS}
SIZE = 29


def group_of(name: str) -> str:
    return MODELS[name]


def library_of(name: str) -> str:
    return "escnn" if name in ESCNN_MODELS else "gaugecnn"


def _order(group: str) -> int:
    return {"C4": 4, "C8": 8, "C16": 16}[group]


def _head(channels: int, classes: int) -> list[nn.Module]:
    return [nn.Linear(channels, 64), nn.BatchNorm1d(64), nn.ELU(), nn.Linear(64, classes)]


class _GlobalMax(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=(-2, -1))


def _gaugecnn_model(group_name: str, classes: int) -> nn.Module:
    from gaugecnn import FieldType, cyclic_group, irrep, so2_group
    from gaugecnn import nn as gnn
    from manifolds import Plane

    group = so2_group() if group_name == "SO(2)" else cyclic_group(_order(group_name))
    space = Plane(SIZE, group)

    def field_type(channels: int) -> FieldType:
        if group.is_continuous:
            copies = max(1, round(channels / (1 + 2 * FREQUENCIES)))
            return FieldType(group, [irrep(group, k) for k in range(FREQUENCIES + 1) for _ in range(copies)])
        return FieldType(group, f"{max(1, channels // group.rotation_order)} regular")

    types = [FieldType(group, "1 trivial")] + [field_type(c) for c in CHANNELS]
    layers: list[nn.Module] = []
    for i, k in enumerate(KERNELS):
        layers += [gnn.GaugeConv(space, types[i], types[i + 1], k), gnn.FieldBatchNorm(types[i + 1]), gnn.ELU(types[i + 1])]
        if i in POOL_AFTER:
            pool = gnn.GaugePool(space, types[i + 1])
            layers.append(pool)
            space = pool.out_atlas
    invariant = gnn.GroupPool(types[-1])
    return nn.Sequential(gnn.GaugeSequential(*layers, invariant), _GlobalMax(), *_head(invariant.out_type.size, classes))


class _EscnnModel(nn.Module):
    """escnn's layers on a GeometricTensor, then the plain head."""

    def __init__(self, group_name: str, classes: int):
        super().__init__()
        from escnn import gspaces
        from escnn import nn as enn

        space = gspaces.rot2dOnR2(_order(group_name))
        types = [enn.FieldType(space, [space.trivial_repr])] + [
            enn.FieldType(space, [space.regular_repr] * max(1, c // _order(group_name))) for c in CHANNELS
        ]
        layers: list = []
        for i, k in enumerate(KERNELS):
            layers += [enn.R2Conv(types[i], types[i + 1], k, padding=k // 2), enn.InnerBatchNorm(types[i + 1]), enn.ELU(types[i + 1])]
            if i in POOL_AFTER:
                layers.append(enn.PointwiseMaxPool(types[i + 1], 3, stride=2, padding=1))
        pool = enn.GroupPooling(types[-1])
        self.in_type = types[0]
        self.features = enn.SequentialModule(*layers, pool)
        self.head = nn.Sequential(_GlobalMax(), *_head(pool.out_type.size, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from escnn import nn as enn

        return self.head(self.features(enn.GeometricTensor(x, self.in_type)).tensor)


def build_model(name: str, classes: int = 10) -> nn.Module:
    """The model ``name`` (``MODELS``); escnn's need escnn installed (an environment of its own, numpy < 2)."""
    if name in ESCNN_MODELS:
        return _EscnnModel(ESCNN_MODELS[name], classes)
    if name not in GAUGECNN_MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return _gaugecnn_model(GAUGECNN_MODELS[name], classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
