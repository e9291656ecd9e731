"""Export for inference: gauge convolutions frozen into fixed kernels and index padding.

``export(model)`` returns an eval-mode copy in which every ``GaugeConv`` and
``ConventionalConv`` is a ``FrozenConv``: one gather with precomputed indices, one
``conv2d`` with a fixed kernel. Nothing is left that needs gaugecnn's Python at run time
once the result is traced:

    exported = export(model)
    program = torch.export.export(exported, (x,))       # or torch.jit.trace(exported, x)
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .conv import ConventionalConv, GaugeConv, _halo

__all__ = ["export", "FrozenConv"]


class FrozenConv(nn.Module):
    """Index padding (along glued axes) plus ``conv2d`` with a fixed kernel: the inference form of a conv on an atlas."""

    def __init__(self, conv: GaugeConv | ConventionalConv):
        super().__init__()
        with torch.no_grad():
            if isinstance(conv, GaugeConv):
                weight, bias = conv.expand_weight(), conv.expand_bias()
            else:
                weight, bias = conv.weight, conv.bias
        self.pad = copy.deepcopy(conv.pad)
        self.conv_padding = conv.conv_padding
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.register_buffer("cones", None if conv.cones is None else conv.cones.clone(), persistent=False)
        self.register_buffer("blind", None if conv.blind is None else conv.blind.clone(), persistent=False)
        self.charts = conv.atlas.num_charts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cones is not None:
            x = x.masked_fill(self.cones, 0.0)
        y = F.conv2d(_halo(self.pad, x), self.weight, self.bias, padding=self.conv_padding)
        if self.charts > 1:
            y = y.reshape(x.shape[0], self.charts, *y.shape[1:]).transpose(1, 2)
        return y if self.blind is None else y.masked_fill(self.blind, 0.0)


def export(module: nn.Module) -> nn.Module:
    """An eval-mode copy of ``module`` with every atlas convolution frozen (same outputs)."""
    if isinstance(module, (GaugeConv, ConventionalConv)):
        return FrozenConv(module).eval()
    out = copy.deepcopy(module).eval()
    _freeze_children(out)
    return out


def _freeze_children(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, (GaugeConv, ConventionalConv)):
            setattr(module, name, FrozenConv(child).eval())
        else:
            _freeze_children(child)
