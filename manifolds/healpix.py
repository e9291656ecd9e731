"""The HEALPix sphere: its 12 base pixels as ``nside x nside`` charts, read and written in healpy's pixel order.

HEALPix (Górski et al. 2005) cuts the sphere into 12 base pixels, four around each pole and four
around the equator, each subdivided ``nside x nside``. The base is a rhombic dodecahedron, so it is
a quad mesh: here a ``MeshSurface`` whose 14 vertices are the base pixels' corners (six where
four faces meet: the poles and four on the equator; eight cone points where three meet, at
``z = ±2/3``). Face ``f`` is HEALPix's base pixel ``f``; its corners are taken in the order south,
west, north, east, so that chart pixel ``(i, j)`` is HEALPix's ``(x, y) = (i, j)`` within the face:
``x`` grows towards the east corner, ``y`` towards the west one. The embedding is HEALPix's exact
pixel centres, computed here from the scheme's formulas (no healpy needed at run time).

``from_healpix`` and ``to_healpix`` convert between maps ``(..., 12 nside²)`` in the nested or the ring
ordering and fields ``(..., 12, nside, nside)``. Symmetries: the rhombic dodecahedron's
combinatorial ones, and among them (the default) those that map HEALPix's pixel centres onto each
other, the ones a rotated sky shows.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from numpy.typing import ArrayLike

from gaugecnn.groups import StructureGroup

from ._sizes import square_side
from .mesh import MeshSurface, MeshSymmetry

__all__ = ["HEALPixSphere", "nest_to_ring", "ring_to_nest"]

# HEALPix's base pixels: the ring of each face's centre (in units of nside) and its longitude (in units of π/4)
_FACE_RING = np.array([2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
_FACE_LONGITUDE = np.array([1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7])


def _interleave(x: np.ndarray, y: np.ndarray, bits: int) -> np.ndarray:
    """The nested index within a face: the bits of ``x`` at the even places, those of ``y`` at the odd ones."""
    out = np.zeros_like(x)
    for b in range(bits):
        out |= ((x >> b) & 1) << (2 * b)
        out |= ((y >> b) & 1) << (2 * b + 1)
    return out


@lru_cache(maxsize=32)
def _face_pixels(nside: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every pixel ``(face, x, y)`` of the ``(12, nside, nside)`` grid: nested index, ring index, z and φ."""
    face, x, y = np.meshgrid(np.arange(12), np.arange(nside), np.arange(nside), indexing="ij")
    bits = max(1, (nside - 1).bit_length())
    nested = face * nside * nside + _interleave(x, y, bits)
    ring_row = _FACE_RING[face] * nside - x - y - 1  # 1 .. 4 nside - 1, north to south
    north, south = ring_row < nside, ring_row > 3 * nside
    in_ring = np.where(north, ring_row, np.where(south, 4 * nside - ring_row, nside))  # pixels per quarter ring
    z = np.where(
        north,
        1 - in_ring**2 / (3.0 * nside**2),
        np.where(south, in_ring**2 / (3.0 * nside**2) - 1, (2 * nside - ring_row) * 2.0 / (3 * nside)),
    )
    shift = np.where(north | south, 0, (ring_row - nside) & 1)
    along = (_FACE_LONGITUDE[face] * in_ring + x - y + 1 + shift) // 2  # 1 .. 4 in_ring, eastwards
    along = np.where(along > 4 * in_ring, along - 4 * in_ring, np.where(along < 1, along + 4 * in_ring, along))
    phi = (along - (shift + 1) / 2) * (math.pi / 2) / in_ring
    npix = 12 * nside * nside
    ring = np.where(
        north,
        2 * ring_row * (ring_row - 1) + along - 1,
        np.where(
            south, npix - 2 * in_ring * (in_ring + 1) + along - 1, 2 * nside * (nside - 1) + (ring_row - nside) * 4 * nside + along - 1
        ),
    )
    for a in (nested, ring, z, phi):
        a.setflags(write=False)
    return nested, ring, z, phi


