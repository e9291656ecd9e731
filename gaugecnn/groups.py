"""Structure groups: finite groups of lattice isometries acting on pixel offsets.

A structure group ``G`` is the group of frame changes allowed between charts. Its
elements are integer matrices that act on pixel offsets ``(dy, dx)`` -- row first, column
second, as tensors are indexed -- and preserve the metric of the chart's lattice
(``gaugecnn.lattices``): signed permutation matrices on the square lattice (subgroups of
D4), the twelve isometries of the hexagonal lattice (subgroups of D6). Each element also
has its Cartesian matrix, orthogonal, which fixes its angle and the tangent representation.
The group is generated from a few matrices; all elements, the multiplication table and
inverses are derived from them.
"""

from __future__ import annotations

import math
import numbers
from functools import cached_property

import numpy as np

from .lattices import Lattice, hexagonal_lattice, square_lattice

__all__ = ["StructureGroup", "trivial_group", "flip_group", "cyclic_group", "dihedral_group"]

_FLIP_ROWS = ((-1, 0), (0, 1))  # (dy, dx) -> (-dy, dx): reflection of the row (width) axis


class StructureGroup:
    """A finite group of isometries of a lattice (integer 2x2 matrices), closed under products.

    Elements are numbered ``0 .. order-1`` in a deterministic order (breadth-first
    from the identity over the generators); element ``0`` is the identity. Usually built by
    ``trivial_group``, ``flip_group``, ``cyclic_group`` or ``dihedral_group``.

    Args:
        name: the group's name in messages and field-type errors (``"C4"``, ``"D6 (hexagonal)"``).
        generators: integer ``2 x 2`` lattice matrices; each must be an isometry of the lattice.
        lattice: the lattice the matrices act on; the square lattice by default.

    Examples:
        >>> G = cyclic_group(4)
        >>> G.order, G.matrix(1).tolist()
        (4, [[0, -1], [1, 0]])
        >>> cyclic_group(6).lattice, cyclic_group(6).matrix(1).tolist()
        (Lattice(hexagonal), [[1, -1], [1, 0]])
    """

    def __init__(self, name: str, generators: list, lattice: Lattice | None = None):
        self.name = name
        self.lattice = lattice or square_lattice()
        gens = [np.array(g, dtype=np.int64) for g in generators]
        for g, given in zip(gens, generators):
            if g.shape != (2, 2) or not np.array_equal(g, np.asarray(given)) or not self.lattice.is_isometry(g):
                raise ValueError(
                    f"generator {np.asarray(given).tolist()} of group {name!r} is not an isometry of the "
                    f"{self.lattice.name} lattice (an integer matrix preserving its metric)"
                )
        elements = [np.eye(2, dtype=np.int64)]
        seen = {elements[0].tobytes()}
        frontier = list(elements)
        while frontier:
            new = []
            for a in frontier:
                for g in gens:
                    b = g @ a
                    if b.tobytes() not in seen:
                        seen.add(b.tobytes())
                        elements.append(b)
                        new.append(b)
            frontier = new
        self.matrices = np.stack(elements)  # (order, 2, 2)
        self.matrices.setflags(write=False)
        self.cartesian = np.stack([self.lattice.cartesian(m) for m in elements])  # (order, 2, 2), orthogonal
        self.cartesian.setflags(write=False)
        self._index = {m.tobytes(): i for i, m in enumerate(self.matrices)}
        self.generators: tuple[int, ...] = tuple(self._index[g.tobytes()] for g in gens)

    # -- basic structure ------------------------------------------------------------
    @property
    def order(self) -> int:
        """The number of elements |G|."""
        return len(self.matrices)

    @property
    def identity(self) -> int:
        """The index of the identity element: always ``0``."""
        return 0

    def matrix(self, g: int) -> np.ndarray:
        """The integer ``2 x 2`` lattice matrix of element ``g``, acting on offsets ``(dy, dx)``."""
        return self.matrices[g]

    def element(self, matrix) -> int | None:
        """Index of the element with this matrix, or ``None`` if it is not in the group."""
        return self._index.get(np.asarray(matrix, dtype=np.int64).tobytes())

    @cached_property
    def multiplication_table(self) -> np.ndarray:
        """``table[g, h]`` is the index of ``g h``."""
        n = self.order
        table = np.empty((n, n), dtype=np.int64)
        for g in range(n):
            for h in range(n):
                table[g, h] = self._index[(self.matrices[g] @ self.matrices[h]).tobytes()]
        table.setflags(write=False)
        return table

    def mul(self, g: int, h: int) -> int:
        """The index of the product ``g h`` (``h`` acts first)."""
        return int(self.multiplication_table[g, h])

    @cached_property
    def inverses(self) -> np.ndarray:
        inv = np.array([int(np.where(row == 0)[0][0]) for row in self.multiplication_table])
        inv.setflags(write=False)
        return inv

    def inv(self, g: int) -> int:
        """The index of the inverse ``g⁻¹``."""
        return int(self.inverses[g])

    # -- geometry of elements -------------------------------------------------------
    def det(self, g: int) -> int:
        """``+1`` if ``g`` is a rotation, ``-1`` if a reflection."""
        return int(round(np.linalg.det(self.matrices[g])))

    def angle(self, g: int) -> float:
        """Rotation angle θ of ``g = R(θ) F^m`` (Cartesian) with ``F = diag(1, -1)``, ``m = (1 - det g) / 2``."""
        m = self.cartesian[g] @ np.diag([1, -1]) if self.det(g) < 0 else self.cartesian[g]
        return math.atan2(m[1, 0], m[0, 0])

    @cached_property
    def rotation_order(self) -> int:
        """``N`` such that the rotations in ``G`` form ``C_N``."""
        return sum(1 for g in range(self.order) if self.det(g) > 0)

    @cached_property
    def has_reflections(self) -> bool:
        return any(self.det(g) < 0 for g in range(self.order))

    def preserves_grid(self, g: int, h: int, w: int) -> bool:
        """Whether ``g``, about the centre, maps an ``h x w`` array of pixels onto itself.

        On the square lattice: always for square arrays, else only elements that do not
        swap rows and columns. On the hexagonal lattice an array is a rhombus, which the
        half turn and (for square arrays) the reflections across its diagonals preserve.
        """
        corners = np.array([[a * (h - 1), b * (w - 1)] for a in (-1, 1) for b in (-1, 1)])  # doubled, centred
        moved = corners @ self.matrices[g].T
        return {tuple(c) for c in corners} == {tuple(c) for c in moved}

    def describe(self, g: int) -> str:
        """Words for the element ``g``, for error messages: 'identity', 'rotation by 90 degrees', ..."""
        return describe_matrix(self.matrices[g], self.lattice)

    def inclusion(self, subgroup: StructureGroup) -> np.ndarray:
        """``ι[h]``: the index in this group of each element ``h`` of ``subgroup``.

        A subgroup acts on the same lattice and each of its matrices is one of ours (C4 in
        D4, flip in D4, C3 in D6, ...); anything else is refused.
        """
        if subgroup.lattice != self.lattice:
            raise ValueError(
                f"{subgroup.name} acts on the {subgroup.lattice.name} lattice and {self.name} on the "
                f"{self.lattice.name} lattice; a subgroup must act on the same lattice"
            )
        index = [self.element(m) for m in subgroup.matrices]
        outside = [subgroup.describe(h) for h, g in enumerate(index) if g is None]
        if outside:
            raise ValueError(f"{subgroup.name} is not a subgroup of {self.name}: {self.name} has no {', no '.join(outside)}")
        return np.array(index, dtype=np.int64)

    # -- identity and printing --------------------------------------------------------
    def __eq__(self, other) -> bool:
        return isinstance(other, StructureGroup) and self.lattice == other.lattice and np.array_equal(self.matrices, other.matrices)

    def __hash__(self) -> int:
        return hash((self.lattice, self.matrices.tobytes()))

    def __repr__(self) -> str:
        return f"StructureGroup({self.name}, order={self.order})"


