"""Group representations ρ: G -> O(d) and field types (ordered lists of them).

A feature field of type ρ assigns to each pixel a vector ``f ∈ R^d`` expressed in the
chart's frame. Changing the frame by ``g`` changes the coefficients to ``ρ(g) f``.

A representation stores its matrices on the lattice part ``H`` of the structure group (one
per element index: what transport between charts applies) and, for a group larger than
``H`` (C8, SO(2), ...), a formula ``ρ(C)`` for any element ``C`` of ``G`` given by its
Cartesian matrix (``Representation.at``): what steerable kernels, invariant biases and
pointwise nonlinearities are built from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property

import numpy as np

from .caching import value_cache
from .groups import StructureGroup, decompose, rotation_matrix

__all__ = [
    "Representation",
    "FieldType",
    "trivial",
    "sign",
    "regular",
    "tangent",
    "irrep",
    "irreps",
    "direct_sum",
    "restrict",
]

_ATOL = 1e-9
_PROBE_ANGLES = (0.0, 0.37, 1.0, 2.2, 4.1)  # radians: where a representation of SO(2) or O(2) is checked


def _signed_permutations(mats: np.ndarray) -> bool:
    ones = np.isclose(np.abs(mats), 1.0, atol=_ATOL)
    zeros = np.isclose(mats, 0.0, atol=_ATOL)
    return bool(np.all(ones | zeros) and np.all(ones.sum(axis=2) == 1))


def _check_planar_homomorphism(group: StructureGroup, name: str, rho: Callable[[np.ndarray], np.ndarray]) -> None:
    """``ρ`` orthogonal and ``ρ(a) ρ(b) = ρ(ab)`` on every pair of a finite ``G``, on pairs of probe elements of SO(2) / O(2)."""
    if group.is_continuous:
        probes = [rotation_matrix(t) for t in _PROBE_ANGLES]
        if group.has_reflections:
            probes += [r @ np.diag([-1.0, 1.0]) for r in probes[1:3]]
        elements = np.stack(probes)
    else:
        elements = group.planar_elements
    values = [rho(c) for c in elements]
    d = values[0].shape[0]
    for c, v in zip(elements, values):
        if v.shape != (d, d) or not np.allclose(v @ v.T, np.eye(d), atol=_ATOL):
            raise ValueError(f"representation {name!r}: ρ({c.round(6).tolist()}) is not an orthogonal {d} x {d} matrix")
    for a, va in zip(elements, values):
        for b, vb in zip(elements, values):
            if not np.allclose(va @ vb, rho(a @ b), atol=_ATOL):
                raise ValueError(
                    f"representation {name!r} is not a homomorphism of {group.name}: ρ(a) ρ(b) != ρ(ab) for "
                    f"a = {a.round(6).tolist()}, b = {b.round(6).tolist()}"
                )


class _Formula:
    """A named representation's ``ρ(C)`` at any element ``C`` of O(2) (picklable, compared by value)."""

    def __init__(self, kind: str, *params):
        self.kind, self.params = kind, params

    def __call__(self, c: np.ndarray) -> np.ndarray:
        if self.kind == "trivial":
            return np.ones((1, 1))
        if self.kind == "sign":
            return np.array([[1.0 if np.linalg.det(c) > 0 else -1.0]])
        if self.kind == "tangent":
            return np.asarray(c, dtype=np.float64)
        if self.kind == "irrep":
            return _irrep_matrix(c, *self.params)
        if self.kind == "regular":  # e_h -> e_{gh}: row g of G's multiplication table
            group = self.params[0]
            products = group.planar_multiplication_table[group.planar_index(c)]
            out = np.zeros((len(products), len(products)))
            out[products, np.arange(len(products))] = 1.0
            return out
        if self.kind == "sum":
            blocks = [np.asarray(f(c), dtype=np.float64) for f in self.params]
            d = sum(b.shape[0] for b in blocks)
            out, start = np.zeros((d, d)), 0
            for b in blocks:
                out[start : start + len(b), start : start + len(b)] = b
                start += len(b)
            return out
        raise ValueError(f"unknown formula {self.kind!r}")

    def __eq__(self, other) -> bool:
        return isinstance(other, _Formula) and (self.kind, self.params) == (other.kind, other.params)

    def __hash__(self) -> int:
        return hash(self.kind)


