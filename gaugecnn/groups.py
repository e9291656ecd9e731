"""Structure groups: subgroups of O(2) acting on chart frames, through their lattice part on pixels.

A structure group ``G`` is the group of frame changes a feature field transforms under.
Its **lattice part** ``H = G ∩ {lattice isometries}`` is what charts, gluings and pixels see:
the elements of ``H`` are integer matrices that act on pixel offsets ``(dy, dx)`` -- row
first, column second, as tensors are indexed -- and preserve the metric of the chart's
lattice (``gaugecnn.lattices``): signed permutation matrices on the square lattice
(subgroups of D4), the twelve isometries of the hexagonal lattice (subgroups of D6).
Transitions between charts, gauge transforms and pixel maps are elements of ``H``, and the
element indices ``0 .. order-1`` used throughout gaugecnn number the elements of ``H``.

A **lattice group** is all lattice part (``G = H``): trivial, flip, C2, C4, D4 on the
square lattice, C3, C6, D3, D6 on the hexagonal one. ``cyclic_group(8)``,
``dihedral_group(8)``, ``so2_group()`` and ``o2_group()`` are larger than their lattice
part (C8 on the square lattice has ``H = C4``, SO(2) on the hexagonal lattice ``H = C6``):
inside a chart their kernels are steerable under all of ``G`` in the continuum, sampled on
the pixel offsets, so exactly steerable under ``H`` only (``gaugecnn.kernels``). Elements of
``G`` beyond ``H`` are Cartesian ``2 x 2`` orthogonal matrices (``G.rotation(θ)``), at which
representations are evaluated by ``Representation.at``.

Each element of ``H`` also has its Cartesian matrix, orthogonal, which fixes its angle and
the tangent representation. ``H`` is generated from a few matrices; all its elements, the
multiplication table and inverses are derived from them.
"""

from __future__ import annotations

import math
import numbers
from functools import cached_property

import numpy as np

from .lattices import Lattice, hexagonal_lattice, square_lattice

__all__ = ["StructureGroup", "trivial_group", "flip_group", "cyclic_group", "dihedral_group", "so2_group", "o2_group"]

_ROW_FLIP = np.diag([-1.0, 1.0])  # Cartesian (y, x) -> (-y, x): the reflection of flip_group and dihedral_group
_TOPOLOGICAL_GENERATOR = 1.0  # radians: not a rational multiple of 2π, so R(1) generates a dense subgroup of SO(2)


def rotation_matrix(theta: float) -> np.ndarray:
    """The Cartesian rotation ``R(θ) = [[cos θ, -sin θ], [sin θ, cos θ]]`` acting on ``(y, x)``."""
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def decompose(cartesian) -> tuple[float, int]:
    """``(θ, m)`` with ``C = R(θ) F^m``, ``F = diag(1, -1)``, for an orthogonal Cartesian matrix ``C``.

    The convention of the irreps (``gaugecnn.representations.irrep``) and of ``StructureGroup.angle``.
    """
    c = np.asarray(cartesian, dtype=np.float64)
    m = 1 if np.linalg.det(c) < 0 else 0
    base = c @ np.diag([1.0, -1.0]) if m else c
    return math.atan2(base[1, 0], base[0, 0]), m


