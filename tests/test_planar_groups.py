"""Structure groups larger than their lattice part: C_N and D_N for any N, SO(2) and O(2).

Groups and representations on all of G (homomorphisms at G's elements, matrices on the lattice
part H), harmonic kernel bases exactly steerable under H and approximately under the rest of G,
and layers on atlases whose transitions lie in H. Every layer's float64 gauge and isometry
equivariance on such atlases is checked by ``check_manifold`` in ``test_manifold_concept.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, Representation, hexagonal_lattice
from gaugecnn.groups import cyclic_group, dihedral_group, o2_group, so2_group
from gaugecnn.kernels import (
    _image_indices,
    bias_basis,
    harmonic_basis,
    kernel_basis,
    steerability_error,
)
from gaugecnn.nn import GaugeConv
from gaugecnn.representations import irrep, irreps, regular, sign, tangent, trivial

GROUPS = {
    "C8": lambda: cyclic_group(8),
    "C16": lambda: cyclic_group(16),
    "D8": lambda: dihedral_group(8),
    "C5": lambda: cyclic_group(5),
    "C12_hex": lambda: cyclic_group(12, hexagonal_lattice()),
    "SO2": so2_group,
    "O2": o2_group,
    "SO2_hex": lambda: so2_group(hexagonal_lattice()),
}


def _reps(group):
    """Every kind of representation of the group, with a few frequencies."""
    reps = [trivial(group), sign(group), tangent(group)] + irreps(group, 3 if group.is_continuous else None)[:5]
    if not group.is_continuous:
        reps.append(regular(group))
    return reps


def _elements(group):
    """All elements of a finite G; rotations by a few angles (and reflections) for SO(2) and O(2)."""
    if not group.is_continuous:
        return list(group.planar_elements)
    rotations = [group.rotation(t) for t in (0.0, 0.3, 1.7, 2.9, 5.5)]
    return rotations + ([r @ np.diag([-1.0, 1.0]) for r in rotations[1:3]] if group.has_reflections else [])


# -- groups ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GROUPS)
def test_group_elements_close_and_contain_the_lattice_part(name):
    G = GROUPS[name]()
    elements = _elements(G)
    assert all(G.contains(c) for c in elements)
    for a in elements[:6]:
        for b in elements[:6]:
            assert G.contains(a @ b) and G.contains(a.T)
    # the lattice part's Cartesian matrices are elements of G, and H is the lattice group of its name
    assert all(G.contains(c) for c in G.cartesian)
    assert G.lattice_part.is_lattice_group and np.array_equal(G.lattice_part.matrices, G.matrices)
    # generators: a vector fixed by ρ of each generator is G-invariant (checked on the irreps' bias bases below)
    assert all(G.contains(c) for c in G.generator_matrices)


def test_membership_is_exact_about_angles_and_reflections():
    C8, D8, SO2 = cyclic_group(8), dihedral_group(8), so2_group()
    assert C8.contains(C8.rotation(math.pi / 4)) and not C8.contains(SO2.rotation(math.pi / 8))
    flip = np.diag([-1.0, 1.0])
    assert D8.contains(flip) and not C8.contains(flip) and not SO2.contains(flip) and o2_group().contains(flip)
    with pytest.raises(ValueError, match="C8 has no rotation by 22.5 degrees"):
        C8.rotation(math.pi / 8)
    with pytest.raises(ValueError, match="continuous group"):
        _ = SO2.planar_elements


# -- representations --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GROUPS)
def test_representations_are_homomorphisms_of_the_whole_group_and_agree_on_the_lattice_part(name):
    G = GROUPS[name]()
    elements = _elements(G)
    for rep in _reps(G):
        for a in elements:
            assert np.allclose(rep.at(a) @ rep.at(a).T, np.eye(rep.dim), atol=1e-12)
            for b in elements[::2]:
                assert np.allclose(rep.at(a) @ rep.at(b), rep.at(a @ b), atol=1e-12), (rep.name, a, b)
        # transport uses the matrices on the lattice part: ρ at H's Cartesian matrices
        for h in range(G.order):
            assert np.allclose(rep.matrix(h), rep.at(G.cartesian[h]), atol=1e-15)


def test_regular_representation_of_c8_is_a_permutation_and_its_lattice_part_permutes_in_two_cycles():
    C8 = cyclic_group(8)
    reg = regular(C8)
    assert reg.dim == 8 and reg.is_permutation
    quarter = reg.matrix(1)  # the rotation by 90 degrees: channel j -> j + 2
    assert np.array_equal(np.argmax(quarter, axis=0), (np.arange(8) + 2) % 8)
    # an SO(2) irrep whose lattice part matrices are permutations is still no permutation representation
    assert np.allclose(irrep(so2_group(), 4).matrices, np.eye(2)) and not irrep(so2_group(), 4).is_permutation


@pytest.mark.parametrize(
    "make, text, sub, expected",
    [
        (lambda: cyclic_group(16), "1 regular", lambda: cyclic_group(8), "2 regular"),
        (lambda: dihedral_group(8), "1 regular + 1 sign", lambda: cyclic_group(8), "2 regular + 1 trivial"),
        (lambda: cyclic_group(8), "1 regular + 1 irrep(1)", lambda: cyclic_group(4), "2 regular + 1 tangent"),
        (o2_group, "1 irrep(1,0) + 1 irrep(0,3)", so2_group, "1 trivial + 1 irrep(3)"),
        (so2_group, "1 irrep(2) + 1 irrep(0)", lambda: cyclic_group(8), "1 irrep(2) + 1 trivial"),
    ],
)
def test_restriction_to_a_subgroup_keeps_the_matrices(make, text, sub, expected):
    G, H = make(), sub()
    t = FieldType(G, text)
    restricted, order = t.restrict(H)
    assert str(restricted) == expected
    for c in _elements(H):
        assert np.allclose(_matrix(restricted, c), _matrix(t, c)[np.ix_(order, order)], atol=1e-12)


def _matrix(t: FieldType, c: np.ndarray) -> np.ndarray:
    """The block-diagonal ρ of a field type at the Cartesian element ``c``."""
    blocks = [r.at(c) for r in t.reps]
    d = sum(len(b) for b in blocks)
    out, start = np.zeros((d, d)), 0
    for b in blocks:
        out[start : start + len(b), start : start + len(b)] = b
        start += len(b)
    return out


def test_field_type_strings_and_their_errors():
    assert FieldType(cyclic_group(8), "2 irrep(1) + 3 regular").size == 28
    assert FieldType(so2_group(), "irrep(0) + 2 irrep(1) + irrep(3)").size == 7
    assert FieldType(o2_group(), "1 irrep(1,0) + 1 irrep(0,2)").size == 3
    with pytest.raises(ValueError, match="continuous: it has no finite regular representation"):
        FieldType(so2_group(), "1 regular")
    with pytest.raises(ValueError, match="frequency 0..4, not 5"):
        irrep(cyclic_group(8), 5)
    with pytest.raises(ValueError, match="pass max_frequency"):
        irreps(so2_group())


def test_a_representation_of_a_group_beyond_its_lattice_part_needs_its_formula_and_is_checked_on_all_of_g():
    C8 = cyclic_group(8)
    with pytest.raises(ValueError, match="needs function=.*lattice part C4"):
        Representation(C8, "mine", np.ones((4, 1, 1)))

    def quarter_frequency(c):  # a rotation by 45 degrees to a rotation by 90: a homomorphism of C8
        return irrep(C8, 2).at(c)

    assert Representation(C8, "mine", function=quarter_frequency).dim == 2

    def not_a_homomorphism(c):  # R(θ) -> R(θ / 2) is no homomorphism of C8
        theta = math.atan2(c[1, 0], c[0, 0])
        return np.array([[math.cos(theta / 2), -math.sin(theta / 2)], [math.sin(theta / 2), math.cos(theta / 2)]])

    with pytest.raises(ValueError, match="not a homomorphism of C8"):
        Representation(C8, "half", function=not_a_homomorphism)


def test_bias_bases_are_invariant_under_all_of_g():
    C8, SO2, O2 = cyclic_group(8), so2_group(), o2_group()
    assert np.allclose(bias_basis(regular(C8)), np.ones((1, 8)))  # H = C4 alone would leave two
    assert bias_basis(irrep(SO2, 4)).shape == (0, 2)  # trivial on C4, not on SO(2)
    assert bias_basis(sign(O2)).shape == (0, 1) and bias_basis(trivial(SO2)).shape == (1, 1)


# -- harmonic kernel bases ---------------------------------------------------------------------------------

# a covering list: every group family, both lattices, odd and even kernels, every representation kind
HARMONIC_CASES = [
    ("C8", "regular", "regular", 5),
    ("C8", "trivial", "irrep(3)", 7),
    ("C16", "regular", "irrep(1)", 3),
    ("D8", "trivial", "regular", 5),
    ("C5", "irrep(2)", "regular", 5),
    ("C12_hex", "regular", "irrep(1)", 5),
    ("SO2", "irrep(1)", "irrep(2)", 5),
    ("SO2", "irrep(3)", "trivial", 7),
    ("O2", "irrep(0,1)", "sign", 3),
    ("O2", "irrep(0,2)", "irrep(0,1)", 5),
    ("SO2_hex", "tangent", "irrep(1)", 5),
    ("C8", "regular", "trivial", 4),
]


def _rep(group, word):
    return FieldType(group, f"1 {word}").reps[0]


def _steerable_error(basis, rep_in, rep_out, group) -> float:
    """max |K(h x) - ρ_out(h) K(x) ρ_in(h)ᵀ| over the lattice part's elements h and the k x k offsets."""
    k = basis.shape[-1]
    images = _image_indices(group, k)
    worst = 0.0
    for h in range(group.order):
        for y in range(k):
            for x in range(k):
                ky, kx = images[h, y, x]
                if ky < 0:
                    assert not basis[..., y, x].any()
                    continue
                moved = np.einsum("po,noi,qi->npq", rep_out.matrix(h), basis[..., y, x], rep_in.matrix(h))
                worst = max(worst, float(np.abs(basis[..., ky, kx] - moved).max(initial=0.0)))
    return worst