def _irrep_matrix(c: np.ndarray, k: int, j: int, two_dim: bool) -> np.ndarray:
    """``R(kθ) F^m`` (2-dim) or ``cos(kθ) det^j`` (1-dim) at ``C = R(θ) F^m``, ``F = diag(1, -1)``."""
    theta, m = decompose(c)
    if two_dim:
        co, si = np.cos(k * theta), np.sin(k * theta)
        out = np.array([[co, -si], [si, co]]) @ np.diag([1.0, -1.0 if m else 1.0])
    else:
        out = np.array([[np.cos(k * theta) * (-1.0 if (m and j) else 1.0)]])
    return np.where(np.abs(out) < 1e-12, 0.0, out)  # cos(90°) is 6e-17, not 0; other entries keep full precision


class Representation:
    """A real orthogonal representation, stored as one matrix per group element.

    It is checked on construction: orthogonal matrices, ``ρ(e) = 1`` and
    ``ρ(g) ρ(h) = ρ(gh)`` for all ``g, h`` (of ``H``, and of ``G`` when it is larger: every
    pair of a finite ``G``, pairs of a few fixed angles for SO(2) and O(2)). Usually built by
    the factories ``trivial``, ``sign``, ``regular``, ``irrep``, ``tangent`` and ``direct_sum``.

    Args:
        group: the structure group.
        name: the name used in field-type strings and messages (``"regular"``, ``"irrep(1)"``).
        matrices: ``(group.order, d, d)``, the matrix ``ρ(g)`` of every element ``g`` of the
            lattice part (all of a lattice group); computed from ``function`` if not given.
        function: ``ρ`` at any element of ``G``: a callable taking an orthogonal Cartesian
            ``2 x 2`` matrix and returning ``ρ`` of it, ``(d, d)``. Needed for a group larger
            than its lattice part, optional for a lattice group (default: a look-up in ``matrices``).

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> regular(flip_group()).matrix(1).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """

    def __init__(
        self,
        group: StructureGroup,
        name: str,
        matrices: np.ndarray | Sequence | None = None,
        *,
        function: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        if matrices is None and function is None:
            raise ValueError(f"representation {name!r} needs its matrices on {group.name}'s lattice part, or function=")
        if function is None and not group.is_lattice_group:
            raise ValueError(
                f"representation {name!r} of {group.name} needs function=: ρ at every element of {group.name}, "
                f"not only at the {group.order} elements of its lattice part {group.lattice_part.name}"
            )
        if matrices is None:
            assert function is not None
            matrices = [np.asarray(function(c), dtype=np.float64) for c in group.cartesian]
        elif function is not None:  # transport uses the matrices, kernels and biases the function: they must agree on H
            given = np.asarray(matrices, dtype=np.float64)
            for g, c in enumerate(group.cartesian):
                value = np.asarray(function(c), dtype=np.float64)
                if g >= len(given) or value.shape != given[g].shape or not np.allclose(value, given[g], atol=_ATOL):
                    raise ValueError(
                        f"representation {name!r}: function= and matrices= disagree at element {g} ({group.describe(g)}) "
                        f"of the lattice part {group.lattice_part.name}; pass one of them, or make them agree"
                    )
        mats = np.asarray(matrices, dtype=np.float64)
        if mats.ndim != 3 or mats.shape[0] != group.order or mats.shape[1] != mats.shape[2]:
            raise ValueError(
                f"representation {name!r} needs one square matrix per element of {group.name} "
                f"(shape ({group.order}, d, d)), got shape {mats.shape}"
            )
        d = mats.shape[1]
        if not np.allclose(mats[0], np.eye(d), atol=_ATOL):
            raise ValueError(f"representation {name!r} is not a homomorphism: ρ(identity) is not the identity matrix")
        for g in range(group.order):
            if not np.allclose(mats[g] @ mats[g].T, np.eye(d), atol=_ATOL):
                raise ValueError(f"representation {name!r}: ρ({g}) is not orthogonal; gaugecnn needs orthogonal ρ")
        table = group.multiplication_table
        for g in range(group.order):
            for h in range(group.order):
                if not np.allclose(mats[g] @ mats[h], mats[table[g, h]], atol=_ATOL):
                    raise ValueError(
                        f"representation {name!r} is not a homomorphism of {group.name}: "
                        f"ρ({g}) ρ({h}) != ρ({g}·{h}) for elements {g}={group.describe(g)}, "
                        f"{h}={group.describe(h)}"
                    )
        self.group = group
        self.name = name
        self.matrices = mats
        self.matrices.setflags(write=False)
        self.function = function
        if not group.is_lattice_group:
            _check_planar_homomorphism(group, name, self.at)
        # every ρ(h), h in the lattice part, has exactly one entry ±1 per row and column (exact transport)
        self.is_signed_permutation = _signed_permutations(mats)
        # every ρ(g), g in G, is a permutation matrix: pointwise nonlinearities and max pooling commute with it
        on_g = mats if group.is_lattice_group else self.at_generators()
        self.is_permutation = self.is_signed_permutation and _signed_permutations(on_g) and bool(np.all(on_g > -_ATOL))

    @property
    def dim(self) -> int:
        """The dimension ``d`` of the representation: channels per field."""
        return self.matrices.shape[1]

    def matrix(self, g: int) -> np.ndarray:
        """ρ(g) for the element index ``g`` of the lattice part, a ``(d, d)`` orthogonal matrix (read-only)."""
        return self.matrices[g]

    def at(self, element: np.ndarray) -> np.ndarray:
        """ρ at an element of ``G`` given by its orthogonal Cartesian ``2 x 2`` matrix (``group.rotation(θ)``).

        Examples:
            >>> from gaugecnn.groups import so2_group
            >>> G = so2_group()
            >>> irrep(G, 2).at(G.rotation(math.pi / 8)).round(4).tolist()
            [[0.7071, -0.7071], [0.7071, 0.7071]]
        """
        c = np.asarray(element, dtype=np.float64)
        if not self.group.contains(c):
            raise ValueError(f"{c.round(6).tolist()} is not an element of {self.group.name}")
        if self.function is not None:
            return np.asarray(self.function(c), dtype=np.float64)
        lattice = self.group.lattice
        index = self.group.element(lattice.lattice_matrix(c))
        assert index is not None
        return self.matrices[index]

    def at_generators(self) -> np.ndarray:
        """``(n, d, d)``: ρ at ``group.generator_matrices``; a vector they all fix is fixed by all of ``G``."""
        return np.stack([self.at(c) for c in self.group.generator_matrices])

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Representation)
            and self.group == other.group
            and self.name == other.name
            and self.matrices.shape == other.matrices.shape
            and np.allclose(self.matrices, other.matrices, atol=_ATOL)
            and (self.group.is_lattice_group or np.allclose(self.at_generators(), other.at_generators(), atol=_ATOL))
        )

    def __hash__(self) -> int:
        return hash((self.group, self.name, self.dim))

    def __repr__(self) -> str:
        return f"Representation({self.name}, dim={self.dim}, group={self.group.name})"


