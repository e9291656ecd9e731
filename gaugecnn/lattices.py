"""Lattices: the integer pixel offsets of a chart and the geometry they carry.

A chart's pixels sit on a lattice: offsets ``(dy, dx) ∈ Z²`` (row first, column second, as
tensors are indexed) whose Cartesian position is ``B (dy, dx)`` for a 2x2 basis ``B``: its
first column is the vector of one step along a column (the next row), its second the
vector of one step along a row (the next column), both in Cartesian ``(y, x)``
coordinates. The metric is ``Bᵀ B``. A lattice isometry is an integer matrix ``M`` with
``Mᵀ (Bᵀ B) M = Bᵀ B``; it acts on Cartesian vectors as ``B M B⁻¹``, an orthogonal matrix.

- ``square_lattice()``: ``B = I``, today's pixel grids; its isometries form D4.
- ``hexagonal_lattice()``: unit steps at 120 degrees, so that ``(1, 1)`` is a neighbour too:
  the six neighbours of a pixel are ``(±1, 0), (0, ±1), ±(1, 1)`` -- a hexagon drawn in a
  ``3 x 3`` array without its corners ``(1, -1)`` and ``(-1, 1)``. Its isometries form D6.

>>> hexagonal_lattice().is_isometry([[1, -1], [1, 0]]), square_lattice().is_isometry([[1, -1], [1, 0]])
(True, False)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Lattice", "square_lattice", "hexagonal_lattice"]


class Lattice:
    """Integer pixel offsets ``(dy, dx)`` with a Cartesian basis ``B``; the metric is ``Bᵀ B``.

    Args:
        name: a short name (``"square"``, ``"hexagonal"``), used in messages and group names.
        basis: the ``2 x 2`` invertible matrix ``B`` whose columns are the row step and the
            column step in Cartesian ``(y, x)``.

    Examples:
        >>> import numpy as np
        >>> rectangular = Lattice("rectangular", np.diag([2.0, 1.0]))
        >>> rectangular.is_isometry([[-1, 0], [0, 1]]), rectangular.is_isometry([[0, -1], [1, 0]])
        (True, False)
    """

    def __init__(self, name: str, basis: ArrayLike):
        basis = np.asarray(basis, dtype=np.float64)
        if basis.shape != (2, 2) or not np.isfinite(basis).all() or abs(np.linalg.det(basis)) < 1e-9:
            raise ValueError(f"a lattice basis is an invertible 2x2 matrix of finite numbers, got {basis.tolist()}")
        self.name = name
        self.basis = basis
        self.basis.setflags(write=False)
        self.metric = basis.T @ basis
        self._inverse = np.linalg.inv(basis)

    def is_isometry(self, matrix) -> bool:
        """Whether an integer matrix preserves the metric (lengths and angles of offsets)."""
        m = np.asarray(matrix)
        if m.shape != (2, 2) or not np.array_equal(m, np.round(m)):
            return False
        return bool(np.allclose(m.T @ self.metric @ m, self.metric, atol=1e-9))

    def cartesian(self, matrix) -> np.ndarray:
        """The orthogonal Cartesian matrix ``B M B⁻¹`` of a lattice isometry ``M``."""
        c = self.basis @ np.asarray(matrix, dtype=np.float64) @ self._inverse
        return np.where(np.abs(c) < 1e-12, 0.0, c)

    def lattice_matrix(self, cartesian) -> np.ndarray | None:
        """The integer matrix ``B⁻¹ C B`` of a Cartesian map ``C`` (``cartesian``), or None if it does not map the lattice to itself."""
        m = self._inverse @ np.asarray(cartesian, dtype=np.float64) @ self.basis
        rounded = np.round(m)
        return rounded.astype(np.int64) if np.allclose(m, rounded, atol=1e-9) else None

    def point(self, offset) -> np.ndarray:
        """Cartesian position ``B y`` of lattice points ``y = offset`` (the last axis holds ``(dy, dx)``)."""
        return np.asarray(offset, dtype=np.float64) @ self.basis.T

    def neighbour_steps(self) -> np.ndarray:
        """``(K, 2)`` integer offsets of a pixel's nearest neighbours, in raster order: four on the
        square lattice (not the diagonals), six on the hexagonal one (not ``(1, -1)``, ``(-1, 1)``)."""
        steps = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)])
        lengths = np.linalg.norm(self.point(steps), axis=1)
        return steps[lengths <= lengths.min() + 1e-9]

    def angle(self, a, b) -> float:
        """Angle in degrees between the lattice vectors ``a`` and ``b``."""
        u, v = self.point(a), self.point(b)
        return math.degrees(math.acos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1.0, 1.0)))

    def __eq__(self, other) -> bool:
        return isinstance(other, Lattice) and np.array_equal(np.round(self.basis, 6), np.round(other.basis, 6))

    def __hash__(self) -> int:
        # equal lattices (bases equal up to rounding) hash alike, whatever their names
        return hash(tuple(np.round(self.basis, 6).ravel().tolist()))

    def __repr__(self) -> str:
        return f"Lattice({self.name})"


def square_lattice() -> Lattice:
    """Unit steps at right angles: ``B = I``."""
    return Lattice("square", np.eye(2))


def hexagonal_lattice() -> Lattice:
    """Unit steps at 120 degrees: the row step is ``(√3/2, -1/2)``, the column step ``(0, 1)`` in ``(y, x)``."""
    return Lattice("hexagonal", [[math.sqrt(3) / 2, 0.0], [-0.5, 1.0]])
