"""The icosahedral sphere: geometry against 3D positions, topology, isometries, and every layer equivariant.

Everything here comes from the general core (hexagonal lattice, vertex-grid atlas, derived
transitions, RigidMotion); these tests check that it adds up to the grid of Cohen et al.
(2019) and that every layer is exactly equivariant on it: gauge transforms that re-orient
every chart, all 60 rotations under C6, a seeded sample of the 120 rotations and
reflections under D6, float64 at the default tolerance (``check_manifold`` in
``test_manifold_concept.py``) and float32 at its own (here).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree
from torch import nn

from gaugecnn import Atlas, FieldType, cyclic_group, dihedral_group, hexagonal_lattice, irreps
from gaugecnn import nn as gnn
from gaugecnn.fieldmap import FieldGather, spatial_shape
from gaugecnn.nn.pooling import mean_of_maxima, unusable_positions, window_positions
from gaugecnn.testing import SeededTraining, assert_gauge_equivariant, assert_isometry_equivariant
from manifolds import IcoSphere
from manifolds.icosphere import _positions

F64, F32 = torch.float64, torch.float32
_ICO: dict = {}


def ico(r: int, group: str = "C6") -> IcoSphere:
    """One instance per resolution and group for the module: padding maps and isometries are built once."""
    if (r, group) not in _ICO:
        _ICO[r, group] = IcoSphere(r, cyclic_group(6) if group == "C6" else dihedral_group(6))
    return _ICO[r, group]


def isometries(atlas: IcoSphere) -> list:
    out = atlas.isometries()
    return out if len(out) == 60 else random.Random(0).sample(out, 24)


# -- geometry and topology ------------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [0, 1, 2, 3])
def test_grid_is_the_subdivided_icosahedron(r):
    atlas = ico(r)
    n = 2**r
    assert atlas.shape == (10, n, n)
    points = atlas.embedding().reshape(-1, 3)
    assert np.allclose(np.linalg.norm(points, axis=1), 1.0)
    assert len(cKDTree(points).query_pairs(1e-9)) == 0  # every vertex once
    assert len(points) + 2 == 10 * 4**r + 2  # and the two poles, stored by no chart
    assert atlas.euler_characteristic == 2 and atlas.is_orientable and atlas.is_connected


def test_twelve_cone_points_of_300_degrees_ten_of_them_pixels():
    atlas = ico(2)
    cones = [(total, interior) for _, total, interior in atlas.vertex_angles() if abs(total - 360) > 1e-6]
    assert cones == [(300.0, True)] * 12
    assert sum(360 - total for _, total, _ in atlas.vertex_angles()) == pytest.approx(360 * atlas.euler_characteristic)
    assert atlas.cone_pixels.sum() == 10
    vertices = atlas.embedding()[atlas.cone_pixels]  # the ten ring vertices of the icosahedron
    assert np.allclose(np.abs(vertices[:, 2]), 1 / np.sqrt(5))


@pytest.mark.parametrize("group", ["C6", "D6"])
def test_transitions_are_turns_by_multiples_of_60_degrees(group):
    atlas = ico(1, group)
    angles = {round(np.degrees(atlas.group.angle(atlas.transition(gl)))) % 360 for gl in atlas.gluings}
    assert angles <= {0, 60, 300} and len(atlas.gluings) == 20
    assert all(atlas.group.det(atlas.transition(gl)) == 1 for gl in atlas.gluings)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_transport_padding_finds_the_true_neighbours(r):
    """Every pixel's six lattice neighbours, read through the padding map, are its neighbours in 3D."""
    atlas = ico(r)
    n, h, w = atlas.grid
    flat = _positions(h).reshape(-1, 3)  # on the icosahedron's faces, where the edges have one length
    spacing = np.linalg.norm(flat[1] - flat[0])
    tree = cKDTree(flat)
    pad = atlas.padding_map(1).source.reshape(n, h + 2, w + 2)
    cones = set(np.flatnonzero(atlas.cone_pixels.reshape(-1)))
    for c in range(n):
        for i in range(h):
            for j in range(w):
                p = (c * h + i) * w + j
                if p in cones:
                    continue
                found = {int(pad[c, i + 1 + dy, j + 1 + dx]) for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1))}
                true = set(tree.query_ball_point(flat[p], spacing * 1.01)) - {p}
                # a neighbour on a cone point may have no source from this chart (it is never read anyway)
                assert found - {-1} == true - (cones - found) and not (true - found) - cones, (c, i, j)


@pytest.mark.parametrize("group", ["C6", "D6"])
def test_isometries_are_exact_pixel_permutations(group):
    atlas = ico(2, group)
    expected = 60 if group == "C6" else 120
    assert len(atlas.isometries()) == expected
    cones = atlas.cone_pixels.reshape(-1)
    for iso in atlas.isometries():
        fmap = iso.field_map(atlas)
        source = fmap.source.reshape(-1)
        assert len(set(source[~cones])) == int((~cones).sum())  # distinct
        assert set(source[~cones]) == set(np.flatnonzero(~cones))  # every other pixel, once
        assert np.all(cones[source[cones & (source >= 0)]])  # cone pixels come from cone pixels or poles