# -- factories ---------------------------------------------------------------------------


def _formula(group: StructureGroup, kind: str, *params) -> _Formula | None:
    """The formula of a named representation, kept for groups larger than their lattice part (lattice groups look up their matrices)."""
    return None if group.is_lattice_group else _Formula(kind, *params)


def trivial(group: StructureGroup) -> Representation:
    """ρ(g) = 1 for every element of ``group``: scalar fields."""
    return Representation(group, "trivial", np.ones((group.order, 1, 1)), function=_formula(group, "trivial"))


def sign(group: StructureGroup) -> Representation:
    """ρ(g) = det(g) for every element of ``group``: pseudo-scalars, the Möbius strip's sign-flip fields."""
    mats = np.array([[[group.det(g)]] for g in range(group.order)], dtype=float)
    return Representation(group, "sign", mats, function=_formula(group, "sign"))


@value_cache(None)
def regular(group: StructureGroup) -> Representation:
    """ρ(g) e_h = e_{gh}: one channel per group element, permuted by the group (a finite ``G``).

    For a group larger than its lattice part the channels are the elements of ``G``
    (``group.planar_elements``: ``C8`` has 8 channels, of which the lattice part ``C4``
    permutes in two cycles of 4); SO(2) and O(2) have no regular representation here.
    """
    if group.is_continuous:
        raise ValueError(f"{group.name} is continuous: it has no finite regular representation; use irreps up to a frequency")
    if not group.is_lattice_group:
        return Representation(group, "regular", function=_Formula("regular", group))
    n = group.order
    mats = np.zeros((n, n, n))
    for g in range(n):
        for h in range(n):
            mats[g, group.mul(g, h), h] = 1.0
    return Representation(group, "regular", mats)


