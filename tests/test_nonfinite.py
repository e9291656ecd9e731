"""A NaN or an Inf in one pixel reaches only the outputs that read that pixel, in every layer.

Layers multiply some values by zero: a transport slot a representation does not use, a halo
position with no source, an unusable pooling position. ``NaN * 0`` is NaN, so such a slot must
never point at an unrelated pixel. Which outputs read a pixel is measured on the layer itself:
with its kernels made dense (all ones), the outputs that move when the pixel moves. The pixels
tried cover every class: interior, read across a gluing (halo source), on a cone point, and
next to one (blind for 5 x 5 kernels).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, cyclic_group
from gaugecnn import nn as gnn
from gaugecnn.testing import layer_suite
from manifolds import CubeSphere, IcoSphere, Torus

pytestmark = pytest.mark.usefixtures("single_thread")

CASES = {
    "icosphere": (lambda: IcoSphere(3), "1 regular + 1 tangent"),  # a vertex grid with cones (r = 3: 5 x 5 kernels see)
    "torus_c6": (lambda: Torus(6, 6, cyclic_group(6)), "1 tangent + 1 irrep(2)"),  # cells on the hexagonal lattice
    "cube": (lambda: CubeSphere(4), "1 regular + 1 tangent"),
}


def _pixels(manifold) -> list[tuple[str, int]]:
    """One pixel (flat index) of each class the grid has."""
    n, h, w = manifold.grid
    flat = np.arange(n * h * w).reshape(n, h, w)
    picks = [("interior", int(flat[0, h // 2, w // 2])), ("halo source", int(flat[0, 0, w // 2]))]
    picks += [("first", 0), ("last corner", int(flat[-1, -1, -1]))]  # index 0: where unused slots used to point
    cones = np.flatnonzero(manifold.cone_pixels.reshape(-1))
    if len(cones):
        c, i, j = np.unravel_index(cones[0], manifold.grid)
        picks += [("cone", int(cones[0])), ("next to a cone", int(flat[c, min(i + 1, h - 1), min(j + 1, w - 1)]))]
    return picks


def _dense(layer: torch.nn.Module) -> torch.nn.Module:
    """The layer with every kernel replaced by ones: it reads its whole window with positive weight."""
    for module in layer.modules():
        if isinstance(module, gnn.GaugeConv):
            shape = (module.out_type.size, module.in_type.size, module.kernel_size, module.kernel_size)
            module.expand_weight = lambda shape=shape: torch.ones(shape, dtype=torch.float64)  # type: ignore[method-assign]
        if isinstance(module, gnn.SeparableGaugeConv):
            k, c = module.kernel_size, module.out_type.size
            module.depthwise_weight = lambda k=k, c=c: torch.ones(c, 1, k, k, dtype=torch.float64)  # type: ignore[method-assign]
    return layer


def _moved_pixels(y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Output pixels (channels reduced) where ``y`` and ``z`` differ or either is not finite."""
    bad = (y != z) | ~torch.isfinite(y) | ~torch.isfinite(z)
    return bad.flatten(2).any(1)[0] if y.dim() > 2 else bad.any(1)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_non_finite_pixel_stays_within_the_outputs_that_read_it(name, value):
    make, spec = CASES[name]
    manifold = make()
    t = FieldType(manifold.group, spec)
    layers = layer_suite(manifold, t)
    dense = {key: _dense(layer) for key, layer in layer_suite(manifold, t).items()}
    for key, layer in layers.items():
        if key == "dropout":
            continue  # a random mask: checked for equivariance elsewhere; the identity in eval mode
        layer, reference = layer.double().eval(), dense[key].double().eval()
        space = getattr(layer, "in_atlas", manifold)
        size = getattr(layer, "in_type", t).size
        x = torch.rand(1, size, *space.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.5
        with torch.no_grad():
            base = reference(x)
            for kind, pixel in _pixels(space):
                poisoned, pushed = x.clone().flatten(2), x.clone().flatten(2)
                poisoned[:, :, pixel], pushed[:, :, pixel] = value, 1e3
                out = layer(poisoned.view_as(x))
                spread = (~torch.isfinite(out)).flatten(2).any(1)[0] if out.dim() > 2 else (~torch.isfinite(out)).any(1)
                reads = _moved_pixels(reference(pushed.view_as(x)), base)
                leaked = int((spread & ~reads).sum())
                assert leaked == 0, f"{key}: a {value} at the {kind} pixel {pixel} made {leaked} outputs that do not read it non-finite"
