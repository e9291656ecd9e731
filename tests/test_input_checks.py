"""Inputs and combinations a user gets wrong: every one refused with a message that names the problem and the fix.

Non-floating fields, layers that do not fit together (GaugeSequential), dtype mismatches, the
coarse atlas handed to an upsampling layer, groups of the wrong lattice, malformed sizes and
arguments. Also: outputs are contiguous, and FieldBatchNorm compiles without a graph break.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, Lattice, cyclic_group, dihedral_group, square_lattice
from gaugecnn import nn as gnn
from gaugecnn.testing import layer_suite
from manifolds import CubeSphere, IcoSphere, MobiusStrip, Plane, Torus

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_every_layer_refuses_non_floating_fields(dtype):
    """Integer fields would have 1/2 and √3/2 rounded to 0 (upsampling, average pooling): refused everywhere."""
    for manifold, subgroup in ((CubeSphere(2, dihedral_group(4)), cyclic_group(4)), (IcoSphere(2, dihedral_group(6)), cyclic_group(6))):
        t = FieldType(manifold.group, "1 regular + 1 tangent")
        layers = {**layer_suite(manifold, t), "globalpool": gnn.GlobalPool(FieldType(t.group, "2 trivial"))}
        layers["restrict"] = gnn.Restrict(manifold, t, subgroup)
        layers["pad"] = gnn.TransportPad(manifold, t, 1)
        layers["conventional"] = gnn.ConventionalConv(manifold, t.size, 2, 3)
        for name, layer in layers.items():
            space = getattr(layer, "in_atlas", manifold)
            size = 2 if name == "globalpool" else getattr(layer, "in_type", t).size
            x = torch.ones(1, size, *space.shape).to(dtype)
            with pytest.raises(TypeError, match="floating-point fields.*convert with x.float"):
                layer(x)


def test_gauge_sequential_names_the_two_layers_that_do_not_fit():
    plane, torus = Plane(8), Torus(8, 8, cyclic_group(4))
    g = plane.group
    scalar, regular2, trivial8 = FieldType(g, "1 trivial"), FieldType(g, "2 regular"), FieldType(g, "8 trivial")
    with pytest.raises(ValueError, match=r"layer 1 \(ELU\) reads fields of type '8 trivial', but layer 0 \(GaugeConv\) writes '2 regular'"):
        gnn.GaugeSequential(gnn.GaugeConv(plane, scalar, regular2, 3), gnn.ELU(trivial8))
    with pytest.raises(ValueError, match=r"layer 2 \(GaugeConv\) works on Torus.*but layer 0 \(GaugeConv\) leaves the fields on Plane"):
        gnn.GaugeSequential(gnn.GaugeConv(plane, scalar, regular2, 3), gnn.ELU(regular2), gnn.GaugeConv(torus, regular2, regular2, 3))
    pool = gnn.GaugePool(plane, regular2)
    with pytest.raises(
        ValueError, match=r"layer 2 \(GaugeConv\) works on Plane\(size=8.*layer 1 \(GaugePool\) leaves the fields on Plane\(size=4"
    ):
        gnn.GaugeSequential(gnn.GaugeConv(plane, scalar, regular2, 3), pool, gnn.GaugeConv(plane, regular2, regular2, 3))
    with pytest.raises(ValueError, match=r"reads 3 channels, but layer 0 \(GaugeConv\) writes 8"):
        gnn.GaugeSequential(gnn.GaugeConv(plane, scalar, regular2, 3), gnn.ConventionalConv(plane, 3, 4, 3))
    # a network that fits is built, plain modules included
    fitting = gnn.GaugeSequential(
        gnn.GaugeConv(plane, scalar, regular2, 3),
        gnn.ELU(regular2),
        pool,
        gnn.GaugeConv(pool.out_atlas, regular2, regular2, 3),
        gnn.GroupPool(regular2),
        gnn.GlobalPool(FieldType(g, "2 trivial")),
        torch.nn.Linear(2, 3),
    )
    assert fitting(torch.randn(2, 1, 8, 8)).shape == (2, 3)


def test_the_benchmarks_models_are_checked_containers():
    from benchmarks.mobius_mnist.models import build_model as mobius_model
    from benchmarks.spherical_mnist.models import build_atlas, build_model

    assert isinstance(mobius_model("gauge_mixed", MobiusStrip(28, 28)), gnn.GaugeSequential)
    assert isinstance(build_model("ico_gauge_c6", build_atlas("ico_gauge_c6", quick=True)), gnn.GaugeSequential)


def test_a_dtype_mismatch_says_which_dtype_the_module_has_and_how_to_convert():
    cube = CubeSphere(4)
    t = FieldType(cube.group, "1 regular")
    conv = gnn.GaugeConv(cube, t, t, 3)
    for dtype in (torch.float64, torch.float16):
        with pytest.raises(TypeError, match=rf"weights are torch.float32 and its input is {dtype}.*x.to\(torch.float32\)"):
            conv(torch.randn(1, 4, *cube.shape, dtype=dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast casts by itself: no complaint
        assert conv(torch.randn(1, 4, *cube.shape)).dtype == torch.bfloat16


def test_the_coarse_atlas_given_to_an_upsampling_layer_is_named():
    cube = CubeSphere(8)
    t = FieldType(cube.group, "1 regular")
    coarse = cube.coarsened()
    up = gnn.GaugeConvTranspose(coarse, t, t, 3)  # a user's mistake: the coarse atlas
    with pytest.raises(ValueError, match="pass the fine atlas"):
        up(torch.randn(1, 4, *coarse.shape))


def test_contiguous_outputs_on_multi_chart_atlases_and_compile_with_aot_eager():
    cube = CubeSphere(8)
    g = cube.group
    t = FieldType(g, "2 regular")
    conv = gnn.GaugeConv(cube, FieldType(g, "1 trivial"), t, 3)
    assert conv(torch.randn(2, 1, *cube.shape)).view(2, -1).shape == (2, 8 * 6 * 64)
    net = gnn.GaugeSequential(conv, gnn.ELU(t), gnn.GroupPool(t))
    x = torch.randn(2, 1, *cube.shape)
    compiled = torch.compile(net, backend="aot_eager")
    net.train()
    y = compiled(x)
    y.square().sum().backward()
    torch.testing.assert_close(y, net(x))


def test_field_batch_norm_compiles_without_a_graph_break():
    t = FieldType(dihedral_group(4), "1 regular + 1 tangent + 2 trivial + 1 sign")
    norm = gnn.FieldBatchNorm(t).train()
    assert not norm.native and norm.bias is not None  # the path that indexes centred fields
    compiled = torch.compile(norm, backend="aot_eager", fullgraph=True)
    x = torch.randn(4, t.size, 5, 5)
    torch.testing.assert_close(compiled(x), gnn.FieldBatchNorm(t).train()(x))
    # no data-dependent op (a boolean mask's nonzero, masked_scatter) breaks the graph: indices are precomputed
    torch._dynamo.reset()
    explained = torch._dynamo.explain(gnn.FieldBatchNorm(t).train())(x)
    assert explained.graph_break_count == 0, explained.break_reasons


def test_groups_and_lattices_refuse_what_they_cannot_be():
    with pytest.raises(ValueError, match="C_n must be a positive integer, got 0 .so2_group"):
        cyclic_group(0)
    for n in (6.0, True, "6"):
        with pytest.raises(TypeError, match="must be an integer"):
            cyclic_group(n)  # type: ignore[arg-type]
    for bad in ([[np.nan, 0.0], [0.0, 1.0]], [[np.inf, 0.0], [0.0, 1.0]]):
        with pytest.raises(ValueError, match="finite numbers"):
            Lattice("broken", bad)
    renamed = Lattice("my square", [[1.0, 0.0], [0.0, 1.0]])
    assert renamed == square_lattice() and hash(renamed) == hash(square_lattice())
    assert hash(cyclic_group(4, renamed)) == hash(cyclic_group(4))


def test_manifolds_name_the_wrong_lattice_and_refuse_bad_sizes():
    with pytest.raises(ValueError, match="a CubeSphere lives on the square lattice, but C6 is a group of the hexagonal lattice"):
        CubeSphere(8, cyclic_group(6))
    with pytest.raises(ValueError, match="resolution r must be an integer"):
        IcoSphere(True)
    assert IcoSphere(np.int64(1)).r == 1
    with pytest.raises(ValueError, match="chart_shape must be two positive integers"):
        Torus(4, 4).atlas.with_chart_shape((2.5, 2.5))


def test_layers_refuse_a_string_where_a_field_type_or_group_belongs():
    plane = Plane(4)
    t = FieldType(plane.group, "1 regular")
    for make in (
        lambda: gnn.GatedNonlinearity("1 regular"),
        lambda: gnn.FieldDropout("1 regular"),
        lambda: gnn.Restrict(plane, "1 regular", cyclic_group(2)),
    ):
        with pytest.raises(TypeError, match="must be a gaugecnn FieldType.*FieldType\\(group, "):
            make()
    with pytest.raises(TypeError, match="subgroup must be a StructureGroup"):
        gnn.Restrict(plane, t, "C2")  # type: ignore[arg-type]


def test_every_manifold_takes_its_size_as_chart_shape_and_refuses_both():
    from manifolds import Cylinder, KleinBottle

    for make, shape in (
        (MobiusStrip, (4, 6)),
        (Cylinder, (4, 6)),
        (Torus, (4, 6)),
        (KleinBottle, (4, 6)),
        (Plane, (5, 5)),
        (CubeSphere, (3, 3)),
        (IcoSphere, (4, 4)),
    ):
        assert make(chart_shape=shape).chart_shape == shape
        with pytest.raises(TypeError, match="give chart_shape or"):
            make(3, chart_shape=shape)
    for make, shape in ((CubeSphere, (3, 4)), (IcoSphere, (3, 3)), (Torus, (0, 2)), (Plane, "5")):
        with pytest.raises(ValueError, match="chart_shape|power-of-two"):
            make(chart_shape=shape)
