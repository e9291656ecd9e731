"""Meshes as manifolds: gluings from shared edges, the core's topology, automorphisms as exact isometries,
the same atlas as the hand-made cube sphere, tangent frames and vertex data, and check_manifold on each."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, RigidMotion, dihedral_group
from gaugecnn import nn as gnn
from gaugecnn.testing import assert_isometry_equivariant, check_manifold
from manifolds import CubeSphere, MeshSurface, cube_mesh, icosahedron_mesh, quad_grid_mesh

pytestmark = pytest.mark.usefixtures("single_thread")


def test_the_cube_mesh_is_the_cube_sphere():
    """Same gluings (charts relabelled), same transitions, same embedding on the sphere, the same 24 / 48 maps as
    the cube's rotations, and the same outputs for the same weights."""
    vertices, faces = cube_mesh()
    for group, order in ((None, 24), (dihedral_group(4), 48)):
        mesh, cube = MeshSurface(vertices, faces, 4, group, sphere=True), CubeSphere(4, group)
        names = dict(zip(mesh.charts, cube.charts))  # face k is CubeSphere's k-th face
        relabelled = {(names[g.chart_a], g.edge_a, names[g.chart_b], g.edge_b, g.reversed) for g in mesh.gluings}
        assert relabelled == {(g.chart_a, g.edge_a, g.chart_b, g.edge_b, g.reversed) for g in cube.gluings}
        assert np.allclose(mesh.embedding(), cube.embedding(), atol=1e-12)
        isometries = mesh.isometries()
        assert len(isometries) == order
        maps = {(m.source.tobytes(), m.element.tobytes()) for m in (iso.field_map(mesh) for iso in isometries)}
        assert maps == {(m.source.tobytes(), m.element.tobytes()) for m in (iso.field_map(cube) for iso in cube.isometries())}
    t = FieldType(cube.group, "1 trivial")
    conv = gnn.GaugeConv(mesh, t, FieldType(cube.group, "2 regular"), 3)
    twin = gnn.GaugeConv(cube, t, FieldType(cube.group, "2 regular"), 3)
    twin.load_state_dict(conv.state_dict())
    x = torch.randn(2, 1, *cube.shape)
    torch.testing.assert_close(conv(x), twin(x))


def test_the_icosahedrons_triangles_give_its_60_rotations(record_error):
    vertices, triangles = icosahedron_mesh()
    mesh = MeshSurface(vertices, triangles, 2, sphere=True)
    assert mesh.num_charts == 60 and mesh.euler_characteristic == 2
    angles = sorted({total for _, total, interior in mesh.vertex_angles() if abs(total - 360) > 1e-6})
    assert angles == [270.0, 450.0]  # the centroids (three quads) and the icosahedron's vertices (five triangles)
    isometries = mesh.isometries()
    assert len(isometries) == 60
    # the same maps as the rigid rotations read from the embedding
    for iso in isometries[:10]:
        a = iso.field_map(mesh)
        q = _fit_rotation(mesh, a)
        b = RigidMotion(q).field_map(mesh)
        assert np.array_equal(a.source, b.source) and np.array_equal(a.element, b.element)
    t = FieldType(mesh.group, "1 regular + 1 tangent")
    record_error(assert_isometry_equivariant(gnn.GaugeConv(mesh, t, t, 3), mesh, isometries[:12]))


def _fit_rotation(mesh: MeshSurface, fmap) -> np.ndarray:
    points = mesh.embedding().reshape(-1, 3)
    x, y = points[fmap.source.reshape(-1)], points
    u, _, vt = np.linalg.svd(x.T @ y)
    return (u @ vt).T


@pytest.mark.parametrize(
    "name, build, order",
    [
        ("patch", lambda: quad_grid_mesh(3, 3), 4),
        ("cylinder", lambda: quad_grid_mesh(3, 4, closed_cols=True), 8),
        ("torus", lambda: quad_grid_mesh(4, 4, closed_rows=True, closed_cols=True), 64),  # 16 translations, 4 turns
        ("torus 3 x 5", lambda: quad_grid_mesh(3, 5, closed_rows=True, closed_cols=True), 30),  # 15 translations, the half turn
    ],
)
def test_grids_closed_or_not_have_their_translations_and_turns(name, build, order, record_error):
    points, faces = build()
    mesh = MeshSurface(points, faces, 2)
    assert len(mesh.isometries()) == order
    if name in ("patch", "cylinder"):  # the closed ones are in test_manifold_concept's list
        report = check_manifold(
            mesh, rigid=False, expected_isometries=order, max_isometries=4, field_types=[FieldType(mesh.group, "1 regular")]
        )
        record_error(report.results[-1].errors["gauge"])


def test_a_mobius_band_mesh_needs_reflections():
    points, faces = quad_grid_mesh(2, 6, closed_cols=True, twisted=True)
    with pytest.raises(ValueError, match="traverse their shared edge .* same direction.*not orientable.*dihedral_group\\(4\\)"):
        MeshSurface(points, faces, 2)
    band = MeshSurface(points, faces, 2, dihedral_group(4))
    assert not band.is_orientable and band.euler_characteristic == 0
    check_manifold(band, rigid=False, max_isometries=6, field_types=[FieldType(band.group, "1 regular + 1 sign")])


