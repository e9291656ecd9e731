"""Any quad or triangle mesh as a manifold: one ``n x n`` chart per quad, each triangle split into three quads.

A quad ``(v0, v1, v2, v3)`` (corners in cyclic order) becomes a chart whose top-left pixel is at
``v0``, top-right at ``v1``, bottom-right at ``v2`` and bottom-left at ``v3``: rows run from ``v0``
towards ``v3``, columns from ``v0`` towards ``v1``. A triangle ``(a, b, c)`` becomes the three quads
``(a, m_ab, m, m_ca)``, ``(b, m_bc, m, m_ab)``, ``(c, m_ca, m, m_bc)`` around its centroid ``m`` and the
midpoints of its edges, in the triangle's own cyclic order, so any triangle mesh works. In a mesh
that mixes the two, quads are split likewise into four, so both sides of every edge are halved at
its midpoint. Two charts sharing an edge are glued along it (reversed where the edge's ends meet
the other way round); the core derives the transitions, the topology and the cone points as for any atlas.

The mesh's symmetries are its combinatorial automorphisms, found by propagating one chart's
image (a chart and one of the square's eight symmetries) across the gluings: a candidate either
extends to every chart consistently or fails. Candidates are first narrowed by colour refinement
of the charts (corner valences, then neighbours' colours), so that only charts that look alike
are tried. Each automorphism acts on fields at any resolution as a ``MeshSymmetry``.
"""

from __future__ import annotations

import itertools
import numbers
import time
from collections.abc import Hashable, Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike

from gaugecnn.atlas import Atlas, Gluing
from gaugecnn.fieldmap import FieldMap, rotated_grid_source
from gaugecnn.groups import StructureGroup, cyclic_group, dihedral_group
from gaugecnn.isometry import Isometry
from gaugecnn.lattices import square_lattice
from gaugecnn.manifold import Manifold, Space, atlas_of

from ._sizes import square_side

__all__ = ["MeshSurface", "MeshSymmetry"]

# each edge's corners (canonical start, end) and whether its canonical direction follows the cyclic order
_EDGE_CORNERS = {"top": (0, 1), "right": (1, 2), "bottom": (3, 2), "left": (0, 3)}
_FOLLOWS_CYCLE = {"top": True, "right": True, "bottom": False, "left": False}
_NORMAL = {"top": (-1, 0), "bottom": (1, 0), "left": (0, -1), "right": (0, 1)}
_DIRECTION = {"top": (0, 1), "bottom": (0, 1), "left": (1, 0), "right": (1, 0)}
_BY_NORMAL: dict[tuple[int, ...], str] = {v: k for k, v in _NORMAL.items()}

Key = tuple  # ("v", i): a mesh vertex; ("m", i, j): the midpoint of edge i-j; ("c", f): the centroid of face f


def _describe(key: Key) -> str:
    if key[0] == "v":
        return f"vertex {key[1]}"
    if key[0] == "m":
        return f"the midpoint of edge {key[1]}-{key[2]}"
    return f"the centre of face {key[1]}"


def _edge_name(a: Key, b: Key) -> str:
    for p, q in ((a, b), (b, a)):
        if p[0] == "v" and q[0] == "m" and p[1] in q[1:]:  # half of a mesh edge
            return f"edge {q[1]}-{q[2]}"
    if a[0] == b[0] == "v":
        return f"edge {min(a[1], b[1])}-{max(a[1], b[1])}"
    return f"the edge from {_describe(a)} to {_describe(b)}"


