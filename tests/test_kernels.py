"""Steerable kernel and bias bases: constraint, completeness (against brute force), references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph

from gaugecnn import (
    Representation,
    bias_basis,
    cyclic_group,
    dihedral_group,
    direct_sum,
    flip_group,
    irrep,
    irreps,
    kernel_basis,
    kernel_support,
    regular,
    sign,
    tangent,
    trivial,
)

GROUPS = {"flip": flip_group, "C2": lambda: cyclic_group(2), "C4": lambda: cyclic_group(4), "D4": lambda: dihedral_group(4)}
HEX_GROUPS = {"C6": lambda: cyclic_group(6), "D6": lambda: dihedral_group(6)}


def reps_of(G):
    """trivial, sign, regular, tangent and the irreps, without repeats (for C4, irrep(1) is tangent)."""
    out = {}
    for r in [trivial(G), sign(G), regular(G), tangent(G), *irreps(G)]:
        if not any(o.dim == r.dim and np.array_equal(o.matrices, r.matrices) for o in out.values()):
            out[r.name] = r
    return out


def _cases(groups):
    for gname, factory in groups.items():
        names = list(reps_of(factory()))
        for a in names:
            for b in names:
                yield gname, a, b


CASES = list(_cases(GROUPS))
HEX_CASES = list(_cases(HEX_GROUPS))


def _covering(cases):
    """A covering list for the larger kernel size: per group, every representation once as input
    and once as output (each paired with the next one), and regular -> regular, the largest pair."""
    out = []
    for gname in dict.fromkeys(g for g, _, _ in cases):
        names = list(dict.fromkeys(a for g, a, _ in cases if g == gname))
        pairs = [(names[i], names[(i + 1) % len(names)]) for i in range(len(names))] + [("regular", "regular")]
        out += [(gname, a, b) for a, b in dict.fromkeys(pairs)]
    return out


CASES_5, HEX_CASES_5 = _covering(CASES), _covering(HEX_CASES)


def spatial_permutation(G, g, k):
    """``perm[p]`` = flat index of ``g x`` for the offset ``x`` at flat index ``p``; -1 where ``g x`` leaves the array.

    On the square lattice every element permutes the ``k x k`` array; on the hexagonal lattice
    the offsets outside the hexagon of radius ``k // 2`` have images outside it, where a kernel
    is zero by definition. An even ``k`` has half-integer offsets ``ky - (k - 1) / 2``.
    """
    c = (k - 1) / 2
    perm = np.empty(k * k, dtype=int)
    for ky in range(k):
        for kx in range(k):
            y, x = G.matrix(g) @ np.array([ky - c, kx - c]) + c  # the image's array position
            inside = 0 <= y <= k - 1 and 0 <= x <= k - 1 and y == round(y) and x == round(x)
            perm[ky * k + kx] = round(y) * k + round(x) if inside else -1
    inside = perm[perm >= 0]
    assert len(set(inside)) == len(inside)
    return perm


def constraint_residual(kernel, rep_in, rep_out):
    """max over g, x of |K(g x) - ρ_out(g) K(x) ρ_in(g)^T| for one kernel (d_out, d_in, k, k), K = 0 off the array."""
    G = rep_in.group
    k = kernel.shape[-1]
    flat = kernel.reshape(*kernel.shape[:2], -1)
    padded = np.concatenate([flat, np.zeros((*flat.shape[:2], 1))], axis=2)  # index -1: the zero beyond the array
    worst = 0.0
    for g in range(G.order):
        perm = spatial_permutation(G, g, k)
        lhs = padded[:, :, perm]  # lhs[..., p] = K(g x_p)
        rhs = np.einsum("oa,abp,ib->oip", rep_out.matrix(g), flat, rep_in.matrix(g))
        worst = max(worst, float(np.abs(lhs - rhs).max()))
    return worst


def brute_force_dimension(rep_in, rep_out, k):
    """Dimension of {K : K(g x) = ρ_out(g) K(x) ρ_in(g)^T ∀ g, x} via the null space of the stacked constraints.

    The constraint matrix (one block of equations per generator of the group, on the vectorized
    kernel: the generators' constraints imply those of every product, also where an image
    leaves the array) is built sparse; unknowns that share no equation are split into
    independent blocks (connected components), and each block's null space is computed
    densely with scipy.linalg.null_space.
    """
    G = rep_in.group
    d_out, d_in = rep_out.dim, rep_in.dim
    n = d_out * d_in * k * k
    blocks = []
    for g in G.generators or (G.identity,):
        perm = spatial_permutation(G, g, k)
        # vec index (o, i, p) -> o * d_in * k² + i * k² + p; rows whose g x leaves the array read K(g x) = 0
        inside = perm >= 0
        shift = scipy.sparse.coo_matrix((np.ones(inside.sum()), (np.arange(k * k)[inside], perm[inside])), shape=(k * k, k * k))
        lhs = scipy.sparse.kron(scipy.sparse.identity(d_out * d_in), shift)  # K(g x)
        rhs = scipy.sparse.kron(np.kron(rep_out.matrix(g), rep_in.matrix(g)), scipy.sparse.identity(k * k))
        blocks.append((lhs - rhs).tocsr())
    A = scipy.sparse.vstack(blocks).tocsc()
    A.eliminate_zeros()
    coupling = (abs(A).T @ abs(A)) != 0
    count, label = scipy.sparse.csgraph.connected_components(coupling, directed=False)
    dim = 0
    for c in range(count):
        cols = np.flatnonzero(label == c)
        sub = A[:, cols]
        rows = np.unique(sub.nonzero()[0])
        dense = sub[rows].toarray() if len(rows) else np.zeros((1, len(cols)))
        dim += scipy.linalg.null_space(dense, rcond=1e-9).shape[1]
    assert sum(np.sum(label == c) for c in range(count)) == n
    return dim


def check_basis(basis, rep_in, rep_out, k):
    assert basis.shape[1:] == (rep_out.dim, rep_in.dim, k, k)
    for b in basis:
        assert constraint_residual(b, rep_in, rep_out) < 1e-12
        assert np.abs(b).max() > 0.5  # not a numerically zero element
    if len(basis):
        assert np.linalg.matrix_rank(basis.reshape(len(basis), -1)) == len(basis)
    assert len(basis) == brute_force_dimension(rep_in, rep_out, k)


# every pair at k = 1, 3; a covering list at 5, and at the even sizes of stride-2 convolutions on cell grids (half-integer offsets)
SQUARE = [(*c, k) for c in CASES for k in (1, 3)] + [(*c, k) for c in CASES_5 for k in (2, 4, 5)]
HEXAGONAL = [(*c, 3) for c in HEX_CASES] + [(*c, 5) for c in HEX_CASES_5]


@pytest.mark.parametrize("gname, name_in, name_out, k", SQUARE, ids=["-".join(map(str, c)) for c in SQUARE])
def test_basis_is_steerable_full_rank_and_complete(gname, name_in, name_out, k):
    reps = reps_of(GROUPS[gname]())
    rep_in, rep_out = reps[name_in], reps[name_out]
    check_basis(kernel_basis(rep_in, rep_out, k), rep_in, rep_out, k)


@pytest.mark.parametrize("gname, name_in, name_out, k", HEXAGONAL, ids=["-".join(map(str, c)) for c in HEXAGONAL])
def test_hexagonal_basis_is_steerable_full_rank_and_complete(gname, name_in, name_out, k):
    """C6 and D6 on the hexagonal lattice: complete against the brute force, zero off the hexagon."""
    reps = reps_of(HEX_GROUPS[gname]())
    rep_in, rep_out = reps[name_in], reps[name_out]
    basis = kernel_basis(rep_in, rep_out, k)
    check_basis(basis, rep_in, rep_out, k)
    r = k // 2
    hexagon = np.array([[max(abs(dy), abs(dx), abs(dy - dx)) <= r for dx in range(-r, r + 1)] for dy in range(-r, r + 1)])
    assert hexagon.sum() == {3: 7, 5: 19}[k]
    assert not basis[..., ~hexagon].any()


def test_hexagonal_support_is_used_in_full():
    """Every one of the 7 (19) hexagon offsets carries a trivial-to-trivial parameter orbit under C6."""
    C6 = cyclic_group(6)
    for k, pixels in ((3, 7), (5, 19)):
        basis = kernel_basis(trivial(C6), trivial(C6), k)
        assert int((basis != 0).any(axis=(0, 1, 2)).sum()) == pixels


def test_brute_force_detects_a_non_steerable_kernel():
    """The residual and null-space helpers are not vacuous."""
    G = flip_group()
    rng = np.random.default_rng(0)
    assert constraint_residual(rng.normal(size=(1, 1, 3, 3)), trivial(G), trivial(G)) > 1e-3
    # an unconstrained group would give the full dimension; the flip halves roughly
    assert brute_force_dimension(trivial(G), trivial(G), 3) == 6  # 3 rows fixed by the flip pair up: 3 + 3
    assert brute_force_dimension(trivial(G), sign(G), 3) == 3


def rotated_tangent(G, degrees):
    a = np.deg2rad(degrees)
    Q = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return Representation(G, f"tangent{degrees}", Q @ tangent(G).matrices @ Q.T)


@pytest.mark.parametrize("gname", ["flip", "D4"])
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("side", ["in", "out", "both"])
def test_non_signed_permutation_rep_uses_averaging_and_is_complete(gname, k, side):
    """A tangent rep conjugated by a 30° rotation: equivalent to tangent, not a signed permutation."""
    G = GROUPS[gname]()
    rot = rotated_tangent(G, 30)
    assert not rot.is_signed_permutation  # forces the group-averaging path
    other = {"flip": sign, "D4": regular}[gname](G)
    rep_in, rep_out = {"in": (rot, other), "out": (other, rot), "both": (rot, rot)}[side]
    ref_in, ref_out = {"in": (tangent(G), other), "out": (other, tangent(G)), "both": (tangent(G), tangent(G))}[side]
    basis = kernel_basis(rep_in, rep_out, k)
    check_basis(basis, rep_in, rep_out, k)
    assert len(basis) == len(kernel_basis(ref_in, ref_out, k))


@pytest.mark.parametrize("k", [1, 3, 5])
def test_c4_two_dimensional_irrep(k):
    """C4's irrep(1) (equal to its tangent rep, hence dropped from the table above) on its own name."""
    G = cyclic_group(4)
    rep = irrep(G, 1)
    for other in (rep, tangent(G), regular(G), irrep(G, 2)):
        check_basis(kernel_basis(rep, other, k), rep, other, k)
        check_basis(kernel_basis(other, rep, k), other, rep, k)
    assert len(kernel_basis(rep, rep, k)) == len(kernel_basis(tangent(G), tangent(G), k))


