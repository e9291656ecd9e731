"""Structure groups, representations and field types."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gaugecnn import (
    FieldType,
    Representation,
    StructureGroup,
    cyclic_group,
    dihedral_group,
    direct_sum,
    flip_group,
    hexagonal_lattice,
    irrep,
    irreps,
    regular,
    sign,
    square_lattice,
    tangent,
    trivial,
    trivial_group,
)

GROUPS = {
    "trivial": (trivial_group, 1),
    "flip": (flip_group, 2),
    "C2": (lambda: cyclic_group(2), 2),
    "C4": (lambda: cyclic_group(4), 4),
    "D2": (lambda: dihedral_group(2), 4),
    "D4": (lambda: dihedral_group(4), 8),
    # the hexagonal lattice
    "C3": (lambda: cyclic_group(3), 3),
    "C6": (lambda: cyclic_group(6), 6),
    "D3": (lambda: dihedral_group(3), 6),
    "D6": (lambda: dihedral_group(6), 12),
    "C2hex": (lambda: cyclic_group(2, hexagonal_lattice()), 2),
    "D2hex": (lambda: dihedral_group(2, hexagonal_lattice()), 4),
}
GROUP_NAMES = list(GROUPS)


@pytest.fixture(params=GROUP_NAMES)
def group(request) -> StructureGroup:
    return GROUPS[request.param][0]()


def all_reps(G: StructureGroup) -> list[Representation]:
    reps = [trivial(G), sign(G), regular(G), tangent(G), *irreps(G)]
    reps.append(direct_sum(trivial(G), tangent(G), regular(G)))
    return reps


def character(rep: Representation) -> np.ndarray:
    return np.trace(rep.matrices, axis1=1, axis2=2)


# -- groups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GROUP_NAMES)
def test_group_order(name):
    factory, order = GROUPS[name]
    assert factory().order == order


def test_element_zero_is_identity(group):
    assert np.array_equal(group.matrix(0), np.eye(2))
    assert group.identity == 0
    for g in range(group.order):
        assert group.mul(0, g) == g and group.mul(g, 0) == g


def test_elements_are_distinct_integer_lattice_isometries_with_orthogonal_cartesian_matrices(group):
    mats = group.matrices
    assert len({m.tobytes() for m in mats}) == group.order
    basis = group.lattice.basis
    for m, c in zip(mats, group.cartesian):
        assert np.array_equal(np.round(m), m) and group.lattice.is_isometry(m)
        assert np.allclose(c @ c.T, np.eye(2), atol=1e-12)
        assert np.allclose(c @ basis, basis @ m, atol=1e-12)  # the same map, on Cartesian and lattice coordinates
        if group.lattice == square_lattice():
            assert np.array_equal(c, m)


def test_multiplication_table_matches_matrix_products(group):
    for g, h in itertools.product(range(group.order), repeat=2):
        assert np.array_equal(group.matrix(group.mul(g, h)), group.matrix(g) @ group.matrix(h))


def test_multiplication_is_associative(group):
    t = group.multiplication_table
    n = group.order
    for a, b, c in itertools.product(range(n), repeat=3):
        assert t[t[a, b], c] == t[a, t[b, c]]


def test_table_is_a_latin_square(group):
    t = group.multiplication_table
    for row in t:
        assert sorted(row.tolist()) == list(range(group.order))
    for col in t.T:
        assert sorted(col.tolist()) == list(range(group.order))


def test_inverses(group):
    for g in range(group.order):
        h = group.inv(g)
        assert group.mul(g, h) == 0 and group.mul(h, g) == 0
        assert np.array_equal(group.matrix(h), np.linalg.inv(group.matrix(g)).round())


def test_element_lookup(group):
    for g in range(group.order):
        assert group.element(group.matrix(g)) == g
        assert group.element(group.matrix(g).tolist()) == g


@pytest.mark.parametrize(
    "name, matrix",
    [
        ("trivial", [[-1, 0], [0, 1]]),
        ("flip", [[0, -1], [1, 0]]),
        ("flip", [[1, 0], [0, -1]]),  # reflection of the other axis
        ("C2", [[-1, 0], [0, 1]]),
        ("C4", [[0, 1], [1, 0]]),
        ("D2", [[0, -1], [1, 0]]),
        ("D4", [[2, 0], [0, 1]]),
    ],
)
def test_element_returns_none_for_matrix_not_in_group(name, matrix):
    assert GROUPS[name][0]().element(np.array(matrix)) is None


def test_rotation_and_reflection_structure():
    assert flip_group().has_reflections and not cyclic_group(4).has_reflections
    assert dihedral_group(4).rotation_order == 4
    assert flip_group().rotation_order == 1
    # C2 and flip have the same order but are different groups of matrices
    assert cyclic_group(2) != flip_group()
    assert dihedral_group(1) == flip_group()


@pytest.mark.parametrize(
    "factory, n, lattice, part",
    [
        (cyclic_group, 3, square_lattice(), "C1"),
        (cyclic_group, 8, square_lattice(), "C4"),
        (dihedral_group, 6, square_lattice(), "D2"),
        (dihedral_group, 8, square_lattice(), "D4"),
        (cyclic_group, 4, hexagonal_lattice(), "C2 (hexagonal)"),
        (dihedral_group, 5, hexagonal_lattice(), "flip (hexagonal)"),
        (cyclic_group, 12, hexagonal_lattice(), "C6"),
    ],
)
def test_groups_beyond_the_lattice_act_on_pixels_through_the_part_they_share_with_it(factory, n, lattice, part):
    G = factory(n, lattice)
    assert not G.is_lattice_group and G.rotation_order == n and G.lattice_part.name == part
    # element indices are those of the lattice part, in its order
    assert np.array_equal(G.matrices, G.lattice_part.matrices)
    # the lattice part is exactly the elements of G that are lattice isometries
    on_lattice = [c for c in G.planar_elements if lattice.lattice_matrix(c) is not None]
    assert len(on_lattice) == G.order and all(G.contains(c) for c in G.cartesian)
    assert len(G.planar_elements) == n * (2 if G.has_reflections else 1)


@pytest.mark.parametrize("factory", [cyclic_group, dihedral_group])
@pytest.mark.parametrize("n", [0, -2])
def test_a_number_of_rotations_that_is_not_positive_is_refused(factory, n):
    with pytest.raises(ValueError, match="positive integer.*so2_group"):
        factory(n)


def test_generator_that_is_no_lattice_isometry_is_refused():
    with pytest.raises(ValueError, match="not an isometry of the square lattice"):
        StructureGroup("shear", [((1, 1), (0, 1))])
    with pytest.raises(ValueError, match="not an isometry of the hexagonal lattice"):
        StructureGroup("quarter turn", [((0, -1), (1, 0))], hexagonal_lattice())


# -- representations ---------------------------------------------------------------------------


def test_every_factory_constructs_a_homomorphism(group):
    """Constructor checks it, but check independently as well."""
    for rep in all_reps(group):
        assert rep.group == group
        assert rep.matrices.shape == (group.order, rep.dim, rep.dim)
        for g, h in itertools.product(range(group.order), repeat=2):
            np.testing.assert_allclose(rep.matrix(g) @ rep.matrix(h), rep.matrix(group.mul(g, h)), atol=1e-12)
        for g in range(group.order):
            np.testing.assert_allclose(rep.matrix(g) @ rep.matrix(g).T, np.eye(rep.dim), atol=1e-12)


def test_regular_is_a_permutation_rep_of_dimension_order(group):
    rep = regular(group)
    assert rep.dim == group.order
    assert rep.is_permutation and rep.is_signed_permutation
    for g in range(group.order):
        m = rep.matrix(g)
        assert set(np.unique(m).tolist()) <= {0.0, 1.0}
        assert np.array_equal(m.sum(0), np.ones(group.order)) and np.array_equal(m.sum(1), np.ones(group.order))
    # the regular character is |G| at the identity and 0 elsewhere
    chi = character(rep)
    assert chi[0] == group.order and np.all(chi[1:] == 0)


def test_sign_and_tangent(group):
    for g in range(group.order):
        assert sign(group).matrix(g)[0, 0] == round(np.linalg.det(group.matrix(g)))
        assert np.array_equal(tangent(group).matrix(g), group.cartesian[g])
    assert not tangent(group).is_permutation or group.order == 1
    assert sign(group).is_permutation == (not group.has_reflections)


def test_irreps_have_distinct_characters_and_unit_or_two_norm(group):
    reps = irreps(group)
    chars = [character(r) for r in reps]
    for a, b in itertools.combinations(range(len(reps)), 2):
        assert not np.allclose(chars[a], chars[b]), (reps[a].name, reps[b].name)
        # characters of inequivalent irreps are orthogonal
        assert abs(np.mean(chars[a] * chars[b])) < 1e-12
    norms = [float(np.mean(c**2)) for c in chars]
    for n in norms:
        assert min(abs(n - 1), abs(n - 2)) < 1e-12
    # Σ dim² / <χ,χ> = |G| (complex-type real irreps count once for a pair of complex ones)
    assert sum(r.dim**2 / n for r, n in zip(reps, norms)) == pytest.approx(group.order)
    # the regular representation decomposes with multiplicity dim / <χ,χ>
    reg = sum(r.dim / n * c for r, n, c in zip(reps, norms, chars))
    np.testing.assert_allclose(reg, character(regular(group)), atol=1e-12)


def test_c4_irrep_one_is_two_dimensional_rotation():
    G = cyclic_group(4)
    rep = irrep(G, 1)
    assert rep.dim == 2
    assert float(np.mean(character(rep) ** 2)) == pytest.approx(2.0)
    # for C4 it coincides with the tangent representation
    np.testing.assert_allclose(rep.matrices, tangent(G).matrices, atol=1e-12)


def test_direct_sum_is_block_diagonal(group):
    a, b = sign(group), regular(group)
    s = direct_sum(a, b)
    assert s.dim == a.dim + b.dim
    for g in range(group.order):
        np.testing.assert_array_equal(s.matrix(g)[:1, :1], a.matrix(g))
        np.testing.assert_array_equal(s.matrix(g)[1:, 1:], b.matrix(g))
        assert not s.matrix(g)[:1, 1:].any() and not s.matrix(g)[1:, :1].any()


def test_direct_sum_errors():
    with pytest.raises(ValueError, match="at least one"):
        direct_sum()
    with pytest.raises(ValueError, match="different groups"):
        direct_sum(trivial(flip_group()), trivial(cyclic_group(4)))


def test_irrep_out_of_range():
    with pytest.raises(ValueError, match="frequency"):
        irrep(dihedral_group(4), 3)
    with pytest.raises(ValueError, match="no irrep"):
        irrep(cyclic_group(4), 0, 1)  # no reflections: no sign irrep
    with pytest.raises(ValueError, match="no irrep"):
        irrep(dihedral_group(4), 1, 1)


def test_non_homomorphism_flip_squares_to_minus_identity():
    G = flip_group()
    mats = np.array([np.eye(2), [[0.0, 1.0], [-1.0, 0.0]]])  # orthogonal, but s² = -I
    with pytest.raises(ValueError, match="not a homomorphism"):
        Representation(G, "bad", mats)


def test_non_homomorphism_c4_wrong_matrix():
    G = cyclic_group(4)
    mats = tangent(G).matrices.copy()
    half_turn = G.element([[-1, 0], [0, -1]])
    mats[half_turn] = np.eye(2)  # ρ(r)² = -I but ρ(r²) = I
    with pytest.raises(ValueError, match="not a homomorphism"):
        Representation(G, "bad", mats)


def test_identity_must_map_to_identity():
    with pytest.raises(ValueError, match="not a homomorphism"):
        Representation(flip_group(), "bad", [[[-1.0]], [[-1.0]]])


def test_non_orthogonal_matrices_raise():
    # a homomorphism (s² = I) that is not orthogonal
    mats = np.array([np.eye(2), [[1.0, 1.0], [0.0, -1.0]]])
    assert np.allclose(mats[1] @ mats[1], np.eye(2))
    with pytest.raises(ValueError, match="not orthogonal"):
        Representation(flip_group(), "skew", mats)


def test_wrong_number_of_matrices_raises():
    with pytest.raises(ValueError, match="one square matrix per element"):
        Representation(dihedral_group(4), "short", np.stack([np.eye(2)] * 4))


# -- field types -----------------------------------------------------------------------------


def test_field_type_parse_size_and_slices():
    G = flip_group()
    t = FieldType(G, "2 trivial + 1 sign + 3 regular")
    assert t.size == 9
    assert len(t) == 6
    assert [r.name for r in t.reps] == ["trivial"] * 2 + ["sign"] + ["regular"] * 3
    assert t.slices == (slice(0, 1), slice(1, 2), slice(2, 3), slice(3, 5), slice(5, 7), slice(7, 9))
    assert t.reps[0] == trivial(G) and t.reps[2] == sign(G) and t.reps[3] == regular(G)


@pytest.mark.parametrize(
    "text",
    ["2 trivial + 1 sign + 3 regular", "1 regular", "1 sign + 1 trivial + 1 sign", "2 tangent + 1 irrep(1,0) + 1 irrep(0,2)"],
)
def test_field_type_str_round_trips(text):
    G = dihedral_group(4)
    t = FieldType(G, text)
    assert str(t) == text
    assert FieldType(G, str(t)) == t


def test_field_type_alternative_spellings():
    G = dihedral_group(4)
    assert FieldType(G, "3x regular") == FieldType(G, [regular(G)] * 3)
    assert FieldType(G, "tangent") == FieldType(G, [tangent(G)])
    assert FieldType(G, "irrep(1, 2)").reps == (irrep(G, 2, 1),)
    assert FieldType(cyclic_group(4), "irrep(1)").reps == (irrep(cyclic_group(4), 1),)


def test_field_type_matrix_is_block_diagonal_homomorphism():
    G = dihedral_group(4)
    t = FieldType(G, "1 sign + 1 tangent + 1 regular")
    for g, h in itertools.product(range(G.order), repeat=2):
        np.testing.assert_allclose(t.matrix(g) @ t.matrix(h), t.matrix(G.mul(g, h)), atol=1e-12)
    for g in range(G.order):
        np.testing.assert_array_equal(t.matrix(g)[1:3, 1:3], G.matrix(g))
        np.testing.assert_array_equal(t.matrices[g], t.matrix(g))


def test_unknown_rep_name_is_named_in_error():
    with pytest.raises(ValueError, match=r"unknown representation 'vectr'"):
        FieldType(flip_group(), "1 trivial + 2 vectr")


def test_empty_term_is_refused():
    with pytest.raises(ValueError, match="empty term"):
        FieldType(flip_group(), "1 trivial + ")


def test_field_type_concatenation():
    G = flip_group()
    a, b = FieldType(G, "2 trivial"), FieldType(G, "1 sign + 1 regular")
    c = a + b
    assert c.size == a.size + b.size == 5
    assert c.reps == a.reps + b.reps
    assert c == FieldType(G, "2 trivial + 1 sign + 1 regular")


def test_field_type_group_mismatch():
    with pytest.raises(ValueError, match="same group"):
        FieldType(flip_group(), "1 trivial") + FieldType(cyclic_group(4), "1 trivial")
    with pytest.raises(ValueError, match="of group C4, not flip"):
        FieldType(flip_group(), [trivial(cyclic_group(4))])
