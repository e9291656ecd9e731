"""Atlases: derived transition elements, validation, topology, transport padding, gauge transforms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gaugecnn import Atlas, FieldMap, FieldType, Gluing, cyclic_group, dihedral_group, flip_group, trivial_group
from gaugecnn.testing import relative_error

# -- fixture manifolds (test fixtures, not library manifolds) ---------------------------------------


def mobius(shape=(4, 5), group=None):
    return Atlas(group or flip_group(), shape, 1, [(0, "left", 0, "right", True)])


def cylinder(shape=(4, 5)):
    return Atlas(trivial_group(), shape, 1, [(0, "left", 0, "right", False)])


def torus(shape=(4, 5)):
    return Atlas(trivial_group(), shape, 1, [(0, "left", 0, "right", False), (0, "top", 0, "bottom", False)])


def klein(shape=(4, 5)):
    return Atlas(flip_group(), shape, 1, [(0, "left", 0, "right", True), (0, "top", 0, "bottom", False)])


def pillow(n=4):
    """A sphere: two square charts glued edge to edge along all four edges."""
    return Atlas(dihedral_group(4), (n, n), ["front", "back"], [("front", e, "back", e, False) for e in ("top", "bottom", "left", "right")])


MANIFOLDS = {
    "mobius": (mobius, False, 0),
    "cylinder": (cylinder, True, 0),
    "torus": (torus, True, 0),
    "klein": (klein, False, 0),
    "pillow": (pillow, True, 2),
}


@pytest.mark.parametrize("name", list(MANIFOLDS))
def test_orientability_and_euler_characteristic(name):
    factory, orientable, chi = MANIFOLDS[name]
    atlas = factory()
    assert atlas.is_orientable is orientable
    assert atlas.euler_characteristic == chi
    assert atlas.is_connected


def test_disk_and_sphere_from_six_faces():
    """More Euler characteristics: one unglued chart is a disk (1); a cube's six faces a sphere (2)."""
    assert Atlas(trivial_group(), (3, 3), 1).euler_characteristic == 1
    # cube: each face's edges glued to the neighbouring faces (net: top face U, bottom D, sides F, R, B, L)
    G = dihedral_group(4)
    gl = [
        ("F", "right", "R", "left", False),
        ("R", "right", "B", "left", False),
        ("B", "right", "L", "left", False),
        ("L", "right", "F", "left", False),
        ("U", "bottom", "F", "top", False),
        ("D", "top", "F", "bottom", False),
        ("U", "right", "R", "top", True),
        ("U", "top", "B", "top", True),
        ("U", "left", "L", "top", False),
        ("D", "right", "R", "bottom", False),
        ("D", "bottom", "B", "bottom", True),
        ("D", "left", "L", "bottom", True),
    ]
    cube = Atlas(G, (3, 3), ["U", "D", "F", "R", "B", "L"], gl)
    assert cube.euler_characteristic == 2
    assert cube.is_orientable and cube.is_connected


def test_two_unglued_charts_are_not_connected():
    atlas = Atlas(trivial_group(), (3, 3), 2)
    assert not atlas.is_connected
    assert atlas.euler_characteristic == 2  # two disks
    assert Atlas(trivial_group(), (3, 3), 2, [(0, "right", 1, "left", False)]).is_connected


def test_shape_conventions():
    assert mobius((4, 5)).shape == (4, 5)
    assert pillow(3).shape == (2, 3, 3)
    assert pillow(3).grid == (2, 3, 3)


# -- derived transition elements ---------------------------------------------------------------


def test_mobius_gluing_derives_the_flip():
    atlas = mobius()
    G = atlas.group
    t = atlas.transition(atlas.gluings[0])
    assert np.array_equal(G.matrix(t), [[-1, 0], [0, 1]])


def test_mobius_over_trivial_group_is_refused():
    with pytest.raises(ValueError, match="needs a reflection") as info:
        mobius(group=trivial_group())
    assert "use a group that contains it" in str(info.value)


def test_straight_gluings_derive_the_identity():
    for atlas in (cylinder(), torus()):
        assert all(atlas.transition(gl) == 0 for gl in atlas.gluings)


def test_rotation_needed_but_missing():
    with pytest.raises(ValueError, match="needs a rotation"):
        Atlas(flip_group(), (3, 3), 2, [(0, "right", 1, "top", True)])
    with pytest.raises(ValueError, match="needs a reflection"):
        Atlas(cyclic_group(4), (3, 3), 2, [(0, "right", 1, "top", False)])


EDGE_NAMES = ["top", "bottom", "left", "right"]