def test_rotating_tangent_by_45_degrees_stays_a_signed_permutation():
    """Why the test above uses 30°: conjugating by 45° maps D4 onto itself."""
    assert rotated_tangent(dihedral_group(4), 45).is_signed_permutation


def test_direct_sum_basis_is_complete():
    G = dihedral_group(4)
    rep = direct_sum(sign(G), tangent(G))
    check_basis(kernel_basis(rep, regular(G), 3), rep, regular(G), 3)


# -- reference numbers from the Möbius paper (flip group, 5x5 kernels) ------------------------------

MOBIUS_PAPER_COUNTS = {
    ("trivial", "trivial"): 15,
    ("trivial", "sign"): 10,
    ("sign", "sign"): 15,
    ("sign", "trivial"): 10,
    ("trivial", "regular"): 25,
    ("sign", "regular"): 25,
    ("regular", "trivial"): 25,
    ("regular", "sign"): 25,
    ("regular", "regular"): 50,
}


@pytest.mark.parametrize("pair, count", list(MOBIUS_PAPER_COUNTS.items()), ids=lambda v: str(v))
def test_mobius_paper_parameter_counts(pair, count):
    reps = reps_of(flip_group())
    assert kernel_basis(reps[pair[0]], reps[pair[1]], 5).shape[0] == count


