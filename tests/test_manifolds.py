"""The generic equivariance suite over every manifold: same helpers, same layers, no special cases.

Every manifold instance runs every layer through gauge equivariance (random re-orientation
of every chart) and isometry equivariance (its isometries, or a seeded sample of them), in
float64; pooling is checked against the isometries that remain pixel maps after it.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from gaugecnn import FieldType, cyclic_group, dihedral_group, flip_group, regular, trivial
from gaugecnn import nn as gnn
from gaugecnn.testing import SeededTraining, assert_gauge_equivariant, assert_isometry_equivariant
from manifolds import CubeSphere, Cylinder, IcoSphere, KleinBottle, MobiusStrip, Plane, Torus

MANIFOLDS = {
    "mobius": lambda: MobiusStrip(4, 6),
    "mobius_odd": lambda: MobiusStrip(5, 7),
    "plane_c4": lambda: Plane(6),
    "plane_d4_odd": lambda: Plane(5, dihedral_group(4)),
    "cylinder": lambda: Cylinder(4, 6),
    "cylinder_flip": lambda: Cylinder(4, 6, flip_group()),
    "torus": lambda: Torus(4, 6),
    "torus_d4": lambda: Torus(4, 4, dihedral_group(4)),
    "klein": lambda: KleinBottle(4, 6),
    "cube_c4": lambda: CubeSphere(4),
    "cube_d4_odd": lambda: CubeSphere(3, dihedral_group(4)),
    # the hexagonal lattice
    "torus_c6": lambda: Torus(4, 4, cyclic_group(6)),
    "torus_d6_odd": lambda: Torus(5, 5, dihedral_group(6)),
    "icosphere_c6": lambda: IcoSphere(2),
    "icosphere_d6": lambda: IcoSphere(2, dihedral_group(6)),
}

MAX_ISOMETRIES = 12


def field_types(group) -> list[FieldType]:
    """Trivial, regular, the tangent rep (for groups that have a non-trivial one) and every irrep."""
    types = [FieldType(group, "2 trivial + 1 regular")]
    if group.order > 1:
        types.append(FieldType(group, "1 tangent + 1 sign + 1 trivial"))
        types.append(FieldType(group, " + ".join(f"1 {r.name}" for r in __import__("gaugecnn").irreps(group))))
    return types


def sample_isometries(atlas):
    isometries = atlas.isometries()
    if len(isometries) > MAX_ISOMETRIES:
        isometries = random.Random(0).sample(isometries, MAX_ISOMETRIES)
    return isometries


def pixel_isometries(isometries, atlas):
    """Those isometries that still map pixels to pixels on ``atlas`` (e.g. even shifts after pooling)."""
    out = []
    for iso in isometries:
        try:
            iso.field_map(atlas)
        except ValueError:
            continue
        out.append(iso)
    return out


def layers(atlas, t: FieldType):
    """Every layer of gaugecnn.nn with its input type (atlas-independent ones included)."""
    torch.manual_seed(0)
    nonlinearity = gnn.ELU(t)
    if nonlinearity.norm_bias is not None:
        nonlinearity.norm_bias.data.normal_()
    batchnorm = gnn.FieldBatchNorm(t)
    batchnorm.running_mean.uniform_(-1, 1)
    batchnorm.running_var.uniform_(0.5, 2)
    batchnorm.weight.data.normal_()
    if batchnorm.bias is not None:
        batchnorm.bias.data.normal_()
    return {
        "conv3": gnn.GaugeConv(atlas, t, t, 3),
        "conv5": gnn.GaugeConv(atlas, t, FieldType(t.group, "1 regular + 1 trivial"), 5),
        "conv5_bandlimited": gnn.GaugeConv(atlas, t, t, 5, basis="bandlimited"),
        "elu": nonlinearity,
        "relu": gnn.ReLU(t),
        "batchnorm": batchnorm,
        "maxpool": gnn.GaugePool(atlas, t),
        "avgpool": gnn.GaugePool(atlas, t, "avg"),
        "grouppool": gnn.GroupPool(t),
        "pad": gnn.TransportPad(atlas, t, 2),
        # from atlas.coarsened() back to atlas
        "upsample": gnn.GaugeUpsample(atlas, t),
        "convtranspose": gnn.GaugeConvTranspose(atlas, t, FieldType(t.group, "1 regular + 1 trivial"), 3),
        "gated": gnn.GatedNonlinearity(t),  # reads t followed by its gates
        "separable": gnn.SeparableGaugeConv(atlas, FieldType(t.group, "1 regular"), FieldType(t.group, "2 regular"), 3),
        "dropout": SeededTraining(gnn.FieldDropout(t, 0.5)),  # one random draw, the same in both calls
    }


CASES = [(m, ti) for m in MANIFOLDS for ti in range(3)]


def test_rigid_motions_reproduce_the_cube_symmetries():
    """The general RigidMotion (positions and lattice neighbours) equals the hand-derived CubeRotation."""
    from gaugecnn import RigidMotion

    for cube in (CubeSphere(4), CubeSphere(3, dihedral_group(4))):
        for iso in cube.isometries():
            a, b = iso.field_map(cube), RigidMotion(iso.matrix).field_map(cube)
            assert np.array_equal(a.source, b.source) and np.array_equal(a.element, b.element), iso


@pytest.mark.parametrize("name, type_index", CASES, ids=[f"{m}-type{t}" for m, t in CASES])
def test_every_layer_on_every_manifold(name, type_index, record_error):
    atlas = MANIFOLDS[name]()
    types = field_types(atlas.group)
    if type_index >= len(types):
        pytest.skip(f"{atlas.group.name} has only {len(types)} distinct field types here")
    t = types[type_index]
    isometries = sample_isometries(atlas)
    for layer_name, layer in layers(atlas, t).items():
        out_type = getattr(layer, "out_type", None)
        if layer_name == "pad":  # the halo is a field on the padded grid: check the gauge part only
            continue
        in_atlas = getattr(layer, "in_atlas", atlas)  # upsampling reads the coarse grid
        in_type = getattr(layer, "in_type", None) or t
        err = assert_gauge_equivariant(layer, in_atlas, in_type, out_type)
        record_error(err)
        resampling = layer_name in ("maxpool", "avgpool", "upsample", "convtranspose")
        if resampling:
            if any(s % 2 for s in atlas.chart_shape) and name.startswith(("mobius", "torus", "klein", "cylinder")):
                continue  # stride 2 on an odd periodic axis commutes with no shift
            checked = pixel_isometries(isometries, atlas.coarsened())
        else:
            checked = isometries
        err = assert_isometry_equivariant(layer, in_atlas, checked, in_type, out_type)
        record_error(err)


def test_transport_pad_commutes_with_gauge_transforms():
    """The halo of a re-oriented field is the re-oriented halo (padding on the re-oriented atlas)."""
    cube = CubeSphere(4)
    t = FieldType(cube.group, "1 regular + 1 tangent")
    pad = gnn.TransportPad(cube, t, 2).double()
    x = torch.randn(2, t.size, *cube.shape, dtype=torch.float64)
    for gauge in ([1, 2, 3, 0, 1, 2], [3, 3, 1, 0, 0, 2]):
        moved = gnn.TransportPad(cube.reoriented(gauge), t, 2).double()
        padded_grid = cube.with_chart_shape((8, 8))
        expected = padded_grid.gauge_transform(gauge).apply(pad(x), t)
        assert torch.allclose(moved(cube.gauge_transform(gauge).apply(x, t)), expected, atol=1e-12)


def test_escnn_style_network_on_the_plane_is_rotation_invariant(record_error):
    """escnn's introductory C4 example, with gaugecnn layers: exactly invariant under the 4 rotations."""
    plane = Plane(29)  # odd size, as in escnn's example (29 x 29 images)
    g = plane.group
    scalar = FieldType(g, [trivial(g)])
    hidden = FieldType(g, [regular(g)] * 3)
    pooled = plane.coarsened()
    net = nn.Sequential(
        gnn.GaugeConv(plane, scalar, hidden, 3),
        gnn.FieldBatchNorm(hidden),
        gnn.ReLU(hidden),
        gnn.GaugeConv(plane, hidden, hidden, 3),
        gnn.FieldBatchNorm(hidden),
        gnn.ReLU(hidden),
        gnn.GaugePool(plane, hidden, "avg"),
        gnn.GroupPool(hidden),
        gnn.GlobalPool(FieldType(g, [trivial(g)] * 3), "mean"),
    )
    assert net[6].out_atlas == pooled
    net.train()
    net(torch.randn(8, 1, 29, 29))  # populate the batch-norm statistics
    err = assert_isometry_equivariant(net, plane, plane.isometries(), scalar)
    record_error(err)
    assert_gauge_equivariant(net, plane, scalar)
    err32 = assert_isometry_equivariant(net, plane, plane.isometries(), scalar, dtype=torch.float32)
    record_error(err32, torch.float32)