@pytest.mark.parametrize("edge_a, edge_b, reversed_", list(itertools.product(EDGE_NAMES, EDGE_NAMES, [False, True])))
def test_transition_maps_outward_normal_to_inward_normal(edge_a, edge_b, reversed_):
    normal = {"top": (-1, 0), "bottom": (1, 0), "left": (0, -1), "right": (0, 1)}
    direction = {"top": (0, 1), "bottom": (0, 1), "left": (1, 0), "right": (1, 0)}
    atlas = Atlas(dihedral_group(4), (3, 3), 2, [(0, edge_a, 1, edge_b, reversed_)])
    G = atlas.group
    t = G.matrix(atlas.transition(atlas.gluings[0]))
    assert np.array_equal(t @ normal[edge_a], -np.array(normal[edge_b]))
    assert np.array_equal(t @ direction[edge_a], (-1 if reversed_ else 1) * np.array(direction[edge_b]))


# -- validation -------------------------------------------------------------------------------


def test_edge_glued_twice():
    with pytest.raises(ValueError, match="glued twice"):
        Atlas(dihedral_group(4), (3, 3), 2, [(0, "left", 1, "right", False), (0, "left", 1, "top", False)])


def test_mismatched_edge_lengths():
    with pytest.raises(ValueError, match="different lengths"):
        Atlas(dihedral_group(4), (3, 4), 2, [(0, "top", 1, "left", False)])


def test_unknown_chart():
    with pytest.raises(ValueError, match="unknown chart 'z'"):
        Atlas(flip_group(), (3, 3), ["a", "b"], [("a", "left", "z", "right", False)])


def test_unknown_edge():
    with pytest.raises(ValueError, match="unknown edge 'north'"):
        Atlas(flip_group(), (3, 3), 1, [(0, "north", 0, "bottom", False)])


def test_edge_glued_to_itself_is_refused():
    with pytest.raises(ValueError):
        Atlas(dihedral_group(4), (3, 3), 1, [(0, "left", 0, "left", True)])


def test_edge_glued_to_itself_message():
    with pytest.raises(ValueError, match="to itself"):
        Atlas(dihedral_group(4), (3, 3), 1, [(0, "left", 0, "left", True)])


@pytest.mark.parametrize("shape", [(0, 3), (3,), (2.5, 3)])
def test_bad_chart_shape(shape):
    with pytest.raises(ValueError, match="chart_shape"):
        Atlas(flip_group(), shape, 1)


def test_duplicate_chart_names_and_no_charts():
    with pytest.raises(ValueError, match="unique"):
        Atlas(flip_group(), (3, 3), ["a", "a"])
    with pytest.raises(ValueError, match="at least one chart"):
        Atlas(flip_group(), (3, 3), [])


# -- transport padding ------------------------------------------------------------------------------


def test_mobius_padding_reference():
    """Closed form from the Möbius paper: W=4, L=5, halo 2, '1 trivial + 1 sign + 1 regular'."""
    torch.manual_seed(0)
    atlas = mobius((4, 5))
    ftype = FieldType(atlas.group, "1 trivial + 1 sign + 1 regular")
    x = torch.randn(2, 4, 4, 5, dtype=torch.float64)

    def transported(cols):
        v = cols.flip(-2).clone()  # rows reversed: row i meets row W-1-i across the twist
        v[:, 1] = -v[:, 1]  # sign field flips
        v[:, [2, 3]] = v[:, [3, 2]].clone()  # regular field swaps its channels
        return v

    expected = torch.zeros(2, 4, 8, 9, dtype=torch.float64)
    expected[:, :, 2:6, 2:7] = x
    expected[:, :, 2:6, 0:2] = transported(x[:, :, :, 3:5])  # columns -2, -1 = columns L-2, L-1
    expected[:, :, 2:6, 7:9] = transported(x[:, :, :, 0:2])  # columns L, L+1 = columns 0, 1
    out = atlas.padding_map(2).apply(x, ftype)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("halo", [1, 2])
def test_torus_halo_corners_are_diagonally_opposite(halo):
    torch.manual_seed(1)
    h, w = 4, 5
    atlas = torus((h, w))
    ftype = FieldType(atlas.group, "2 trivial")
    x = torch.randn(2, 2, h, w, dtype=torch.float64)
    out = atlas.padding_map(halo).apply(x, ftype)
    # a torus pads periodically in both directions, corners included
    idx_r = [(i - halo) % h for i in range(h + 2 * halo)]
    idx_c = [(j - halo) % w for j in range(w + 2 * halo)]
    assert torch.equal(out, x[:, :, idx_r][:, :, :, idx_c])
    assert torch.equal(out[:, :, 0, 0], x[:, :, h - halo, w - halo])
    assert torch.equal(out[:, :, -1, -1], x[:, :, halo - 1, halo - 1])