@pytest.mark.parametrize("name, a, b, k", HARMONIC_CASES)
def test_harmonic_basis_is_exactly_steerable_under_the_lattice_part(name, a, b, k):
    G = GROUPS[name]()
    rep_in, rep_out = _rep(G, a), _rep(G, b)
    basis = kernel_basis(rep_in, rep_out, k)  # the default for a group beyond its lattice part
    assert basis is harmonic_basis(rep_in, rep_out, k) and len(basis) > 0
    assert _steerable_error(basis, rep_in, rep_out, G) < 1e-13
    # linearly independent elements, largest entry 1
    assert np.linalg.matrix_rank(basis.reshape(len(basis), -1), tol=1e-8) == len(basis)
    assert np.allclose(np.abs(basis).reshape(len(basis), -1).max(1), 1.0)
    # the steerability error is zero on the lattice part, and measures the rest of G
    for h in G.generators:
        assert steerability_error(basis, rep_in, rep_out, G.cartesian[h]).max() < 1e-13
    n = G.rotation_order
    beyond = G.rotation(2 * math.pi / n) if n and G.lattice.lattice_matrix(G.rotation(2 * math.pi / n)) is None else None
    if n == 0:
        beyond = G.rotation(0.4)
    if beyond is not None:
        errors = steerability_error(basis, rep_in, rep_out, beyond)
        assert 1e-4 < errors.max() < 1.0  # sampled, not exact: up to 0.58 for the 4 x 4 kernel's inner ring