def test_cube_sphere_cnn_gives_rotation_invariant_logits(record_error):
    cube = CubeSphere(8)
    g = cube.group
    scalar = FieldType(g, [trivial(g)])
    hidden = FieldType(g, "2 regular + 1 tangent + 1 trivial")
    pool = gnn.GaugePool(cube, hidden)
    net = nn.Sequential(
        gnn.GaugeConv(cube, scalar, hidden, 3),
        gnn.ELU(hidden),
        pool,
        gnn.GaugeConv(pool.out_atlas, hidden, hidden, 3),
        gnn.FieldBatchNorm(hidden),
        gnn.ELU(hidden),
        gnn.GroupPool(hidden),
        gnn.GlobalPool(FieldType(g, [trivial(g)] * 4), "max"),
        nn.Linear(4, 5),
    )
    net.train()
    net(torch.randn(4, 1, *cube.shape))
    isometries = cube.isometries()
    assert len(isometries) == 24
    err = assert_isometry_equivariant(net, cube, isometries, scalar)
    record_error(err)
    record_error(assert_gauge_equivariant(net, cube, scalar, trials=5))
    # and the logits really depend on the input (the check is not vacuous)
    net.eval()
    x = torch.randn(2, 1, *cube.shape)
    assert not torch.allclose(net(x)[0], net(x)[1])