class StructureGroup:
    """A finite group of isometries of a lattice (integer 2x2 matrices), closed under products.

    Elements are numbered ``0 .. order-1`` in a deterministic order (breadth-first
    from the identity over the generators); element ``0`` is the identity. Usually built by
    ``trivial_group``, ``flip_group``, ``cyclic_group`` or ``dihedral_group``.

    For a group larger than its lattice part (``planar`` given), ``order``, ``matrices``,
    ``mul`` and the other element-indexed members describe the lattice part ``H``; the
    members ``rotation_order``, ``has_reflections``, ``contains``, ``planar_elements``,
    ``generator_matrices`` and ``lattice_part`` describe all of ``G``.

    Args:
        name: the group's name in messages and field-type errors (``"C4"``, ``"D6 (hexagonal)"``).
        generators: integer ``2 x 2`` lattice matrices; each must be an isometry of the lattice.
            They generate the lattice part ``H`` (all of ``G`` for a lattice group).
        lattice: the lattice the matrices act on; the square lattice by default.
        planar: ``(N, reflections)`` for a group larger than its lattice part: ``C_N``
            (``N >= 1``) or ``SO(2)`` (``N = 0``), with ``reflections`` the reflection of the
            row axis and its products (``D_N``, ``O(2)``); the generators must then generate
            exactly ``G ∩ {lattice isometries}``. Usually given by ``cyclic_group``,
            ``dihedral_group``, ``so2_group`` and ``o2_group``.

    Examples:
        >>> G = cyclic_group(4)
        >>> G.order, G.matrix(1).tolist()
        (4, [[0, -1], [1, 0]])
        >>> cyclic_group(6).lattice, cyclic_group(6).matrix(1).tolist()
        (Lattice(hexagonal), [[1, -1], [1, 0]])
    """

    def __init__(self, name: str, generators: list, lattice: Lattice | None = None, *, planar: tuple[int, bool] | None = None):
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
        self.planar: tuple[int, bool] | None = None
        if planar is not None:
            n, reflections = int(planar[0]), bool(planar[1])
            if n < 0:
                raise ValueError(f"planar=(N, reflections) needs N >= 1 (C_N, D_N) or N = 0 (SO(2), O(2)), got N = {n}")
            self.planar = (n, reflections)
            expected = {m.tobytes() for m in _lattice_isometries(self.lattice) if _in_planar(n, reflections, self.lattice.cartesian(m))}
            if expected != set(self._index):
                raise ValueError(
                    f"the generators of {name!r} generate {len(self._index)} lattice isometries, but G ∩ "
                    f"{{lattice isometries}} has {len(expected)}: pass generators of the whole lattice part"
                )

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
        """``N`` such that the rotations in ``G`` form ``C_N``; ``0`` for SO(2) and O(2)."""
        if self.planar is not None:
            return self.planar[0]
        return sum(1 for g in range(self.order) if self.det(g) > 0)

    @cached_property
    def has_reflections(self) -> bool:
        """Whether ``G`` contains reflections (then so does its lattice part)."""
        if self.planar is not None:
            return self.planar[1]
        return any(self.det(g) < 0 for g in range(self.order))

    # -- the whole group G, beyond its lattice part -----------------------------------
    @property
    def is_lattice_group(self) -> bool:
        """Whether every element of ``G`` is a lattice isometry (``G = H``): kernels are then exactly steerable under all of ``G``."""
        return self.planar is None

    @property
    def is_continuous(self) -> bool:
        """Whether ``G`` is SO(2) or O(2)."""
        return self.planar is not None and self.planar[0] == 0

    @cached_property
    def lattice_part(self) -> StructureGroup:
        """``H = G ∩ {lattice isometries}`` as a lattice group; ``self`` for a lattice group.

        Examples:
            >>> cyclic_group(8).lattice_part.name, o2_group().lattice_part.name, so2_group(hexagonal_lattice()).lattice_part.name
            ('C4', 'D4', 'C6')
        """
        if self.planar is None:
            return self
        n = self.order if not self.has_reflections else self.order // 2
        return (dihedral_group if self.has_reflections else cyclic_group)(n, self.lattice)

    def contains(self, cartesian: np.ndarray) -> bool:
        """Whether the orthogonal Cartesian ``2 x 2`` matrix ``cartesian`` is an element of ``G``."""
        c = np.asarray(cartesian, dtype=np.float64)
        if c.shape != (2, 2) or not np.allclose(c @ c.T, np.eye(2), atol=1e-9):
            return False
        if self.planar is None:
            m = self.lattice.lattice_matrix(c)
            return m is not None and self.element(m) is not None
        return _in_planar(*self.planar, c)

    def rotation(self, theta: float) -> np.ndarray:
        """The Cartesian matrix of the rotation by ``θ`` radians, checked to be in ``G``.

        Args:
            theta: the angle ``θ`` in radians of ``R(θ) = [[cos θ, -sin θ], [sin θ, cos θ]]`` acting on ``(y, x)``.

        Examples:
            >>> cyclic_group(8).rotation(math.pi / 4).round(3).tolist()
            [[0.707, -0.707], [0.707, 0.707]]
        """
        c = rotation_matrix(theta)
        if not self.contains(c):
            raise ValueError(f"{self.name} has no rotation by {math.degrees(theta):g} degrees")
        return c

    @cached_property
    def planar_elements(self) -> np.ndarray:
        """``(|G|, 2, 2)``: the Cartesian matrices of all elements of a finite ``G``.

        For a lattice group, ``cartesian`` (element ``g`` is row ``g``). For ``C_N`` the
        rotations ``R(2πj/N)``, then for ``D_N`` the reflections ``R(2πj/N) F_row``,
        ``F_row = diag(-1, 1)``. SO(2) and O(2) have no finite list: a ValueError.
        """
        if self.planar is None:
            return self.cartesian
        n, reflections = self.planar
        if n == 0:
            raise ValueError(f"{self.name} is a continuous group: it has no finite list of elements")
        rotations = [_clean(rotation_matrix(2 * math.pi * j / n)) for j in range(n)]
        out = np.stack(rotations + ([_clean(r @ _ROW_FLIP) for r in rotations] if reflections else []))
        out.setflags(write=False)
        return out

    @cached_property
    def planar_multiplication_table(self) -> np.ndarray:
        """``table[a, b]``: the row of ``planar_elements`` equal to element ``a`` times element ``b`` (a finite ``G``)."""
        elements = self.planar_elements
        products = np.einsum("aij,bjk->abik", elements, elements)  # (|G|, |G|, 2, 2)
        distance = np.abs(products[:, :, None] - elements[None, None]).max(axis=(3, 4))  # (|G|, |G|, |G|)
        table = np.argmin(distance, axis=2)
        table.setflags(write=False)
        return table

    def planar_index(self, cartesian: np.ndarray) -> int:
        """The row of ``planar_elements`` equal to the Cartesian matrix ``cartesian`` (a finite ``G``), or a ValueError."""
        distance = np.abs(self.planar_elements - np.asarray(cartesian, dtype=np.float64)).max(axis=(1, 2))
        i = int(np.argmin(distance))
        if distance[i] > 1e-9:
            raise ValueError(f"{np.asarray(cartesian).round(6).tolist()} is not an element of {self.name}")
        return i

    @cached_property
    def generator_matrices(self) -> np.ndarray:
        """``(n, 2, 2)`` Cartesian matrices that generate ``G`` (topologically, for SO(2) and O(2)).

        A vector fixed by ``ρ`` of each of them is fixed by all of ``G``: SO(2) is generated
        by ``R(1 rad)``, a rotation by no rational multiple of 2π, whose powers are dense.
        """
        if self.planar is None:
            gens = [self.cartesian[g] for g in self.generators] or [self.cartesian[0]]
        else:
            n, reflections = self.planar
            gens = [_clean(rotation_matrix(2 * math.pi / n if n else _TOPOLOGICAL_GENERATOR))]
            if reflections:
                gens.append(_ROW_FLIP.copy())
        out = np.stack(gens)
        out.setflags(write=False)
        return out

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
        """``ι[h]``: the index in this group's lattice part of each element ``h`` of ``subgroup``'s lattice part.

        A subgroup acts on the same lattice and each of its elements is one of ours (C4 in
        D4, flip in D4, C3 in D6, C8 in SO(2), ...); anything else is refused.
        """
        if subgroup.lattice != self.lattice:
            raise ValueError(
                f"{subgroup.name} acts on the {subgroup.lattice.name} lattice and {self.name} on the "
                f"{self.lattice.name} lattice; a subgroup must act on the same lattice"
            )
        beyond = [c for c in subgroup.generator_matrices if not self.contains(c)]
        if beyond and not (self.is_lattice_group and subgroup.is_lattice_group):
            theta, m = decompose(beyond[0])
            what = "reflection" if m else f"rotation by {round(math.degrees(theta), 6):g} degrees"
            raise ValueError(f"{subgroup.name} is not a subgroup of {self.name}: {self.name} has no {what}")
        index = [self.element(m) for m in subgroup.matrices]
        outside = [subgroup.describe(h) for h, g in enumerate(index) if g is None]
        if outside:
            raise ValueError(f"{subgroup.name} is not a subgroup of {self.name}: {self.name} has no {', no '.join(outside)}")
        return np.array(index, dtype=np.int64)

    # -- identity and printing --------------------------------------------------------
    def __eq__(self, other) -> bool:
        return (
            isinstance(other, StructureGroup)
            and self.lattice == other.lattice
            and self.planar == other.planar
            and np.array_equal(self.matrices, other.matrices)
        )

    def __hash__(self) -> int:
        return hash((self.lattice, self.planar, self.matrices.tobytes()))

    def __repr__(self) -> str:
        if self.planar is None:
            return f"StructureGroup({self.name}, order={self.order})"
        return f"StructureGroup({self.name}, lattice part {self.lattice_part.name})"