class _Mesh:
    """The quads of a mesh: corner keys per chart, positions per key, the face each chart comes from."""

    def __init__(self, vertices: np.ndarray, faces: Sequence[Sequence[int]]):
        self.vertices = vertices
        self.faces = [tuple(int(v) for v in f) for f in faces]
        self.positions: dict[Key, np.ndarray] = {("v", i): p for i, p in enumerate(vertices)}
        self.quads: list[tuple[Key, Key, Key, Key]] = []
        self.face_of: list[int] = []
        self.names: list[str] = []
        split = any(len(face) == 3 for face in self.faces)  # with triangles, quads are split too: edges halve alike
        for k, face in enumerate(self.faces):
            if len(face) == 4 and not split:
                self.quads.append(tuple(("v", v) for v in face))  # type: ignore[arg-type]
                self.face_of.append(k)
                self.names.append(f"face{k}")
                continue
            centre: Key = ("c", k)
            self.positions[centre] = vertices[list(face)].mean(0)
            mids = {}
            for p, q in zip(face, face[1:] + face[:1]):
                key: Key = ("m", min(p, q), max(p, q))
                self.positions[key] = (vertices[p] + vertices[q]) / 2
                mids[p, q] = mids[q, p] = key
            for corner, p in enumerate(face):
                after, before = face[(corner + 1) % len(face)], face[corner - 1]
                self.quads.append((("v", p), mids[p, after], centre, mids[before, p]))
                self.face_of.append(k)
                self.names.append(f"face{k}.{corner}")

    def corners_3d(self) -> np.ndarray:
        """``(charts, 4, 3)``: the corner positions of every quad."""
        return np.array([[self.positions[key] for key in quad] for quad in self.quads])


def _check_input(vertices, faces) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.isfinite(vertices).all():
        raise ValueError(f"vertices must be a (V, 3) array of finite numbers, got shape {vertices.shape}")
    out = []
    for k, face in enumerate(faces):
        face = tuple(face)
        if len(face) not in (3, 4):
            raise ValueError(f"face {k} has {len(face)} corners; faces are triangles (3) or quads (4)")
        if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= int(v) < len(vertices) for v in face):
            raise ValueError(f"face {k} {face} names a vertex that is not one of the {len(vertices)} vertices")
        if len(set(face)) != len(face):
            raise ValueError(f"face {k} {face} repeats a vertex")
        out.append(tuple(int(v) for v in face))
    if not out:
        raise ValueError("a mesh needs at least one face")
    return vertices, out


def _gluings(mesh: _Mesh) -> tuple[list[Gluing], list[tuple[int, int, Key, Key]]]:
    """The gluings of shared edges, and the pairs of faces that traverse a shared edge the same way."""
    occurrences: dict[frozenset, list[tuple[int, str, Key, Key]]] = {}
    for chart, quad in enumerate(mesh.quads):
        for edge, (i, j) in _EDGE_CORNERS.items():
            start, end = quad[i], quad[j]
            occurrences.setdefault(frozenset((start, end)), []).append((chart, edge, start, end))
    gluings, same_way = [], []
    for shared in occurrences.values():
        if len(shared) > 2:
            (_, _, a, b) = shared[0]
            faces = sorted({mesh.face_of[c] for c, *_ in shared})
            raise ValueError(f"{_edge_name(a, b)} is shared by {len(shared)} faces ({faces}): not a surface there (a non-manifold edge)")
        if len(shared) < 2:
            continue  # a boundary edge
        (ca, ea, sa, ta), (cb, eb, sb, tb) = shared
        gluings.append(Gluing(mesh.names[ca], ea, mesh.names[cb], eb, sa != sb))
        cyclic_a = sa if _FOLLOWS_CYCLE[ea] else ta
        cyclic_b = sb if _FOLLOWS_CYCLE[eb] else tb
        if cyclic_a == cyclic_b:  # both traverse it from the same end: gluing them needs a reflection
            same_way.append((mesh.face_of[ca], mesh.face_of[cb], sa, ta))
    return gluings, same_way


