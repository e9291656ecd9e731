"""Structure groups: finite groups of 2x2 integer matrices acting on lattice offsets.

A structure group ``G`` is the group of frame changes allowed between charts. Its
elements are orthogonal integer matrices (signed permutation matrices) that act on
pixel offsets ``(dy, dx)`` -- row first, column second, as tensors are indexed.
The group is generated from a few matrices; all elements, the multiplication table
and inverses are derived from them.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

__all__ = ["StructureGroup", "trivial_group", "flip_group", "cyclic_group", "dihedral_group"]

_ROTATE_90 = ((0, -1), (1, 0))  # (dy, dx) -> (-dx, dy): a quarter turn of the square lattice
_FLIP_ROWS = ((-1, 0), (0, 1))  # (dy, dx) -> (-dy, dx): reflection of the row (width) axis


class StructureGroup:
    """A finite group of 2x2 integer matrices, closed under products.

    Elements are numbered ``0 .. order-1`` in a deterministic order (breadth-first
    from the identity over the generators); element ``0`` is the identity.

    >>> G = cyclic_group(4)
    >>> G.order, G.matrix(1).tolist()
    (4, [[0, -1], [1, 0]])
    """

    def __init__(self, name: str, generators: list[tuple[tuple[int, int], tuple[int, int]]]):
        self.name = name
        gens = [np.array(g, dtype=np.int64) for g in generators]
        for g in gens:
            if g.shape != (2, 2) or abs(round(np.linalg.det(g))) != 1 or not np.array_equal(g @ g.T, np.eye(2)):
                raise ValueError(f"generator {g.tolist()} of group {name!r} is not an orthogonal integer 2x2 matrix")
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
        self._index = {m.tobytes(): i for i, m in enumerate(self.matrices)}

    # -- basic structure ------------------------------------------------------------
    @property
    def order(self) -> int:
        return len(self.matrices)

    @property
    def identity(self) -> int:
        return 0

    def matrix(self, g: int) -> np.ndarray:
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
        return int(self.multiplication_table[g, h])

    @cached_property
    def inverses(self) -> np.ndarray:
        inv = np.array([int(np.where(row == 0)[0][0]) for row in self.multiplication_table])
        inv.setflags(write=False)
        return inv

    def inv(self, g: int) -> int:
        return int(self.inverses[g])

    # -- geometry of elements -------------------------------------------------------
    def det(self, g: int) -> int:
        return int(round(np.linalg.det(self.matrices[g])))

    def angle(self, g: int) -> float:
        """Rotation angle θ of ``g = R(θ) F^m`` with ``F = diag(1, -1)``, ``m = (1 - det g) / 2``."""
        m = self.matrices[g] @ np.diag([1, -1]) if self.det(g) < 0 else self.matrices[g]
        return math.atan2(m[1, 0], m[0, 0])

    @cached_property
    def rotation_order(self) -> int:
        """``N`` such that the rotations in ``G`` form ``C_N``."""
        return sum(1 for g in range(self.order) if self.det(g) > 0)

    @cached_property
    def has_reflections(self) -> bool:
        return any(self.det(g) < 0 for g in range(self.order))

    def preserves_grid(self, g: int, h: int, w: int) -> bool:
        """Whether ``g`` maps an ``h x w`` pixel grid onto itself (swapping rows and columns needs ``h == w``)."""
        return h == w or self.matrices[g][0, 0] != 0

    def describe(self, g: int) -> str:
        """Words for an element, for error messages: 'identity', 'rotation by 90 degrees', ..."""
        m = self.matrices[g]
        return describe_matrix(m)

    # -- identity and printing --------------------------------------------------------
    def __eq__(self, other) -> bool:
        return isinstance(other, StructureGroup) and np.array_equal(self.matrices, other.matrices)

    def __hash__(self) -> int:
        return hash(self.matrices.tobytes())

    def __repr__(self) -> str:
        return f"StructureGroup({self.name}, order={self.order})"


def describe_matrix(m: np.ndarray) -> str:
    """Words for a signed permutation matrix acting on ``(dy, dx)``."""
    m = np.asarray(m)
    if np.array_equal(m, np.eye(2)):
        return "the identity"
    det = int(round(np.linalg.det(m)))
    if det > 0:
        deg = round(math.degrees(math.atan2(m[1, 0], m[0, 0]))) % 360
        return f"a rotation by {deg} degrees"
    if np.array_equal(m, np.array(_FLIP_ROWS)):
        return "a reflection of the row axis (dy -> -dy)"
    if np.array_equal(m, np.array([[1, 0], [0, -1]])):
        return "a reflection of the column axis (dx -> -dx)"
    if np.array_equal(m, np.array([[0, 1], [1, 0]])):
        return "a reflection across the main diagonal (dy <-> dx)"
    return "a reflection across the anti-diagonal (dy <-> -dx)"


def trivial_group() -> StructureGroup:
    """``{e}``: no frame changes (orientable charts glued without twists)."""
    return StructureGroup("trivial", [])


def flip_group() -> StructureGroup:
    """``{e, s}`` with ``s`` the reflection of the row (width) axis: the Möbius strip's group."""
    return StructureGroup("flip", [_FLIP_ROWS])


def cyclic_group(n: int) -> StructureGroup:
    """``C_n`` of lattice rotations, ``n`` in 1, 2, 4."""
    if n not in (1, 2, 4):
        raise ValueError(f"the square lattice has rotation groups C1, C2, C4 only, not C{n}")
    r = np.linalg.matrix_power(np.array(_ROTATE_90), 4 // n)
    return StructureGroup(f"C{n}", [tuple(map(tuple, r))])


def dihedral_group(n: int) -> StructureGroup:
    """``D_n``: ``C_n`` plus the reflection of the row axis, ``n`` in 1, 2, 4 (``D_1`` is ``flip``)."""
    if n not in (1, 2, 4):
        raise ValueError(f"the square lattice has dihedral groups D1, D2, D4 only, not D{n}")
    if n == 1:
        return StructureGroup("flip", [_FLIP_ROWS])
    r = np.linalg.matrix_power(np.array(_ROTATE_90), 4 // n)
    return StructureGroup(f"D{n}", [tuple(map(tuple, r)), _FLIP_ROWS])
