"""The icosahedral sphere: the vertex grid of a subdivided icosahedron on ten rhombic charts.

The grid of the Icosahedral CNN (Cohen, Weiler, Kicanaoglu and Welling, ICML 2019): every
edge of the icosahedron cut into ``n = 2^r`` segments, every face into ``n²`` triangles,
``10·4^r + 2`` vertices, six neighbours each except at the twelve vertices of the
icosahedron, where five faces meet. Here it is an ordinary gaugecnn atlas on the hexagonal
lattice: ten rhombi of two faces each (five around the north pole, five around the south
pole), ``n x n`` vertices per chart, glued edge to edge; the transitions, halos and
isometries all come from the general core.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from gaugecnn.atlas import Atlas, Gluing
from gaugecnn.groups import StructureGroup, cyclic_group
from gaugecnn.isometry import RigidMotion
from gaugecnn.lattices import hexagonal_lattice
from gaugecnn.manifold import Manifold

from ._sizes import square_side

__all__ = ["IcoSphere", "icosahedron_vertices", "icosahedral_rotations"]


def icosahedron_vertices() -> dict[str, np.ndarray]:
    """The twelve unit vertices: poles ``N``, ``S``, an upper ring ``U0..U4``, a lower ring ``L0..L4``.

    ``L k`` lies between ``U k`` and ``U k+1`` in longitude.
    """
    z, rho = 1 / math.sqrt(5), 2 / math.sqrt(5)
    out = {"N": np.array([0.0, 0.0, 1.0]), "S": np.array([0.0, 0.0, -1.0])}
    for k in range(5):
        up, low = 2 * math.pi * k / 5, 2 * math.pi * (k + 0.5) / 5
        out[f"U{k}"] = np.array([rho * math.cos(up), rho * math.sin(up), z])
        out[f"L{k}"] = np.array([rho * math.cos(low), rho * math.sin(low), -z])
    return out


def _rhombi() -> dict[str, tuple[str, str, str, str]]:
    """Per chart: its corners ``(O, A, C, D)`` at array positions ``(0, 0), (0, n), (n, 0), (n, n)``.

    ``O`` and ``D`` are the obtuse corners (120 degrees: the lattice's row and column steps
    meet at 120 degrees), ``A`` and ``C`` the acute ones; ``A`` is reached along a row, ``C``
    along a column. Each chart stores its corner ``O``, a vertex of the rings: the poles
    belong to no chart.
    """
    vertices = icosahedron_vertices()
    charts = {}
    for k in range(5):
        nxt = (k + 1) % 5
        for name, (o, acute, d) in (
            (f"upper{k}", (f"U{k}", ("N", f"L{k}"), f"U{nxt}")),
            (f"lower{k}", (f"L{k}", (f"U{nxt}", "S"), f"L{nxt}")),
        ):
            a, c = acute
            po, pa, pc = vertices[o], vertices[a], vertices[c]
            # one handedness for every chart: (row step, column step, outward normal) as (C - O, A - O, O)
            if np.linalg.det(np.stack([pc - po, pa - po, po])) < 0:
                a, c = c, a
            charts[name] = (o, a, c, d)
    return charts


_CHARTS = _rhombi()
# the corners at the start and end of each edge, in the edge's canonical direction
_EDGE_CORNERS = {"top": (0, 1), "left": (0, 2), "bottom": (2, 3), "right": (1, 3)}


def _gluings() -> list[Gluing]:
    """Every pair of charts sharing two corners shares that edge; reversed when its ends are met in opposite order."""
    edges = {}
    for chart, corners in _CHARTS.items():
        for edge, (i, j) in _EDGE_CORNERS.items():
            edges[(chart, edge)] = (corners[i], corners[j])
    gluings = []
    for (ca, ea), (cb, eb) in itertools.combinations(edges, 2):
        (sa, ta), (sb, tb) = edges[(ca, ea)], edges[(cb, eb)]
        if {sa, ta} == {sb, tb}:
            gluings.append(Gluing(ca, ea, cb, eb, sa != sb))
    return gluings


_GLUINGS = tuple(_gluings())


def _positions(n: int) -> np.ndarray:
    """The 3D points (on the icosahedron's faces) of every stored vertex: ``(10, n, n, 3)``.

    Vertex ``(i, j)`` of a chart lies in the face ``(O, A, D)`` when ``j >= i`` and in
    ``(O, C, D)`` otherwise: ``((n - j) O + (j - i) A + i D) / n`` and the mirror formula.
    """
    vertices = icosahedron_vertices()
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    out = []
    for o, a, c, d in _CHARTS.values():
        po, pa, pc, pd = (vertices[v] for v in (o, a, c, d))
        upper = ((n - j)[..., None] * po + (j - i)[..., None] * pa + i[..., None] * pd) / n
        lower = ((n - i)[..., None] * po + (i - j)[..., None] * pc + j[..., None] * pd) / n
        out.append(np.where((j >= i)[..., None], upper, lower))
    return np.stack(out)


def icosahedral_rotations(reflections: bool = False) -> list[np.ndarray]:
    """The 60 rotations of the icosahedron (120 with ``reflections``: each also times ``-I``), as 3x3 matrices.

    Generated from the turn by 72 degrees about the poles and the half turn that swaps
    ``N`` and ``U0``; the identity first.
    """
    vertices = icosahedron_vertices()
    t = 2 * math.pi / 5
    turn = np.array([[math.cos(t), -math.sin(t), 0.0], [math.sin(t), math.cos(t), 0.0], [0.0, 0.0, 1.0]])
    axis = vertices["N"] + vertices["U0"]
    axis /= np.linalg.norm(axis)
    half = 2 * np.outer(axis, axis) - np.eye(3)
    found = [np.eye(3)]
    frontier = [np.eye(3)]
    while frontier:
        new = []
        for m in frontier:
            for g in (turn, half):
                q = g @ m
                if not any(np.allclose(q, f, atol=1e-9) for f in found):
                    found.append(q)
                    new.append(q)
        frontier = new
    assert len(found) == 60
    return found + [-q for q in found] if reflections else found


class IcoSphere(Manifold):
    """The icosahedral sphere at resolution ``r``: ten ``2^r x 2^r`` rhombic vertex charts.

    The structure group is ``C6`` (the default) or ``D6`` on the hexagonal lattice. Charts
    ``upper0..upper4`` (around the north pole) and ``lower0..lower4`` (around the south
    pole) each store ``n²`` vertices (``n = 2^r``): ``10 n²`` pixels, every vertex of the
    subdivided icosahedron once except the two poles. The twelve vertices of the
    icosahedron are cone points with five neighbours instead of six: the ten that charts
    store are kept at zero by the layers (``cone_pixels``), the poles have no pixel and are
    zero in the halos -- the rule of Cohen et al. (2019), which keeps every layer exactly
    equivariant.

    Isometries: the 60 rotations of the icosahedron (120 with reflections under D6), exact
    pixel permutations with a gauge element per pixel (``RigidMotion``).

    Args:
        r: the resolution: charts of ``2^r x 2^r`` vertices, ``10 · 4^r + 2`` vertices in all.
        group: ``C6`` on the hexagonal lattice by default, or ``D6``.
        chart_shape: ``(2^r, 2^r)`` instead of ``r``, the keyword every manifold takes.

    Examples:
        >>> ico = IcoSphere(2)
        >>> ico.shape, ico.euler_characteristic, int(ico.cone_pixels.sum()), len(ico.isometries())
        ((10, 4, 4), 2, 10, 60)
    """

    def __init__(self, r: int | None = None, group: StructureGroup | None = None, *, chart_shape: tuple[int, int] | None = None):
        if chart_shape is not None:
            n = square_side("IcoSphere", chart_shape, ("r", r, 0))
            if n & (n - 1):
                raise ValueError(f"an IcoSphere's charts have a power-of-two side 2^r, not {chart_shape!r}")
            r = n.bit_length() - 1
        r = 2 if r is None else r
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral) or r < 0:
            raise ValueError(f"the resolution r must be an integer >= 0 (2^r segments per edge), got {r!r}")
        r = int(r)
        group = group or cyclic_group(6)
        if group.lattice != hexagonal_lattice():
            raise ValueError(
                f"an IcoSphere lives on the hexagonal lattice, but {group.name} is a group of the {group.lattice.name} "
                "lattice; use cyclic_group(6), dihedral_group(6), or e.g. cyclic_group(2, hexagonal_lattice())"
            )
        super().__init__(Atlas(group, (2**r, 2**r), list(_CHARTS), _GLUINGS, grid="vertices"))
        self.r: int = r

    def normals(self) -> np.ndarray:
        """The sphere's unit normals at the pixels: the pixels' own positions."""
        return self.embedding()

    def embedding(self) -> np.ndarray:
        """The unit vector of every pixel, ``(10, n, n, 3)``: vertices of the subdivided icosahedron projected onto the sphere."""
        points = _positions(self.chart_shape[0])
        return points / np.linalg.norm(points, axis=-1, keepdims=True)

    def with_chart_shape(self, chart_shape: tuple[int, int]) -> IcoSphere:
        """The icosphere of another level: square charts of a power-of-two side ``chart_shape = (2^r, 2^r)``.

        Args:
            chart_shape: the new ``(n, n)``, ``n`` a power of two.
        """
        return IcoSphere(group=self.group, chart_shape=chart_shape)

    def isometries(self) -> list[RigidMotion]:
        """The rotations of the icosahedron (and its reflections when the group has them)."""
        names = ["identity"] + [f"icosahedral rotation {k}" for k in range(1, 60)]
        out = [RigidMotion(q, name) for q, name in zip(icosahedral_rotations(), names)]
        if self.group.has_reflections:
            out += [RigidMotion(-q, f"{name} composed with -I") for q, name in zip(icosahedral_rotations(), names)]
        return out

    def __repr__(self) -> str:
        return f"IcoSphere(r={self.r}, group={self.group.name})"
