"""The manifold concept: geometry that survives every derived atlas, RigidMotion on the lattice's
neighbours, and check_manifold on every shipped manifold and on mistakes it must catch.

The octahedral sphere is the tutorial's own (docs/tutorial-new-manifold.md, section 6), run from
the tutorial's code blocks, so that the tutorial and these tests cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from gaugecnn import (
    Atlas,
    DerivedManifold,
    FieldMap,
    FieldType,
    Isometry,
    Manifold,
    RigidMotion,
    cyclic_group,
    dihedral_group,
    flip_group,
    hexagonal_lattice,
    o2_group,
    so2_group,
)
from gaugecnn import nn as gnn
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant, check_manifold
from manifolds import (
    CubeSphere,
    Cylinder,
    HEALPixSphere,
    IcoSphere,
    KleinBottle,
    MeshSurface,
    MobiusStrip,
    Plane,
    Torus,
    cube_mesh,
    icosahedron_mesh,
    quad_grid_mesh,
)

pytestmark = pytest.mark.usefixtures("single_thread")
TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial-new-manifold.md"


@pytest.fixture(scope="module")
def tutorial(doc_namespace) -> dict:
    """The namespace of the tutorial's code blocks, run in order (shared with test_docs: run once)."""
    return doc_namespace(TUTORIAL)


# -- every shipped manifold passes check_manifold --------------------------------------------------------------

