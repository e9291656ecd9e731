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

    ``forward``: transport-pad the input by ``kernel_size // 2`` along glued axes (``conv2d``
    zero-pads the boundary axes itself), expand the G-steerable kernel
    ``K(g x) = ρ_out(g) K(x) ρ_in(g)⁻¹`` from its free parameters, one ``conv2d`` with the
    charts folded into the batch. Biases live on the invariant subspace of ρ_out.
    On the hexagonal lattice the kernel lives on the hexagon inside the ``k x k`` array.
    Cone pixels of the atlas (``atlas.cone_pixels``) are never read and come out zero; for
    ``k >= 5`` so do the pixels within ``k // 2`` of a cone point, whose kernel reaches around
    it (for ``k = 3``, the rule of Cohen et al. 2019, only the cone pixels).

    Args:
        atlas: the atlas the fields live on.
        in_type: field type of the input.
        out_type: field type of the output.
        kernel_size: odd kernel size.
        bias: learn G-invariant biases.
        transport: ``False`` pads without the gauge action (an ablation: breaks equivariance).
        basis: ``"lattice"`` (default), every steerable kernel on the support; ``"bandlimited"``,
            those made of Gaussian rings and low angular frequencies (escnn's default band
            limit, ``gaugecnn.kernels.ring_functions``): fewer parameters, smoother kernels,
            still exactly steerable.

    Shapes: ``(batch, in_type.size, *atlas.shape) -> (batch, out_type.size, *atlas.shape)``.

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
    _kernel_source: torch.Tensor | None
    _kernel_sign: torch.Tensor | None

    def __init__(
        self,
        atlas: Atlas,
        in_type: FieldType,
        out_type: FieldType,
        kernel_size: int,
        bias: bool = True,
        transport: bool = True,
        basis: str = "lattice",
    ):
        super().__init__(atlas)
        kernel_size = _check_kernel_size(kernel_size)
        check_group(in_type, atlas, "in_type")
        check_group(out_type, atlas, "out_type")
        self.in_type, self.out_type, self.kernel_size = in_type, out_type, kernel_size
        self.transport, self.basis = transport, basis
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
                self.register_buffer(f"basis_{key}", torch.tensor(kernels, dtype=torch.float64), persistent=False)
                self._pairs.append((o, i, key))

        self.biases = nn.ParameterDict()
        if bias:
            for o, rep_out in enumerate(self._out.reps):
                biases = bias_basis(rep_out)
                if len(biases):
                    key = self._out.keys[o]
                    self.biases[key] = nn.Parameter(torch.zeros(self._out.multiplicity[o], len(biases)))
                    self.register_buffer(f"bias_basis_{key}", torch.tensor(biases, dtype=torch.float64), persistent=False)
        self._bind_gather_expansion()
        self._expanded_cache: tuple | None = None
        # follows .to() / .double() like the parameters: the dtype and device of a kernel that has none
        self.register_buffer("_float_reference", torch.zeros(0), persistent=False)
        self.register_buffer("_out_order", torch.from_numpy(self._out.order), persistent=False)
        self.register_buffer("_in_order", torch.from_numpy(self._in.order), persistent=False)
        self._bind()

    def _bind(self) -> None:
        self.pad, self.conv_padding = _halo_and_padding(self.atlas, self.in_type, self.kernel_size, self.transport)
        self._bind_cone_mask(self.atlas, _blind_spots(self.atlas, self.kernel_size))

    def _bind_gather_expansion(self) -> None:
        """Buffers for expanding the kernel by one signed gather, when every basis allows it.

        A basis of ±1 entries on disjoint supports (the exact bases of signed-permutation
        representations, ``kernel_basis``) makes every kernel entry plus or minus one parameter,
        or zero: ``kernel = sign · params[source]`` in the final channel order. Buffers
        ``_kernel_source`` (into the flattened parameters, the last index a zero) and
        ``_kernel_sign``; None when some basis is dense (then ``expand_weight`` uses einsums).
        """
        k = self.kernel_size
        shape = (self.out_type.size, self.in_type.size, k, k)
        source = np.full(shape, -1, dtype=np.int64)
        sign = np.zeros(shape)
        out_start = np.cumsum([0] + [m * r.dim for m, r in zip(self._out.multiplicity, self._out.reps)])
        in_start = np.cumsum([0] + [m * r.dim for m, r in zip(self._in.multiplicity, self._in.reps)])
        offset = 0
        usable = True
        for o, i, key in self._pairs:
            basis = getattr(self, f"basis_{key}").numpy()  # (n_b, d_out, d_in, k, k)
            nonzero = basis != 0
            if not (np.all(np.abs(basis[nonzero]) == 1) and nonzero.sum(0).max() <= 1):
                usable = False
                break
            n_b, d_out, d_in = basis.shape[:3]
            m_out, m_in = self._out.multiplicity[o], self._in.multiplicity[i]
            b_of = np.where(nonzero.any(0), nonzero.argmax(0), -1)  # (d_out, d_in, k, k): the basis element of each entry
            s_of = np.take_along_axis(basis, np.maximum(b_of, 0)[None], 0)[0]
            for a in range(m_out):
                for c in range(m_in):
                    rows = slice(out_start[o] + a * d_out, out_start[o] + (a + 1) * d_out)
                    cols = slice(in_start[i] + c * d_in, in_start[i] + (c + 1) * d_in)
                    source[rows, cols] = np.where(b_of >= 0, offset + (a * m_in + c) * n_b + b_of, -1)
                    sign[rows, cols] = s_of
            offset += m_out * m_in * n_b
        if not usable:
            self._kernel_source = self._kernel_sign = None
            return
        # grouped layout -> the fields' channel order, as expand_weight's index_select does
        source = source[self._out.order][:, self._in.order]
        sign = sign[self._out.order][:, self._in.order]
        source = np.where(source >= 0, source, offset)  # the zero appended after the parameters
        self.register_buffer("_kernel_source", torch.from_numpy(source.reshape(-1)), persistent=False)
        self.register_buffer("_kernel_sign", torch.from_numpy(sign.reshape(-1)).to(torch.get_default_dtype()), persistent=False)

    def expand_weight(self) -> torch.Tensor:
        """The full kernel ``(out_type.size, in_type.size, k, k)`` in the fields' channel order.

        One signed gather of the parameters when the bases allow it (``_bind_gather_expansion``),
        else ``expand_weight_reference``; tests check that both give the same kernel.
        """
        if self._kernel_source is None or self._kernel_sign is None:
            return self.expand_weight_reference()
        ref = next(iter(self.weights.values()), self._float_reference)
        flat = torch.cat([w.reshape(-1) for w in self.weights.values()] + [ref.new_zeros(1)])
        k = self.kernel_size
        kernel = flat.index_select(0, self._kernel_source) * self._kernel_sign.to(flat.dtype)
        return kernel.view(self.out_type.size, self.in_type.size, k, k)

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
        y = F.conv2d(_halo(self.pad, self._zero_cones(x)), weight, bias, padding=self.conv_padding)  # cone pixels are never read
        return self._zero_blind(_unfold_charts(y, x.shape[0], self.atlas.num_charts))

    def extra_repr(self) -> str:
        basis = "" if self.basis == "lattice" else f", basis={self.basis}"
        return f"in_type='{self.in_type}', out_type='{self.out_type}', kernel_size={self.kernel_size}{basis}"


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