def describe_matrix(m: np.ndarray, lattice: Lattice | None = None) -> str:
    """Words for a lattice isometry acting on ``(dy, dx)`` (square lattice unless given)."""
    lattice = lattice or square_lattice()
    m = np.asarray(m)
    if np.array_equal(m, np.eye(2)):
        return "the identity"
    c = lattice.cartesian(m)
    if np.linalg.det(c) > 0:
        deg = round(math.degrees(math.atan2(c[1, 0], c[0, 0]))) % 360
        return f"a rotation by {deg} degrees"
    if lattice == square_lattice():
        named = {
            ((-1, 0), (0, 1)): "a reflection of the row axis (dy -> -dy)",
            ((1, 0), (0, -1)): "a reflection of the column axis (dx -> -dx)",
            ((0, 1), (1, 0)): "a reflection across the main diagonal (dy <-> dx)",
        }
        key = ((int(m[0, 0]), int(m[0, 1])), (int(m[1, 0]), int(m[1, 1])))
        return named.get(key, "a reflection across the anti-diagonal (dy <-> -dx)")
    # the mirror line is the eigenvector of eigenvalue +1; its angle from the column axis (x)
    values, vectors = np.linalg.eigh(c)
    v = vectors[:, int(np.argmax(values))]
    deg = round(math.degrees(math.atan2(v[0], v[1]))) % 180
    return f"a reflection across the line at {deg} degrees to the column axis"


