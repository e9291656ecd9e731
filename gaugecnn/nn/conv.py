"""Convolutions on atlases: the gauge-equivariant GaugeConv and the conventional baseline."""

from __future__ import annotations

import math
import operator
import re
import warnings

import numpy as np
import torch
from torch import nn

from ..kernels import _check_kernel_size, bias_basis, default_basis, kernel_basis, kernel_support
from ..manifold import Space
from ..representations import FieldType, Representation, trivial
from ._atlas_conv import AtlasConvPlumbing
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


def _check_sampling(kernel_size: int, stride: int, dilation: int, atlas: Space) -> tuple[int, int, int]:
    """Kernel size, stride and dilation as ints, or a ValueError saying why a combination is not exact and what is.

    Exact: odd kernels at stride 1 with any dilation, on every grid; odd kernels at stride 2 on
    vertex grids (the kept vertices are a subgrid every symmetry maps onto itself); even kernels
    at stride 2 on square cell grids of even size (centred on the 2 x 2 blocks, whose centres
    every symmetry of a chart maps onto each other).
    """
    k = _check_kernel_size(kernel_size, even=True)
    for name, value in (("stride", stride), ("dilation", dilation)):
        try:
            as_int = operator.index(value)  # any integer type (NumPy, torch), but not 2.0 or "2"
        except TypeError:
            as_int = None
        if isinstance(value, bool) or as_int is None or as_int < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    stride, dilation = operator.index(stride), operator.index(dilation)
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2 (one level of the atlas's coarsening), got {stride!r}")
    if dilation > 1 and stride != 1:
        raise ValueError(
            f"dilation={dilation} works at stride 1: dilate at stride 1, then downsample (GaugePool or a stride-2 convolution)"
        )
    vertices = atlas.grid_kind == "vertices"
    even_fits = kernel_support(atlas.group, 2).all() and not any(n % 2 for n in atlas.chart_shape)
    if k % 2 == 1 and stride == 2 and not vertices:
        instead = "an even kernel (2 or 4), centred on the 2 x 2 blocks, or " if even_fits else ""
        raise ValueError(
            f"a stride-2 convolution with an odd kernel ({k}) on a cell grid would not be equivariant: the pixels it keeps "
            "(0, 2, 4, ...) are not mapped onto each other by a chart's half turn (it sends them to 1, 3, 5, ...). "
            f"Use {instead}GaugePool followed by a stride-1 convolution. "
            "On a vertex grid (grid='vertices') odd kernels at stride 2 are exact"
        )
    if k % 2 == 0:
        why = None
        if stride != 2:
            why = "at stride 1 it would put its outputs between the pixels (on the corners of the cells); use an odd kernel"
        elif vertices:
            why = "on a vertex grid the kept vertices are pixels: use an odd kernel at stride 2"
        elif not kernel_support(atlas.group, k).all():
            why = f"{atlas.group.name} does not map its half-integer offsets onto each other (the square lattice's groups do)"
        elif any(n % 2 for n in atlas.chart_shape):
            h, w = atlas.chart_shape
            why = f"charts of {h}x{w} cells do not split into 2 x 2 blocks; use an even number of cells per side"
        if why:
            raise ValueError(f"an even kernel ({k}) is exact only at stride 2 on cell grids, centred on the 2 x 2 blocks: {why}")
    return k, stride, dilation


class GaugeConv(AtlasModule):
    """Gauge-equivariant convolution between fields on an atlas.

    ``forward``: expand the G-steerable kernel ``K(g x) = ρ_out(g) K(x) ρ_in(g)⁻¹`` from its
    free parameters, then the atlas plumbing every convolution shares (``AtlasConvPlumbing``):
    transport padding by ``kernel_size // 2`` along glued axes, one ``conv2d`` with the charts
    folded into the batch. Biases live on the invariant subspace of ρ_out.
    On the hexagonal lattice the kernel lives on the hexagon inside the ``k x k`` array.
    Cone pixels of the atlas (``atlas.cone_pixels``) are never read and come out zero; for
    ``k >= 5`` so do the pixels within ``k // 2`` of a cone point, whose kernel reaches around
    it (for ``k = 3``, the rule of Cohen et al. 2019, only the cone pixels).

    Args:
        atlas: the atlas the fields live on.
        in_type: field type of the input.
        out_type: field type of the output.
        kernel_size: the kernel's side: odd, or even (2, 4, ...) at stride 2 on a cell grid.
        bias: learn G-invariant biases.
        transport: ``False`` pads without the gauge action (an ablation: breaks equivariance).
        basis: ``"lattice"`` (the default for a lattice group), every steerable kernel on the
            support; ``"bandlimited"``, those made of Gaussian rings and low angular
            frequencies (escnn's default band limit, ``gaugecnn.kernels.ring_functions``): fewer
            parameters, smoother kernels, still exactly steerable; ``"harmonic"`` (the default,
            and the only choice, for a group larger than its lattice part, such as C8 or SO(2)):
            ``gaugecnn.kernels.harmonic_basis``, steerable under all of G in the continuum, so
            exactly equivariant under the lattice part and approximately under the rest.
        stride: 1 or 2; at stride 2 the output lives on ``atlas.coarsened()`` (``out_atlas``) and
            stays exactly equivariant. On a vertex grid (the icosahedral grids) with an odd
            kernel: every second vertex, as the Icosahedral CNN downsamples. On a square cell
            grid with an even kernel (2 or 4): one output per 2 x 2 block, the kernel centred on
            the block's centre (half-integer offsets), which every symmetry of the chart keeps.
            Other combinations are not equivariant and are refused, saying what works.
        dilation: spread the kernel's taps ``dilation`` pixels apart (stride 1, any grid): the
            G-invariant support scaled, so exactly as equivariant; the halo is
            ``dilation * (kernel_size // 2)``.

    Shapes: ``(batch, in_type.size, *atlas.shape) -> (batch, out_type.size, *out_atlas.shape)``.

    Examples:
        >>> import torch
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])  # a Möbius strip
        >>> conv = GaugeConv(strip, FieldType(strip.group, "1 trivial"), FieldType(strip.group, "2 sign + 3 regular"), 3)
        >>> conv(torch.rand(4, 1, 5, 8)).shape
        torch.Size([4, 8, 5, 8])
        >>> from gaugecnn.testing import assert_gauge_equivariant
        >>> bool(assert_gauge_equivariant(conv, strip) < 1e-5)
        True
    """

    _float_reference: torch.Tensor
    _out_order: torch.Tensor
    _in_order: torch.Tensor
    _kernel_position: torch.Tensor
    _kernel_sign: torch.Tensor | None

    def __init__(
        self,
        atlas: Space,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        bias: bool = True,
        transport: bool = True,
        basis: str | None = None,
        stride: int = 1,
        dilation: int = 1,
    ):
        super().__init__(atlas)
        kernel_size, self.stride, self.dilation = _check_sampling(kernel_size, stride, dilation, atlas)
        check_group(in_type, atlas, "in_type")
        check_group(out_type, atlas, "out_type")
        self.in_type, self.out_type, self.kernel_size = in_type, out_type, kernel_size
        self.transport, self.basis = transport, default_basis(atlas.group, basis)
        self._in, self._out = _FieldGroups(in_type), _FieldGroups(out_type)
        std = _init_std(kernel_size, in_type.size, out_type.size)

        self.weights = nn.ParameterDict()
        self._pairs: list[tuple[int, int, str]] = []
        for o, rep_out in enumerate(self._out.reps):
            for i, rep_in in enumerate(self._in.reps):
                kernels = kernel_basis(rep_in, rep_out, kernel_size, self.basis)
                if len(kernels) == 0:
                    continue
                key = f"{self._in.keys[i]}_to_{self._out.keys[o]}"
                shape = (self._out.multiplicity[o], self._in.multiplicity[i], len(kernels))
                self.weights[key] = nn.Parameter(torch.randn(shape) * std)
                self.register_constant(f"basis_{key}", kernels)
                self._pairs.append((o, i, key))

        empty = [rep.name for o, rep in enumerate(self._out.reps) if not any(p[0] == o for p in self._pairs)]
        if empty:
            warnings.warn(
                f"GaugeConv({in_type} -> {out_type}, k={kernel_size}, basis={self.basis}): the steerability constraint "
                f"leaves no kernel from these inputs to the output field(s) {', '.join(empty)}, which stay zero (plus any "
                "bias); a larger kernel or other field types give them one (with the harmonic basis, frequencies above "
                "a kernel size's band limit get none)",
                stacklevel=2,
            )
        self.biases = nn.ParameterDict()
        if bias:
            for o, rep_out in enumerate(self._out.reps):
                biases = bias_basis(rep_out)
                if len(biases):
                    key = self._out.keys[o]
                    self.biases[key] = nn.Parameter(torch.zeros(self._out.multiplicity[o], len(biases)))
                    self.register_constant(f"bias_basis_{key}", biases)
        self._bind_expansion()
        self._expanded_cache: tuple | None = None
        # follows .to() / .double() like the parameters: the dtype and device of a kernel that has none
        self.register_buffer("_float_reference", torch.zeros(0), persistent=False)
        self.register_buffer("_out_order", torch.from_numpy(self._out.order), persistent=False)
        self.register_buffer("_in_order", torch.from_numpy(self._in.order), persistent=False)
        self._bind()

    def _bind(self) -> None:
        self.plumbing = AtlasConvPlumbing(self.atlas, self.in_type, self.kernel_size, self.transport, self.stride, self.dilation)
        self.out_atlas = self.atlas.coarsened() if self.stride == 2 else self.atlas

    def _bind_expansion(self) -> None:
        """The kernel as a precomputed linear map of the parameters, for every basis.

        Each pair of representations contributes the block ``W · B`` (its parameters
        ``(m_out m_in, n_b)`` times its basis ``(n_b, d_out d_in k k)``); one gather
        (``_kernel_position``) lays every block's entries out in the fields' channel order, with
        zeros where no basis reaches. When every basis is made of ±1 entries on disjoint supports
        (the exact bases of signed-permutation representations) the products are themselves a
        gather, and the kernel is one gather of the parameters times the signs
        (``_kernel_sign``). Bases and signs are exact float64 constants, cast to the parameters'
        dtype on use; ``expand_weight_reference`` (one einsum per pair, then concatenation) is
        the plain route that tests hold this against.
        """
        k = self.kernel_size
        shape = (self.out_type.size, self.in_type.size, k, k)
        out_start = np.cumsum([0] + [m * r.dim for m, r in zip(self._out.multiplicity, self._out.reps)])
        in_start = np.cumsum([0] + [m * r.dim for m, r in zip(self._in.multiplicity, self._in.reps)])
        row_of, col_of = np.argsort(self._out.order), np.argsort(self._in.order)  # grouped channel -> channel
        size = int(np.prod(shape))
        signed = True
        position = np.full(size, -1, dtype=np.int64)  # into the concatenated blocks
        gather = np.full(size, -1, dtype=np.int64)  # into the concatenated parameters (signed bases)
        sign = np.zeros(size)
        block_offset = param_offset = 0
        for o, i, key in self._pairs:
            basis = self._exact[f"basis_{key}"].numpy()  # (n_b, d_out, d_in, k, k)
            n_b, d_out, d_in = basis.shape[:3]
            m_out, m_in = self._out.multiplicity[o], self._in.multiplicity[i]
            a, c, p, q, y, x = np.meshgrid(*(np.arange(n) for n in (m_out, m_in, d_out, d_in, k, k)), indexing="ij")
            rows, cols = row_of[out_start[o] + a * d_out + p], col_of[in_start[i] + c * d_in + q]
            entry = np.ravel_multi_index((rows, cols, y, x), shape).reshape(-1)
            position[entry] = block_offset + np.arange(entry.size)  # the block is (a, c, p, q, y, x) in C order
            nonzero = basis != 0
            if signed and np.all(np.abs(basis[nonzero]) == 1) and nonzero.sum(0).max() <= 1:
                element = np.where(nonzero.any(0), nonzero.argmax(0), -1)  # (d_out, d_in, k, k)
                value = np.take_along_axis(basis, np.maximum(element, 0)[None], 0)[0]
                source = param_offset + (a * m_in + c) * n_b + element[p, q, y, x]
                gather[entry] = np.where(element[p, q, y, x] >= 0, source, -1).reshape(-1)
                sign[entry] = value[p, q, y, x].reshape(-1)
            else:
                signed = False
            block_offset += entry.size
            param_offset += m_out * m_in * n_b
        self._signed_expansion = signed
        if signed:
            self.register_buffer("_kernel_position", torch.from_numpy(np.where(gather >= 0, gather, param_offset)), persistent=False)
            self.register_constant("_kernel_sign", sign)
        else:
            self.register_buffer("_kernel_position", torch.from_numpy(np.where(position >= 0, position, block_offset)), persistent=False)
            self.register_buffer("_kernel_sign", None, persistent=False)

    def expand_weight(self) -> torch.Tensor:
        """The full kernel ``(out_type.size, in_type.size, k, k)`` in the fields' channel order.

        A precomputed expansion (``_bind_expansion``): one matrix product per pair of
        representations and one gather, or a single gather for ±1 bases; tests check it
        against ``expand_weight_reference``.
        """
        ref = next(iter(self.weights.values()), self._float_reference)
        k = self.kernel_size
        shape = (self.out_type.size, self.in_type.size, k, k)
        if self._kernel_sign is not None:  # every basis ±1 on disjoint supports
            flat = torch.cat([w.reshape(-1) for w in self.weights.values()] + [ref.new_zeros(1)])
            return (flat.index_select(0, self._kernel_position) * self._kernel_sign.to(flat.dtype)).view(shape)
        blocks = []
        for _, _, key in self._pairs:
            weight = self.weights[key]
            basis = getattr(self, f"basis_{key}")
            blocks.append((weight.reshape(-1, basis.shape[0]) @ basis.reshape(basis.shape[0], -1).to(weight.dtype)).reshape(-1))
        flat = torch.cat(blocks + [ref.new_zeros(1)])
        return flat.index_select(0, self._kernel_position).view(shape)

    def expand_weight_reference(self) -> torch.Tensor:
        """The full kernel by the plain route: one einsum of parameters and basis per pair of representations."""
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
        return self.plumbing(x, weight, bias)

    def extra_repr(self) -> str:
        basis = "" if self.basis == default_basis(self.in_type.group, None) else f", basis={self.basis}"
        stride = "" if self.stride == 1 else f", stride={self.stride}"
        dilation = "" if self.dilation == 1 else f", dilation={self.dilation}"
        return f"in_type='{self.in_type}', out_type='{self.out_type}', kernel_size={self.kernel_size}{basis}{stride}{dilation}"


class ConventionalConv(AtlasModule):
    """A conventional (coordinate dependent) convolution on an atlas: the CNN baseline.

    Charts are padded along the atlas gluing but without any gauge action, and the kernel
    is unconstrained, like ``nn.Conv2d``. It is NOT gauge equivariant.

    Args:
        atlas: the atlas the images live on.
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size.
        bias: learn one bias per output channel.

    Shapes: ``(batch, in_channels, *atlas.shape) -> (batch, out_channels, *atlas.shape)``.
    """

    def __init__(self, atlas: Space, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__(atlas)
        kernel_size = _check_kernel_size(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self._type = FieldType(atlas.group, [trivial(atlas.group)] * in_channels)
        std = _init_std(kernel_size, in_channels, out_channels)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) * std)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self._bind()

    def _bind(self) -> None:
        self.plumbing = AtlasConvPlumbing(self.atlas, self._type, self.kernel_size, transport=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self._type, self.atlas.shape, "ConventionalConv")
        return self.plumbing(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
