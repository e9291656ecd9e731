"""Float64 exactness survives dtype round trips: ``module.float().double()`` is as equivariant as a fresh module.

Layers keep exact constants (kernel bases, transport coefficients such as √3/2, averaging weights
such as 1/3) and cast them where they are used; a cast of the module must not round them for good.
"""

from __future__ import annotations

import pytest
import torch

from gaugecnn import FieldType, dihedral_group
from gaugecnn._constants import ExactConstants
from gaugecnn.testing import assert_gauge_equivariant, layer_suite, tolerance
from manifolds import CubeSphere, IcoSphere

pytestmark = pytest.mark.usefixtures("single_thread")

CASES = {
    # irrational transport (60-degree turns of a tangent vector) on a vertex grid with cones
    "icosphere_d6": (lambda: IcoSphere(2, dihedral_group(6)), "1 irrep(0,1) + 1 tangent + 1 regular"),
    # the band-limited bases' irrational entries on a cell grid
    "cube_d4": (lambda: CubeSphere(4, dihedral_group(4)), "1 tangent + 1 regular + 1 sign"),
}


@pytest.mark.parametrize("name", CASES)
def test_every_layer_is_as_equivariant_after_a_float32_round_trip(name, record_error):
    make, spec = CASES[name]
    manifold = make()
    t = FieldType(manifold.group, spec)
    for layer_name, layer in layer_suite(manifold, t).items():
        space = getattr(layer, "in_atlas", manifold)
        in_type = getattr(layer, "in_type", None) or t
        out_type = getattr(layer, "out_type", None)
        constants = {
            (module, name): buffer.clone()
            for module in layer.modules()
            if isinstance(module, ExactConstants)
            for name, buffer in module.named_buffers(recurse=False)
            if name in module._exact
        }
        layer.float().double()
        for (module, buffer_name), before in constants.items():
            after = getattr(module, buffer_name)
            assert after.dtype == torch.float64 and torch.equal(after, before), (layer_name, buffer_name)
        err = assert_gauge_equivariant(layer, space, in_type, out_type, tol=tolerance(torch.float64), trials=1)
        record_error(err)
        assert err < 1e-13, (layer_name, err)


def test_constants_follow_the_device_and_stay_float64_under_half():
    conv = layer_suite(CubeSphere(2), FieldType(CubeSphere(2).group, "1 tangent"))["conv3"]
    conv.half()
    bases = [b for n, b in conv.named_buffers() if n.startswith("basis_")]
    assert bases and all(b.dtype == torch.float64 for b in bases)
    assert all(p.dtype == torch.float16 for p in conv.parameters())
