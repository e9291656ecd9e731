"""The Möbius strip manifold and its shifts along the band."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, dihedral_group
from manifolds import MobiusStrip

SIZES = [(4, 6), (5, 6), (4, 5), (5, 7)]


def same_map(a, b) -> bool:
    return a.source_grid == b.source_grid and np.array_equal(a.source, b.source) and np.array_equal(a.element, b.element)


@pytest.mark.parametrize("width, length", SIZES)
def test_strip_atlas(width, length):
    strip = MobiusStrip(width, length)
    assert strip.shape == (width, length)
    assert not strip.is_orientable and strip.euler_characteristic == 0
    assert len(strip.isometries()) == 2 * length
    assert len(strip.isometries(step=2)) == length


@pytest.mark.parametrize("width, length", SIZES)
def test_shift_is_periodic_with_twice_the_length(width, length):
    strip = MobiusStrip(width, length)
    for s in range(-length, 2 * length):
        assert same_map(strip.shift(s).field_map(strip), strip.shift(s + 2 * length).field_map(strip))


@pytest.mark.parametrize("width, length", SIZES)
def test_shift_zero_is_identity(width, length):
    strip = MobiusStrip(width, length)
    m = strip.shift(0).field_map(strip)
    assert np.array_equal(m.source.reshape(-1), np.arange(width * length)) and not m.element.any()


@pytest.mark.parametrize("width, length", SIZES)
def test_shift_by_length_reflects_the_band(width, length):
    strip = MobiusStrip(width, length)
    m = strip.shift(length).field_map(strip)
    flip = strip.transition(strip.gluings[0])
    assert strip.group.describe(flip).startswith("a reflection of the row axis")
    i, j = np.meshgrid(np.arange(width), np.arange(length), indexing="ij")
    assert np.array_equal(m.source[0], (width - 1 - i) * length + j)
    assert np.all(m.element == flip)
    # on a regular field: rows reverse and the two channels swap
    ftype = FieldType(strip.group, "1 regular")
    torch.manual_seed(0)
    x = torch.randn(2, 2, width, length, dtype=torch.float64)
    out = strip.shift(length).field_map(strip).apply(x, ftype)
    assert torch.equal(out, x.flip(-2)[:, [1, 0]])


@pytest.mark.parametrize("width, length", SIZES)
def test_shift_by_one_moves_columns_and_twists_the_wrapped_column(width, length):
    strip = MobiusStrip(width, length)
    ftype = FieldType(strip.group, "1 trivial + 1 sign")
    torch.manual_seed(1)
    x = torch.randn(2, 2, width, length, dtype=torch.float64)
    out = strip.shift(1).field_map(strip).apply(x, ftype)
    assert torch.equal(out[..., 1:], x[..., :-1])
    # the column that comes around the twist is reflected, with the sign field negated
    assert torch.equal(out[:, 0, :, 0], x[:, 0, :, -1].flip(-1))
    assert torch.equal(out[:, 1, :, 0], -x[:, 1, :, -1].flip(-1))


@pytest.mark.parametrize("width, length", SIZES)
def test_shifts_compose(width, length):
    strip = MobiusStrip(width, length)
    ftype = FieldType(strip.group, "1 trivial + 1 sign + 1 regular")
    torch.manual_seed(2)
    x = torch.randn(1, 4, width, length, dtype=torch.float64)
    for a in range(0, 2 * length, 3):
        for b in range(-2, 2 * length, 5):
            composed = strip.shift(a).field_map(strip).then(strip.shift(b).field_map(strip))
            assert same_map(composed, strip.shift(a + b).field_map(strip)), (a, b)
    a, b = 2, length + 1
    twice = strip.shift(b).field_map(strip).apply(strip.shift(a).field_map(strip).apply(x, ftype), ftype)
    assert torch.equal(twice, strip.shift(a + b).field_map(strip).apply(x, ftype))


def test_shift_acts_at_coarser_resolution():
    strip = MobiusStrip(4, 6)
    coarse = strip.coarsened()
    assert coarse.chart_shape == (2, 3)
    assert same_map(strip.shift(2).field_map(coarse), MobiusStrip(2, 3).shift(1).field_map(coarse))
    with pytest.raises(ValueError, match="not a pixel map"):
        strip.shift(3).field_map(coarse)


@pytest.mark.parametrize("shift", [1, 3, 5])
def test_odd_shift_on_half_length_strip_raises(shift):
    with pytest.raises(ValueError, match="not a pixel map"):
        MobiusStrip(4, 8).shift(shift).field_map(MobiusStrip(4, 4))


def test_shift_on_other_atlas_raises():
    from gaugecnn import Atlas, flip_group

    # two unglued charts: a shift moves pixels out through the boundary
    with pytest.raises(ValueError, match="not an isometry"):
        MobiusStrip(4, 4).shift(1).field_map(Atlas(flip_group(), (4, 4), 2))


def test_strip_over_dihedral_group():
    strip = MobiusStrip(4, 4, group=dihedral_group(4))
    flip = strip.transition(strip.gluings[0])
    assert np.array_equal(strip.group.matrix(flip), [[-1, 0], [0, 1]])
    m = strip.shift(4).field_map(strip)
    assert np.all(m.element == flip)
