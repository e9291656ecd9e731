"""Checks of gauge and isometry equivariance of any module on any atlas or manifold.

Both run the module in eval mode, in ``dtype`` (float64 by default), on random input, and
compare ``module(T x)`` with ``T module(x)``. The error is measured relative to the output's
largest magnitude and must stay below a dtype-aware tolerance (``tolerance(dtype)``).
With ``autocast=torch.bfloat16`` (or float16) the float32 module runs under
``torch.autocast`` and the tolerance is that of the autocast dtype. Both return the worst
error seen, so that tests can report it.

Documented tolerances (relative to the output's largest magnitude): float64 1e-10,
float32 1e-4, float16 1e-2, bfloat16 5e-2.

Pixels on cone points (``atlas.cone_pixels``, vertex grids such as the icosahedral sphere)
carry no field value -- no layer reads them, the convolutions keep them at zero -- and are
left out of the comparison; a layer that read one would still fail through its neighbours.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ..isometry import Isometry
from ..manifold import Manifold, Space, atlas_of
from ..nn.padding import AtlasModule
from ..representations import FieldType

__all__ = ["assert_gauge_equivariant", "assert_isometry_equivariant", "tolerance", "relative_error", "SeededTraining"]


_TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4, torch.bfloat16: 5e-2, torch.float16: 1e-2}


class SeededTraining(nn.Module):
    """``module`` in training mode with the random generator reset to ``seed`` before every call.

    The checks run modules in eval mode; wrap a stochastic layer (dropout) in this to check
    that each of its random draws is equivariant: both calls of a check then draw the same mask
    (see the example of ``gaugecnn.nn.FieldDropout``).

    Args:
        module: the stochastic module.
        seed: the seed of ``torch``'s global generator before every call.
    """

    def __init__(self, module: nn.Module, seed: int = 0):
        super().__init__()
        self.module, self.seed = module, seed
        self.in_type = getattr(module, "in_type", None)
        self.out_type = getattr(module, "out_type", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.module.train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self.module(x)


def tolerance(dtype: torch.dtype) -> float:
    """Default relative tolerance of the equivariance checks for ``dtype``.

    Examples:
        >>> tolerance(torch.float64), tolerance(torch.float32), tolerance(torch.bfloat16)
        (1e-10, 0.0001, 0.05)
    """
    return _TOLERANCE[dtype]


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |actual - expected| / max |expected|``."""
    if actual.shape != expected.shape:
        raise AssertionError(f"shapes differ: {tuple(actual.shape)} vs {tuple(expected.shape)}")
    scale = expected.abs().max().clamp_min(torch.finfo(expected.dtype).tiny)
    return float((actual - expected).abs().max() / scale)


def _field_types(module: nn.Module, in_type, out_type) -> tuple[FieldType, FieldType | None]:
    def find(mod, attr, children):
        if hasattr(mod, attr):
            return getattr(mod, attr)
        for child in children(mod):
            found = find(child, attr, children)
            if found is not None:
                return found
        return None

    in_type = in_type or find(module, "in_type", lambda m: list(m.children()))
    out_type = out_type or find(module, "out_type", lambda m: list(m.children())[::-1])
    if in_type is None:
        raise ValueError("cannot tell the module's input field type: pass in_type=...")
    return in_type, out_type


def _atlas_for(atlas: Space, output: torch.Tensor) -> Space | None:
    """The atlas or manifold (same charts and gluings) at the resolution of ``output``; None for invariant outputs.

    A manifold that cannot rebuild itself at that shape (a padded grid, say) gives its atlas value there.
    """
    if output.dim() == 2:
        return None
    spatial = tuple(output.shape[2:])
    chart_shape = (spatial[-2], spatial[-1])
    if (atlas.num_charts == 1 and len(spatial) != 2) or (atlas.num_charts > 1 and spatial[0] != atlas.num_charts):
        raise AssertionError(f"output spatial shape {spatial} does not fit the atlas {atlas!r}")
    if chart_shape == atlas.chart_shape:
        return atlas
    if isinstance(atlas, Manifold):
        try:
            return atlas.with_chart_shape(chart_shape)
        except (ValueError, NotImplementedError):
            pass
    return atlas_of(atlas).with_chart_shape(chart_shape)


