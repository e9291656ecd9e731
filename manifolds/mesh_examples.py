"""Small meshes to start from: the cube, the icosahedron, and quad grids flat, closed or twisted.

Each function returns ``(vertices, faces)`` ready for :class:`~manifolds.MeshSurface`::

    >>> from manifolds import MeshSurface, cube_mesh
    >>> sphere = MeshSurface(*cube_mesh(), 4, sphere=True)   # the cube sphere, from six quads
    >>> len(sphere.isometries())
    24
"""

from __future__ import annotations

import numpy as np

from .cube_sphere import CubeSphere
from .icosphere import icosahedron_vertices

__all__ = ["cube_mesh", "icosahedron_mesh", "quad_grid_mesh"]


def cube_mesh() -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """The cube's 8 corners and 6 quads, face ``k`` being ``CubeSphere``'s ``k``-th face in its frame.

    Each quad lists its corners top-left, top-right, bottom-right, bottom-left of the face's chart
    (rows along the frame's ``R``, columns along ``C``), so the mesh's charts are the cube sphere's.
    """
    vertices: list[np.ndarray] = []
    faces = []
    for normal, r, c in CubeSphere.face_frames().values():
        ids = []
        for a, b in ((-1, -1), (-1, 1), (1, 1), (1, -1)):
            p = normal + a * r + b * c
            found = next((k for k, v in enumerate(vertices) if np.allclose(v, p)), None)
            if found is None:
                vertices.append(p)
                found = len(vertices) - 1
            ids.append(found)
        faces.append(tuple(ids))
    return np.array(vertices, dtype=np.float64), faces


def icosahedron_mesh() -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The icosahedron's 12 vertices and 20 triangles, each counterclockwise seen from outside."""
    from scipy.spatial import ConvexHull

    points = np.array(list(icosahedron_vertices().values()))
    triangles = []
    for a, b, c in ConvexHull(points).simplices:
        if np.linalg.det(np.stack([points[a], points[b], points[c]])) < 0:
            b, c = c, b
        triangles.append((int(a), int(b), int(c)))
    return points, triangles


def quad_grid_mesh(
    rows: int, cols: int, *, closed_rows: bool = False, closed_cols: bool = False, twisted: bool = False
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A ``rows x cols`` grid of quads: a flat patch, or closed into a cylinder, a torus or a Möbius band.

    ``closed_cols`` joins the last column of quads to the first (a cylinder), ``closed_rows`` also
    the last row to the first (a torus of revolution), and ``twisted`` (with ``closed_cols`` only)
    joins the columns with the rows reversed: a Möbius band, which is not orientable.
    """
    if twisted and (closed_rows or not closed_cols):
        raise ValueError("twisted=True makes a Möbius band: pass closed_cols=True and closed_rows=False with it")
    if rows < 1 or cols < (3 if closed_cols else 1) or (closed_rows and rows < 3):
        raise ValueError(f"a {rows} x {cols} grid is too small: closed directions need 3 quads or more, open ones 1")
    vr = rows if closed_rows else rows + 1
    vc = cols if closed_cols else cols + 1

    def vertex(i: int, j: int) -> int:
        if closed_cols and j == cols:
            j = 0
            if twisted:
                i = rows - i
        if closed_rows:
            i %= rows
        return i * vc + j

    points = np.zeros((vr * vc, 3))
    for i in range(vr):
        for j in range(vc):
            a, b = 2 * np.pi * i / rows, 2 * np.pi * j / cols
            if closed_rows and closed_cols:
                points[i * vc + j] = [(2 + np.cos(a)) * np.cos(b), (2 + np.cos(a)) * np.sin(b), np.sin(a)]
            elif twisted:  # the rows turn half a turn around the circle
                h = i / rows - 0.5
                radius = 2 + h * np.cos(b / 2)
                points[i * vc + j] = [radius * np.cos(b), radius * np.sin(b), h * np.sin(b / 2)]
            elif closed_cols:
                points[i * vc + j] = [np.cos(b), np.sin(b), i / rows]
            else:
                points[i * vc + j] = [j, i, 0.0]
    faces = [(vertex(i, j), vertex(i, j + 1), vertex(i + 1, j + 1), vertex(i + 1, j)) for i in range(rows) for j in range(cols)]
    return points, faces