@pytest.mark.parametrize("name, count", [("trivial", 1), ("sign", 0), ("regular", 1)])
def test_mobius_paper_bias_counts(name, count):
    assert bias_basis(reps_of(flip_group())[name]).shape == (count, {"regular": 2}.get(name, 1))


@pytest.mark.parametrize("gname", list(GROUPS))
def test_bias_basis_is_invariant_and_complete(gname):
    G = GROUPS[gname]()
    for rep in reps_of(G).values():
        basis = bias_basis(rep)
        for b in basis:
            for g in range(G.order):
                np.testing.assert_allclose(rep.matrix(g) @ b, b, atol=1e-12)
        # dimension of the invariant subspace = multiplicity of the trivial rep = mean character
        expected = round(float(np.mean(np.trace(rep.matrices, axis1=1, axis2=2))))
        assert len(basis) == expected
        if len(basis):
            assert np.linalg.matrix_rank(basis) == len(basis)


# -- determinism, caching, errors ----------------------------------------------------------------


def test_basis_is_deterministic_after_cache_clear():
    G = dihedral_group(4)
    rot = rotated_tangent(G, 30)
    pairs = [(regular(G), tangent(G)), (rot, regular(G)), (sign(G), sign(G))]
    before = [kernel_basis(a, b, 5).copy() for a, b in pairs]
    kernel_basis.cache_clear()
    after = [kernel_basis(a, b, 5) for a, b in pairs]
    for x, y in zip(before, after):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