def test_pooling_goes_from_resolution_r_to_r_minus_1():
    atlas = ico(3)
    pool = gnn.GaugePool(atlas, FieldType(atlas.group, "1 regular"))
    assert pool.out_atlas == ico(2) and isinstance(pool.out_atlas, IcoSphere)
    x = torch.randn(2, 6, *atlas.shape)
    assert pool(x).shape == (2, 6, 10, 4, 4)


def hexagonal_patch(group: str) -> Atlas:
    """One 8 x 8 chart of the hexagonal lattice without gluings: pooling windows cut by its edges."""
    g = cyclic_group(6, hexagonal_lattice()) if group == "C6" else dihedral_group(6, hexagonal_lattice())
    return Atlas(g, (8, 8), 1, [], grid="vertices")


def vertex_pool_reference(pool: gnn.GaugePool, x: torch.Tensor) -> torch.Tensor:
    """``pool(x)`` on a vertex grid the plain way, the reference its fused path is tested against.

    Pad the field by one pixel with transport padding, read every window's ``K`` positions,
    drop the unusable ones, and take the mean or the maximum (per channel for permutation
    fields, by norm through :func:`mean_of_maxima` for the others).
    """
    atlas, coarse = pool.atlas, pool.out_atlas
    padding = atlas.padding_map(1)
    cones = torch.from_numpy(atlas.cone_pixels.copy()).reshape(spatial_shape(atlas.grid))
    padded = FieldGather(padding, pool.in_type)(x.masked_fill(cones, 0.0)).flatten(2)
    positions = window_positions(atlas, coarse)
    positions = positions.reshape(len(positions), -1)
    values = padded[:, :, torch.from_numpy(positions)]  # (B, C, K, P)
    missing = torch.from_numpy(unusable_positions(atlas, padding.source.reshape(-1)[positions]))
    if pool.mode == "avg":
        usable = (~missing).to(values.dtype)
        out = (values * usable).sum(2) / usable.sum(0).clamp_min(1.0)
    else:
        score = pool.layout.channel_norms(values).masked_fill(missing, float("-inf"))
        out = mean_of_maxima(values, score, 2)
    blind = coarse.cone_pixels | missing.all(0).numpy().reshape(coarse.cone_pixels.shape)
    out = out.reshape(x.shape[0], x.shape[1], *coarse.shape)
    return out.masked_fill(torch.from_numpy(blind).reshape(spatial_shape(coarse.grid)), 0.0)


@pytest.mark.parametrize("grid", ["icosphere", "hexagonal patch"])
@pytest.mark.parametrize("group", ["C6", "D6"])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_matches_its_plain_reference(grid, group, mode):
    """The fused window gather (and, for permutation fields, a plain maximum) against padding,
    window reads and masks done one by one: values and gradients; random, tied and all-negative inputs."""
    atlas = ico(2, group) if grid == "icosphere" else hexagonal_patch(group)
    for t in [FieldType(atlas.group, "1 regular"), *field_types(atlas.group)]:
        pool = gnn.GaugePool(atlas, t, mode)
        torch.manual_seed(0)
        random = torch.randn(2, t.size, *atlas.shape, dtype=F64)
        tied = torch.randint(-2, 3, (2, t.size, *atlas.shape)).to(F64)
        # with ties between distinct points either path's split of the gradient is a valid one
        for x, compare_gradients in ((random, True), (tied, False), (-random.abs(), True)):
            x.requires_grad_(True)
            fused, reference = pool(x), vertex_pool_reference(pool, x)
            torch.testing.assert_close(fused, reference, rtol=1e-13, atol=1e-13)
            if not compare_gradients:
                continue
            weights = torch.randn_like(fused)
            (fused_grad,) = torch.autograd.grad((fused * weights).sum(), x)
            (reference_grad,) = torch.autograd.grad((reference * weights).sum(), x)
            torch.testing.assert_close(fused_grad, reference_grad, rtol=1e-12, atol=1e-12)


def test_unknown_resolution_and_wrong_groups_are_refused():
    with pytest.raises(ValueError, match="resolution r must be an integer >= 0"):
        IcoSphere(-1)
    with pytest.raises(
        ValueError,
        match="needs a rotation as transition element .*rotation by 60 degrees.*not in the "
        r"structure group C3 \(hexagonal lattice\); use a group that contains it",
    ):
        IcoSphere(1, cyclic_group(3))
    with pytest.raises(ValueError, match="lives on the hexagonal lattice, but C4 is a group of the square lattice"):
        IcoSphere(1, cyclic_group(4))
    assert IcoSphere(1, cyclic_group(6)).group == IcoSphere(1).group
    assert IcoSphere(0, dihedral_group(6, hexagonal_lattice())).num_charts == 10


# -- every layer, equivariant ------------------------------------------------------------------------------------


