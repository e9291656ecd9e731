"""Convolutions on atlases: the gauge-equivariant GaugeConv and the conventional baseline."""

from __future__ import annotations

import math
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atlas import Atlas
from ..fieldmap import FieldGather
from ..kernels import _check_kernel_size, bias_basis, kernel_basis, kernel_support
from ..representations import FieldType, Representation, trivial
from .padding import AtlasModule, check_field, check_group

__all__ = ["GaugeConv", "ConventionalConv"]


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_")


class _FieldGroups:
    """The fields of a type grouped by representation, in order of first appearance."""

    def __init__(self, field_type: FieldType):
        self.reps: list[Representation] = []
        channels: list[list[int]] = []
        for rep, sl in zip(field_type.reps, field_type.slices):
            if rep not in self.reps:
                self.reps.append(rep)
                channels.append([])
            channels[self.reps.index(rep)].extend(range(sl.start, sl.stop))
        self.multiplicity = [len(c) // r.dim for c, r in zip(channels, self.reps)]
        grouped = [c for cs in channels for c in cs]
        # user channel c sits at position order[c] of the grouped layout
        self.order = np.argsort(grouped)
        self.is_grouped = bool(np.array_equal(grouped, np.arange(len(grouped))))
        keys = [_key(r.name) for r in self.reps]
        if len(set(keys)) != len(keys):
            raise ValueError(f"representations in '{field_type}' need distinct names, got {[r.name for r in self.reps]}")
        self.keys = keys


def _init_std(kernel_size: int, in_size: int, out_size: int) -> float:
    """He-style init averaging fan-in and fan-out, as in the Möbius paper's reference code."""
    return 2.0 / math.sqrt(kernel_size**2 * (in_size + out_size))


class GaugeConv(AtlasModule):
    """Gauge-equivariant convolution between fields on an atlas.

    ``forward``: transport-pad the input by ``kernel_size // 2``, expand the G-steerable
    kernel ``K(g x) = ρ_out(g) K(x) ρ_in(g)⁻¹`` from its free parameters, one ``conv2d``
    with the charts folded into the batch. Biases live on the invariant subspace of ρ_out.
    On the hexagonal lattice the kernel lives on the hexagon inside the ``k x k`` array.
    Cone pixels of the atlas (``atlas.cone_pixels``) are never read and come out zero; for
    ``k >= 5`` so do the pixels within ``k // 2`` of a cone point, whose kernel reaches around
    it (for ``k = 3``, the rule of Cohen et al. 2019, only the cone pixels).

    Args:
        atlas: the atlas the fields live on.
        in_type, out_type: field types of input and output.
        kernel_size: odd kernel size.
        bias: learn G-invariant biases.
        transport: ``False`` pads without the gauge action (an ablation: breaks equivariance).

    Shapes: ``(batch, in_type.size, *atlas.shape) -> (batch, out_type.size, *atlas.shape)``.
    """

    def __init__(
        self,
        atlas: Atlas,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        bias: bool = True,
        transport: bool = True,
    ):
        super().__init__(atlas)
        kernel_size = _check_kernel_size(kernel_size)
        check_group(in_type, atlas, "in_type")
        check_group(out_type, atlas, "out_type")
        self.in_type, self.out_type, self.kernel_size = in_type, out_type, kernel_size
        self.transport = transport
        self._in, self._out = _FieldGroups(in_type), _FieldGroups(out_type)
        std = _init_std(kernel_size, in_type.size, out_type.size)

        self.weights = nn.ParameterDict()
        self._pairs: list[tuple[int, int, str]] = []
        for o, rep_out in enumerate(self._out.reps):
            for i, rep_in in enumerate(self._in.reps):
                basis = kernel_basis(rep_in, rep_out, kernel_size)
                if len(basis) == 0:
                    continue
                key = f"{self._in.keys[i]}_to_{self._out.keys[o]}"
                shape = (self._out.multiplicity[o], self._in.multiplicity[i], len(basis))
                self.weights[key] = nn.Parameter(torch.randn(shape) * std)
                self.register_buffer(f"basis_{key}", torch.tensor(basis, dtype=torch.float64), persistent=False)
                self._pairs.append((o, i, key))

        self.biases = nn.ParameterDict()
        if bias:
            for o, rep_out in enumerate(self._out.reps):
                basis = bias_basis(rep_out)
                if len(basis):
                    key = self._out.keys[o]
                    self.biases[key] = nn.Parameter(torch.zeros(self._out.multiplicity[o], len(basis)))
                    self.register_buffer(f"bias_basis_{key}", torch.tensor(basis, dtype=torch.float64), persistent=False)
        self._expanded_cache: tuple | None = None
        # follows .to() / .double() like the parameters: the dtype and device of a kernel that has none
        self.register_buffer("_float_reference", torch.zeros(0), persistent=False)
        self.register_buffer("_out_order", torch.from_numpy(self._out.order), persistent=False)
        self.register_buffer("_in_order", torch.from_numpy(self._in.order), persistent=False)
        self._bind()

    def _bind(self) -> None:
        fmap = self.atlas.padding_map(self.kernel_size // 2)
        self.pad = FieldGather(fmap if self.transport else fmap.without_gauge(), self.in_type, charts_first=True)
        self._bind_cone_mask(self.atlas, _blind_spots(self.atlas, self.kernel_size))

    def expand_weight(self) -> torch.Tensor:
        """The full kernel ``(out_type.size, in_type.size, k, k)`` in the fields' channel order."""
        k = self.kernel_size
        ref = next(iter(self.weights.values()), self._float_reference)
        dtype, device = ref.dtype, ref.device
        blocks = {}
        for o, i, key in self._pairs:
            weight = self.weights[key]
            block = torch.einsum("oib,bpqyx->opiqyx", weight, getattr(self, f"basis_{key}").to(weight.dtype))
            mo, d_out, mi, d_in = block.shape[:4]
            blocks[o, i] = block.reshape(mo * d_out, mi * d_in, k, k)
        rows = []
        for o, rep_out in enumerate(self._out.reps):
            row = []
            for i, rep_in in enumerate(self._in.reps):
                shape = (self._out.multiplicity[o] * rep_out.dim, self._in.multiplicity[i] * rep_in.dim, k, k)
                row.append(blocks.get((o, i), torch.zeros(shape, dtype=dtype, device=device)))
            rows.append(row[0] if len(row) == 1 else torch.cat(row, dim=1))
        kernel = rows[0] if len(rows) == 1 else torch.cat(rows, dim=0)
        if not self._out.is_grouped:
            kernel = kernel.index_select(0, self._out_order)
        if not self._in.is_grouped:
            kernel = kernel.index_select(1, self._in_order)
        return kernel

    def expand_bias(self) -> torch.Tensor | None:
        """The full bias ``(out_type.size,)``, or None without bias."""
        if not self.biases:
            return None
        ref = next(iter(self.biases.values()))
        parts = []
        for o, rep_out in enumerate(self._out.reps):
            key = self._out.keys[o]
            if key in self.biases:
                b = self.biases[key] @ getattr(self, f"bias_basis_{key}").to(self.biases[key].dtype)
                parts.append(b.reshape(-1))
            else:
                parts.append(torch.zeros(self._out.multiplicity[o] * rep_out.dim, dtype=ref.dtype, device=ref.device))
        bias = torch.cat(parts)
        return bias if self._out.is_grouped else bias.index_select(0, self._out_order)

    def expanded(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Kernel and bias; in eval mode without autograd they are expanded once and reused.

        The cache is a plain attribute (not a buffer: ``state_dict`` keys never change), keyed on
        the parameters' version counters and storage, so any update or ``.to()`` refreshes it.
        """
        if self.training or torch.is_grad_enabled() or torch.compiler.is_compiling():
            return self.expand_weight(), self.expand_bias()
        ref = self._float_reference  # a conv without parameters still changes dtype and device
        key = (ref.dtype, ref.device, *((p._version, p.data_ptr(), p.dtype, p.device) for p in self.parameters()))
        if self._expanded_cache is None or self._expanded_cache[0] != key:
            # in the parameters' dtype, whatever autocast is active: conv2d casts it per call
            with torch.autocast(self._out_order.device.type, enabled=False):
                self._expanded_cache = (key, self.expand_weight(), self.expand_bias())
        return self._expanded_cache[1], self._expanded_cache[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self.in_type, self.atlas.shape, "GaugeConv")
        weight, bias = self.expanded()
        y = F.conv2d(self.pad(self._zero_cones(x)), weight, bias)  # cone pixels are never read
        return self._zero_blind(_unfold_charts(y, x.shape[0], self.atlas.num_charts))

    def extra_repr(self) -> str:
        return f"in_type='{self.in_type}', out_type='{self.out_type}', kernel_size={self.kernel_size}"


def _blind_spots(atlas: Atlas, kernel_size: int) -> np.ndarray:
    """The pixels a ``k x k`` kernel cannot see exactly on an atlas with cone points.

    A ``3 x 3`` kernel reads the flat star of its own pixel (its six lattice neighbours), so
    only the cone pixels are blind, the rule of Cohen et al. (2019). A larger kernel on a
    pixel within ``k // 2`` of a cone point reaches around it, where the halo of a chart
    cannot be right for every pixel reading it: those pixels are blind too.
    """
    if kernel_size <= 3 or not atlas.cone_pixels.any():
        return atlas.cone_pixels
    return atlas.near_cones(kernel_support(atlas.group, kernel_size))


def _unfold_charts(y: torch.Tensor, batch: int, charts: int) -> torch.Tensor:
    """``(batch * charts, C, H, W) -> (batch, C, *atlas.shape)``."""
    if charts == 1:
        return y
    return y.reshape(batch, charts, *y.shape[1:]).transpose(1, 2)


class ConventionalConv(AtlasModule):
    """A conventional (coordinate dependent) convolution on an atlas: the CNN baseline.

    Charts are padded along the atlas gluing but without any gauge action, and the kernel
    is unconstrained, like ``nn.Conv2d``. It is NOT gauge equivariant.
    """

    def __init__(self, atlas: Atlas, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__(atlas)
        kernel_size = _check_kernel_size(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self._type = FieldType(atlas.group, [trivial(atlas.group)] * in_channels)
        std = _init_std(kernel_size, in_channels, out_channels)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) * std)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self._bind()

    def _bind(self) -> None:
        fmap = self.atlas.padding_map(self.kernel_size // 2).without_gauge()
        self.pad = FieldGather(fmap, self._type, charts_first=True)
        self._bind_cone_mask(self.atlas, _blind_spots(self.atlas, self.kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self._type, self.atlas.shape, "ConventionalConv")
        y = F.conv2d(self.pad(self._zero_cones(x)), self.weight, self.bias)
        return self._zero_blind(_unfold_charts(y, x.shape[0], self.atlas.num_charts))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"