def test_faces_against_the_orientation_name_which_to_reverse():
    vertices, faces = cube_mesh()
    faces[2] = faces[2][::-1]
    with pytest.raises(ValueError, match=r"The surface is orientable: reverse the corner order of faces 2, or use dihedral_group\(4\)"):
        MeshSurface(vertices, faces, 2)
    assert MeshSurface(vertices, faces, 2, dihedral_group(4)).is_orientable  # D4 glues it as it is


def test_bad_meshes_are_refused_with_the_reason():
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1.0]])
    with pytest.raises(ValueError, match=r"edge 0-1 is shared by 3 faces \(\[0, 1, 2\]\): not a surface there"):
        MeshSurface(square, [(0, 1, 2, 3), (1, 0, 4), (0, 1, 4)], 2, dihedral_group(4))
    with pytest.raises(ValueError, match="face 0 has 5 corners"):
        MeshSurface(square, [(0, 1, 2, 3, 4)], 2)
    with pytest.raises(ValueError, match="face 0 .* names a vertex that is not one of the 5"):
        MeshSurface(square, [(0, 1, 9)], 2)
    with pytest.raises(ValueError, match="repeats a vertex"):
        MeshSurface(square, [(0, 1, 1)], 2)


def test_rigid_symmetries_are_a_choice():
    """A torus of revolution: every translation along the tube is a combinatorial symmetry, none a rigid motion."""
    points, faces = quad_grid_mesh(4, 4, closed_rows=True, closed_cols=True)
    rigid = MeshSurface(points, faces, 2, symmetries="rigid")
    assert len(rigid.isometries()) == 8  # the turns about the axis and the half turns that flip it over
    check_manifold(rigid, expected_isometries=8, field_types=[])


def test_tangent_fields_follow_the_mesh_rotations_exactly():
    vertices, triangles = icosahedron_mesh()
    mesh = MeshSurface(vertices, triangles, 2, sphere=True)
    frames = mesh.tangent_frames()
    assert np.allclose(np.einsum("cijad,cijbd->cijab", frames, frames), np.eye(2))
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(*mesh.grid, 3))
    t = FieldType(mesh.group, "1 tangent")
    field = torch.as_tensor(mesh.to_tangent_field(vectors))[None]
    for iso in mesh.isometries()[:8]:
        fmap = iso.field_map(mesh)
        q = _fit_rotation(mesh, fmap)
        moved_vectors = (vectors.reshape(-1, 3)[fmap.source.reshape(-1)] @ q.T).reshape(vectors.shape)
        torch.testing.assert_close(fmap.apply(field, t), torch.as_tensor(mesh.to_tangent_field(moved_vectors))[None])
    # and back: the tangent part of the vectors
    back = mesh.from_tangent_field(field[0])
    normals = np.cross(frames[..., 0, :], frames[..., 1, :])
    tangent_part = vectors - normals * np.einsum("cijd,cijd->cij", vectors, normals)[..., None]
    assert np.allclose(back, tangent_part)


def test_vertex_data_to_fields_and_back():
    vertices, triangles = icosahedron_mesh()
    mesh = MeshSurface(vertices, triangles, 3)
    values = np.arange(12.0)
    field = mesh.vertex_to_field(values)
    assert field.shape == mesh.shape
    assert np.allclose(mesh.field_to_vertex(mesh.vertex_to_field(np.ones(12))), 1.0)  # constants come back
    back = mesh.field_to_vertex(torch.as_tensor(field))
    assert back.shape == (12,) and torch.corrcoef(torch.stack([back, torch.as_tensor(values)]))[0, 1] > 0.9
    assert np.allclose(mesh.field_to_vertex(field[None]), mesh.field_to_vertex(field)[None])  # batch axes


def test_a_mesh_of_quads_and_triangles():
    """A square pyramid: the base a quad, the sides triangles; the quad is split into four so edges match."""
    apex = [0.0, 0.0, 1.0]
    points = np.array([[1, 1, 0], [-1, 1, 0], [-1, -1, 0], [1, -1, 0], apex], dtype=float)
    faces = [(0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)]
    pyramid = MeshSurface(points, faces, 2)
    assert pyramid.num_charts == 4 + 4 * 3 and pyramid.euler_characteristic == 2
    assert len(pyramid.isometries()) == 4  # the quarter turns about the axis
    assert "5 faces (1 quads, 4 triangles) -> 16 charts" in pyramid.summary()
    check_manifold(pyramid, expected_isometries=4, max_isometries=4, field_types=[FieldType(pyramid.group, "1 regular")])


def test_the_symmetry_search_benchmark_runs_and_the_docs_show_its_data():
    import json

    from benchmarks import mesh_symmetries
    from benchmarks._docs import read_blocks

    vertices, faces = mesh_symmetries.subdivided_cube_mesh(2)
    assert len(MeshSurface(vertices, faces, 1).isometries()) == 24  # a finer cube keeps the cube's rotations
    assert len(MeshSurface(*mesh_symmetries.random_sphere_mesh(40), 1).isometries()) == 1
    data = json.loads((mesh_symmetries.ROOT / "benchmarks" / "results" / "mesh_symmetries.json").read_text())
    assert read_blocks(mesh_symmetries.DOC.read_text())["mesh-symmetries"] == mesh_symmetries.table(data)
