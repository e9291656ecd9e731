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

__all__ = ["kernel_basis", "bias_basis", "invariant_subspace", "kernel_support", "ring_functions"]


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


BASES = ("lattice", "bandlimited")


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
    points = group.lattice.point(_doubled_offsets(k) / 2)  # (k, k, 2) Cartesian (y, x)
    radius, theta = np.linalg.norm(points, axis=-1), np.arctan2(points[..., 0], points[..., 1])
    odd = k % 2 == 1
    rings = range(k // 2 + 1) if odd else range(1, k // 2 + 1)  # j: the ring's number; at radius j (odd k), j - 1/2 (even)
    last = k // 2
    functions = []
    for j in rings:
        at = j if odd else j - 0.5
        sigma = 0.005 if (odd and j == 0) else 0.4 if j == last else 0.6
        cutoff = 0 if j == 0 else min(2 * j, 2) if j == last else 2 * j - (j + 1) % 2
        profile = np.exp(-((radius - at) ** 2) / (2 * sigma**2)) * support
        functions.append(profile)
        for n in range(1, cutoff + 1):
            functions += [profile * np.cos(n * theta), profile * np.sin(n * theta)]
    return np.stack(functions)


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
def kernel_basis(rep_in: Representation, rep_out: Representation, kernel_size: int, basis: str = "lattice") -> np.ndarray:
    """All G-steerable kernels, as an array ``(n_basis, d_out, d_in, k, k)``.

    ``basis="lattice"`` (default): the complete basis described here. ``basis="bandlimited"``:
    the subspace of it whose every entry is a combination of ``ring_functions`` (escnn's
    band limit), computed as an intersection, so the kernels stay exactly steerable.

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
        basis: ``"lattice"`` or ``"bandlimited"``, as above.

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
    if basis not in BASES:
        raise ValueError(f"unknown kernel basis {basis!r}; choose one of {BASES}")
    if rep_in.group != rep_out.group:
        raise ValueError(f"kernel between representations of different groups: {rep_in}, {rep_out}")
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
    out = invariant_subspace([rep_out.matrix(g) for g in range(rep_out.group.order)])
    out.setflags(write=False)
    return out