def _check_nested(nside: int) -> None:
    if isinstance(nside, bool) or not isinstance(nside, int) or nside < 1 or nside & (nside - 1):
        raise ValueError(
            f"HEALPix's nested ordering needs nside to be a power of two, not {nside!r}: read and write ring-ordered maps with nest=False"
        )


def nest_to_ring(nside: int, index: ArrayLike) -> np.ndarray:
    """The ring-ordering index of nested pixel ``index`` (array-like of ints).

    Args:
        nside: the HEALPix resolution.
        index: nested pixel indices.
    """
    _check_nested(nside)
    nested, ring, _, _ = _face_pixels(nside)
    table = np.empty(12 * nside * nside, dtype=np.int64)
    table[nested.reshape(-1)] = ring.reshape(-1)
    return table[np.asarray(index)]


def ring_to_nest(nside: int, index: ArrayLike) -> np.ndarray:
    """The nested-ordering index of ring pixel ``index`` (array-like of ints).

    Args:
        nside: the HEALPix resolution.
        index: ring pixel indices.
    """
    _check_nested(nside)
    nested, ring, _, _ = _face_pixels(nside)
    table = np.empty(12 * nside * nside, dtype=np.int64)
    table[ring.reshape(-1)] = nested.reshape(-1)
    return table[np.asarray(index)]