@pytest.mark.parametrize(
    "make", [lambda: CubeSphere(4), lambda: CubeSphere(4, dihedral_group(4)), lambda: KleinBottle(4, 6), lambda: Torus(3, 5)]
)
def test_isometries_are_exact_pixel_permutations(make):
    atlas = make()
    for iso in atlas.isometries():
        fmap = iso.field_map(atlas)
        assert fmap.valid.all()
        assert np.array_equal(np.sort(fmap.source.reshape(-1)), np.arange(int(np.prod(atlas.grid))))


def test_cube_sphere_geometry():
    cube = CubeSphere(4)
    assert cube.num_charts == 6 and len(cube.gluings) == 12 and cube.is_connected and cube.is_orientable
    assert cube.euler_characteristic == 2
    # every transition is a rotation, and the halo corners at the eight vertices have no source
    assert all(cube.group.det(cube.transition(gl)) == 1 for gl in cube.gluings)
    halo = cube.padding_map(1)
    corners = halo.valid[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert not corners.any()
    assert halo.valid[:, 1:-1, :].all() and halo.valid[:, :, 1:-1].all()


def test_klein_bottle_refuses_shifts_that_break_the_twist():
    with pytest.raises(ValueError, match="does not commute with the twist"):
        KleinBottle(4, 6).shift(1, 0)


def test_torus_corners_come_from_the_opposite_corner():
    torus = Torus(3, 4)
    halo = torus.padding_map(1)
    assert halo.source[0, 0, 0] == 2 * 4 + 3  # above-left of (0, 0) is (2, 3)
    assert halo.valid.all()


def test_no_manifold_names_in_the_core():
    """gaugecnn/ holds no manifold-specific code: the names appear in docstrings and comments only."""
    import ast
    from pathlib import Path

    names = ("mobius", "möbius", "cylinder", "torus", "klein", "cube", "sphere", "plane", "icosa")
    for path in (Path(__file__).resolve().parents[1] / "gaugecnn").rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Name):
                text = node.id
            elif isinstance(node, ast.Attribute):
                text = node.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value
            if text and any(n in text.lower() for n in names):
                raise AssertionError(f"{path.name}:{node.lineno} mentions a manifold in code: {text!r}")