def tangent(group: StructureGroup) -> Representation:
    """ρ(g) = the Cartesian matrix of ``g`` in ``group``: tangent vector fields with Cartesian components ``(y, x)``.

    On the square lattice that is ``g`` itself acting on ``(dy, dx)``; on the hexagonal lattice
    the orthogonal ``B g B⁻¹`` (``gaugecnn.lattices``), not the integer lattice matrix.
    """
    return Representation(group, "tangent", np.array(group.cartesian), function=_formula(group, "tangent"))


def irrep(group: StructureGroup, k: int, j: int = 0) -> Representation:
    """The real irreducible representation of frequency ``k`` of a planar point group.

    Writing every element as ``g = R(θ) F^m`` (rotation times ``m`` reflections):

    - ``k = 0``: ``ρ(g) = det(g)^j`` (``j = 0`` trivial, ``j = 1`` sign; ``j = 1`` only with reflections);
    - ``0 < k < N/2``: the 2-dim ``ρ(g) = R(kθ) F^m``;
    - ``k = N/2`` (``N`` even): ``ρ(g) = cos(kθ) det(g)^j``.

    ``N`` is the number of rotations in the group; SO(2) and O(2) have every frequency
    ``k >= 0`` (2-dim for ``k > 0``). Names: ``irrep(k)`` for groups without reflections,
    ``irrep(j,k)`` otherwise. ``F = diag(1, -1)`` (Cartesian ``(y, x)``) is the reflection of the
    column axis, while the groups' own reflection is that of the row axis, ``F_row = R(π) F``; so
    ``j`` at ``k = N/2`` is relative to ``F``: for D6 on the square lattice ``irrep(0,3)`` sends ``F_row`` to -1.

    Examples:
        >>> from gaugecnn.groups import cyclic_group, dihedral_group
        >>> irrep(cyclic_group(4), 1).matrix(1).tolist()  # the rotation by 90 degrees
        [[0.0, -1.0], [1.0, 0.0]]
        >>> [r.name for r in irreps(dihedral_group(4))]
        ['irrep(0,0)', 'irrep(1,0)', 'irrep(0,1)', 'irrep(0,2)', 'irrep(1,2)']
    """
    n = group.rotation_order
    if k < 0 or (n and 2 * k > n):
        raise ValueError(f"{group.name} has irreps of frequency 0..{n // 2 if n else 'any'}, not {k}")
    two_dim = 2 * k != n and k != 0
    if j not in (0, 1) or (j == 1 and (not group.has_reflections or two_dim)):
        raise ValueError(f"{group.name} has no irrep with j={j} at frequency k={k}")
    name = f"irrep({j},{k})" if group.has_reflections else f"irrep({k})"
    mats = np.stack([_irrep_matrix(c, k, j, two_dim) for c in group.cartesian])
    return Representation(group, name, mats, function=_formula(group, "irrep", k, j, two_dim))