def _prepare(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    return copy.deepcopy(module).to(dtype).eval()


def _runner(net: nn.Module, autocast: torch.dtype | None):
    """``net`` called under autocast if asked, with float32 results to compare."""
    if autocast is None:
        return net
    device = next(iter(net.parameters()), torch.empty(0)).device.type

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device, dtype=autocast):
            return net(x).float()

    return run


def _setup(module, in_type, out_type, dtype, autocast, tol, seed):
    """Field types, working dtype, tolerance and random generator of one check."""
    in_type, out_type = _field_types(module, in_type, out_type)
    dtype = torch.float32 if autocast is not None else dtype
    tol = tolerance(autocast or dtype) if tol is None else tol
    return in_type, out_type, dtype, tol, torch.Generator().manual_seed(seed)


def _expected(y: torch.Tensor, atlas: Space, out_type: FieldType | None, transform) -> torch.Tensor:
    """``T y`` with ``T = transform(atlas at the output's resolution)``; ``y`` itself for invariant outputs."""
    out_atlas = _atlas_for(atlas, y)
    if out_atlas is None:
        return y
    if out_type is None:
        raise ValueError("cannot tell the module's output field type: pass out_type=...")
    return transform(out_atlas).apply(y, out_type)


def _without_cones(y: torch.Tensor, atlas: Space | None) -> torch.Tensor:
    """``y`` with the pixels on cone points of ``atlas`` (the output's atlas) set to zero."""
    if atlas is None or not atlas.cone_pixels.any():
        return y
    return y.masked_fill(torch.from_numpy(atlas.cone_pixels.copy()).reshape(atlas.shape).to(y.device), 0.0)


def _check(err: float, tol: float, what: str) -> None:
    if not err <= tol:
        raise AssertionError(f"{what}: relative error {err:.3e} exceeds tolerance {tol:.1e}")


@torch.no_grad()
def assert_gauge_equivariant(
    module: nn.Module,
    atlas: Space,
    in_type: FieldType | None = None,
    out_type: FieldType | None = None,
    *,
    gauges: Iterable[Sequence[int]] | None = None,
    trials: int = 3,
    batch_size: int = 2,
    dtype: torch.dtype = torch.float64,
    tol: float | None = None,
    seed: int = 0,
    autocast: torch.dtype | None = None,
) -> float:
    """Check ``module(γ x) = γ module(x)`` for gauge transforms γ that re-orient every chart.

    γ picks one element ``g_c`` per chart (random shape-preserving ones unless ``gauges``
    is given); it acts on fields by ``f_c(y) -> ρ(g_c) f_c(g_c⁻¹ y)``. The transformed input is
    fed to a copy of the module bound to the re-oriented atlas (its gluings re-labelled, its
    transition elements ``g_b t g_a⁻¹``). Outputs without spatial axes must be invariant.

    Args:
        module: any module mapping fields on ``atlas`` to fields (or invariant features).
        atlas: the atlas of the input.
        in_type: the input field type; by default the module's ``in_type`` attribute.
        out_type: the output field type; by default the module's ``out_type`` attribute.
        gauges: the gauge transforms to try, one element per chart each; random ones by default.
        trials: how many random gauge transforms to try when ``gauges`` is not given.
        batch_size: inputs per check, drawn from a seeded normal distribution.
        dtype: the dtype the module runs in (float64 by default; float32 under ``autocast``).
        tol: the largest relative error allowed; ``tolerance(dtype)`` by default.
        seed: seeds the inputs (and the random gauges).
        autocast: run under ``torch.autocast`` with this dtype (``torch.bfloat16`` on CPU).

    Returns:
        The worst relative error seen (``relative_error``); an ``AssertionError`` naming the
        transform is raised when one exceeds ``tol``.

    Examples:
        >>> from gaugecnn import Atlas, FieldType, flip_group
        >>> from gaugecnn.nn import GaugeConv
        >>> strip = Atlas(flip_group(), (5, 8), 1, [(0, "left", 0, "right", True)])
        >>> conv = GaugeConv(strip, FieldType(strip.group, "1 trivial"), FieldType(strip.group, "1 sign"), 3)
        >>> assert_gauge_equivariant(conv, strip) < 1e-12
        True
    """
    in_type, out_type, dtype, tol, generator = _setup(module, in_type, out_type, dtype, autocast, tol, seed)
    if gauges is None:
        allowed = atlas.shape_preserving_elements()
        gauges = [[allowed[int(i)] for i in torch.randint(len(allowed), (atlas.num_charts,), generator=generator)] for _ in range(trials)]
    net = _prepare(module, dtype)
    worst = 0.0
    for gauge in gauges:
        x = torch.randn(batch_size, in_type.size, *atlas.shape, generator=generator, dtype=dtype)
        y = _runner(net, autocast)(x)
        moved = copy.deepcopy(net)
        for sub in moved.modules():
            if isinstance(sub, AtlasModule):
                sub.rebind(sub.atlas.reoriented(gauge))
        y_moved = _runner(moved, autocast)(atlas.gauge_transform(gauge).apply(x, in_type))
        expected = _expected(y, atlas, out_type, lambda a, gauge=gauge: a.gauge_transform(gauge))
        out_atlas = _atlas_for(atlas, y)
        cones = None if out_atlas is None else out_atlas.reoriented(gauge)
        err = relative_error(_without_cones(y_moved, cones), _without_cones(expected, cones))
        _check(err, tol, f"gauge transform {list(gauge)} of {type(module).__name__}")
        worst = max(worst, err)
    return worst