def _clean(m: np.ndarray) -> np.ndarray:
    """Entries within 1e-15 of 0 or ±1 set to exactly that (cos 90° is 6e-17): exact lattice elements stay exact."""
    out = np.where(np.abs(m) < 1e-15, 0.0, m)
    return np.where(np.abs(np.abs(out) - 1) < 1e-15, np.sign(out), out)


def _lattice_isometries(lattice: Lattice) -> list[np.ndarray]:
    """Every isometry of the lattice (integer matrices): D4 on the square lattice, D6 on the hexagonal one."""
    found = []
    for n in (6, 4):
        turn = lattice.lattice_matrix(_turn_matrix(n))
        if turn is not None:
            full = StructureGroup("all", [turn, lattice.lattice_matrix(_ROW_FLIP)], lattice)
            found = list(full.matrices)
            break
    return found or [np.eye(2, dtype=np.int64)]


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


def _check_n(n: int, kind: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"the number of rotations n of {kind}_n must be an integer, got {n!r}")
    if n < 1:
        raise ValueError(
            f"the number of rotations n of {kind}_n must be a positive integer, got {n} "
            "(so2_group() and o2_group() give the continuous groups)"
        )
    return int(n)


def _in_planar(n: int, reflections: bool, c: np.ndarray) -> bool:
    """Whether the orthogonal Cartesian ``c`` is in ``C_n`` / ``D_n`` (``n = 0``: SO(2) / O(2)), reflections ``R(α) F_row``."""
    reflect = np.linalg.det(c) < 0
    if reflect and not reflections:
        return False
    rotation = c @ _ROW_FLIP if reflect else c
    if n == 0:
        return True
    steps = math.atan2(rotation[1, 0], rotation[0, 0]) * n / (2 * math.pi)
    return abs(steps - round(steps)) < 1e-9