def irreps(group: StructureGroup, max_frequency: int | None = None) -> list[Representation]:
    """All real irreps of the group up to ``max_frequency`` (all of them by default), lowest frequency first.

    Args:
        group: the structure group.
        max_frequency: the highest frequency; needed for SO(2) and O(2), which have infinitely many.
    """
    n = group.rotation_order
    if n == 0 and max_frequency is None:
        raise ValueError(f"{group.name} has irreps of every frequency: pass max_frequency")
    top = n // 2 if max_frequency is None else (max_frequency if n == 0 else min(max_frequency, n // 2))
    out: list[Representation] = []
    for k in range(top + 1):
        js = (0, 1) if group.has_reflections and (k == 0 or 2 * k == n) else (0,)
        out.extend(irrep(group, k, j) for j in js)
    return out


def direct_sum(*reps: Representation, name: str | None = None) -> Representation:
    """ρ_1 ⊕ ρ_2 ⊕ ...: block-diagonal matrices.

    Args:
        reps: representations of one group, in block order.
        name: the name of the sum; by default the names joined by ``+``, in parentheses.

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> G = flip_group()
        >>> direct_sum(trivial(G), sign(G)).matrix(1).tolist()
        [[1.0, 0.0], [0.0, -1.0]]
    """
    if not reps:
        raise ValueError("direct_sum needs at least one representation")
    group = reps[0].group
    if any(r.group != group for r in reps):
        raise ValueError("direct_sum of representations of different groups")
    d = sum(r.dim for r in reps)
    mats = np.zeros((group.order, d, d))
    start = 0
    for r in reps:
        mats[:, start : start + r.dim, start : start + r.dim] = r.matrices
        start += r.dim
    function = None if group.is_lattice_group else _Formula("sum", *(r.function for r in reps))
    return Representation(group, name or "(" + "+".join(r.name for r in reps) + ")", mats, function=function)


def restrict(rep: Representation, subgroup: StructureGroup) -> tuple[list[Representation], np.ndarray]:
    """``rep`` read as fields of ``subgroup`` H ⊂ G: the H-representations and the channel order.

    Returns ``(reps, order)``: channel ``c`` of the restricted fields is channel ``order[c]``
    of ``rep``. The matrices are ``ρ(ι(h))``; where they equal one of H's named
    representations that name is used (sign of D4 on C4 is trivial, the tangent stays the
    tangent). The regular representation of G splits into ``|G|/|H|`` regular fields of H,
    one per right coset ``H r``: channel ``ι(h) r`` of G becomes channel ``h`` of field ``r``.
    Anything else keeps its restricted matrices under the name ``ρ|H``.

    Examples:
        >>> from gaugecnn.groups import cyclic_group, dihedral_group
        >>> reps, order = restrict(regular(dihedral_group(4)), cyclic_group(4))
        >>> [r.name for r in reps], order.tolist()
        (['regular', 'regular'], [0, 1, 3, 6, 2, 5, 7, 4])
    """
    group = rep.group
    if group.is_lattice_group and subgroup.is_lattice_group:
        inclusion = group.inclusion(subgroup)
        if rep == regular(group):
            cosets, seen = [], set()
            for r in range(group.order):
                if r not in seen:
                    coset = [group.mul(int(g), r) for g in inclusion]  # channel of G for each h: ι(h) r
                    cosets.append(coset)
                    seen.update(coset)
            return [regular(subgroup)] * len(cosets), np.array([c for coset in cosets for c in coset], dtype=np.int64)
        restricted = Representation(subgroup, f"{rep.name}|{subgroup.name}", rep.matrices[inclusion])
    else:
        _check_subgroup(group, subgroup)
        if not group.is_continuous and rep == regular(group):
            elements = group.planar_elements
            cosets, seen = [], set()
            for r in range(len(elements)):
                if r not in seen:
                    coset = [group.planar_index(h @ elements[r]) for h in subgroup.planar_elements]
                    cosets.append(coset)
                    seen.update(coset)
            return [regular(subgroup)] * len(cosets), np.array([c for coset in cosets for c in coset], dtype=np.int64)
        function = None if subgroup.is_lattice_group else rep.at
        matrices = np.stack([rep.at(c) for c in subgroup.cartesian])
        restricted = Representation(subgroup, f"{rep.name}|{subgroup.name}", matrices, function=function)
    named = [trivial(subgroup), sign(subgroup), tangent(subgroup), *irreps(subgroup, max_frequency=_NAMED_FREQUENCIES)]
    if not subgroup.is_continuous:
        named.append(regular(subgroup))
    same = next((r for r in named if r.dim == rep.dim and _same_matrices(r, restricted)), None)
    return [same or restricted], np.arange(rep.dim, dtype=np.int64)


