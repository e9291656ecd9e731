"""Steerable kernel and bias bases.

A kernel ``K: offsets -> R^{d_out x d_in}`` is G-steerable when

    K(g x) = ρ_out(g) K(x) ρ_in(g)^{-1}     for every g in G and offset x.

Such a kernel is fixed by its values on one offset ``x0`` per orbit ``G·x0``, and that value
must itself be invariant under the stabilizer ``S = {s : s x0 = x0}``:
``K(x0) = ρ_out(s) K(x0) ρ_in(s)^{-1}``. So a basis is built orbit by orbit from a basis of
the S-invariant ``d_out x d_in`` matrices, spread over the orbit by the constraint.

The S-invariant subspace is found by orbits of matrix entries when both representations
are signed permutations (exact, sparse ±1 bases: the Möbius paper's parametrization),
and by the group-averaging projector plus an orthonormal basis of its image otherwise.
Every basis element is scaled to a largest entry of 1. Results are cached and read-only.
"""

from __future__ import annotations

import operator

import numpy as np

from .caching import value_cache
from .groups import StructureGroup
from .representations import Representation

__all__ = [
    "kernel_basis",
    "bias_basis",
    "invariant_subspace",
    "kernel_support",
    "ring_functions",
    "harmonic_basis",
    "steerability_error",
]


def _canonical_signs(basis: np.ndarray) -> np.ndarray:
    """Make each row's first clearly non-zero entry positive and its largest entry 1."""
    out = []
    for v in basis:
        v = np.where(np.abs(v) < 1e-12, 0.0, v)
        first = v[np.flatnonzero(np.abs(v) > 1e-9)[0]]
        v = v * np.sign(first) / np.abs(v).max()
        out.append(v)
    return np.array(out).reshape(len(out), *basis.shape[1:]) if out else basis


def invariant_subspace(actions: list[np.ndarray]) -> np.ndarray:
    """Basis (rows) of ``{v : A v = v for every A in actions}`` for orthogonal ``A`` of one group.

    Signed-permutation actions give an exact ±1 basis from orbits of coordinates; other
    actions an orthogonal basis of the image of the averaging projector (Gram-Schmidt over
    the projected coordinate vectors). Every vector is scaled to a largest entry of 1.
    """
    dim = actions[0].shape[0]
    is_signed_perm = all(
        np.all(np.isclose(np.abs(a), 1) | np.isclose(a, 0)) and np.all(np.isclose(np.abs(a), 1).sum(0) == 1) for a in actions
    )
    if is_signed_perm:
        basis, done = [], np.zeros(dim, dtype=bool)
        for start in range(dim):
            if done[start]:
                continue
            # v = e_start spread over its orbit: A e_start = ±e_j
            v = np.zeros(dim)
            consistent = True
            for a in actions:
                col = a[:, start]
                j = int(np.flatnonzero(np.abs(col) > 0.5)[0])
                s = col[j]
                if v[j] == 0:
                    v[j] = s
                elif v[j] != s:
                    consistent = False
            done |= v != 0
            if consistent:
                basis.append(v)
        return _canonical_signs(np.array(basis)) if basis else np.zeros((0, dim))
    # Gram-Schmidt over the projected coordinate vectors P e_1, P e_2, ...: depends on P only
    projector = actions[0].copy()
    for a in actions[1:]:
        projector += a
    projector /= len(actions)
    basis = []
    for column in projector.T:
        v = column - sum((b @ column) * b for b in basis) if basis else column.copy()
        norm = np.linalg.norm(v)
        if norm > 1e-8:
            basis.append(v / norm)
    return _canonical_signs(np.array(basis)) if basis else np.zeros((0, dim))


def _check_kernel_size(kernel_size: int, even: bool = False) -> int:
    """``kernel_size`` as a plain int (NumPy and torch integers accepted), or a ValueError.

    Odd sizes centre the kernel on a pixel; ``even=True`` also accepts even sizes, whose
    offsets are half-integers (a kernel centred between pixels, on the corner of four).
    """
    try:
        k = operator.index(kernel_size)  # any integer type, but not 3.0 or "3"
    except TypeError:
        k = None
    if k is None or isinstance(kernel_size, bool) or k < 1 or (k % 2 == 0 and not even):
        kind = "positive integer" if even else "positive odd integer (the kernel is centred on a pixel)"
        raise ValueError(f"kernel_size must be a {kind}, got {kernel_size!r}")
    return k