def _planar_group(name: str, n: int, reflections: bool, lattice: Lattice) -> StructureGroup:
    """``C_n`` / ``D_n`` (``n >= 1``) or SO(2) / O(2) (``n = 0``) beyond the lattice; its lattice part from the lattice's isometries."""
    inside = [m for m in _lattice_isometries(lattice) if _in_planar(n, reflections, lattice.cartesian(m))]
    turns = sum(1 for m in inside if round(np.linalg.det(m)) > 0)  # the lattice part's rotations form C_turns
    generators = [lattice.lattice_matrix(_turn_matrix(turns))] + ([lattice.lattice_matrix(_ROW_FLIP)] if reflections else [])
    return StructureGroup(name, generators, lattice, planar=(n, reflections))


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
    """``C_n``, the rotations by multiples of ``360/n`` degrees, for any ``n >= 1``.

    Where the lattice has the rotation by ``360/n`` degrees (``n`` in 1, 2, 4 on the square
    lattice, 1, 2, 3, 6 on the hexagonal one) ``C_n`` is a lattice group; otherwise its
    lattice part is the largest ``C_m`` both share (``C8`` on the square lattice: ``C4``).

    Args:
        n: the number of rotations.
        lattice: the lattice; by default hexagonal for ``n`` in (3, 6), square otherwise.

    Examples:
        >>> cyclic_group(4).order, cyclic_group(6).lattice.name
        (4, 'hexagonal')
        >>> C8 = cyclic_group(8)
        >>> C8.rotation_order, C8.is_lattice_group, C8.lattice_part.name, len(C8.planar_elements)
        (8, False, 'C4', 8)
    """
    n = _check_n(n, "C")
    lattice = lattice or _natural(n)
    name = _name(f"C{n}", n, lattice)
    rotation = lattice.lattice_matrix(_turn_matrix(n))
    if rotation is None:
        return _planar_group(name, n, False, lattice)
    return StructureGroup(name, [rotation], lattice)


def dihedral_group(n: int, lattice: Lattice | None = None) -> StructureGroup:
    """``D_n``: ``C_n`` plus the reflection of the row axis (``D_1`` is ``flip_group``), for any ``n >= 1``.

    A lattice group where ``C_n`` is one; otherwise its lattice part is ``D_m`` with
    ``C_m`` the lattice part of ``C_n`` (``D8`` on the square lattice: ``D4``).

    Args:
        n: the number of rotations, as for ``cyclic_group``.
        lattice: the lattice; by default hexagonal for ``n`` in (3, 6), square otherwise.

    Examples:
        >>> D4 = dihedral_group(4)
        >>> D4.order, D4.has_reflections, D4.det(4)
        (8, True, -1)
    """
    n = _check_n(n, "D")
    lattice = lattice or _natural(n)
    name = _name(f"D{n}", n, lattice)
    rotation = lattice.lattice_matrix(_turn_matrix(n))
    if rotation is None:
        return _planar_group(name, n, True, lattice)
    if n == 1:
        return flip_group(lattice)
    reflection = lattice.lattice_matrix(_ROW_FLIP)
    return StructureGroup(name, [rotation, reflection], lattice)


def so2_group(lattice: Lattice | None = None) -> StructureGroup:
    """SO(2), all rotations (escnn's ``rot2dOnR2(N=-1)``); lattice part C4 (square) or C6 (hexagonal).

    Args:
        lattice: the lattice; the square lattice by default.

    Examples:
        >>> G = so2_group()
        >>> G.is_continuous, G.lattice_part.name, G.contains(G.rotation(0.3))
        (True, 'C4', True)
    """
    lattice = lattice or square_lattice()
    return _planar_group("SO(2)" if lattice == square_lattice() else f"SO(2) ({lattice.name})", 0, False, lattice)


def o2_group(lattice: Lattice | None = None) -> StructureGroup:
    """O(2), all rotations and reflections (escnn's ``flipRot2dOnR2(N=-1)``); lattice part D4 or D6.

    Args:
        lattice: the lattice; the square lattice by default.
    """
    lattice = lattice or square_lattice()
    return _planar_group("O(2)" if lattice == square_lattice() else f"O(2) ({lattice.name})", 0, True, lattice)