_NAMED_FREQUENCIES = 16  # a restricted representation of SO(2) / O(2) is recognised as an irrep up to this frequency


def _same_matrices(a: Representation, b: Representation) -> bool:
    if not np.allclose(a.matrices, b.matrices, atol=_ATOL):
        return False
    return a.group.is_lattice_group or np.allclose(a.at_generators(), b.at_generators(), atol=_ATOL)


def _check_subgroup(group: StructureGroup, subgroup: StructureGroup) -> None:
    """A ValueError unless ``subgroup`` acts on the same lattice and each of its generators is in ``group``."""
    if subgroup.lattice != group.lattice:
        raise ValueError(
            f"{subgroup.name} acts on the {subgroup.lattice.name} lattice and {group.name} on the "
            f"{group.lattice.name} lattice; a subgroup must act on the same lattice"
        )
    if subgroup.is_continuous and not group.is_continuous:
        raise ValueError(f"{subgroup.name} is not a subgroup of {group.name}: {group.name} is finite")
    outside = [c for c in subgroup.generator_matrices if not group.contains(c)]
    if outside:
        theta, m = decompose(outside[0])
        what = "reflection" if m else f"rotation by {round(math.degrees(theta), 6):g} degrees"
        raise ValueError(f"{subgroup.name} is not a subgroup of {group.name}: {group.name} has no {what}")


_NAMED = {"trivial": trivial, "sign": sign, "regular": regular, "tangent": tangent}
_IRREP = re.compile(r"irrep\((\d+)(?:,(\d+))?\)$")


def _parse_rep(group: StructureGroup, word: str) -> Representation:
    word = word.replace(" ", "")
    if word in _NAMED:
        return _NAMED[word](group)
    m = _IRREP.match(word)
    if m:
        if m.group(2) is None:
            return irrep(group, int(m.group(1)))
        return irrep(group, int(m.group(2)), int(m.group(1)))
    raise ValueError(f"unknown representation {word!r}; known names: {', '.join(_NAMED)}, irrep(k), irrep(j,k)")