SHIPPED = {
    "mobius": (lambda: MobiusStrip(4, 6), 12),
    "mobius_odd": (lambda: MobiusStrip(5, 7), 14),
    "plane_c4": (lambda: Plane(6), 4),
    "plane_d4_odd": (lambda: Plane(5, dihedral_group(4)), 8),
    "plane_c6": (lambda: Plane(5, cyclic_group(6)), 2),
    "cylinder": (lambda: Cylinder(4, 6), 6),
    "cylinder_flip": (lambda: Cylinder(4, 6, flip_group()), 6),
    "torus": (lambda: Torus(4, 6), 24),
    "torus_d4": (lambda: Torus(4, 4, dihedral_group(4)), 16),
    "klein": (lambda: KleinBottle(4, 6), 24),
    "cube_c4": (lambda: CubeSphere(4), 24),
    "cube_d4_odd": (lambda: CubeSphere(3, dihedral_group(4)), 48),
    "torus_c6": (lambda: Torus(4, 4, cyclic_group(6)), 16),
    "torus_d6_odd": (lambda: Torus(5, 5, dihedral_group(6)), 25),
    "icosphere_c6": (lambda: IcoSphere(2), 60),
    "icosphere_d6": (lambda: IcoSphere(2, dihedral_group(6)), 120),
    # meshes: symmetries found from faces and edges; the torus's and the band's are not rigid motions
    "mesh_cube": (lambda: MeshSurface(*cube_mesh(), 4, sphere=True), 24),
    "mesh_icosahedron": (lambda: MeshSurface(*icosahedron_mesh(), 2, sphere=True), 60),
    "mesh_patch_d4": (lambda: MeshSurface(*quad_grid_mesh(2, 3), 3, dihedral_group(4)), 4),
    "mesh_torus": (lambda: MeshSurface(*quad_grid_mesh(3, 4, closed_rows=True, closed_cols=True), 3), 24),
    "mesh_mobius_d4": (lambda: MeshSurface(*quad_grid_mesh(2, 6, closed_cols=True, twisted=True), 2, dihedral_group(4)), 24),
    "healpix": (lambda: HEALPixSphere(4), 8),
    "healpix_d4": (lambda: HEALPixSphere(3, dihedral_group(4)), 16),
    # structure groups larger than their lattice part (C4, D4, C6): kernels from the harmonic basis
    "plane_c8": (lambda: Plane(6, cyclic_group(8)), 4),
    "plane_d8_odd": (lambda: Plane(5, dihedral_group(8)), 8),
    "plane_o2": (lambda: Plane(4, o2_group()), 8),
    "torus_so2_hex": (lambda: Torus(4, 4, so2_group(hexagonal_lattice())), 16),
    "cube_c8": (lambda: CubeSphere(4, cyclic_group(8)), 24),
    "plane_c5": (lambda: Plane(5, cyclic_group(5)), 1),  # lattice part C1: no gauge to check, every layer built for every field type
}
NOT_RIGID = {"mesh_torus", "mesh_mobius_d4"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_manifold_passes_check_manifold(name, record_error):
    """Embedding against gluings, isometries (a group of the known order), every layer in float64."""
    make, order = SHIPPED[name]
    manifold = make()
    # every isometry for the icosphere under C6 (all 60 rotations), seeded samples of 24 and 12 elsewhere
    samples = {"icosphere_c6": 60, "icosphere_d6": 24}.get(name, 4 if name.startswith(("mesh", "healpix")) else 12)
    report = check_manifold(manifold, expected_isometries=order, max_isometries=samples, rigid=name not in NOT_RIGID)
    assert report.passed
    names = [r.name for r in report.results]
    assert names[0] == "atlas" and ("embedding" in names) == manifold.has_embedding
    equivariance = [r for r in report.results if r.name.startswith("equivariance")]
    assert len(equivariance) == (3 if manifold.group.order > 1 or not manifold.group.is_lattice_group else 1)
    for r in equivariance:
        record_error(r.errors["gauge"])
        record_error(r.errors["isometry"])
        # only kernels reaching 2 pixels (5 x 5, 3 x 3 dilated by 2) on a 4 x 4 icosphere chart see nothing
        # but cones (checked at r = 3 below)
        vacuous = "not checked here" in r.detail
        expected = "conv5, conv5_bandlimited, conv3_dilated2"
        assert vacuous == name.startswith("icosphere") and (not vacuous or r.detail.endswith(expected))


@pytest.mark.parametrize("group", [cyclic_group(6), dihedral_group(6)], ids=["C6", "D6"])
def test_five_by_five_kernels_on_an_icosphere_large_enough_to_see_past_its_cones(group, record_error):
    sphere = IcoSphere(3, group)
    t = FieldType(sphere.group, "1 regular + 1 tangent")
    report = check_manifold(sphere, field_types=[t], max_isometries=12)
    (equivariance,) = [r for r in report.results if r.name.startswith("equivariance")]
    # conv3_stride2 and conv3_dilated2 too
    assert "not checked here" not in equivariance.detail and equivariance.detail.startswith("16 layers")
    record_error(equivariance.errors["gauge"])
    record_error(equivariance.errors["isometry"])


def test_check_manifold_catches_a_swapped_gluing(tutorial):
    """Two edges' partners swapped: a valid atlas, and the gauge check passes; the embedding check names both gluings."""
    wrong = tutorial["wrong"]
    t = FieldType(wrong.group, "1 regular")
    assert assert_gauge_equivariant(gnn.GaugeConv(wrong, t, t, 3), wrong) < 1e-12  # blind to the mistake
    report = check_manifold(wrong, raise_on_failure=False, field_types=[])
    (embedding,) = [r for r in report.results if r.name == "embedding"]
    assert not embedding.passed
    assert "rhombus0.bottom ~ rhombus2.left" in embedding.detail and "rhombus1.bottom ~ rhombus1.left" in embedding.detail
    with pytest.raises(AssertionError, match="FAIL embedding"):
        check_manifold(wrong, field_types=[])
    # and RigidMotion says why it cannot read frames there, even for the identity
    with pytest.raises(ValueError, match="the embedding and the gluings disagree") as error:
        RigidMotion(np.eye(3)).field_map(wrong)
    assert "np.int64" not in str(error.value) and re.search(r"chart 'rhombus\d' pixel \(\d, \d\)", str(error.value))


class _WrongFrames(Isometry):
    """A true rotation's pixel map with every frame change replaced by the identity."""

    def __init__(self, isometry: Isometry):
        self.isometry, self.name = isometry, f"{isometry.name} without its frame changes"

    def field_map(self, atlas) -> FieldMap:
        fmap = self.isometry.field_map(atlas)
        return FieldMap(fmap.group, fmap.source_grid, fmap.target_grid, fmap.source, np.zeros_like(fmap.element))


class _SwappedPixels(Isometry):
    """The identity with two pixels exchanged: a permutation, but no rigid motion."""

    name = "two pixels swapped"

    def field_map(self, atlas) -> FieldMap:
        source = np.arange(int(np.prod(atlas.grid))).reshape(atlas.grid)
        flat = source.reshape(-1)
        flat[[5, 6]] = flat[[6, 5]]
        return FieldMap(atlas.group, atlas.grid, atlas.grid, source, np.zeros(atlas.grid, dtype=np.int64))


def test_check_manifold_catches_planted_wrong_isometries(tutorial):
    sphere = tutorial["sphere8"]
    rotations = sphere.isometries()
    turn = next(iso for iso in rotations if not np.allclose(iso.matrix, np.eye(3)) and abs(iso.matrix[2, 2]) == 1)
    frames = check_manifold(sphere, isometries=[*rotations, _WrongFrames(turn)], raise_on_failure=False, max_isometries=25)
    failed = {r.name for r in frames.failures()}
    assert "isometries" in failed  # a map repeated with other frames: not a group of distinct maps
    assert any(name.startswith("equivariance") for name in failed)  # and the layers are not equivariant to it
    swapped = check_manifold(sphere, isometries=[_SwappedPixels()], raise_on_failure=False, field_types=[])
    assert "not a rigid motion of the embedding" in swapped.failures()[0].detail
    counted = check_manifold(sphere, expected_isometries=48, raise_on_failure=False, field_types=[])
    assert "24 isometries, expected 48" in counted.failures()[0].detail


def test_the_tutorials_octahedral_sphere_has_every_rotation_exactly(tutorial, record_error):
    """All 24 rotations under C6 and 48 symmetries under D6, with the lattice's six neighbour steps (the
    3 x 3 window's corners (1, -1) and (-1, 1) are not neighbours, and near the 240-degree cones they mislead)."""
    make = tutorial["OctahedralSphere"]
    for group, order in ((cyclic_group(6), 24), (dihedral_group(6), 48)):
        sphere = make(4, group)
        isometries = sphere.isometries()
        assert len(isometries) == order
        t = FieldType(sphere.group, "1 regular + 1 tangent")
        conv = gnn.GaugeConv(sphere, t, t, 3)
        record_error(assert_isometry_equivariant(conv, sphere, isometries))
    assert [v[1] for v in sphere.vertex_angles()] == [240.0] * 6


# -- derived manifolds keep their geometry ------------------------------------------------------------------------


def test_a_restricted_icosphere_has_its_embedding_and_its_60_rotations(record_error):
    base = IcoSphere(2, dihedral_group(6))
    restricted = base.restricted(cyclic_group(6))
    assert isinstance(restricted, DerivedManifold) and restricted.group == cyclic_group(6)
    assert np.array_equal(restricted.embedding(), base.embedding())
    isometries = restricted.isometries()
    assert len(base.isometries()) == 120 and len(isometries) == 60
    assert restricted.atlas == IcoSphere(2).atlas
    t = FieldType(restricted.group, "2 regular")
    record_error(assert_isometry_equivariant(gnn.GaugeConv(restricted, t, t, 3), restricted, isometries[:12]))
    # the same maps as the rotations of the icosphere built over C6 directly
    for a, b in zip(isometries[:6], IcoSphere(2).isometries()[:6]):
        fa, fb = a.field_map(restricted), b.field_map(IcoSphere(2))
        assert np.array_equal(fa.source, fb.source) and np.array_equal(fa.element, fb.element)


def test_pooling_and_restriction_hand_on_the_manifold():
    cube = CubeSphere(8, dihedral_group(4))
    t = FieldType(cube.group, "1 regular")
    pool = gnn.GaugePool(cube, t)
    assert pool.out_atlas == CubeSphere(4, dihedral_group(4)) and len(pool.out_atlas.isometries()) == 48
    restrict = gnn.Restrict(pool.out_atlas, t, cyclic_group(4))
    out = restrict.out_atlas
    assert isinstance(out, Manifold) and out.has_embedding and len(out.isometries()) == 24
    conv = gnn.GaugeConv(out, restrict.out_type, restrict.out_type, 3)
    assert_isometry_equivariant(conv, out, out.isometries()[:8])
    # RigidMotion after Restrict: straight from the embedding, the same maps as the transported ones
    for iso in out.isometries()[:8]:
        direct = RigidMotion(iso.isometry.matrix).field_map(out)
        moved = iso.field_map(out)
        assert np.array_equal(direct.source, moved.source) and np.array_equal(direct.element, moved.element)


@pytest.mark.parametrize("make", [lambda: CubeSphere(4), lambda: IcoSphere(2), lambda: IcoSphere(2, dihedral_group(6))])
def test_a_reoriented_manifold_moves_its_embedding_and_isometries_with_its_frames(make):
    base = make()
    rng = np.random.default_rng(0)
    allowed = base.shape_preserving_elements()
    gauge = [int(rng.choice(allowed)) for _ in base.charts]
    moved = base.reoriented(gauge)
    assert moved.atlas == base.atlas.reoriented(gauge)
    # pixels move with their charts: the embedding is the base's, gauge-transformed
    points = torch.from_numpy(base.embedding()).permute(3, 0, 1, 2)[None]
    scalars = FieldType(base.group, "3 trivial")
    expected = base.gauge_transform(gauge).apply(points, scalars)[0].permute(1, 2, 3, 0).numpy()
    assert np.array_equal(moved.embedding(), expected)
    # the transported isometries are the rigid motions read from the moved embedding (frames at
    # cone pixels, which carry no value, are arbitrary)
    off_cones = ~moved.cone_pixels
    for iso in moved.isometries()[:10]:
        direct = RigidMotion(iso.isometry.matrix).field_map(moved)
        carried = iso.field_map(moved)
        assert np.array_equal(direct.source, carried.source)
        assert np.array_equal(direct.element[off_cones], carried.element[off_cones])
    # and re-orienting twice is re-orienting once by the products
    second = [int(rng.choice(allowed)) for _ in base.charts]
    twice = moved.reoriented(second)
    product = [base.group.mul(b, a) for a, b in zip(gauge, second)]
    assert twice.atlas == base.atlas.reoriented(product) and twice.gauge == tuple(product)
    assert np.array_equal(twice.embedding(), base.reoriented(product).embedding())
    assert twice.coarsened().atlas == twice.atlas.coarsened()


def test_plane_isometries_on_the_hexagonal_lattice_map_the_chart_onto_itself(record_error):
    for group, order in ((cyclic_group(6), 2), (dihedral_group(6), 4), (cyclic_group(4), 4), (dihedral_group(4), 8)):
        plane = Plane(5, group)
        isometries = plane.isometries()
        assert len(isometries) == order
        t = FieldType(plane.group, "1 regular")
        record_error(assert_isometry_equivariant(gnn.GaugeConv(plane, t, t, 3), plane, isometries))


def test_manifold_base_class_names_what_is_missing():
    class Strip(Manifold):
        def __init__(self):
            super().__init__(Atlas(flip_group(), (4, 6), 1, [(0, "left", 0, "right", True)]))

    strip = Strip()
    assert strip.shape == (4, 6) and not strip.has_embedding and strip.isometries() == []
    with pytest.raises(NotImplementedError, match="implement with_chart_shape"):
        strip.coarsened()
    with pytest.raises(NotImplementedError, match="has no embedding in R³"):
        strip.embedding()
    with pytest.raises(TypeError, match="needs a manifold with an embedding"):
        RigidMotion(np.eye(3)).field_map(strip.atlas)
    with pytest.raises(TypeError, match="holds a gaugecnn Atlas"):
        Manifold("not an atlas")  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        strip.nonsense  # noqa: B018
    # the layers take it as they take an atlas
    t = FieldType(strip.group, "1 regular")
    assert gnn.GaugeConv(strip, t, t, 3)(torch.randn(2, 2, 4, 6)).shape == (2, 2, 4, 6)


def test_atlases_are_immutable_values_and_equal_ones_share_their_maps():
    a = Atlas(cyclic_group(6), (4, 4), 1, [(0, "left", 0, "right", False)])
    b = Atlas(cyclic_group(6, hexagonal_lattice()), (4, 4), 1, [(0, "left", 0, "right", False)])
    assert a == b and hash(a) == hash(b) and a is not b
    assert a.padding_map(1) is b.padding_map(1)  # built once for the value
    assert a.with_chart_shape((2, 2)) is b.with_chart_shape((2, 2))
    with pytest.raises(AttributeError, match="immutable value"):
        a.chart_shape = (5, 5)  # type: ignore[misc]
    assert IcoSphere(2).cone_pixels is IcoSphere(2).cone_pixels
    # a rigid motion's field map is built once for equal manifolds (and an equal motion)
    q = IcoSphere(2).isometries()[5].matrix
    assert RigidMotion(q).field_map(IcoSphere(2)) is RigidMotion(q.copy()).field_map(IcoSphere(2))


@pytest.mark.parametrize(
    "make", [lambda: CubeSphere(4), lambda: IcoSphere(2), lambda: HEALPixSphere(4)], ids=["cube", "icosphere", "healpix"]
)
def test_3d_vectors_become_tangent_fields_that_rotate_exactly(make):
    """Any manifold with an embedding: orthonormal frames tangent to the sphere, and a rotated vector
    field read in the charts' frames equals the tangent field moved by the isometry's FieldMap."""
    sphere = make()
    frames = sphere.tangent_frames()
    ok = ~np.isnan(frames).any(axis=(-1, -2))
    assert np.allclose(np.einsum("cijad,cijbd->cijab", frames, frames)[ok], np.eye(2))
    radial = sphere.embedding() / np.linalg.norm(sphere.embedding(), axis=-1, keepdims=True)
    assert np.abs(np.einsum("cijad,cijd->cija", frames, radial)[ok]).max() < 1e-12
    vectors = np.random.default_rng(0).normal(size=(*sphere.grid, 3))
    ok &= ~np.asarray(sphere.cone_pixels)  # an icosphere's cone pixels are kept at zero by every layer and map
    vectors[~ok] = 0.0
    t = FieldType(sphere.group, "1 tangent")
    field = torch.as_tensor(sphere.to_tangent_field(vectors))[None]
    points = sphere.embedding().reshape(-1, 3)
    for iso in sphere.isometries()[:6]:
        fmap = iso.field_map(sphere)
        source = fmap.source.reshape(-1)
        u, _, vt = np.linalg.svd(points[source].T @ points)
        q = (u @ vt).T
        moved = (vectors.reshape(-1, 3)[source] @ q.T).reshape(vectors.shape)
        keep = torch.as_tensor(ok.reshape(sphere.shape))
        expected = torch.as_tensor(sphere.to_tangent_field(moved))[None]
        torch.testing.assert_close(fmap.apply(field, t)[..., keep], expected[..., keep], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        sphere.from_tangent_field(sphere.to_tangent_field(vectors))[ok],
        (vectors - radial * np.einsum("cijd,cijd->cij", vectors, radial)[..., None])[ok],
        atol=1e-12,
    )