def test_basis_is_cached_and_read_only():
    G = flip_group()
    a = kernel_basis(regular(G), sign(G), 3)
    assert kernel_basis(regular(G), sign(G), 3) is a
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0, 0, 0, 0] = 1.0


@pytest.mark.parametrize("k", [0, -1, 2.0, True])
def test_non_positive_or_non_integer_kernel_size_raises(k):
    G = flip_group()
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        kernel_basis(trivial(G), trivial(G), k)


def test_even_kernels_have_no_support_on_the_hexagonal_lattice_under_rotations():
    """Half-integer offsets are not mapped onto each other by turns of 60 degrees: no steerable kernel there."""
    C6 = cyclic_group(6)
    assert not kernel_support(C6, 2).any() and not kernel_support(C6, 4).any()
    assert len(kernel_basis(trivial(C6), trivial(C6), 2)) == 0


def test_kernel_between_groups_raises():
    with pytest.raises(ValueError, match="different groups"):
        kernel_basis(trivial(flip_group()), trivial(cyclic_group(4)), 3)


# -- band-limited bases ----------------------------------------------------------------------


# every pair at k = 3, a covering list at 5 and at the even sizes
BAND_CASES = [(*c, 3) for c in CASES + HEX_CASES] + [(*c, k) for c in CASES_5 for k in (2, 4, 5)]


@pytest.mark.parametrize("gname, name_in, name_out, k", BAND_CASES, ids=["-".join(map(str, c)) for c in BAND_CASES])
def test_bandlimited_basis_is_steerable_band_limited_and_maximal(gname, name_in, name_out, k):
    """Steerable, full rank, every entry in the span of the ring functions, and every steerable
    kernel with band-limited entries is in its span (intersection checked by dimension)."""
    from gaugecnn.kernels import ring_functions

    reps = reps_of({**GROUPS, **HEX_GROUPS}[gname]())
    rep_in, rep_out = reps[name_in], reps[name_out]
    basis = kernel_basis(rep_in, rep_out, k, "bandlimited")
    complete = kernel_basis(rep_in, rep_out, k)
    for b in basis:
        assert constraint_residual(b, rep_in, rep_out) < 1e-12
    rings = ring_functions(rep_in.group, k).reshape(-1, k * k)
    if len(basis):
        assert np.linalg.matrix_rank(basis.reshape(len(basis), -1)) == len(basis)
        entries = basis.reshape(-1, k * k)
        coef, *_ = np.linalg.lstsq(rings.T, entries.T, rcond=None)
        np.testing.assert_allclose(rings.T @ coef, entries.T, atol=1e-9)
    if len(complete) == 0:
        assert len(basis) == 0
        return
    if rep_out.dim * rep_in.dim > 36:  # the rank check below is slow for larger pairs (D4, C6, D6 regular)
        return
    # dimension of span(complete) ∩ (matrices ⊗ span(rings)) by the rank formula
    flat = complete.reshape(len(complete), -1)
    d = rep_out.dim * rep_in.dim
    band = np.kron(np.eye(d), np.linalg.svd(rings, full_matrices=False)[2][: np.linalg.matrix_rank(rings)])
    if len(flat):
        both = np.linalg.matrix_rank(np.vstack([flat, band]), tol=1e-8)
        assert len(basis) == len(flat) + np.linalg.matrix_rank(band) - both


