"""Frozen convolutions for inference: gauge convolutions become fixed kernels and index padding.

``export(model)`` returns an eval-mode copy in which every ``GaugeConv`` and
``ConventionalConv`` is a ``FrozenConv``: one gather with precomputed indices, one
``conv2d`` with a fixed kernel. A ``FieldBatchNorm`` right after a convolution in an
``nn.Sequential`` is folded into its kernel and bias (in eval mode it is the per-channel
affine map ``y · s + t``, so ``conv(x; K, b) · s + t = conv(x; s K, s b + t)``). Nothing is left
that needs gaugecnn's Python at run time once the result is captured with ``torch.export``:

    exported = export(model)
    program = torch.export.export(exported, (x,))       # then torch.export.save(program, "model.pt2")

``export(model, memory_format=torch.channels_last)`` runs every frozen convolution on
channels-last tensors, which CPU convolutions (oneDNN) run faster; the values are the same.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .batchnorm import FieldBatchNorm
from .conv import ConventionalConv, GaugeConv

__all__ = ["export", "FrozenConv"]


class FrozenConv(nn.Module):
    """Index padding (along glued axes) plus ``conv2d`` with a fixed kernel: the inference form of a conv on an atlas.

    Args:
        conv: the convolution to freeze; its current kernel and bias are copied.
        memory_format: ``torch.channels_last`` to keep the kernel (and run the conv) channels-last.

    Shapes: those of ``conv``. ``export`` builds these for every convolution of a model.
    """

    weight: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, conv: GaugeConv | ConventionalConv, memory_format: torch.memory_format = torch.contiguous_format):
        super().__init__()
        with torch.no_grad():
            if isinstance(conv, GaugeConv):
                weight, bias = conv.expand_weight(), conv.expand_bias()
            else:
                weight, bias = conv.weight, conv.bias
        self.plumbing = copy.deepcopy(conv.plumbing)
        self.memory_format = memory_format
        self.atlas, self.kernel_size = conv.atlas, conv.kernel_size
        self.out_atlas = getattr(conv, "out_atlas", conv.atlas)
        if isinstance(conv, GaugeConv):  # field types kept so that the checks in gaugecnn.testing read them
            self.in_type, self.out_type = conv.in_type, conv.out_type
        self.register_buffer("weight", weight.detach().clone().contiguous(memory_format=memory_format))
        self.register_buffer("bias", None if bias is None else bias.detach().clone())

    def fold(self, norm: FieldBatchNorm) -> bool:
        """Absorb ``norm`` (eval mode) applied right after this convolution; False where that would be wrong.

        Not foldable: output pixels masked to zero (cone points, ``blind``), which the
        normalization's shift would have moved off zero.
        """
        if self.plumbing.blind is not None or norm.in_type.size != self.weight.shape[0]:
            return False
        with torch.no_grad():
            scale, shift = (t.to(self.weight.dtype) for t in norm.eval_affine())
            self.weight.mul_(scale.view(-1, 1, 1, 1))
            self.bias = shift.clone() if self.bias is None else self.bias * scale + shift
        return True

    def expanded(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fixed kernel and bias (as ``GaugeConv.expanded``: layers built on a convolution's kernel read them)."""
        return self.weight, self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.plumbing(x, self.weight, self.bias, memory_format=self.memory_format)


def export(module: nn.Module, memory_format: torch.memory_format = torch.contiguous_format) -> nn.Module:
    """An eval-mode copy of ``module`` with every atlas convolution frozen (same outputs, up to rounding).

    Args:
        module: a model or a single convolution.
        memory_format: ``torch.channels_last`` to run the convolutions on channels-last tensors.

    Examples:
        >>> import torch
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # a Möbius strip
        >>> from gaugecnn.nn import GaugeConv
        >>> conv = GaugeConv(strip, FieldType(strip.group, "1 trivial"), FieldType(strip.group, "2 regular"), 3)
        >>> frozen = export(conv)
        >>> x = torch.rand(2, 1, 5, 8)
        >>> type(frozen).__name__, torch.allclose(frozen(x), conv.eval()(x), atol=1e-6)
        ('FrozenConv', True)
    """
    if isinstance(module, (GaugeConv, ConventionalConv)):
        return FrozenConv(module, memory_format).eval()
    out = copy.deepcopy(module).eval()
    _freeze_children(out, memory_format)
    return out


def _freeze_children(module: nn.Module, memory_format: torch.memory_format) -> None:
    previous: FrozenConv | None = None
    for name, child in module.named_children():
        if isinstance(child, (GaugeConv, ConventionalConv)):
            child = FrozenConv(child, memory_format).eval()
            setattr(module, name, child)
        elif isinstance(module, nn.Sequential) and isinstance(child, FieldBatchNorm) and previous is not None:
            if previous.fold(child):
                child = nn.Identity()
                setattr(module, name, child)
        else:
            _freeze_children(child, memory_format)
        previous = child if isinstance(child, FrozenConv) and isinstance(module, nn.Sequential) else None