def _halo_and_padding(atlas: Atlas, field_type: FieldType, kernel_size: int, transport: bool):
    """The transport padding a convolution needs, and the zero padding it leaves to ``conv2d``.

    Along an axis whose edges are boundaries on every chart (``atlas.boundary_axes``) the halo
    is all zeros, which ``conv2d`` pads itself (faster than a padded copy, above all on small
    grids); halos are built only along glued axes. Returns ``(FieldGather or None, (ph, pw))``.
    """
    r = kernel_size // 2
    rows_open, cols_open = atlas.boundary_axes
    halo = (0 if rows_open else r, 0 if cols_open else r)
    if halo == (0, 0):
        return None, (r, r)
    fmap = atlas.padding_map(halo)
    gather = FieldGather(fmap if transport else fmap.without_gauge(), field_type, charts_first=True)
    return gather, (r - halo[0], r - halo[1])


def _halo(pad: FieldGather | None, x: torch.Tensor) -> torch.Tensor:
    """``x`` with its halo, laid out ``(batch * charts, C, H', W')`` for ``conv2d``."""
    if pad is not None:
        return pad(x)
    if x.dim() == 5:  # several charts, no halo: fold the charts into the batch
        return x.transpose(1, 2).reshape(-1, x.shape[1], *x.shape[3:])
    return x


def _unfold_charts(y: torch.Tensor, batch: int, charts: int) -> torch.Tensor:
    """``(batch * charts, C, H, W) -> (batch, C, *atlas.shape)``."""
    if charts == 1:
        return y
    return y.reshape(batch, charts, *y.shape[1:]).transpose(1, 2)


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
        self.pad, self.conv_padding = _halo_and_padding(self.atlas, self._type, self.kernel_size, transport=False)
        self._bind_cone_mask(self.atlas, _blind_spots(self.atlas, self.kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_field(x, self._type, self.atlas.shape, "ConventionalConv")
        y = F.conv2d(_halo(self.pad, self._zero_cones(x)), self.weight, self.bias, padding=self.conv_padding)
        return self._zero_blind(_unfold_charts(y, x.shape[0], self.atlas.num_charts))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