def _base_mesh() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The 14 corners of the base pixels on the unit sphere and the 12 faces as (south, west, north, east)."""

    def point(z: float, phi: float) -> np.ndarray:
        r = math.sqrt(max(0.0, 1 - z * z))
        return np.array([r * math.cos(phi), r * math.sin(phi), z])

    corners = []
    for f in range(12):
        row, k = f // 4, f % 4
        if row == 0:  # around the north pole
            s, w, n, e = (
                point(0, (2 * k + 1) * math.pi / 4),
                point(2 / 3, k * math.pi / 2),
                point(1, 0),
                point(2 / 3, (k + 1) * math.pi / 2),
            )
        elif row == 1:  # around the equator
            s, w, n, e = (
                point(-2 / 3, k * math.pi / 2),
                point(0, (k - 0.5) * math.pi / 2),
                point(2 / 3, k * math.pi / 2),
                point(0, (k + 0.5) * math.pi / 2),
            )
        else:  # around the south pole
            s, w, n, e = (
                point(-1, 0),
                point(-2 / 3, k * math.pi / 2),
                point(0, (2 * k + 1) * math.pi / 4),
                point(-2 / 3, (k + 1) * math.pi / 2),
            )
        corners.append((s, w, n, e))
    vertices: list[np.ndarray] = []
    faces = []
    for quad in corners:
        ids = []
        for p in quad:
            found = next((i for i, v in enumerate(vertices) if np.allclose(v, p, atol=1e-9)), None)
            if found is None:
                vertices.append(p)
                found = len(vertices) - 1
            ids.append(found)
        faces.append(tuple(ids))
    return np.array(vertices), faces  # type: ignore[return-value]


class HEALPixSphere(MeshSurface):
    """The HEALPix grid at ``nside``: 12 charts of ``nside x nside`` pixels, the base pixels in healpy's order.

    Args:
        nside: HEALPix's resolution parameter (any positive integer; healpy's nested order needs a power of two).
        group: ``C4`` (the default) or ``D4``.
        symmetries: ``"pixels"`` (the default): the symmetries of the base that map HEALPix's pixel
            centres onto each other; ``"combinatorial"``: every symmetry of the rhombic dodecahedron.
        chart_shape: ``(nside, nside)`` instead of ``nside``, the keyword every manifold takes.

    Examples:
        >>> sky = HEALPixSphere(4)
        >>> sky.shape, sky.euler_characteristic, len(sky.isometries())
        ((12, 4, 4), 2, 8)
    """

    def __init__(
        self,
        nside: int | None = None,
        group: StructureGroup | None = None,
        *,
        symmetries: str = "pixels",
        chart_shape: tuple[int, int] | None = None,
    ):
        nside = square_side("HEALPixSphere", chart_shape, ("nside", nside, 4))
        if symmetries not in ("pixels", "combinatorial"):
            raise ValueError(f"symmetries must be 'pixels' or 'combinatorial', got {symmetries!r}")
        vertices, faces = _base_mesh()
        super().__init__(vertices, faces, group=group, sphere=True, chart_shape=(nside, nside))
        self.nside, self.healpix_symmetries = nside, symmetries

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> HEALPixSphere:
        """The HEALPix sphere at ``nside = chart_shape[0]``.

        Args:
            chart_shape: ``(nside, nside)``.
        """
        other = HEALPixSphere(group=self.group, symmetries=self.healpix_symmetries, chart_shape=chart_shape)
        other._automorphisms = self._automorphisms
        return other

    def _geometry_key(self) -> tuple:
        return (self.healpix_symmetries,)

    def embedding(self) -> np.ndarray:
        """HEALPix's pixel centres, ``(12, nside, nside, 3)``, exact (from the scheme's formulas)."""
        _, _, z, phi = _face_pixels(self.nside)
        r = np.sqrt(np.maximum(0.0, 1 - z * z))
        return np.stack([r * np.cos(phi), r * np.sin(phi), z], -1)

    def isometries(self) -> list[MeshSymmetry]:
        """The base's symmetries the group can express; by default only those that map pixel centres onto pixel centres."""
        found = super().isometries()
        if self.healpix_symmetries == "combinatorial":
            return found
        points = self.embedding().reshape(-1, 3)
        kept = []
        for iso in found:
            source = iso.field_map(self).source.reshape(-1)
            if _procrustes(points[source], points) < 1e-9:
                kept.append(iso)
        return kept

    def _index(self, nest: bool) -> np.ndarray:
        if nest:
            _check_nested(self.nside)
        nested, ring, _, _ = _face_pixels(self.nside)
        return nested if nest else ring

    def from_healpix(self, array: np.ndarray | torch.Tensor, nest: bool = True) -> np.ndarray | torch.Tensor:
        """A HEALPix map ``(..., 12 nside²)`` as a field ``(..., 12, nside, nside)``.

        Args:
            array: a numpy array or torch tensor; its last axis is the map, in ``nest`` or ring order.
            nest: whether the map is in the nested ordering (else the ring ordering).
        """
        npix = 12 * self.nside**2
        if array.shape[-1] != npix:
            raise ValueError(f"a HEALPix map at nside {self.nside} has {npix} pixels, got {array.shape[-1]} on its last axis")
        return array[..., _indexer(self._index(nest), array)]

    def to_healpix(self, field: np.ndarray | torch.Tensor, nest: bool = True) -> np.ndarray | torch.Tensor:
        """A field ``(..., 12, nside, nside)`` as a HEALPix map ``(..., 12 nside²)``.

        Args:
            field: a numpy array or torch tensor.
            nest: write the nested ordering (else the ring ordering).
        """
        if tuple(field.shape[-3:]) != (12, self.nside, self.nside):
            raise ValueError(f"expected a field (..., 12, {self.nside}, {self.nside}), got {tuple(field.shape)}")
        order = np.argsort(self._index(nest).reshape(-1))
        flat = field.reshape(*field.shape[:-3], -1)
        return flat[..., _indexer(order, field)]

    def __repr__(self) -> str:
        return f"HEALPixSphere(nside={self.nside}, group={self.group.name})"


def _indexer(index: np.ndarray, data):
    """``index`` as the kind of array that indexes ``data``: a tensor on its device for a tensor."""
    if type(data).__module__.startswith("torch"):
        return torch.as_tensor(np.array(index), device=data.device)
    return index


def _procrustes(x: np.ndarray, y: np.ndarray) -> float:
    """The largest distance left after the best rotation (or reflection) about the origin sends ``x`` to ``y``."""
    u, _, vt = np.linalg.svd(x.T @ y)
    q = (u @ vt).T
    return float(np.abs(x @ q.T - y).max())