def test_harmonic_basis_of_a_lattice_group_lies_in_its_complete_basis_with_the_band_limited_size():
    for group, k in ((cyclic_group(4), 5), (dihedral_group(6), 5), (dihedral_group(4), 4)):
        reps = [trivial(group), regular(group)]
        for rep_in in reps:
            for rep_out in reps:
                harmonic = kernel_basis(rep_in, rep_out, k, "harmonic").reshape(-1, rep_out.dim * rep_in.dim * k * k)
                complete = kernel_basis(rep_in, rep_out, k).reshape(-1, harmonic.shape[1])
                coefficients = np.linalg.lstsq(complete.T, harmonic.T, rcond=None)[0]
                assert np.abs(complete.T @ coefficients - harmonic.T).max() < 1e-12
                assert len(harmonic) == len(kernel_basis(rep_in, rep_out, k, "bandlimited"))


def test_lattice_bases_are_refused_beyond_the_lattice_part():
    C8 = cyclic_group(8)
    with pytest.raises(ValueError, match="steerable under C4 only. Use basis='harmonic'"):
        kernel_basis(trivial(C8), regular(C8), 3, "bandlimited")


@pytest.mark.parametrize("k", [3, 5, 7])
def test_so2_basis_sizes_follow_the_selection_rule(k):
    """Between SO(2) irreps m and n, a ring of cutoff F carries the harmonics |m - n| and m + n up to F.

    Each such frequency j gives two kernels (a 2-dim space of intertwiners), one when m = n = 0;
    the rings are those of ``ring_functions`` (cutoffs 0, 2, 2 for k = 5; 0, 2, 3, 2 for k = 7).
    """
    from gaugecnn.kernels import _rings

    G = so2_group()
    for m in range(4):
        for n in range(4):
            expected = 0
            for _, _, cutoff in _rings(k):
                for j in sorted({abs(m - n), m + n}):
                    if j <= cutoff:
                        expected += 1 if m == n == 0 else 2
            assert len(harmonic_basis(irrep(G, m), irrep(G, n), k)) == expected, (m, n)