def _natural(n: int) -> Lattice:
    return hexagonal_lattice() if n in (3, 6) else square_lattice()


def _turn_matrix(k: int) -> np.ndarray:
    t = 2 * math.pi / k
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _rotation(lattice: Lattice, n: int, kind: str) -> np.ndarray:
    """The lattice matrix of the rotation by 360/n degrees, or an error naming both lattices' groups."""

    def turn(k: int) -> np.ndarray | None:
        return lattice.lattice_matrix(_turn_matrix(k))

    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"the number of rotations n must be an integer (1, 2, 3, 4 or 6), got {n!r}")
    if n < 1 or turn(n) is None:
        family = "rotation" if kind == "C" else "dihedral"

        def groups(lat: Lattice) -> str:
            return ", ".join(f"{kind}{k}" for k in (1, 2, 3, 4, 6) if lat.lattice_matrix(_turn_matrix(k)) is not None)

        raise ValueError(
            f"{kind}{n} is not a group of the {lattice.name} lattice's isometries: the square lattice has the "
            f"{family} groups {groups(square_lattice())}, the hexagonal lattice {groups(hexagonal_lattice())}. The "
            "lattice follows from n (hexagonal for 3 and 6, square otherwise); pass lattice=... to choose it"
        )
    matrix = turn(n)
    assert matrix is not None
    return matrix


def _name(base: str, n: int, lattice: Lattice) -> str:
    return base if lattice == _natural(n) else f"{base} ({lattice.name})"


def trivial_group(lattice: Lattice | None = None) -> StructureGroup:
    """``{e}``: no frame changes (orientable charts glued without twists).

    Args:
        lattice: the lattice the group acts on; the square lattice by default.
    """
    lattice = lattice or square_lattice()
    return StructureGroup(_name("trivial", 1, lattice), [], lattice)


def flip_group(lattice: Lattice | None = None) -> StructureGroup:
    """``{e, s}`` with ``s`` the reflection of the row (width) axis: the Möbius strip's group.

    Args:
        lattice: the lattice the group acts on; the square lattice by default.
    """
    lattice = lattice or square_lattice()
    return StructureGroup(_name("flip", 1, lattice), [lattice.lattice_matrix(np.diag([-1.0, 1.0]))], lattice)


def cyclic_group(n: int, lattice: Lattice | None = None) -> StructureGroup:
    """``C_n``, the rotations by multiples of ``360/n`` degrees.

    Args:
        n: the number of rotations: 1, 2 or 4 on the square lattice, 1, 2, 3 or 6 on the
            hexagonal one; any other ``n`` is refused with the lattice's choices.
        lattice: the lattice; by default hexagonal for ``n`` in (3, 6), square otherwise.

    Examples:
        >>> cyclic_group(4).order, cyclic_group(6).lattice.name
        (4, 'hexagonal')
    """
    lattice = lattice or _natural(n)
    rotation = _rotation(lattice, n, "C")
    return StructureGroup(_name(f"C{n}", n, lattice), [rotation], lattice)


def dihedral_group(n: int, lattice: Lattice | None = None) -> StructureGroup:
    """``D_n``: ``C_n`` plus the reflection of the row axis (``D_1`` is ``flip_group``).

    Args:
        n: the number of rotations, as for ``cyclic_group``.
        lattice: the lattice; by default hexagonal for ``n`` in (3, 6), square otherwise.

    Examples:
        >>> D4 = dihedral_group(4)
        >>> D4.order, D4.has_reflections, D4.det(4)
        (8, True, -1)
    """
    lattice = lattice or _natural(n)
    rotation = _rotation(lattice, n, "D")
    if n == 1:
        return flip_group(lattice)
    reflection = lattice.lattice_matrix(np.diag([-1.0, 1.0]))
    return StructureGroup(_name(f"D{n}", n, lattice), [rotation, reflection], lattice)
