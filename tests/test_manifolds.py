"""The shipped manifolds: their geometry, their isometries, and networks on them.

The generic suite -- every layer on every manifold, gauge and isometry equivariance in
float64 -- is ``gaugecnn.testing.check_manifold``, run on each in ``test_manifold_concept.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gaugecnn import FieldType, dihedral_group, regular, trivial
from gaugecnn import nn as gnn
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant
from manifolds import CubeSphere, KleinBottle, Plane, Torus


def test_rigid_motions_reproduce_the_cube_symmetries():
    """The general RigidMotion (positions and lattice neighbours) equals the hand-derived CubeRotation."""
    from gaugecnn import RigidMotion

    for cube in (CubeSphere(4), CubeSphere(3, dihedral_group(4))):
        for iso in cube.isometries():
            a, b = iso.field_map(cube), RigidMotion(iso.matrix).field_map(cube)
            assert np.array_equal(a.source, b.source) and np.array_equal(a.element, b.element), iso


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
