"""The HEALPix sphere: healpy's orderings read and written exactly, its pixels and neighbours as healpy has them,
its symmetries counted, and a gauge CNN on it exactly equivariant to those that map pixel centres to pixel centres.

Tests that compare with healpy skip without it (``pip install -e ".[healpix]"``); CI installs the extra.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, dihedral_group
from gaugecnn import nn as gnn
from gaugecnn.testing import assert_isometry_equivariant
from manifolds import HEALPixSphere, nest_to_ring, ring_to_nest

pytestmark = pytest.mark.usefixtures("single_thread")
NSIDES = (1, 2, 4, 8)


@pytest.fixture(scope="module")
def healpy():
    return pytest.importorskip("healpy")


@pytest.mark.parametrize("nside", NSIDES)
def test_maps_round_trip_in_both_orderings(nside):
    sky = HEALPixSphere(nside)
    npix = 12 * nside**2
    values = torch.randn(2, npix, dtype=torch.float64)
    for nest in (True, False):
        field = sky.from_healpix(values, nest=nest)
        assert field.shape == (2, 12, nside, nside)
        assert torch.equal(sky.to_healpix(field, nest=nest), values)
    # the two orderings are one permutation apart, and the functions are inverse to each other
    index = np.arange(npix)
    assert np.array_equal(ring_to_nest(nside, nest_to_ring(nside, index)), index)
    assert np.array_equal(sky.from_healpix(values.numpy(), nest=False), sky.from_healpix(values.numpy()[..., nest_to_ring(nside, index)]))


def test_nested_order_needs_a_power_of_two_and_maps_their_size():
    sky = HEALPixSphere(3)
    values = np.arange(12 * 9.0)
    assert np.array_equal(sky.to_healpix(sky.from_healpix(values, nest=False), nest=False), values)  # ring works at any nside
    with pytest.raises(ValueError, match="nested ordering needs nside to be a power of two.*nest=False"):
        sky.from_healpix(values)
    with pytest.raises(ValueError, match="at nside 4 has 192 pixels, got 100"):
        HEALPixSphere(4).from_healpix(np.zeros(100))
    with pytest.raises(ValueError, match=r"expected a field \(\.\.\., 12, 4, 4\)"):
        HEALPixSphere(4).to_healpix(np.zeros((12, 4, 5)))


@pytest.mark.parametrize("nside", NSIDES)
def test_orderings_equal_healpys(healpy, nside):
    index = np.arange(12 * nside**2)
    assert np.array_equal(nest_to_ring(nside, index), healpy.nest2ring(nside, index))
    assert np.array_equal(ring_to_nest(nside, index), healpy.ring2nest(nside, index))


@pytest.mark.parametrize("nside", NSIDES)
def test_pixel_centres_equal_healpys(healpy, nside):
    sky = HEALPixSphere(nside)
    ours = sky.to_healpix(sky.embedding().transpose(3, 0, 1, 2))  # (3, npix) in nested order
    theirs = np.array(healpy.pix2vec(nside, np.arange(12 * nside**2), nest=True))
    assert np.abs(ours - theirs).max() < 1e-14


@pytest.mark.parametrize("nside", NSIDES)
def test_every_neighbour_across_every_gluing_is_healpys(healpy, nside):
    """The 3 x 3 neighbourhood of every pixel read through the atlas's transport padding: healpy's 8 neighbours
    (7 at the cone points, where three base pixels meet and one diagonal neighbour is missing)."""
    sky = HEALPixSphere(nside)
    n = nside
    pad = sky.atlas.padding_map(1).source.reshape(12, n + 2, n + 2)
    nested = sky.from_healpix(np.arange(12 * n * n))  # healpy's nested index of every pixel of the field
    flat_to_nest = nested.reshape(-1)
    theirs = healpy.get_all_neighbours(n, np.arange(12 * n * n), nest=True)  # (8, npix), -1 where missing
    for c in range(12):
        for i in range(n):
            for j in range(n):
                around = pad[c, i : i + 3, j : j + 3].reshape(-1)
                ours = {int(flat_to_nest[s]) for k, s in enumerate(around) if k != 4 and s >= 0}
                pixel = int(nested[c, i, j])
                assert ours == {int(p) for p in theirs[:, pixel] if p >= 0}, (c, i, j)


def test_symmetry_counts():
    """The rhombic dodecahedron's 24 rotations (48 with reflections); 8 of them (16) map pixel centres onto
    pixel centres: the quarter turns about the polar axis and the half turns that swap the poles."""
    for group, combinatorial, pixels in ((None, 24, 8), (dihedral_group(4), 48, 16)):
        for nside in (1, 2, 4):
            assert len(HEALPixSphere(nside, group, symmetries="combinatorial").isometries()) == combinatorial
            assert len(HEALPixSphere(nside, group).isometries()) == pixels


def test_pixel_symmetries_are_rotations_healpy_agrees_with(healpy):
    """Each pixel symmetry, applied to a scalar map, equals reading the map at the rotated pixel centres."""
    nside = 4
    sky = HEALPixSphere(nside)
    points = sky.embedding().reshape(-1, 3)
    nested = sky.from_healpix(np.arange(12 * nside**2)).reshape(-1)
    for iso in sky.isometries():
        source = iso.field_map(sky).source.reshape(-1)
        u, _, vt = np.linalg.svd(points[source].T @ points)
        q = (u @ vt).T  # q @ points[source[k]] = points[k]
        pulled_back = healpy.vec2pix(nside, *(points @ q).T, nest=True)  # the pixel each rotated pixel came from
        assert np.array_equal(pulled_back, nested[source])


def test_a_gauge_cnn_on_healpix_is_exactly_equivariant(record_error):
    sky = HEALPixSphere(4)
    t = FieldType(sky.group, "1 trivial")
    hidden = FieldType(sky.group, "2 regular + 1 tangent")
    model = gnn.GaugeSequential(gnn.GaugeConv(sky, t, hidden, 3), gnn.ELU(hidden), gnn.GaugeConv(sky, hidden, t, 3)).double()
    record_error(assert_isometry_equivariant(model, sky, sky.isometries()))  # (check_manifold: test_manifold_concept)


def test_the_docs_table_is_the_committed_run():
    import json
    from pathlib import Path

    from benchmarks import healpix_unet
    from benchmarks._docs import read_blocks

    record = json.loads(healpix_unet.RESULT.read_text())
    assert read_blocks(healpix_unet.DOC.read_text())["healpix-unet"] == healpix_unet.table(record)
    assert record["max_relative_error"] < 1e-12 and record["mse_denoised"] < record["mse_noisy"]
    assert Path(healpix_unet.FIGURE).exists()


def test_the_unet_script_runs_small(healpy, tmp_path):
    from benchmarks import healpix_unet

    assert healpix_unet.main(["--nside", "4", "--steps", "2", "--out", str(tmp_path / "r.json")]) == 0
    import json

    record = json.loads((tmp_path / "r.json").read_text())
    assert record["symmetries"] == 8 and record["max_relative_error"] < 1e-12