def test_mobius_halo_corners_are_zero():
    atlas = mobius((4, 5))
    fmap = atlas.padding_map(2)
    valid = fmap.valid[0]
    assert not valid[:2].any() and not valid[-2:].any()  # beyond the boundary, corners included
    assert valid[2:-2].all()
    ftype = FieldType(atlas.group, "1 regular")
    out = fmap.apply(torch.randn(1, 2, 4, 5, dtype=torch.float64), ftype)
    assert torch.count_nonzero(out[..., :2, :]) == 0 and torch.count_nonzero(out[..., -2:, :]) == 0


def test_cylinder_padding_is_periodic_along_the_length():
    torch.manual_seed(2)
    atlas = cylinder((3, 4))
    x = torch.randn(1, 1, 3, 4, dtype=torch.float64)
    out = atlas.padding_map(1).apply(x, FieldType(atlas.group, "1 trivial"))
    assert torch.equal(out[..., 1:-1, 0], x[..., :, -1]) and torch.equal(out[..., 1:-1, -1], x[..., :, 0])
    assert torch.count_nonzero(out[..., 0, :]) == 0 and torch.count_nonzero(out[..., -1, :]) == 0


def test_padding_map_is_cached():
    atlas = mobius()
    assert atlas.padding_map(2) is atlas.padding_map(2)
    assert atlas.padding_map(1) is not atlas.padding_map(2)


def test_padding_halo_takes_transported_neighbour_on_multichart_atlas(d4_atlas_factory):
    """On the D4 fixture, each halo pixel equals ρ(t⁻¹) of the pixel across the gluing, t the transition."""
    atlas = d4_atlas_factory((3, 3))
    G = atlas.group
    ftype = FieldType(G, "1 tangent")
    torch.manual_seed(3)
    x = torch.randn(1, 2, 3, 3, 3, dtype=torch.float64)
    out = atlas.padding_map(1).apply(x, ftype)
    # gluing a.right ~ b.top straight: pixel (i, 3) of a (halo) is pixel (0, i) of b (column index i along top)
    gl = atlas.gluings[0]
    t = atlas.transition(gl)
    rho_inv = torch.from_numpy(G.matrix(G.inv(t)).astype(float))
    a, b = atlas.charts.index("a"), atlas.charts.index("b")
    for i in range(3):
        np.testing.assert_allclose(out[0, :, a, 1 + i, 4].numpy(), (rho_inv @ x[0, :, b, 0, i]).numpy(), atol=1e-15)


# -- gauge transforms and reorientation ---------------------------------------------------------------


def test_flip_gauge_transform_twice_is_identity():
    atlas = mobius((4, 5))
    flip = atlas.gauge_transform([1])
    twice = flip.then(flip)
    assert np.array_equal(twice.source.reshape(-1), np.arange(20))
    assert not twice.element.any()
    ftype = FieldType(atlas.group, "1 trivial + 1 sign + 1 regular")
    x = torch.randn(2, 4, 4, 5, dtype=torch.float64)
    assert torch.equal(flip.apply(flip.apply(x, ftype), ftype), x)
    assert not torch.equal(flip.apply(x, ftype), x)


def test_gauge_transform_of_a_chart_rotates_the_grid():
    """f'(y) = ρ(g) f(g⁻¹ y): a quarter turn of a scalar field is torch.rot90 (rows first: (dy,dx) -> (-dx,dy))."""
    G = dihedral_group(4)
    atlas = Atlas(G, (3, 3), 1)
    quarter = G.element([[0, -1], [1, 0]])
    x = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    out = atlas.gauge_transform([quarter]).apply(x, FieldType(G, "1 trivial"))
    # the pixel at centred offset y goes to g y = (-y_x, y_y)
    for i, j in itertools.product(range(3), repeat=2):
        dy, dx = i - 1, j - 1
        ny, nx = -dx, dy
        assert out[0, 0, ny + 1, nx + 1] == x[0, 0, i, j]
    four = atlas.gauge_transform([quarter])
    for _ in range(3):
        four = four.then(atlas.gauge_transform([quarter]))
    assert np.array_equal(four.source.reshape(-1), np.arange(9)) and not four.element.any()