def field_types(group) -> list[FieldType]:
    """Trivial, regular, tangent and every irrep."""
    return [
        FieldType(group, "2 trivial + 1 regular"),
        FieldType(group, "1 tangent + 1 trivial"),
        FieldType(group, " + ".join(f"1 {r.name}" for r in irreps(group))),
    ]


def layers(atlas, t: FieldType) -> dict[str, nn.Module]:
    torch.manual_seed(0)
    nonlinearity = gnn.ELU(t)
    if nonlinearity.norm_bias is not None:
        nonlinearity.norm_bias.data.normal_()
    batchnorm = gnn.FieldBatchNorm(t)
    batchnorm.running_mean.uniform_(-1, 1)
    batchnorm.weight.data.normal_()
    other = FieldType(t.group, "1 regular + 1 tangent")
    return {
        "conv3": gnn.GaugeConv(atlas, t, other, 3),
        "conv5": gnn.GaugeConv(atlas, t, other, 5),
        "conv3_bandlimited": gnn.GaugeConv(atlas, t, other, 3, basis="bandlimited"),
        "elu": nonlinearity,
        "batchnorm": batchnorm,
        "maxpool": gnn.GaugePool(atlas, t),
        "avgpool": gnn.GaugePool(atlas, t, "avg"),
        "grouppool": gnn.GroupPool(t),
        "upsample": gnn.GaugeUpsample(atlas, t),
        "convtranspose": gnn.GaugeConvTranspose(atlas, t, other, 3),
        "gated": gnn.GatedNonlinearity(t),
        "separable": gnn.SeparableGaugeConv(atlas, FieldType(t.group, "1 regular"), FieldType(t.group, "2 regular"), 3),
        "dropout": SeededTraining(gnn.FieldDropout(t, 0.5)),
    }


@pytest.mark.parametrize("group", ["C6", "D6"])
def test_float32_at_its_tolerance(group, record_error):
    atlas = ico(2, group)
    t = field_types(atlas.group)[0]
    for name in ("conv3", "maxpool", "upsample"):
        layer = layers(atlas, t)[name]
        in_atlas = getattr(layer, "in_atlas", atlas)
        out_type = getattr(layer, "out_type", None)
        record_error(assert_gauge_equivariant(layer, in_atlas, t, out_type, dtype=F32), F32)
        record_error(assert_isometry_equivariant(layer, in_atlas, isometries(atlas), t, out_type, dtype=F32), F32)


def test_convolutions_and_pooling_keep_cone_pixels_at_zero():
    atlas = ico(2)
    t = FieldType(atlas.group, "1 trivial + 1 regular")
    x = torch.randn(2, t.size, *atlas.shape)
    cones = torch.from_numpy(atlas.cone_pixels.copy())
    for layer in (gnn.GaugeConv(atlas, t, t, 3), gnn.ConventionalConv(atlas, t.size, 3, 3), gnn.GaugeUpsample(atlas, t)):
        y = layer(x if not isinstance(layer, gnn.GaugeUpsample) else torch.randn(2, t.size, *atlas.coarsened().shape))
        assert torch.all(y[:, :, cones] == 0) and y[:, :, ~cones].abs().sum() > 0
    coarse_cones = torch.from_numpy(atlas.coarsened().cone_pixels.copy())
    assert torch.all(gnn.GaugePool(atlas, t)(x)[:, :, coarse_cones] == 0)
    frozen = gnn.export(gnn.GaugeConv(atlas, t, t, 5))
    assert torch.all(frozen(x)[:, :, cones] == 0)


def ico_cnn(atlas: IcoSphere, classes: int = 10) -> nn.Sequential:
    """A small Icosahedral CNN: scalar image -> regular fields, two poolings, invariant logits."""
    g = atlas.group
    scalar, reg, out = FieldType(g, "1 trivial"), FieldType(g, "4 regular"), FieldType(g, "8 trivial")
    pool1 = gnn.GaugePool(atlas, reg)
    pool2 = gnn.GaugePool(pool1.out_atlas, reg)
    return nn.Sequential(
        gnn.GaugeConv(atlas, scalar, reg, 3),
        gnn.FieldBatchNorm(reg),
        gnn.ELU(reg),
        pool1,
        gnn.GaugeConv(pool1.out_atlas, reg, reg, 3),
        gnn.ELU(reg),
        pool2,
        gnn.GaugeConv(pool2.out_atlas, reg, out, 3),
        gnn.GlobalPool(out, "max"),
        nn.Linear(8, classes),
    )


@pytest.mark.parametrize("group", ["C6", "D6"])
def test_ico_cnn_logits_are_invariant_under_every_rotation(group, record_error):
    atlas = ico(3, group)
    torch.manual_seed(0)
    model = ico_cnn(atlas)
    with torch.no_grad():  # batch-norm statistics that are not the initial ones
        model.train()(torch.randn(8, 1, *atlas.shape))
    record_error(assert_isometry_equivariant(model.eval(), atlas, isometries(atlas)))  # all 60 under C6
    record_error(assert_gauge_equivariant(model, atlas))