class FieldType:
    """An ordered list of representations: the channel layout of a feature space.

    Channels follow the order of the fields: field after field, each field's ``d`` components
    together (``slices[i]`` are the channels of field ``i``).

    Args:
        group: the structure group all fields transform under.
        reps: the representations, as a list, or as a string of terms ``"n name"`` joined by
            ``+``, where ``name`` is ``trivial``, ``sign``, ``regular``, ``tangent``,
            ``irrep(k)`` or ``irrep(j,k)``.

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> t = FieldType(flip_group(), "2 trivial + 1 sign + 3 regular")
        >>> t.size, str(t)
        (9, '2 trivial + 1 sign + 3 regular')
        >>> t.slices[3]
        slice(3, 5, None)
    """

    def __init__(self, group: StructureGroup, reps: str | Iterable[Representation]):
        self.group = group
        reps_text = reps if isinstance(reps, str) else None
        if isinstance(reps, str):
            reps = self._parse(group, reps)
        self.reps: tuple[Representation, ...] = tuple(reps)
        if not self.reps:
            given = f" {reps_text!r}" if reps_text is not None else ""
            raise ValueError(
                f"field type{given} has no fields; a feature space needs at least one (a term like '0 sign' beside others is fine)"
            )
        for r in self.reps:
            if r.group != group:
                raise ValueError(f"representation {r.name} is of group {r.group.name}, not {group.name}")
        # plain attributes, computed once (not cached_property: its lock stops torch.compile)
        self.size: int = sum(r.dim for r in self.reps)
        starts = np.cumsum([0] + [r.dim for r in self.reps])
        self.slices: tuple[slice, ...] = tuple(slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:]))
        self.is_signed_permutation: bool = all(r.is_signed_permutation for r in self.reps)

    @staticmethod
    def _parse(group: StructureGroup, text: str) -> list[Representation]:
        reps = []
        for term in text.split("+"):
            term = term.strip()
            if not term:
                raise ValueError(f"empty term in field type {text!r}")
            m = re.match(r"^(\d+)\s*(?:x\s*)?(.+)$", term)
            count, word = (int(m.group(1)), m.group(2)) if m else (1, term)
            reps.extend([_parse_rep(group, word)] * count)
        return reps

    def __len__(self) -> int:
        return len(self.reps)

    def matrix(self, g: int) -> np.ndarray:
        """Block-diagonal ρ(g) of the whole feature space."""
        m = np.zeros((self.size, self.size))
        for r, s in zip(self.reps, self.slices):
            m[s, s] = r.matrix(g)
        return m

    @cached_property
    def matrices(self) -> np.ndarray:
        """``(order, size, size)``: ``matrix(g)`` for every element."""
        return np.stack([self.matrix(g) for g in range(self.group.order)])

    def restrict(self, subgroup: StructureGroup) -> tuple[FieldType, np.ndarray]:
        """The same channels read as fields of ``subgroup`` (see :func:`restrict`), and the channel order.

        Examples:
            >>> from gaugecnn.groups import cyclic_group, dihedral_group
            >>> t, order = FieldType(dihedral_group(4), "1 sign + 1 regular").restrict(cyclic_group(4))
            >>> str(t), order.tolist()
            ('1 trivial + 2 regular', [0, 1, 2, 4, 7, 3, 6, 8, 5])
        """
        reps, order, start = [], [], 0
        for rep in self.reps:
            parts, channels = restrict(rep, subgroup)
            reps += parts
            order.append(channels + start)
            start += rep.dim
        return FieldType(subgroup, reps), np.concatenate(order)

    def __add__(self, other: FieldType) -> FieldType:
        if not isinstance(other, FieldType) or other.group != self.group:
            raise ValueError("can only concatenate field types of the same group")
        return FieldType(self.group, self.reps + other.reps)

    def __eq__(self, other) -> bool:
        return isinstance(other, FieldType) and self.group == other.group and self.reps == other.reps

    def __hash__(self) -> int:
        return hash((self.group, self.reps))

    def __str__(self) -> str:
        parts: list[str] = []
        i = 0
        while i < len(self.reps):
            j = i
            while j < len(self.reps) and self.reps[j] == self.reps[i]:
                j += 1
            parts.append(f"{j - i} {self.reps[i].name}")
            i = j
        return " + ".join(parts) if parts else "0 fields"

    def __repr__(self) -> str:
        return f"FieldType({self.group.name}, {str(self)!r})"