# -- layers ------------------------------------------------------------------------------------------------


def _bumps(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """A smooth scalar field (a sum of Gaussian bumps of width 2.5 pixels) at Cartesian points ``(..., 2)``."""
    rng = np.random.default_rng(seed)
    centres, weights = rng.uniform(-5, 5, (12, 2)), rng.normal(size=12)
    d2 = ((points[..., None, :] - centres) ** 2).sum(-1)
    return (weights * np.exp(-d2 / (2 * 2.5**2))).sum(-1)


@pytest.mark.parametrize("group", [cyclic_group(8), so2_group()], ids=["C8", "SO2"])
def test_a_conv_is_exact_at_quarter_turns_and_close_at_other_angles_of_g(group):
    """At the rotation centre, conv(f ∘ R⁻¹) = ρ_out(R) conv(f) for a smooth f: exactly for R in H, closely for the rest of G."""
    from manifolds import Plane

    plane = Plane(15, group)
    out_text = "2 regular" if not group.is_continuous else "1 irrep(1) + 1 irrep(2) + 1 irrep(0)"
    t_in, t_out = FieldType(group, "1 trivial"), FieldType(group, out_text)
    torch.manual_seed(0)
    conv = GaugeConv(plane, t_in, t_out, 5).double()
    grid = np.stack(np.meshgrid(np.arange(15) - 7.0, np.arange(15) - 7.0, indexing="ij"), -1)  # (y, x), centre 0

    def centre_output(rotation: np.ndarray) -> np.ndarray:
        image = _bumps(grid @ np.linalg.inv(rotation).T)  # f(R⁻¹ p)
        with torch.no_grad():
            return conv(torch.from_numpy(image)[None, None]).numpy()[0, :, 7, 7]

    reference = centre_output(np.eye(2))
    errors = {}
    for degrees in (90, 45, 30):
        if degrees == 30 and not group.is_continuous:
            continue
        R = group.rotation(math.radians(degrees))
        expected = _matrix(t_out, R) @ reference
        errors[degrees] = np.linalg.norm(centre_output(R) - expected) / np.linalg.norm(reference)
    assert errors[90] < 1e-13
    assert 1e-6 < errors[45] < 0.1
    assert errors.get(30, 0.01) < 0.1


def test_layers_on_a_group_beyond_its_lattice_part_in_float32(record_error):
    """A small network on the cube sphere under C8 (transitions in C4): gauge and isometry equivariant in float32."""
    from gaugecnn.nn import ELU, GaugeConv, GaugePool, GroupPool
    from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant
    from manifolds import CubeSphere

    sphere = CubeSphere(4, cyclic_group(8))
    G = sphere.group
    t_in, t_hidden = FieldType(G, "1 trivial + 1 irrep(1)"), FieldType(G, "2 regular + 1 irrep(3)")
    torch.manual_seed(3)
    net = torch.nn.Sequential(GaugeConv(sphere, t_in, t_hidden, 3), ELU(t_hidden), GaugePool(sphere, t_hidden), GroupPool(t_hidden))
    isometries = sphere.isometries()[:6]
    record_error(assert_gauge_equivariant(net[:2], sphere, in_type=t_in, dtype=torch.float32), torch.float32)
    record_error(assert_isometry_equivariant(net, sphere, isometries, in_type=t_in, dtype=torch.float32), torch.float32)