def _orientation_error(mesh: _Mesh, same_way: list, gluings: list[Gluing]) -> str:
    """Why the mesh needs reflections, and whether re-ordering some faces' corners would avoid them."""
    flip: dict[int, int] = {0: 0}
    index: dict[Hashable, int] = {name: k for k, name in enumerate(mesh.names)}
    edges: dict[int, list[tuple[int, int]]] = {}
    inconsistent = {frozenset((a, b)) for a, b, *_ in same_way}
    for g in gluings:
        fa, fb = mesh.face_of[index[g.chart_a]], mesh.face_of[index[g.chart_b]]
        parity = 1 if fa != fb and frozenset((fa, fb)) in inconsistent else 0
        edges.setdefault(fa, []).append((fb, parity))
        edges.setdefault(fb, []).append((fa, parity))
    orientable = True
    for start in range(len(mesh.faces)):
        if start in flip:
            continue
        flip[start] = 0
        stack = [start]
        while stack:
            f = stack.pop()
            for other, parity in edges.get(f, []):
                want = flip[f] ^ parity
                if other not in flip:
                    flip[other] = want
                    stack.append(other)
                elif flip[other] != want:
                    orientable = False
    a, b, p, q = same_way[0]
    head = (
        f"faces {a} and {b} traverse their shared {_edge_name(p, q)} in the same direction, so gluing them needs a reflection, "
        f"which the structure group lacks ({len(same_way)} such edge(s))"
    )
    if orientable:
        side = sorted(f for f, v in flip.items() if v == 1)
        rest = sorted(f for f, v in flip.items() if v == 0)
        smaller = side if len(side) <= len(rest) else rest
        listed = ", ".join(map(str, smaller[:12])) + (", ..." if len(smaller) > 12 else "")
        return f"{head}. The surface is orientable: reverse the corner order of faces {listed}, or use dihedral_group(4)"
    return f"{head}. The surface is not orientable (no order of corners avoids reflections): use dihedral_group(4)"


