"""Gauge-equivariant layers on atlases; they work on plain tensors ``(batch, channels, *atlas.shape)``."""

from .batchnorm import FieldBatchNorm
from .conv import ConventionalConv, GaugeConv
from .export import FrozenConv, export
from .nonlinearities import ELU, FieldNonlinearity, ReLU
from .padding import AtlasModule, TransportPad
from .pooling import GaugePool, GlobalPool, GroupPool

__all__ = [
    "AtlasModule",
    "ConventionalConv",
    "ELU",
    "FieldBatchNorm",
    "FieldNonlinearity",
    "FrozenConv",
    "GaugeConv",
    "GaugePool",
    "GlobalPool",
    "GroupPool",
    "ReLU",
    "TransportPad",
    "export",
]
