"""Gauge-equivariant layers on atlases; they work on plain tensors ``(batch, channels, *atlas.shape)``."""

from .batchnorm import FieldBatchNorm
from .conv import ConventionalConv, GaugeConv
from .export import FrozenConv, export
from .nonlinearities import ELU, FieldNonlinearity, ReLU
from .padding import AtlasModule, TransportPad
from .pooling import GaugePool, GlobalPool, GroupPool
from .upsampling import GaugeConvTranspose, GaugeUpsample

__all__ = [
    "AtlasModule",
    "ConventionalConv",
    "ELU",
    "FieldBatchNorm",
    "FieldNonlinearity",
    "FrozenConv",
    "GaugeConv",
    "GaugeConvTranspose",
    "GaugePool",
    "GaugeUpsample",
    "GlobalPool",
    "GroupPool",
    "ReLU",
    "TransportPad",
    "export",
]