@torch.no_grad()
def assert_isometry_equivariant(
    module: nn.Module,
    atlas: Space,
    isometries: Iterable[Isometry],
    in_type: FieldType | None = None,
    out_type: FieldType | None = None,
    *,
    batch_size: int = 2,
    dtype: torch.dtype = torch.float64,
    tol: float | None = None,
    seed: int = 0,
    autocast: torch.dtype | None = None,
) -> float:
    """Check ``module(φ x) = φ module(x)`` for every isometry φ (at the input's and the output's resolution).

    Outputs without spatial axes must be invariant.

    Args:
        module: any module mapping fields on ``atlas`` to fields (or invariant features).
        atlas: the atlas of the input.
        isometries: the isometries to check, e.g. ``atlas.isometries()`` of a manifold.
        in_type: the input field type; by default the module's ``in_type`` attribute.
        out_type: the output field type; by default the module's ``out_type`` attribute.
        batch_size: inputs per check, drawn from a seeded normal distribution.
        dtype: the dtype the module runs in (float64 by default; float32 under ``autocast``).
        tol: the largest relative error allowed; ``tolerance(dtype)`` by default.
        seed: seeds the inputs (and the random gauges).
        autocast: run under ``torch.autocast`` with this dtype (``torch.bfloat16`` on CPU).

    Returns:
        The worst relative error seen (``relative_error``); an ``AssertionError`` naming the
        transform is raised when one exceeds ``tol``.

    Examples:
        >>> from gaugecnn import Atlas, ChartRotation, FieldType, cyclic_group
        >>> from gaugecnn.nn import GaugeConv
        >>> image = Atlas(cyclic_group(4), (7, 7), 1, [])  # one square chart: the plane
        >>> conv = GaugeConv(image, FieldType(image.group, "1 trivial"), FieldType(image.group, "1 regular"), 3)
        >>> turns = [ChartRotation(g) for g in range(4)]
        >>> assert_isometry_equivariant(conv, image, turns) < 1e-12
        True
    """
    in_type, out_type, dtype, tol, generator = _setup(module, in_type, out_type, dtype, autocast, tol, seed)
    run = _runner(_prepare(module, dtype), autocast)
    x = torch.randn(batch_size, in_type.size, *atlas.shape, generator=generator, dtype=dtype)
    y = run(x)
    worst = 0.0
    for iso in isometries:
        y_moved = run(iso.field_map(atlas).apply(x, in_type))
        cones = _atlas_for(atlas, y)
        err = relative_error(_without_cones(y_moved, cones), _without_cones(_expected(y, atlas, out_type, iso.field_map), cones))
        _check(err, tol, f"isometry {iso!r} of {type(module).__name__}")
        worst = max(worst, err)
    return worst
