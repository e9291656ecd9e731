"""Group representations ρ: G -> O(d) and field types (ordered lists of them).

A feature field of type ρ assigns to each pixel a vector ``f ∈ R^d`` expressed in the
chart's frame. Changing the frame by ``g`` changes the coefficients to ``ρ(g) f``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np

from .groups import StructureGroup

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


class Representation:
    """A real orthogonal representation, stored as one matrix per group element.

    It is checked on construction: orthogonal matrices, ``ρ(e) = 1`` and
    ``ρ(g) ρ(h) = ρ(gh)`` for all ``g, h``. Usually built by the factories ``trivial``,
    ``sign``, ``regular``, ``irrep``, ``tangent`` and ``direct_sum``.

    Args:
        group: the structure group.
        name: the name used in field-type strings and messages (``"regular"``, ``"irrep(1)"``).
        matrices: ``(group.order, d, d)``, the matrix ``ρ(g)`` of every element ``g``.

    Examples:
        >>> from gaugecnn.groups import flip_group
        >>> regular(flip_group()).matrix(1).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """

    def __init__(self, group: StructureGroup, name: str, matrices: np.ndarray | Sequence):
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
        ones = np.isclose(np.abs(mats), 1.0, atol=_ATOL)
        zeros = np.isclose(mats, 0.0, atol=_ATOL)
        # every ρ(g) has exactly one entry ±1 per row and column
        self.is_signed_permutation = bool(np.all(ones | zeros) and np.all(ones.sum(axis=2) == 1))
        # every ρ(g) is a permutation matrix: pointwise nonlinearities and max pooling commute with it
        self.is_permutation = self.is_signed_permutation and bool(np.all(mats > -_ATOL))

    @property
    def dim(self) -> int:
        """The dimension ``d`` of the representation: channels per field."""
        return self.matrices.shape[1]

    def matrix(self, g: int) -> np.ndarray:
        """ρ(g), a ``(d, d)`` orthogonal matrix (read-only)."""
        return self.matrices[g]

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Representation)
            and self.group == other.group
            and self.name == other.name
            and self.matrices.shape == other.matrices.shape
            and np.allclose(self.matrices, other.matrices, atol=_ATOL)
        )

    def __hash__(self) -> int:
        return hash((self.group, self.name, self.dim))

    def __repr__(self) -> str:
        return f"Representation({self.name}, dim={self.dim}, group={self.group.name})"


# -- factories ---------------------------------------------------------------------------


def trivial(group: StructureGroup) -> Representation:
    """ρ(g) = 1 for every element of ``group``: scalar fields."""
    return Representation(group, "trivial", np.ones((group.order, 1, 1)))


def sign(group: StructureGroup) -> Representation:
    """ρ(g) = det(g) for every element of ``group``: pseudo-scalars, the Möbius strip's sign-flip fields."""
    return Representation(group, "sign", np.array([[[group.det(g)]] for g in range(group.order)], dtype=float))


def regular(group: StructureGroup) -> Representation:
    """ρ(g) e_h = e_{gh}: one channel per group element, permuted by the group."""
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
    return Representation(group, "tangent", np.array(group.cartesian))


def _o2_decompose(group: StructureGroup, g: int) -> tuple[float, int]:
    return group.angle(g), 0 if group.det(g) > 0 else 1


def irrep(group: StructureGroup, k: int, j: int = 0) -> Representation:
    """The real irreducible representation of frequency ``k`` of a planar point group.

    Writing every element as ``g = R(θ) F^m`` (rotation times ``m`` reflections):

    - ``k = 0``: ``ρ(g) = det(g)^j`` (``j = 0`` trivial, ``j = 1`` sign; ``j = 1`` only with reflections);
    - ``0 < k < N/2``: the 2-dim ``ρ(g) = R(kθ) F^m``;
    - ``k = N/2`` (``N`` even): ``ρ(g) = cos(kθ) det(g)^j``.

    ``N`` is the number of rotations in the group. Names: ``irrep(k)`` for groups without
    reflections, ``irrep(j,k)`` otherwise.

    Examples:
        >>> from gaugecnn.groups import cyclic_group, dihedral_group
        >>> irrep(cyclic_group(4), 1).matrix(1).tolist()  # the rotation by 90 degrees
        [[0.0, -1.0], [1.0, 0.0]]
        >>> [r.name for r in irreps(dihedral_group(4))]
        ['irrep(0,0)', 'irrep(1,0)', 'irrep(0,1)', 'irrep(0,2)', 'irrep(1,2)']
    """
    n = group.rotation_order
    if not 0 <= 2 * k <= n:
        raise ValueError(f"{group.name} has irreps of frequency 0..{n // 2}, not {k}")
    if j not in (0, 1) or (j == 1 and (not group.has_reflections or 0 < 2 * k < n)):
        raise ValueError(f"{group.name} has no irrep with j={j} at frequency k={k}")
    name = f"irrep({j},{k})" if group.has_reflections else f"irrep({k})"
    blocks = []
    for g in range(group.order):
        theta, m = _o2_decompose(group, g)
        if 0 < 2 * k < n:
            c, s = np.cos(k * theta), np.sin(k * theta)
            blocks.append(np.array([[c, -s], [s, c]]) @ np.diag([1.0, -1.0 if m else 1.0]))
        else:
            blocks.append(np.array([[np.cos(k * theta) * (-1.0 if (m and j) else 1.0)]]))
    mats = np.stack(blocks)
    mats = np.where(np.abs(mats) < 1e-12, 0.0, mats)  # cos(90°) is 6e-17, not 0; other entries keep full precision
    return Representation(group, name, mats)


def irreps(group: StructureGroup) -> list[Representation]:
    """All real irreps of the group, lowest frequency first."""
    n = group.rotation_order
    out: list[Representation] = []
    for k in range(n // 2 + 1):
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
    return Representation(group, name or "(" + "+".join(r.name for r in reps) + ")", mats)


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
    inclusion = group.inclusion(subgroup)
    if rep == regular(group):
        cosets, seen = [], set()
        for r in range(group.order):
            if r not in seen:
                coset = [group.mul(int(g), r) for g in inclusion]  # channel of G for each h: ι(h) r
                cosets.append(coset)
                seen.update(coset)
        return [regular(subgroup)] * len(cosets), np.array([c for coset in cosets for c in coset], dtype=np.int64)
    matrices = rep.matrices[inclusion]
    named = [trivial(subgroup), sign(subgroup), tangent(subgroup), regular(subgroup), *irreps(subgroup)]
    same = next((r for r in named if r.dim == rep.dim and np.allclose(r.matrices, matrices, atol=_ATOL)), None)
    restricted = same or Representation(subgroup, f"{rep.name}|{subgroup.name}", matrices)
    return [restricted], np.arange(rep.dim, dtype=np.int64)


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
