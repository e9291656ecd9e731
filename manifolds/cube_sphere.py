"""The cube sphere: the surface of a cube, six n x n charts, a curved multi-chart atlas."""

from __future__ import annotations

from itertools import permutations, product

import numpy as np

from gaugecnn.atlas import Atlas, Gluing
from gaugecnn.fieldmap import FieldMap
from gaugecnn.groups import StructureGroup, cyclic_group
from gaugecnn.isometry import Isometry
from gaugecnn.lattices import square_lattice
from gaugecnn.manifold import Manifold

from ._sizes import square_side

__all__ = ["CubeSphere", "CubeRotation"]

_AXES = {"+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0), "+z": (0, 0, 1), "-z": (0, 0, -1)}


def _face_frames() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per face: outward normal N, row direction R, column direction C with R x C = N (one orientation)."""
    frames = {}
    for name, normal in _AXES.items():
        n = np.array(normal)
        r = np.array((1, 0, 0)) if n[2] else np.array((0, 0, -1))
        frames[name] = (n, r, np.cross(n, r))
    return frames


_FRAMES = _face_frames()
# each edge's outward direction and walking direction, in terms of the face's R and C
_EDGE = {"top": (-1, "R", "C"), "bottom": (1, "R", "C"), "left": (-1, "C", "R"), "right": (1, "C", "R")}


def _edge_vectors(face: str, edge: str) -> tuple[np.ndarray, np.ndarray]:
    _, r, c = _FRAMES[face]
    sign, out_axis, along_axis = _EDGE[edge]
    vec = {"R": r, "C": c}
    return sign * vec[out_axis], vec[along_axis]


def _gluings() -> list[Gluing]:
    gluings, seen = [], set()
    for face, edge in product(_FRAMES, _EDGE):
        if (face, edge) in seen:
            continue
        outward, along = _edge_vectors(face, edge)
        other = next(f for f, (n, _, _) in _FRAMES.items() if np.array_equal(n, outward))
        other_edge = next(e for e in _EDGE if np.array_equal(_edge_vectors(other, e)[0], _FRAMES[face][0]))
        reversed_ = int(along @ _edge_vectors(other, other_edge)[1]) < 0
        gluings.append(Gluing(face, edge, other, other_edge, reversed_))
        seen |= {(face, edge), (other, other_edge)}
    return gluings


class CubeSphere(Manifold):
    """The surface of the cube ``[-1, 1]^3``: six ``n x n`` faces named ``+x, -x, +y, -y, +z, -z``.

    Each face's frame (rows along R, columns along C) is right-handed about its outward
    normal, so every transition is a rotation by a multiple of 90 degrees (structure group
    ``C4``, the default, or ``D4``), derived by the atlas from which edges meet. At the eight
    vertices three faces meet: a halo corner there has no unique source and stays zero,
    a rule that every rotation of the cube respects.

    Isometries: the 24 rotations of the cube (48 with reflections when the group has them),
    exact permutations of pixels with a gauge element per pixel.

    Args:
        n: the side of each face in pixels (``6 n²`` pixels in all).
        group: the structure group; ``C4`` by default, ``D4`` for the reflections too.
        chart_shape: ``(n, n)``, the keyword every manifold takes.

    Examples:
        >>> cube = CubeSphere(4)
        >>> cube.shape, cube.euler_characteristic, cube.is_orientable, len(cube.isometries())
        ((6, 4, 4), 2, True, 24)
    """

    def __init__(self, n: int | None = None, group: StructureGroup | None = None, *, chart_shape: tuple[int, int] | None = None):
        n = square_side("CubeSphere", chart_shape, ("n", n, 16))
        group = group or cyclic_group(4)
        if not isinstance(group, StructureGroup) or group.lattice != square_lattice():
            where = f"a group of the {group.lattice.name} lattice" if isinstance(group, StructureGroup) else f"{group!r}"
            raise ValueError(
                f"a CubeSphere lives on the square lattice, but {getattr(group, 'name', group)} is {where}; "
                "use cyclic_group(4) (the default), dihedral_group(4), or another group of the square lattice"
            )
        super().__init__(Atlas(group, (n, n), list(_FRAMES), _gluings()))
        self.n = n

    def normals(self) -> np.ndarray:
        """The sphere's unit normals at the pixels: the pixels' own positions."""
        return self.embedding()

    def embedding(self) -> np.ndarray:
        """The unit vector of every pixel centre, ``(6, n, n, 3)``: the cube's pixels projected onto the sphere."""
        n = self.n
        u = (2 * np.arange(n) + 1 - n) / n  # pixel centres in (-1, 1)
        points = np.stack(
            [
                normal[None, None, :] + u[:, None, None] * r[None, None, :] + u[None, :, None] * c[None, None, :]
                for normal, r, c in (_FRAMES[str(f)] for f in self.charts)
            ]
        )
        return points / np.linalg.norm(points, axis=-1, keepdims=True)

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> CubeSphere:
        """The cube sphere at another resolution: square faces of ``chart_shape = (n, n)``.

        Args:
            chart_shape: the new ``(n, n)``.
        """
        return CubeSphere(group=self.group, chart_shape=chart_shape)

    @staticmethod
    def face_frames() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per face name: outward normal N, row direction R, column direction C (3D, with R x C = N)."""
        return {name: (n.copy(), r.copy(), c.copy()) for name, (n, r, c) in _FRAMES.items()}

    def isometries(self) -> list[CubeRotation]:
        """All symmetries of the cube whose frame changes lie in the group."""
        out = []
        for perm in permutations(range(3)):
            for signs in product((1, -1), repeat=3):
                q = np.zeros((3, 3), dtype=np.int64)
                q[np.arange(3), perm] = signs
                if round(np.linalg.det(q)) > 0 or self.group.has_reflections:
                    out.append(CubeRotation(q))
        return out

    def __repr__(self) -> str:
        return f"CubeSphere(n={self.n}, group={self.group.name})"


class CubeRotation(Isometry):
    """A symmetry ``Q`` (3x3 signed permutation) of the cube acting on fields on a CubeSphere atlas.

    The pixel at ``p`` moves to ``Q p``; its feature, pushed forward by ``Q``, is expressed in
    the target face's frame by the 2x2 matrix ``M = [R', C']ᵀ Q [R, C]``, a group element.
    ``CubeSphere.isometries()`` lists those whose ``M`` are all in the atlas's group.

    Args:
        matrix: the ``3 x 3`` signed permutation matrix ``Q``.
    """

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.asarray(matrix, dtype=np.int64)
        self.name = f"cube symmetry {self.matrix.tolist()}"

    def field_map(self, atlas: Atlas | Manifold) -> FieldMap:
        """The symmetry on ``atlas``, a CubeSphere of any resolution: faces permuted, pixels moved, frames changed.

        It reads the faces' own frames, so it acts on a ``CubeSphere`` itself; a restricted or
        re-oriented one carries it through ``isometries()`` (``TransportedIsometry``).
        """
        if not isinstance(atlas, CubeSphere):
            raise ValueError(
                f"a cube symmetry acts on a CubeSphere, not on {atlas!r}; for a derived one use its isometries() or RigidMotion(matrix)"
            )
        n = atlas.chart_shape[0]
        index = {c: k for k, c in enumerate(atlas.charts)}
        q_inv = self.matrix.T
        source = np.empty(atlas.grid, dtype=np.int64)
        element = np.empty(atlas.grid, dtype=np.int64)
        # doubled coordinates keep pixel centres integral: u = 2i + 1 - n in (-n, n)
        ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        for target, (nt, rt, ct) in _FRAMES.items():
            points = n * nt[:, None, None] + np.einsum("a,ij->aij", rt, 2 * ii + 1 - n) + np.einsum("a,ij->aij", ct, 2 * jj + 1 - n)
            back = np.einsum("ab,bij->aij", q_inv, points)
            src = next(f for f, (nf, _, _) in _FRAMES.items() if np.array_equal(nf, q_inv @ nt))
            _, rs, cs = _FRAMES[src]
            si = (np.einsum("a,aij->ij", rs, back) + n - 1) // 2
            sj = (np.einsum("a,aij->ij", cs, back) + n - 1) // 2
            frame_change = np.array([[rt @ self.matrix @ rs, rt @ self.matrix @ cs], [ct @ self.matrix @ rs, ct @ self.matrix @ cs]])
            g = atlas.group.element(frame_change)
            if g is None:
                raise ValueError(
                    f"{self.name} changes frames by {frame_change.tolist()}, which is not in {atlas.group.name}; "
                    "use a group with reflections (D4) for the cube's reflections"
                )
            source[index[target]] = (index[src] * n + si) * n + sj
            element[index[target]] = g
        return FieldMap(atlas.group, atlas.grid, atlas.grid, source, element)
