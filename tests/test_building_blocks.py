"""Restriction to a subgroup, gated nonlinearities and field dropout: values, errors, equivariance.

The generic suites (tests/test_manifolds.py, tests/test_icosphere.py) run the gated
nonlinearity and field dropout on every manifold; here: their own properties, float32, and
restricted networks, which are checked under the subgroup's gauge transforms.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, cyclic_group, dihedral_group, flip_group, hexagonal_lattice, irreps, trivial_group
from gaugecnn import nn as gnn
from gaugecnn.testing import SeededTraining, assert_gauge_equivariant, relative_error, tolerance
from manifolds import CubeSphere, IcoSphere, MobiusStrip, Plane, Torus

F64, F32 = torch.float64, torch.float32
D4, C4, D6, C6 = dihedral_group(4), cyclic_group(4), dihedral_group(6), cyclic_group(6)

# -- restriction ---------------------------------------------------------------------------

PAIRS = [
    (D4, C4),
    (D4, flip_group()),
    (D4, cyclic_group(2)),
    (C4, cyclic_group(2)),
    (D4, trivial_group()),
    (D6, C6),
    (D6, cyclic_group(3)),
    (C6, cyclic_group(2, hexagonal_lattice())),
    (D6, dihedral_group(3)),
]
PAIR_IDS = [f"{g.name}>{h.name}" for g, h in PAIRS]


def _named_reps(group):
    return ["trivial", "regular", *(["sign", "tangent"] if group.order > 1 else []), *[r.name for r in irreps(group)]]


@pytest.mark.parametrize("G, H", PAIRS, ids=PAIR_IDS)
def test_restricted_fields_intertwine_with_the_subgroup(G, H):
    """P ρ(ι(h)) = ρ|H(h) P for every h: the channel order is an intertwiner, for every named representation."""
    inclusion = G.inclusion(H)
    for name in _named_reps(G):
        t = FieldType(G, f"1 {name}")
        restricted, order = t.restrict(H)
        assert restricted.size == t.size and sorted(order.tolist()) == list(range(t.size))
        P = np.eye(t.size)[order]
        for h in range(H.order):
            np.testing.assert_allclose(restricted.matrix(h) @ P, P @ t.matrix(int(inclusion[h])), atol=1e-12)


@pytest.mark.parametrize("G, H", PAIRS, ids=PAIR_IDS)
def test_regular_field_splits_into_one_regular_field_per_coset(G, H):
    restricted, _ = FieldType(G, "1 regular").restrict(H)
    assert str(restricted) == f"{G.order // H.order} regular"


def test_restriction_keeps_named_representations():
    assert str(FieldType(D4, "1 sign + 1 tangent + 1 trivial").restrict(C4)[0]) == "1 trivial + 1 tangent + 1 trivial"
    assert str(FieldType(D4, "1 sign").restrict(flip_group())[0]) == "1 sign"


def test_subgroup_must_be_contained_and_share_the_lattice():
    with pytest.raises(ValueError, match="same lattice"):
        D4.inclusion(C6)
    with pytest.raises(ValueError, match="not a subgroup of C4"):
        C4.inclusion(D4)


@pytest.mark.parametrize(
    "atlas, H",
    [(Plane(5, D4), C4), (CubeSphere(4, D4), C4), (Torus(4, 4, D4), flip_group()), (IcoSphere(2, D6), C6)],
    ids=["plane", "cube", "torus", "icosphere"],
)
def test_atlas_restricts_when_every_transition_is_in_the_subgroup(atlas, H):
    restricted = atlas.restricted(H)
    assert restricted.group == H and restricted.gluings == atlas.gluings and restricted.shape == atlas.shape
    inclusion = atlas.group.inclusion(H)
    assert all(inclusion[restricted.transition(gl)] == atlas.transition(gl) for gl in atlas.gluings)


@pytest.mark.parametrize(
    "atlas, H, what", [(MobiusStrip(4, 6), trivial_group(), "reflection"), (CubeSphere(4), cyclic_group(2), "rotation by 90")]
)
def test_atlas_refuses_a_subgroup_missing_a_transition(atlas, H, what):
    with pytest.raises(ValueError, match=f"cannot restrict .* {what}"):
        atlas.restricted(H)
    with pytest.raises(ValueError, match="cannot restrict"):
        gnn.Restrict(atlas, FieldType(atlas.group, "1 regular"), H)


def _restricted_network(atlas, H):
    G = atlas.group
    t_in, t_mid = FieldType(G, "1 trivial"), FieldType(G, "1 regular + 1 tangent + 1 sign")
    restrict = gnn.Restrict(atlas, t_mid, H)
    t_out = FieldType(H, "1 regular + 1 tangent")
    torch.manual_seed(0)
    head = [gnn.GaugeConv(restrict.out_atlas, restrict.out_type, t_out, 3), gnn.ELU(t_out)]
    return torch.nn.Sequential(gnn.GaugeConv(atlas, t_in, t_mid, 3), gnn.ELU(t_mid), restrict, *head), t_in, t_out


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize(
    "atlas, H",
    [(Plane(6, D4), C4), (CubeSphere(4, D4), C4), (Torus(4, 4, D4), flip_group()), (IcoSphere(2, D6), C6)],
    ids=["plane", "cube", "torus", "icosphere"],
)
def test_restricted_network_is_equivariant_under_the_subgroup(atlas, H, dtype, record_error):
    """G layers, Restrict, H layers: gauge transforms by H on every chart commute with the whole network."""
    net, t_in, t_out = _restricted_network(atlas, H)
    net = net.to(dtype).eval()
    restricted = net[2].out_atlas
    inclusion = atlas.group.inclusion(H)
    allowed = restricted.shape_preserving_elements()
    rng = np.random.default_rng(0)
    for _ in range(3):
        gauge = [int(rng.choice(allowed)) for _ in range(atlas.num_charts)]
        gauge_g = [int(inclusion[h]) for h in gauge]
        x = torch.randn(2, t_in.size, *atlas.shape, dtype=dtype)
        with torch.no_grad():
            y = net(x)
            moved = copy.deepcopy(net)
            for i, layer in enumerate(moved):
                if isinstance(layer, gnn.AtlasModule):
                    layer.rebind(layer.atlas.reoriented(gauge_g if i < 2 else gauge))
            y_moved = moved(atlas.gauge_transform(gauge_g).apply(x, t_in))
        expected = restricted.gauge_transform(gauge).apply(y, t_out)
        cones = torch.from_numpy(restricted.reoriented(gauge).cone_pixels.copy()).reshape(atlas.shape)
        err = relative_error(y_moved.masked_fill(cones, 0), expected.masked_fill(cones, 0))
        assert err <= tolerance(dtype), f"gauge {gauge}: relative error {err:.2e}"
        record_error(err, dtype)


def test_restricted_network_keeps_rotations_and_drops_mirrors():
    """On the plane, D4 -> C4 -> invariant readout: a quarter turn of the image leaves it, a mirror does not."""
    atlas = Plane(6, D4)
    net, t_in, t_out = _restricted_network(atlas, C4)
    net = torch.nn.Sequential(*net, gnn.GroupPool(t_out), gnn.GlobalPool(gnn.GroupPool(t_out).out_type, "mean")).double().eval()
    x = torch.randn(2, 1, 6, 6, dtype=F64)
    with torch.no_grad():
        y, turned, mirrored = net(x), net(torch.rot90(x, 1, (2, 3))), net(torch.flip(x, (3,)))
    assert relative_error(turned, y) < 1e-10
    assert relative_error(mirrored, y) > 1e-3


# -- gated nonlinearity --------------------------------------------------------------------


def test_gated_nonlinearity_values():
    t = FieldType(D4, "1 regular + 1 tangent + 1 sign")
    gate = gnn.GatedNonlinearity(t)
    assert str(gate.in_type) == "1 regular + 1 tangent + 1 sign + 2 trivial" and gate.out_type == t
    x = torch.randn(3, gate.in_type.size, 4, 4, dtype=F64)
    y = gate(x)
    torch.testing.assert_close(y[:, :8], torch.nn.functional.elu(x[:, :8]))
    torch.testing.assert_close(y[:, 8:10], x[:, 8:10] * torch.sigmoid(x[:, 11:12]))
    torch.testing.assert_close(y[:, 10:11], x[:, 10:11] * torch.sigmoid(x[:, 12:13]))


def test_gated_nonlinearity_has_finite_gradients_at_zero():
    t = FieldType(D4, "1 tangent + 1 irrep(1)")
    x = torch.zeros(1, gnn.GatedNonlinearity(t).in_type.size, 3, 3, requires_grad=True)
    gnn.GatedNonlinearity(t)(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gated_nonlinearity_names_the_expected_layout():
    gate = gnn.GatedNonlinearity(FieldType(D4, "2 tangent"))
    with pytest.raises(ValueError, match="followed by 2 gates"):
        gate(torch.randn(1, 4, 3, 3))


# -- field dropout -------------------------------------------------------------------------


def test_field_dropout_drops_whole_fields_and_rescales():
    t = FieldType(D4, "1 regular + 1 tangent + 2 sign")
    drop = gnn.FieldDropout(t, 0.5)
    x = torch.ones(4000, t.size, 3, 3)
    y = drop(x)
    for s in t.slices:
        field = y[:, s]
        assert torch.all(field == field[:, :1, :1, :1])  # one value per sample and field
        assert set(field.unique().tolist()) <= {0.0, 2.0}
        assert abs(field.mean().item() - 1.0) < 0.1
    assert torch.equal(drop.eval()(x), x)


def test_per_channel_dropout_only_on_permutation_fields():
    gnn.FieldDropout(FieldType(D4, "2 regular + 1 trivial"), 0.2, per="channel")
    with pytest.raises(ValueError, match=r"does not commute with the fields \['tangent'\].*per='field'"):
        gnn.FieldDropout(FieldType(D4, "1 regular + 1 tangent"), 0.2, per="channel")
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        gnn.FieldDropout(FieldType(D4, "1 regular"), 1.0)


@pytest.mark.parametrize("atlas", [MobiusStrip(5, 6), CubeSphere(3, D4), IcoSphere(2, D6)], ids=["mobius", "cube", "ico"])
def test_new_layers_float32(atlas, record_error):
    t = FieldType(atlas.group, "1 regular + 1 tangent + 1 trivial")
    for layer in (gnn.GatedNonlinearity(t), SeededTraining(gnn.FieldDropout(t, 0.3))):
        record_error(assert_gauge_equivariant(layer, atlas, layer.in_type, layer.out_type, dtype=F32), F32)


# -- separable regular convolutions ----------------------------------------------------------


def test_separable_conv_factors_the_kernel():
    """Parameters: |G| per pair of fields for the mixing, one spatial kernel per output field, one bias each."""
    atlas = Plane(7, D4)
    t_in, t_out = FieldType(D4, "3 regular"), FieldType(D4, "5 regular")
    conv = gnn.SeparableGaugeConv(atlas, t_in, t_out, 5)
    assert sum(p.numel() for p in conv.parameters()) == 5 * 3 * 8 + 5 * 25 + 5
    weight = conv.depthwise_weight()  # channel g of a field: its spatial kernel seen from frame g
    for g in range(D4.order):
        m = D4.matrix(g)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ky, kx = m @ np.array([dy, dx]) + 2  # K_g(g x) = K_e(x)
                assert weight[g, 0, ky, kx] == weight[0, 0, dy + 2, dx + 2]


def test_separable_conv_with_unrotated_spatial_kernels_is_not_equivariant():
    """Negative control: one spatial kernel for every frame (no g⁻¹ x) breaks gauge equivariance."""
    atlas = CubeSphere(3)
    t = FieldType(atlas.group, "1 regular")
    conv = gnn.SeparableGaugeConv(atlas, t, t, 3)
    conv.kernel_source.copy_(conv.kernel_source[:1].expand_as(conv.kernel_source))
    with pytest.raises(AssertionError, match="exceeds tolerance"):
        assert_gauge_equivariant(conv, atlas)


def test_separable_conv_refuses_other_fields():
    atlas = Plane(5, D4)
    with pytest.raises(ValueError, match=r"regular fields only.*\['tangent'\].*use GaugeConv"):
        gnn.SeparableGaugeConv(atlas, FieldType(D4, "1 regular + 1 tangent"), FieldType(D4, "1 regular"), 3)


@pytest.mark.parametrize("atlas", [MobiusStrip(5, 6), CubeSphere(3, D4), IcoSphere(2, D6)], ids=["mobius", "cube", "ico"])
def test_separable_and_bandlimited_float32(atlas, record_error):
    t = FieldType(atlas.group, "2 regular")
    for layer in (gnn.SeparableGaugeConv(atlas, t, t, 3), gnn.GaugeConv(atlas, t, t, 3, basis="bandlimited")):
        record_error(assert_gauge_equivariant(layer, atlas, dtype=F32), F32)