def test_fieldmap_then_is_composition(d4_atlas_factory):
    atlas = d4_atlas_factory((3, 3))
    G = atlas.group
    ftype = FieldType(G, "1 regular + 1 tangent + 1 sign")
    first, second = atlas.gauge_transform([1, 5, 3]), atlas.gauge_transform([6, 2, 7])
    torch.manual_seed(4)
    x = torch.randn(2, ftype.size, 3, 3, 3, dtype=torch.float64)
    assert torch.equal(first.then(second).apply(x, ftype), second.apply(first.apply(x, ftype), ftype))
    with pytest.raises(ValueError, match="cannot compose"):
        atlas.padding_map(1).then(atlas.padding_map(1))


def test_gauge_transform_refuses_axis_swaps_on_non_square_charts():
    atlas = Atlas(dihedral_group(4), (3, 4), 1)
    quarter = atlas.group.element([[0, -1], [1, 0]])
    with pytest.raises(ValueError, match="does not map a chart of 3x4 pixels on the square lattice onto itself"):
        atlas.gauge_transform([quarter])
    assert quarter not in atlas.shape_preserving_elements()
    with pytest.raises(ValueError, match="one group element per chart"):
        atlas.gauge_transform([0, 0])


def test_reoriented_transitions(d4_atlas_factory):
    """Re-orienting chart c by g_c (v' = g_c v) turns a transition t (v_b = t v_a) into g_b t g_a⁻¹."""
    atlas = d4_atlas_factory((4, 4))
    G = atlas.group
    rng = np.random.default_rng(5)
    for _ in range(6):
        gauge = [int(g) for g in rng.integers(G.order, size=3)]
        moved = atlas.reoriented(gauge)
        assert len(moved.gluings) == len(atlas.gluings)
        for old, new in zip(atlas.gluings, moved.gluings):
            assert (new.chart_a, new.chart_b) == (old.chart_a, old.chart_b)
            ga, gb = gauge[atlas.charts.index(old.chart_a)], gauge[atlas.charts.index(old.chart_b)]
            assert moved.transition(new) == G.mul(G.mul(gb, atlas.transition(old)), G.inv(ga))
        assert moved.euler_characteristic == atlas.euler_characteristic
        assert moved.is_orientable == atlas.is_orientable


def test_reoriented_padding_commutes_with_gauge_transform(d4_atlas_factory):
    """pad'(γ x) = γ pad(x), with pad' the padding of the re-oriented atlas."""
    atlas = d4_atlas_factory((4, 4))
    G = atlas.group
    ftype = FieldType(G, "1 regular + 1 tangent + 1 sign")
    halo = 2
    padded_atlas = Atlas(G, (8, 8), atlas.charts)  # only its grid is used for the gauge transform of padded fields
    torch.manual_seed(6)
    x = torch.randn(2, ftype.size, 3, 4, 4, dtype=torch.float64)
    for gauge in ([1, 5, 3], [4, 0, 7], [2, 2, 6]):
        moved = atlas.reoriented(gauge)
        lhs = moved.padding_map(halo).apply(atlas.gauge_transform(gauge).apply(x, ftype), ftype)
        rhs = padded_atlas.gauge_transform(gauge).apply(atlas.padding_map(halo).apply(x, ftype), ftype)
        assert relative_error(lhs, rhs) == 0.0


def test_reoriented_by_identity_is_equal(d4_atlas_factory):
    atlas = d4_atlas_factory((4, 4))
    assert atlas.reoriented([0, 0, 0]) == atlas
    assert atlas.reoriented({"a": 0, "b": 0, "c": 0}) == atlas
    assert mobius().reoriented([0]) == mobius()


def test_mobius_reoriented_by_flip_is_the_same_strip():
    atlas = mobius()
    assert atlas.reoriented([1]) == atlas


def test_with_chart_shape_and_coarsened():
    atlas = mobius((5, 7))
    assert atlas.coarsened().chart_shape == (3, 4)
    assert atlas.coarsened().gluings == atlas.gluings
    assert atlas.with_chart_shape((2, 2)).chart_shape == (2, 2)


def test_summary_mentions_topology():
    text = mobius().summary()
    assert "orientable: False" in text and "Euler characteristic: 0" in text
    assert "reflection of the row axis" in text


def test_fieldmap_validation():
    G = flip_group()
    with pytest.raises(ValueError, match="target grid's shape"):
        FieldMap(G, (1, 2, 2), (1, 2, 2), np.zeros((1, 2, 3), dtype=np.int64), np.zeros((1, 2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="out of range"):
        FieldMap(G, (1, 2, 2), (1, 2, 2), np.full((1, 2, 2), 4, dtype=np.int64), np.zeros((1, 2, 2), dtype=np.int64))
    assert Gluing(0, "left", 0, "right", True) == Gluing(0, "left", 0, "right", True)