class MeshSurface(Manifold):
    """A surface given as a mesh of quads and triangles: one ``n x n`` chart per quad, three per triangle.

    (In a mesh with triangles, every quad becomes four charts around its centre.)

    Args:
        vertices: ``(V, 3)`` positions.
        faces: quads ``(v0, v1, v2, v3)`` and triangles ``(a, b, c)``, vertex indices in cyclic order,
            every face in the same orientation (for an orientable surface; otherwise give a group
            with reflections).
        n: pixels per chart side (each chart ``n x n`` cells on the square lattice).
        group: ``C4`` (the default) or ``D4``; faces glued against their orientation need ``D4``.
        sphere: project the embedding onto the unit sphere (for meshes of a sphere around the origin).
        symmetries: ``"combinatorial"`` (the default): every automorphism of the mesh; ``"rigid"``:
            only those that are rigid motions of the vertex positions.
        chart_shape: ``(n, n)`` instead of ``n``, the keyword every manifold takes.

    Examples:
        >>> import numpy as np
        >>> square = MeshSurface(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]), [(0, 1, 2, 3)], n=4)
        >>> square.shape, square.euler_characteristic, len(square.isometries())
        ((4, 4), 1, 4)
    """

    def __init__(
        self,
        vertices: ArrayLike,
        faces: Sequence[Sequence[int]],
        n: int | None = None,
        group: StructureGroup | None = None,
        *,
        sphere: bool = False,
        symmetries: str = "combinatorial",
        chart_shape: tuple[int, int] | None = None,
    ):
        n = square_side("MeshSurface", chart_shape, ("n", n, 8))
        if symmetries not in ("combinatorial", "rigid"):
            raise ValueError(f"symmetries must be 'combinatorial' or 'rigid', got {symmetries!r}")
        vertices, faces = _check_input(vertices, faces)
        group = group or cyclic_group(4)
        if not isinstance(group, StructureGroup) or group.lattice != square_lattice():
            raise ValueError(f"a MeshSurface's charts are square grids: use a group of the square lattice (C4, D4), not {group!r}")
        mesh = _Mesh(vertices, faces)
        gluings, same_way = _gluings(mesh)
        if same_way and not group.has_reflections:
            raise ValueError(_orientation_error(mesh, same_way, gluings))
        super().__init__(Atlas(group, (n, n), mesh.names, gluings))
        self.n, self.sphere, self.symmetries = n, sphere, symmetries
        self._mesh = mesh
        self._vertices, self._faces = vertices, faces
        self._automorphisms: list[tuple[tuple[int, ...], tuple[int, ...]]] | None = None
        self.search_seconds: float | None = None  # how long the symmetry search took (after isometries())

    # -- the same mesh at another resolution -------------------------------------------------------
    def with_chart_shape(self, chart_shape: tuple[int, int]) -> MeshSurface:
        """The mesh with charts of ``chart_shape = (n, n)``.

        Args:
            chart_shape: the new ``(n, n)``.
        """
        other = MeshSurface(
            self._vertices, self._faces, group=self.group, sphere=self.sphere, symmetries=self.symmetries, chart_shape=chart_shape
        )
        other._automorphisms, other.search_seconds = self._automorphisms, self.search_seconds  # resolution-free
        return other

    def _geometry_key(self) -> tuple:
        return (self._vertices.tobytes(), tuple(self._faces), self.sphere, self.symmetries)

    # -- geometry ----------------------------------------------------------------------------------
    @property
    def num_faces(self) -> int:
        """The mesh's faces (a triangle counts once, though it is three charts)."""
        return len(self._faces)

    def _weights(self) -> np.ndarray:
        """``(n, n, 4)``: the bilinear weights of a quad's corners at each pixel centre."""
        n = self.n
        u = (np.arange(n) + 0.5) / n  # along the columns: v0 -> v1
        v = (np.arange(n) + 0.5) / n  # along the rows: v0 -> v3
        vv, uu = np.meshgrid(v, u, indexing="ij")
        return np.stack([(1 - uu) * (1 - vv), uu * (1 - vv), uu * vv, (1 - uu) * vv], -1)

    def embedding(self) -> np.ndarray:
        """Every pixel centre, ``(charts, n, n, 3)``: bilinear over its quad (on the unit sphere with ``sphere=True``)."""
        points = np.einsum("ijk,ckd->cijd", self._weights(), self._mesh.corners_3d())
        if self.sphere:
            points = points / np.linalg.norm(points, axis=-1, keepdims=True)
        return points

    def normals(self) -> np.ndarray | None:
        """With ``sphere=True``, the sphere's unit normals (the pixels' positions); else unknown (``None``):
        the tangent frames then lie in the plane fitted to each pixel's neighbours."""
        return self.embedding() if self.sphere else None

    def _vertex_matrix(self) -> np.ndarray:
        """``(charts, n, n, V)``: each pixel as a combination of the mesh's vertices (corners, midpoints, centroids)."""
        mesh, count = self._mesh, len(self._vertices)
        corner_rows = np.zeros((len(mesh.quads), 4, count))
        for c, quad in enumerate(mesh.quads):
            for k, key in enumerate(quad):
                if key[0] == "v":
                    corner_rows[c, k, key[1]] = 1.0
                elif key[0] == "m":
                    corner_rows[c, k, [key[1], key[2]]] = 0.5
                else:
                    face = list(self._faces[key[1]])
                    corner_rows[c, k, face] = 1.0 / len(face)
        return np.einsum("ijk,ckv->cijv", self._weights(), corner_rows)

    def vertex_to_field(self, values: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Data on the mesh's vertices ``(..., V)`` as a scalar field ``(..., *shape)``: bilinear over the quads.

        Args:
            values: an array or tensor whose last axis has one value per vertex.
        """
        matrix = self._vertex_matrix().reshape(-1, len(self._vertices))
        if isinstance(values, torch.Tensor):
            out = values @ torch.as_tensor(matrix.T, dtype=values.dtype, device=values.device)
        else:
            out = np.asarray(values) @ matrix.T
        return out.reshape(*out.shape[:-1], *self.shape)

    def field_to_vertex(self, field: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """A scalar field ``(..., *shape)`` as data on the vertices ``(..., V)``: each vertex the weighted mean of the
        pixels that read it (the weights of ``vertex_to_field``), so a field from vertex data of one constant gives it back.

        Args:
            field: an array or tensor of a scalar field.
        """
        matrix = self._vertex_matrix().reshape(-1, len(self._vertices))
        normalized = matrix / np.maximum(matrix.sum(0, keepdims=True), 1e-300)
        flat_shape = (*field.shape[: field.ndim - len(self.shape)], -1)
        flat = field.reshape(flat_shape)
        if isinstance(field, torch.Tensor):
            return flat @ torch.as_tensor(normalized, dtype=field.dtype, device=field.device)
        return np.asarray(flat) @ normalized

    # -- symmetries ----------------------------------------------------------------------------------
    def automorphisms(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Every automorphism as ``(source chart of each chart, D4 element of each chart)``, the identity first."""
        if self._automorphisms is None:
            start = time.perf_counter()
            kinds = [dict(zip(("tl", "tr", "br", "bl"), (key[0] for key in quad))) for quad in self._mesh.quads]
            found = _automorphisms(self.atlas, kinds)
            if self.symmetries == "rigid":
                found = [a for a in found if _rigid_residual(self, a) < 1e-9]
            self._automorphisms = found
            self.search_seconds = time.perf_counter() - start
        return self._automorphisms

    def isometries(self) -> list[MeshSymmetry]:
        """The automorphisms the structure group can express (orientation-preserving ones under C4)."""
        group = self.group
        out = []
        for k, (source, elements) in enumerate(self.automorphisms()):
            if all(group.element(_D4.matrix(e)) is not None for e in elements):
                out.append(MeshSymmetry(source, elements, f"mesh symmetry {k}"))
        return out

    def summary(self) -> str:
        """The mesh (faces, charts) and the atlas's summary (Euler characteristic, cone angles)."""
        quads = sum(len(f) == 4 for f in self._faces)
        head = (
            f"MeshSurface: {len(self._vertices)} vertices, {self.num_faces} faces ({quads} quads, {self.num_faces - quads} "
            f"triangles) -> {self.num_charts} charts of {self.n}x{self.n}"
        )
        return f"{head}\n{super().summary()}"

    def __repr__(self) -> str:
        return f"MeshSurface({len(self._vertices)} vertices, {self.num_faces} faces, n={self.n}, group={self.group.name})"


_D4 = dihedral_group(4)


class MeshSymmetry(Isometry):
    """An automorphism of a mesh acting on fields: chart ``c`` is filled from chart ``source[c]`` turned by ``element[c]``.

    ``f'_c(y) = ρ(g_c) f_{s(c)}(g_c⁻¹ y)`` with ``g_c`` a symmetry of the square (an element of D4, read in
    the atlas's group): the same at every resolution.

    Args:
        source: per chart, the chart it is filled from.
        elements: per chart, the D4 element (index in ``dihedral_group(4)``) taking the source chart's frame to its own.
        name: its name in messages.
    """

    def __init__(self, source: Sequence[int], elements: Sequence[int], name: str = "mesh symmetry"):
        self.source, self.elements, self.name = tuple(source), tuple(elements), name

    def field_map(self, atlas: Space) -> FieldMap:
        """The symmetry on the mesh's atlas at any resolution."""
        value = atlas_of(atlas)
        n, h, w = value.grid
        if n != len(self.source) or h != w:
            raise ValueError(f"{self.name} acts on the {len(self.source)} square charts of its mesh, not on {atlas!r}")
        group = value.group
        source = np.empty((n, h, w), dtype=np.int64)
        element = np.empty((n, h, w), dtype=np.int64)
        for c, (s, e) in enumerate(zip(self.source, self.elements)):
            g = group.element(_D4.matrix(e))
            if g is None:
                raise ValueError(f"{self.name} turns chart {c} by {_D4.describe(e)}, which is not in {group.name}")
            source[c] = s * h * w + rotated_grid_source(_D4.matrix(e), h, w)
            element[c] = g
        return FieldMap(group, value.grid, value.grid, source, element)


# -- the automorphism search ------------------------------------------------------------------------


def _neighbours(atlas: Atlas) -> dict[tuple[int, str], tuple[int, str, bool]]:
    index = {c: k for k, c in enumerate(atlas.charts)}
    out = {}
    for g in atlas.gluings:
        a, b = index[g.chart_a], index[g.chart_b]
        out[a, g.edge_a] = (b, g.edge_b, g.reversed)
        out[b, g.edge_b] = (a, g.edge_a, g.reversed)
    return out


def _edge_map(element: int, edge: str) -> tuple[str, int]:
    """The edge a D4 element sends ``edge`` to, and whether it keeps (+1) or reverses (-1) its direction."""
    m = _D4.matrix(element)
    image = _BY_NORMAL[tuple(int(v) for v in m @ _NORMAL[edge])]
    direction = m @ _DIRECTION[edge]
    return image, 1 if tuple(int(v) for v in direction) == _DIRECTION[image] else -1


def _element_for(edge: str, image: str, sign: int) -> int:
    """The D4 element sending ``edge``'s normal to ``image``'s and its direction to ``sign`` times ``image``'s."""
    basis = np.array([_NORMAL[edge], _DIRECTION[edge]]).T
    target = np.array([_NORMAL[image], sign * np.array(_DIRECTION[image])]).T
    found = _D4.element(np.round(target @ np.linalg.inv(basis)).astype(np.int64))
    assert found is not None
    return found


# the square's symmetries on its edges, tabulated once: the search looks them up at every step
_EDGE_MAP = {(e, edge): _edge_map(e, edge) for e in range(_D4.order) for edge in _NORMAL}
_ELEMENT_FOR = {(edge, image, sign): _element_for(edge, image, sign) for edge in _NORMAL for image in _NORMAL for sign in (1, -1)}


def _colours(atlas: Atlas, neighbours: dict) -> list[int]:
    """Colour refinement of the charts: corner valences and boundary edges, then the colours of the neighbours."""
    index = {c: k for k, c in enumerate(atlas.charts)}
    valence: dict[tuple[int, str], int] = {}
    for corners, _, interior in atlas.vertex_angles():
        for chart, corner in corners:
            valence[index[chart], corner] = len(corners) * (1 if interior else -1)
    n = atlas.num_charts
    colour = [
        hash((tuple(sorted(valence[c, k] for k in ("tl", "tr", "br", "bl"))), sum((c, e) not in neighbours for e in _NORMAL)))
        for c in range(n)
    ]
    for _ in range(n):
        refined = [hash((colour[c], tuple(sorted(colour[neighbours[c, e][0]] for e in _NORMAL if (c, e) in neighbours)))) for c in range(n)]
        if len(set(refined)) == len(set(colour)):
            break
        colour = refined
    return colour


def _extend(start: int, image: int, element: int, neighbours: dict, charts: int) -> tuple[list[int], list[int]] | None:
    """The automorphism sending chart ``start`` to ``image`` by ``element``, or None if it does not extend."""
    target, turn = [-1] * charts, [-1] * charts
    used = [False] * charts
    target[start], turn[start], used[image] = image, element, True
    queue = [start]
    while queue:
        c = queue.pop()
        for edge in _NORMAL:
            image_edge, sign = _EDGE_MAP[turn[c], edge]
            here, there = neighbours.get((c, edge)), neighbours.get((target[c], image_edge))
            if (here is None) != (there is None):
                return None
            if here is None or there is None:
                continue
            d, d_edge, reversed_here = here
            e, e_edge, reversed_there = there
            sign_d = sign * (-1 if reversed_here else 1) * (-1 if reversed_there else 1)
            element_d = _ELEMENT_FOR[d_edge, e_edge, sign_d]
            if target[d] == -1:
                if used[e]:
                    return None
                target[d], turn[d], used[e] = e, element_d, True
                queue.append(d)
            elif target[d] != e or turn[d] != element_d:
                return None
    if -1 in target:
        return None  # a disconnected mesh: this search follows one component
    return target, turn


_CORNER_VECTORS = {"tl": (-1, -1), "tr": (-1, 1), "br": (1, 1), "bl": (1, -1)}
_CORNER_AT: dict[tuple[int, ...], str] = {v: k for k, v in _CORNER_VECTORS.items()}
# where a D4 element sends each corner of a chart
_CORNER_MAP = {
    (e, corner): _CORNER_AT[tuple(int(v) for v in _D4.matrix(e) @ np.array(vector))]
    for e in range(_D4.order)
    for corner, vector in _CORNER_VECTORS.items()
}


def _keeps_kinds(target: list[int], turn: list[int], kinds: Sequence[dict[str, str]]) -> bool:
    """Whether a map of the charts sends every corner to a corner of the same kind (mesh vertex, midpoint, centre)."""
    return all(kinds[target[c]][_CORNER_MAP[turn[c], corner]] == kind for c in range(len(target)) for corner, kind in kinds[c].items())


def _automorphisms(atlas: Atlas, kinds: Sequence[dict[str, str]] | None = None) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every automorphism of the charts and gluings (as ``(source, elements)`` per chart), the identity first.

    ``kinds`` (per chart, a label per corner) keeps only the maps that send corners to corners with the same
    label: for a mesh, vertices to vertices and face centres to face centres (its charts' complex can have
    more symmetries than the mesh, e.g. the duality of a self-dual polyhedron).
    """
    neighbours = _neighbours(atlas)
    charts = atlas.num_charts
    colour = _colours(atlas, neighbours)
    if kinds is not None:
        colour = [hash((colour[c], tuple(sorted(kinds[c].values())))) for c in range(charts)]
    sizes: dict[int, int] = {}
    for c in colour:
        sizes[c] = sizes.get(c, 0) + 1
    start = min(range(charts), key=lambda c: sizes[colour[c]])  # the rarest kind of chart: the fewest candidates
    found = []
    for image, element in itertools.product(range(charts), range(_D4.order)):
        if colour[image] != colour[start]:
            continue
        extended = _extend(start, image, element, neighbours, charts)
        if extended is None:
            continue
        target, turn = extended
        if kinds is not None and not _keeps_kinds(target, turn, kinds):
            continue
        source, elements = [0] * charts, [0] * charts
        for c in range(charts):  # chart target[c] is filled from chart c, turned by turn[c]
            source[target[c]], elements[target[c]] = c, turn[c]
        found.append((tuple(source), tuple(elements)))
    identity = (tuple(range(charts)), (0,) * charts)
    found.sort(key=lambda a: a != identity)
    return found


def _rigid_residual(surface: MeshSurface, automorphism: tuple[tuple[int, ...], tuple[int, ...]]) -> float:
    """How far an automorphism is from a rigid motion of the quads' corners (Procrustes fit, relative to the size)."""
    source, elements = automorphism
    corners = surface._mesh.corners_3d()  # (charts, 4, 3), corners tl, tr, br, bl
    positions = {"tl": 0, "tr": 1, "br": 2, "bl": 3}
    centred = {"tl": np.array([-1, -1]), "tr": np.array([-1, 1]), "br": np.array([1, 1]), "bl": np.array([1, -1])}
    by_position = {tuple(v): k for k, v in centred.items()}
    xs, ys = [], []
    for c, (s, e) in enumerate(zip(source, elements)):
        m = _D4.matrix(e)
        for corner, vector in centred.items():  # corner of the source chart goes to corner m·vector of chart c
            moved = by_position[tuple(int(v) for v in m @ vector)]
            xs.append(corners[s, positions[corner]])
            ys.append(corners[c, positions[moved]])
    x, y = np.array(xs), np.array(ys)
    cx, cy = x.mean(0), y.mean(0)
    u, _, vt = np.linalg.svd((x - cx).T @ (y - cy))
    q = (u @ vt).T
    scale = float(np.ptp(x, axis=0).max()) or 1.0
    return float(np.abs((x - cx) @ q.T + cy - y).max()) / scale
