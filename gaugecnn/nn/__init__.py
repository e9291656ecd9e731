"""Gauge-equivariant layers on atlases; they work on plain tensors ``(batch, channels, *atlas.shape)``."""

from .batchnorm import FieldBatchNorm
from .conv import ConventionalConv, GaugeConv
from .dropout import FieldDropout
from .frozen import FrozenConv, export
from .gated import GatedNonlinearity
from .nonlinearities import ELU, FieldNonlinearity, ReLU
from .padding import AtlasModule, TransportPad
from .pooling import GaugePool
from .readout import GlobalPool, GroupPool
from .restriction import Restrict
from .separable import SeparableGaugeConv
from .sequential import GaugeSequential
from .upsampling import GaugeConvTranspose, GaugeUpsample

__all__ = [
    "AtlasModule",
    "ConventionalConv",
    "ELU",
    "FieldBatchNorm",
    "FieldDropout",
    "FieldNonlinearity",
    "FrozenConv",
    "GaugeConv",
    "GaugeConvTranspose",
    "GaugePool",
    "GaugeUpsample",
    "GatedNonlinearity",
    "GaugeSequential",
    "GlobalPool",
    "GroupPool",
    "ReLU",
    "Restrict",
    "SeparableGaugeConv",
    "TransportPad",
    "export",
]