@pytest.mark.parametrize("pair, counts", [(("trivial", "regular"), (6, 11)), (("regular", "regular"), (24, 44))])
def test_bandlimited_counts_match_escnn_defaults(pair, counts):
    """escnn 1.0.11's default R2Conv basis for C4 has these sizes per field pair at k = 3 and 5 (measured in issue 14)."""
    from gaugecnn import FieldType, cyclic_group

    G = cyclic_group(4)
    rep_in, rep_out = (FieldType(G, f"1 {name}").reps[0] for name in pair)
    assert tuple(len(kernel_basis(rep_in, rep_out, k, "bandlimited")) for k in (3, 5)) == counts
    assert tuple(len(kernel_basis(rep_in, rep_out, k)) for k in (3, 5)) == ((9, 25) if pair[0] == "trivial" else (36, 100))


def test_unknown_basis_is_refused():
    from gaugecnn import FieldType, cyclic_group

    rep = FieldType(cyclic_group(4), "1 regular").reps[0]
    with pytest.raises(ValueError, match="unknown kernel basis 'smooth'"):
        kernel_basis(rep, rep, 3, "smooth")


def test_kernel_counts_in_the_docs_are_the_committed_table_and_todays_bases():
    """The basis sizes beside escnn's (docs/concepts.md) are generated from the committed counts, which today's code gives."""
    import json

    from benchmarks import kernel_counts
    from benchmarks._docs import read_blocks

    data = json.loads((kernel_counts.ROOT / "benchmarks" / "results" / "kernel_counts.json").read_text())
    assert read_blocks(kernel_counts.DOC.read_text())["kernel-counts"] == kernel_counts.table(data)
    assert data["gaugecnn"] == kernel_counts.gaugecnn_counts()
    # escnn's failing case (issue #39): no basis for k = 2; ours is complete on the four half-integer offsets
    assert data["escnn"]["C4 k=2 regular->regular"] == "empty basis" and data["gaugecnn"]["C4 k=2 regular->regular"]["lattice"] == 16


def test_harmonic_kernel_counts_in_the_docs_are_the_committed_table_today_s_bases_and_escnn_s():
    """Groups beyond the lattice: the docs table is generated from the committed counts; a covering
    subset is recomputed (each group, each kernel size once); every committed count equals escnn's."""
    import json

    from benchmarks import kernel_counts
    from benchmarks._docs import read_blocks
    from gaugecnn import kernel_basis

    data = json.loads((kernel_counts.ROOT / "benchmarks" / "results" / "kernel_counts.json").read_text())
    assert read_blocks(kernel_counts.DOC.read_text())["kernel-counts-harmonic"] == kernel_counts.harmonic_table(data)
    for group, k, a, b in [
        ("C8", 3, "regular", "regular"),
        ("D8", 5, "trivial", "regular"),
        ("SO(2)", 7, "irreps", "irreps"),
        ("O(2)", 5, "irreps", "irreps"),
        ("C16", 3, "trivial", "regular"),
    ]:
        t_in, t_out = kernel_counts._gaugecnn_type(group, a), kernel_counts._gaugecnn_type(group, b)
        count = sum(len(kernel_basis(r, s, k)) for r in t_in.reps for s in t_out.reps)
        assert data["gaugecnn_harmonic"][f"{group} k={k} {a}->{b}"] == count
    assert data["gaugecnn_harmonic"] == data["escnn_harmonic"]


def test_equivariance_by_angle_in_the_docs_is_the_committed_table_and_exact_at_a_quarter_turn():
    import json

    from benchmarks import equivariance_by_angle as by_angle
    from benchmarks._docs import read_blocks

    data = json.loads((by_angle.ROOT / "benchmarks" / "results" / "equivariance_by_angle.json").read_text())
    assert read_blocks(by_angle.DOC.read_text())["equivariance-by-angle"] == by_angle.table(data)
    assert all(errors["90"] < 1e-13 for errors in data["gaugecnn"].values())