def _doubled_offsets(kernel_size: int) -> np.ndarray:
    """``(k, k, 2)``: twice each entry's offset from the kernel's centre, ``2 (ky, kx) - (k - 1)``.

    Integers for both parities: even for odd ``k`` (offsets on the lattice), odd for even ``k``
    (half-integer offsets, the centre between pixels). Group matrices act on them linearly.
    """
    k = kernel_size
    grid = np.stack(np.meshgrid(np.arange(k), np.arange(k), indexing="ij"), -1)
    return 2 * grid - (k - 1)


def _image_indices(group: StructureGroup, kernel_size: int) -> np.ndarray:
    """``(order, k, k, 2)``: where each element sends each entry of the ``k x k`` array; ``-1`` where it leaves it."""
    k = kernel_size
    images = np.einsum("gab,ijb->gija", group.matrices, _doubled_offsets(k)) + (k - 1)
    inside = ((images >= 0) & (images <= 2 * (k - 1)) & (images % 2 == 0)).all(-1, keepdims=True)
    return np.where(inside, images // 2, -1)


def kernel_support(group: StructureGroup, kernel_size: int) -> np.ndarray:
    """Boolean ``(k, k)``: the largest G-invariant set of offsets in the ``k x k`` array.

    All of it on the square lattice; on the hexagonal lattice (under C3 or C6) the hexagon
    of radius ``k // 2``. Steerable kernels live on it. An even ``k`` has half-integer offsets
    (a kernel centred on the corner of four pixels): all of them are an invariant set on the
    square lattice, none on the hexagonal one under rotations.

    Args:
        group: the structure group (a ``StructureGroup``), whose lattice matrices act on the offsets.
        kernel_size: the side ``k`` of the array.

    Examples:
        >>> from gaugecnn.groups import cyclic_group
        >>> kernel_support(cyclic_group(6), 3).astype(int).tolist()
        [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
        >>> bool(kernel_support(cyclic_group(4), 2).all()), bool(kernel_support(cyclic_group(6), 2).any())
        (True, False)
    """
    k = _check_kernel_size(kernel_size, even=True)
    return np.asarray((_image_indices(group, k) >= 0).all(axis=(0, 3)))


BASES = ("lattice", "bandlimited", "harmonic")


def default_basis(group: StructureGroup, basis: str | None) -> str:
    """``basis`` checked against ``group``; ``None`` gives ``"lattice"`` for a lattice group, ``"harmonic"`` otherwise."""
    if basis is None:
        return "lattice" if group.is_lattice_group else "harmonic"
    if basis not in BASES:
        raise ValueError(f"unknown kernel basis {basis!r}; choose one of {BASES}")
    if basis != "harmonic" and not group.is_lattice_group:
        raise ValueError(
            f"basis={basis!r} solves the constraint on the pixel offsets, which only the lattice part "
            f"{group.lattice_part.name} of {group.name} maps onto each other: it would be steerable under "
            f"{group.lattice_part.name} only. Use basis='harmonic' (the default for {group.name})"
        )
    return basis


def _rings(kernel_size: int) -> list[tuple[float, float, int]]:
    """``(radius, σ, cutoff)`` of each ring of the band-limited and harmonic bases (see ``ring_functions``)."""
    k = kernel_size
    odd = k % 2 == 1
    last = k // 2
    rings = []
    for j in range(k // 2 + 1) if odd else range(1, k // 2 + 1):  # j: the ring's number; at radius j (odd k), j - 1/2 (even)
        at = j if odd else j - 0.5
        sigma = 0.005 if (odd and j == 0) else 0.4 if j == last else 0.6
        cutoff = 0 if j == 0 else min(2 * j, 2) if j == last else 2 * j - (j + 1) % 2
        rings.append((at, sigma, cutoff))
    return rings


def _polar(group: StructureGroup, kernel_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Radius and angle ``θ = atan2(y, x)`` of each entry of the ``k x k`` array (Cartesian, in pixel steps)."""
    points = group.lattice.point(_doubled_offsets(kernel_size) / 2)  # (k, k, 2) Cartesian (y, x)
    return np.linalg.norm(points, axis=-1), np.arctan2(points[..., 0], points[..., 1])


def ring_functions(group: StructureGroup, kernel_size: int) -> np.ndarray:
    """``(n, k, k)``: the band-limited scalar functions of ``basis="bandlimited"``, on the support.

    Rings at radii ``R = 0, 1, ..., k // 2`` (Cartesian, in pixel steps) with Gaussian
    profiles ``exp(-(|x| - R)² / 2σ²)``, ``σ = 0.6`` (``0.4`` on the outermost ring, a point at
    ``R = 0``), times ``cos nθ`` and ``sin nθ`` for ``n`` up to the ring's cutoff: 0 at the
    centre, ``min(2R, 2)`` on the outermost ring, ``2R - (R + 1) mod 2`` in between.
    This is the band limit of escnn's default kernel bases. An even ``k`` (half-integer
    offsets, no centre pixel) has rings at ``R = 1/2, 3/2, ..., (k - 1)/2``, the ``j``-th
    (from 1) with the cutoff of ring ``j`` above: our choice, as the odd rule shifted by half a pixel.

    Args:
        group: the structure group; its lattice gives the Cartesian positions of the offsets.
        kernel_size: the side ``k`` of the kernel array.

    Examples:
        >>> from gaugecnn.groups import cyclic_group
        >>> [ring_functions(cyclic_group(4), k).shape for k in (2, 3, 4, 5)]
        [(5, 2, 2), (6, 3, 3), (10, 4, 4), (11, 5, 5)]
    """
    k = _check_kernel_size(kernel_size, even=True)
    support = kernel_support(group, k)
    radius, theta = _polar(group, k)
    functions = []
    for at, sigma, cutoff in _rings(k):
        profile = np.exp(-((radius - at) ** 2) / (2 * sigma**2)) * support
        functions.append(profile)
        for n in range(1, cutoff + 1):
            functions += [profile * np.cos(n * theta), profile * np.sin(n * theta)]
    return np.stack(functions)


def _harmonics(theta: np.ndarray, cutoff: int) -> np.ndarray:
    """``(..., 2 cutoff + 1)``: ``1, cos θ, sin θ, ..., cos(cutoff θ), sin(cutoff θ)`` at the angles ``theta``."""
    columns = [np.ones_like(theta)]
    for n in range(1, cutoff + 1):
        columns += [np.cos(n * theta), np.sin(n * theta)]
    return np.stack(columns, axis=-1)


def _harmonic_action(c: np.ndarray, cutoff: int) -> np.ndarray:
    """``T`` with ``u(C⁻¹ p) = Σ T u``'s coefficients: the action of the Cartesian ``C`` on band-limited functions of the circle.

    Found by reading ``u ∘ C⁻¹`` at ``4 cutoff + 4`` angles and solving for its coefficients
    (exact: rotations and reflections keep each frequency's pair ``cos nθ, sin nθ``).
    """
    angles = 2 * np.pi * np.arange(4 * cutoff + 4) / (4 * cutoff + 4)
    points = np.stack([np.sin(angles), np.cos(angles)], -1)  # (y, x) on the unit circle
    moved = points @ np.linalg.inv(c).T
    at = _harmonics(angles, cutoff)
    moved_at = _harmonics(np.arctan2(moved[:, 0], moved[:, 1]), cutoff)
    return np.linalg.lstsq(at, moved_at, rcond=None)[0]  # at @ T = moved_at: u ∘ C⁻¹ has coefficients T u


def _null_space(stacked: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning ``{v : M v = 0}`` for the stacked matrix ``M``."""
    _, s, vt = np.linalg.svd(stacked, full_matrices=False)  # rows >= columns: vt is square
    rank = int(np.sum(s > 1e-8))
    return vt[rank:]


@value_cache(None)
def harmonic_basis(rep_in: Representation, rep_out: Representation, kernel_size: int) -> np.ndarray:
    """Kernels steerable under all of ``G`` in the continuum, sampled on the ``k x k`` offsets: ``(n, d_out, d_in, k, k)``.

    escnn's construction: on each ring of ``ring_functions`` (radius ``R``, Gaussian profile
    of width ``σ``, angular frequencies up to the ring's cutoff), the kernel is
    ``K(x) = exp(-(|x| - R)² / 2σ²) Σ_n (A_n cos nθ + B_n sin nθ)`` with matrices ``A_n, B_n``,
    and the coefficients solve ``K(g x) = ρ_out(g) K(x) ρ_in(g)⁻¹`` for every ``g`` of ``G``
    (the null space of ``T_g ⊗ ρ_out(g) ⊗ ρ_in(g) - 1`` over ``G``'s generators, ``T_g`` the
    action of ``g`` on the ring's harmonics). At the centre only ``n = 0`` is kept. Sampled on
    the lattice offsets the kernels are exactly steerable under the lattice part ``H`` (it maps
    offsets onto offsets) and approximately under the rest of ``G`` (``steerability_error``).
    Elements that vanish on the offsets or depend linearly on earlier ones are dropped; each is
    scaled to a largest entry of 1, its first non-zero entry positive.

    Args:
        rep_in: the representation of the input field.
        rep_out: the representation of the output field.
        kernel_size: the side ``k`` of the kernel (odd; even for half-integer offsets on the square lattice).

    Examples:
        >>> from gaugecnn.groups import cyclic_group, so2_group
        >>> from gaugecnn.representations import irrep, regular, trivial
        >>> C8 = cyclic_group(8)
        >>> [len(harmonic_basis(trivial(C8), regular(C8), k)) for k in (3, 5)]
        [6, 11]
        >>> G = so2_group()
        >>> len(harmonic_basis(irrep(G, 1), irrep(G, 1), 5))
        10
    """
    k = _check_kernel_size(kernel_size, even=True)
    if rep_in.group != rep_out.group:
        raise ValueError(f"kernel between representations of different groups: {rep_in}, {rep_out}")
    group = rep_in.group
    d_out, d_in = rep_out.dim, rep_in.dim
    support = kernel_support(group, k)
    radius, theta = _polar(group, k)
    rings = _rings(k)
    top = max(cutoff for _, _, cutoff in rings)
    # the action of g keeps each frequency's harmonics together (cos nθ, sin nθ): solve frequency by frequency
    actions = [(_harmonic_action(c, top), np.kron(rep_out.at(c), rep_in.at(c))) for c in group.generator_matrices]
    by_frequency = []  # (solutions (s, 2 top + 1, d_out, d_in)) for n = 0 .. top
    for n in range(top + 1):
        block = [0] if n == 0 else [2 * n - 1, 2 * n]
        stacked = np.concatenate([np.kron(t[np.ix_(block, block)], r) - np.eye(len(block) * d_out * d_in) for t, r in actions])
        local = _null_space(stacked).reshape(-1, len(block), d_out, d_in)
        solutions = np.zeros((len(local), 2 * top + 1, d_out, d_in))
        solutions[:, block] = local
        by_frequency.append(solutions)
    elements: list[np.ndarray] = []
    for at, sigma, cutoff in rings:
        profile = np.exp(-((radius - at) ** 2) / (2 * sigma**2)) * support  # (k, k)
        harmonics = _harmonics(theta, top) * profile[..., None]  # (k, k, 2 top + 1)
        harmonics[radius < 1e-9, 1:] = 0.0  # the centre has no direction: only the constant term
        for solutions in by_frequency[: cutoff + 1]:
            elements.extend(np.einsum("yxn,bnoi->boiyx", harmonics, solutions))
    kept: list[np.ndarray] = []
    orthonormal: list[np.ndarray] = []
    for element in elements:
        v = element.ravel()
        residual = v - sum((q @ v) * q for q in orthonormal) if orthonormal else v
        if np.abs(v).max() > 1e-12 and np.linalg.norm(residual) > 1e-6 * float(np.linalg.norm(v)):
            orthonormal.append(residual / np.linalg.norm(residual))
            kept.append(element)
    out = np.zeros((0, d_out, d_in, k, k))
    if kept:
        out = _canonical_signs(np.array(kept).reshape(len(kept), -1)).reshape(-1, d_out, d_in, k, k)
    out = np.where(np.abs(out) < 1e-12, 0.0, out)
    out.setflags(write=False)
    return out


def steerability_error(
    kernels: np.ndarray, rep_in: Representation, rep_out: Representation, element: np.ndarray, blur: float = 1.0
) -> np.ndarray:
    """How far sampled kernels are from steerable under one element ``g`` of ``G``: a relative error per kernel.

    Each kernel ``(d_out, d_in, k, k)`` is read as point masses ``Σ_x K(x) δ_x`` at its offsets;
    ``g`` moves it to ``Σ_x ρ_out(g) K(x) ρ_in(g)⁻¹ δ_{g x}``, which is the kernel itself
    exactly when it is steerable under ``g``. The error is the L2 norm of the difference over
    that of the kernel, both blurred by a Gaussian of width ``blur`` pixels (without a blur,
    point masses at distinct positions never compare), on a grid of spacing ``blur / 2``. It is zero (to rounding) for ``g`` in
    the lattice part, which maps offsets onto offsets; for the rest of ``G`` it measures the
    sampling error that escnn's sampled bases have too.

    Args:
        kernels: ``(n, d_out, d_in, k, k)``, e.g. ``kernel_basis(...)``.
        rep_in: the input representation.
        rep_out: the output representation.
        element: an element of ``G``, its orthogonal Cartesian ``2 x 2`` matrix (``group.rotation(θ)``).
        blur: the Gaussian's standard deviation, in pixel steps.

    Returns:
        ``(n,)``: the relative error of each kernel.

    Examples:
        >>> import math
        >>> from gaugecnn.groups import cyclic_group
        >>> from gaugecnn.representations import regular, trivial
        >>> C8 = cyclic_group(8)
        >>> basis = kernel_basis(trivial(C8), regular(C8), 5)
        >>> float(steerability_error(basis, trivial(C8), regular(C8), C8.rotation(math.pi / 2)).max()) < 1e-14
        True
        >>> float(steerability_error(basis, trivial(C8), regular(C8), C8.rotation(math.pi / 4)).max()) > 1e-3
        True
    """
    kernels = np.asarray(kernels, dtype=np.float64)
    if kernels.ndim != 5 or kernels.shape[1:3] != (rep_out.dim, rep_in.dim) or kernels.shape[3] != kernels.shape[4]:
        raise ValueError(
            f"kernels must be (n, d_out, d_in, k, k) with d_out = {rep_out.dim} and d_in = {rep_in.dim} (the representations' "
            f"dimensions), got shape {kernels.shape}"
        )
    if rep_in.group != rep_out.group:
        raise ValueError(f"representations of different groups: {rep_in}, {rep_out}")
    k = kernels.shape[-1]
    group = rep_in.group
    c = np.asarray(element, dtype=np.float64)
    moved_out, moved_in = rep_out.at(c), rep_in.at(c)
    points = group.lattice.point(_doubled_offsets(k) / 2).reshape(-1, 2)  # (k², 2) Cartesian
    reach = np.abs(points).max() + 4 * blur
    axis = np.arange(-reach, reach + 1e-9, blur / 2)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)  # where the blurred kernels are compared

    def blurred(at: np.ndarray) -> np.ndarray:  # (grid points, k²): each point mass blurred
        return np.exp(-((grid[:, None] - at[None]) ** 2).sum(-1) / (2 * blur**2))

    values = kernels.reshape(*kernels.shape[:3], -1)  # (n, o, i, k²)
    moved = np.einsum("po,noix,qi->npqx", moved_out, values, moved_in)
    before = np.einsum("noix,zx->noiz", values, blurred(points))
    after = np.einsum("noix,zx->noiz", moved, blurred(points @ c.T))
    return np.linalg.norm((after - before).reshape(len(kernels), -1), axis=1) / np.linalg.norm(before.reshape(len(kernels), -1), axis=1)


def _bandlimited(complete: np.ndarray, functions: np.ndarray) -> np.ndarray:
    """The steerable kernels (rows of ``complete``) whose every entry lies in the span of ``functions``.

    With ``Q_V`` an orthonormal basis of the steerable kernels and ``P`` the projector onto the
    span of ``functions`` (applied entry by entry), the intersection is spanned by the
    eigenvectors of ``Q_V P Q_Vᵀ`` of eigenvalue 1. Each is a combination of steerable kernels,
    so the constraint holds exactly (up to rounding).
    """
    n_v, shape = len(complete), complete.shape[1:]
    if n_v == 0:
        return complete
    pixels = functions.reshape(len(functions), -1)
    u, s, _ = np.linalg.svd(pixels.T, full_matrices=False)
    span = u[:, s > 1e-10 * s[0]]  # (k², n_f) orthonormal
    _, sv, vt = np.linalg.svd(complete.reshape(n_v, -1), full_matrices=False)
    q_v = vt[sv > 1e-10 * sv[0]]  # orthonormal rows spanning the steerable kernels
    entries = q_v.reshape(len(q_v), -1, pixels.shape[1])
    projected = entries @ span @ span.T
    gram = np.einsum("aep,bep->ab", entries, projected)
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    inside = vectors[:, values > 1 - 1e-9].T @ q_v
    return _canonical_signs(inside).reshape(len(inside), *shape) if len(inside) else np.zeros((0, *shape))


@value_cache(None)
def kernel_basis(rep_in: Representation, rep_out: Representation, kernel_size: int, basis: str | None = None) -> np.ndarray:
    """G-steerable kernels, as an array ``(n_basis, d_out, d_in, k, k)``: all of them, or a band-limited family.

    ``basis="lattice"`` (the default for a lattice group): the complete basis described here.
    ``basis="bandlimited"``: the subspace of it whose every entry is a combination of
    ``ring_functions`` (escnn's band limit), computed as an intersection, so the kernels stay
    exactly steerable. ``basis="harmonic"`` (the default, and the only choice, for a group
    larger than its lattice part: C8, SO(2), ...): ``harmonic_basis``, steerable under ``G`` in
    the continuum, exactly steerable under the lattice part.

    Index ``[b, o, i, ky, kx]`` holds ``K_b(dy, dx)[o, i]`` with ``dy = ky - (k - 1)/2``: an odd
    ``k`` centres the kernel on a pixel, an even ``k`` (for stride-2 convolutions on cell grids)
    on the corner of four pixels, its offsets half-integers. The support
    is the largest G-invariant set of offsets in the ``k x k`` array: all of it on the square
    lattice, the hexagon of radius ``k // 2`` on the hexagonal lattice under C6 (7 offsets for
    ``k = 3``, 19 for ``k = 5``); entries outside it stay zero and carry no parameter.

    Args:
        rep_in: the representation of the input field (``d_in`` channels).
        rep_out: the representation of the output field (``d_out`` channels).
        kernel_size: the side ``k`` of the kernel (odd, or even for half-integer offsets).
        basis: ``"lattice"``, ``"bandlimited"`` or ``"harmonic"``, as above; ``None`` picks the group's default.

    Returns:
        A read-only float64 array; cached, so equal arguments return the same array.

    Examples:
        >>> from gaugecnn.groups import cyclic_group, flip_group
        >>> from gaugecnn.representations import trivial, sign
        >>> G = flip_group()
        >>> kernel_basis(trivial(G), trivial(G), 5).shape[0], kernel_basis(trivial(G), sign(G), 5).shape[0]
        (15, 10)
        >>> C6 = cyclic_group(6)
        >>> [kernel_basis(trivial(C6), trivial(C6), k).shape[0] for k in (3, 5)]
        [2, 4]
        >>> int((kernel_basis(trivial(C6), trivial(C6), 5) != 0).any(axis=(0, 1, 2)).sum())
        19

        The band-limited basis has the sizes of escnn's default bases (measured with escnn
        1.0.11 for C4: 6 and 11 elements trivial -> regular at ``k = 3`` and 5, 24 and 44
        regular -> regular), the complete one more:

        >>> from gaugecnn.representations import regular
        >>> C4 = cyclic_group(4)
        >>> for rep_in in (trivial(C4), regular(C4)):
        ...     print([len(kernel_basis(rep_in, regular(C4), k, b)) for b in ("lattice", "bandlimited") for k in (3, 5)])
        [9, 25, 6, 11]
        [36, 100, 24, 44]
    """
    k = _check_kernel_size(kernel_size, even=True)
    if rep_in.group != rep_out.group:
        raise ValueError(f"kernel between representations of different groups: {rep_in}, {rep_out}")
    basis = default_basis(rep_in.group, basis)
    if basis == "harmonic":
        return harmonic_basis(rep_in, rep_out, k)
    if basis == "bandlimited":
        out = _bandlimited(kernel_basis(rep_in, rep_out, k), ring_functions(rep_in.group, k))
        out = np.where(np.abs(out) < 1e-12, 0.0, out)
        out.setflags(write=False)
        return out
    group = rep_in.group
    d_out, d_in = rep_out.dim, rep_in.dim
    elements = range(group.order)
    images = _image_indices(group, k)  # (order, k, k, 2), -1 outside
    kernels: list[np.ndarray] = []
    done = np.zeros((k, k), dtype=bool)
    for y0 in range(k):
        for x0 in range(k):
            if done[y0, x0]:
                continue
            orbit = {g: tuple(int(v) for v in images[g, y0, x0]) for g in elements}
            if any(ky < 0 for ky, _ in orbit.values()):
                # the orbit leaves the k x k array: outside the G-invariant support, no parameter
                for ky, kx in orbit.values():
                    if ky >= 0:
                        done[ky, kx] = True
                continue
            stabilizer = [g for g in elements if orbit[g] == (y0, x0)]
            # the stabilizer acts on vec(K(x0)) by  K -> ρ_out(s) K ρ_in(s)^T
            actions = [np.kron(rep_out.matrix(s), rep_in.matrix(s)) for s in stabilizer]
            local = invariant_subspace(actions).reshape(-1, d_out, d_in)
            for value in local:
                kernel = np.zeros((d_out, d_in, k, k))
                for g in elements:
                    ky, kx = orbit[g]
                    kernel[:, :, ky, kx] = rep_out.matrix(g) @ value @ rep_in.matrix(g).T
                kernels.append(kernel)
            for ky, kx in orbit.values():
                done[ky, kx] = True
    out = np.stack(kernels) if kernels else np.zeros((0, d_out, d_in, k, k))
    out = np.where(np.abs(out) < 1e-12, 0.0, out)
    out.setflags(write=False)
    return out


@value_cache(None)
def bias_basis(rep_out: Representation) -> np.ndarray:
    """Biases that are G-invariant, ``b = ρ_out(g) b``, as an array ``(n_basis, d_out)``.

    Args:
        rep_out: the representation of the output field the bias is added to.

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> from gaugecnn.representations import regular, sign
        >>> bias_basis(regular(flip_group())).tolist(), bias_basis(sign(flip_group())).shape
        ([[1.0, 1.0]], (0, 1))
    """
    group = rep_out.group
    if group.is_lattice_group:
        out = invariant_subspace([rep_out.matrix(g) for g in range(group.order)])
    elif not group.is_continuous:  # every element of a finite G: exact ±1 vectors for permutation representations
        out = invariant_subspace([rep_out.at(c) for c in group.planar_elements])
    else:  # SO(2), O(2): the vectors of the lattice part's invariant basis that ρ of G's generators also fix
        on_h = invariant_subspace([rep_out.matrix(g) for g in range(group.order)])
        moved = np.concatenate([(m - np.eye(rep_out.dim)) @ on_h.T for m in rep_out.at_generators()]) if len(on_h) else None
        combinations = _null_space(moved) if moved is not None else np.zeros((0, 0))
        out = np.zeros((0, rep_out.dim))
        if len(combinations):
            fixed = combinations @ on_h
            # the combinations span the invariant vectors; when those are some of H's basis vectors, keep them exactly
            exact = [v for v in on_h if np.linalg.norm(v - fixed.T @ np.linalg.lstsq(fixed.T, v, rcond=None)[0]) < 1e-9]
            out = np.array(exact) if len(exact) == len(fixed) else _canonical_signs(fixed)
    out.setflags(write=False)
    return out
