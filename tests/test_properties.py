"""Property-based tests: random atlases and field types, every layer gauge equivariant, topology consistent.

Hypothesis draws atlases of 1-4 square charts over D4 whose edges are glued in random
pairs with random reversals (D4 holds every lattice map, so any such gluing is allowed;
unglued edges are boundaries) and random field types, and checks

- gauge equivariance, in float64, of every layer on every drawn atlas and field type;
- that orientability agrees with a brute-force search for chart orientations, and that
  re-orienting the charts changes neither orientability, connectedness nor the Euler
  characteristic, and is undone by the inverse re-orientation.

Under ``CI`` the examples are derandomized (the same every run) and fewer; locally each
run explores new ones. Budget: well under a minute in total.
"""

from __future__ import annotations

import itertools
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaugecnn import Atlas, FieldType, dihedral_group
from gaugecnn.atlas import EDGES
from gaugecnn.nn import ELU, FieldBatchNorm, GaugeConv, GaugePool, GlobalPool, GroupPool, ReLU, TransportPad
from gaugecnn.testing import assert_gauge_equivariant

D4 = dihedral_group(4)
REPS = ("trivial", "sign", "regular", "tangent", "irrep(1)", "irrep(2)", "irrep(1,2)")
CI = bool(os.environ.get("CI"))
PROPERTY = settings(
    max_examples=25 if CI else 40,
    deadline=None,
    derandomize=CI,
    database=None if CI else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def atlases(draw) -> Atlas:
    charts = draw(st.integers(1, 4))
    size = draw(st.sampled_from((2, 3, 4)))
    edges = [(c, e) for c in range(charts) for e in EDGES]
    order = draw(st.permutations(edges))
    pairs = draw(st.integers(0, len(edges) // 2))
    gluings = [(a[0], a[1], b[0], b[1], draw(st.booleans())) for a, b in zip(order[: 2 * pairs : 2], order[1 : 2 * pairs : 2])]
    return Atlas(D4, (size, size), charts, gluings)


@st.composite
def field_types(draw, max_fields: int = 3) -> FieldType:
    reps = draw(st.lists(st.sampled_from(REPS), min_size=1, max_size=max_fields))
    return FieldType(D4, " + ".join(f"1 {r}" for r in reps))


def _gauges(atlas: Atlas, draw) -> list[list[int]]:
    return [draw(st.lists(st.integers(0, D4.order - 1), min_size=atlas.num_charts, max_size=atlas.num_charts))]


@PROPERTY
@given(atlas=atlases(), in_type=field_types(), out_type=field_types(), data=st.data())
def test_every_layer_is_gauge_equivariant_on_random_atlases(atlas, in_type, out_type, data, record_error):
    torch.manual_seed(0)
    scalars = FieldType(D4, "2 trivial")
    layers = [
        GaugeConv(atlas, in_type, out_type, 3),
        TransportPad(atlas, in_type, data.draw(st.integers(1, 3), label="padding width")),
        GaugePool(atlas, in_type, "max"),
        GaugePool(atlas, in_type, "avg"),
        ELU(in_type),
        ReLU(in_type),
        FieldBatchNorm(in_type),
        GroupPool(in_type),
        torch.nn.Sequential(GaugeConv(atlas, in_type, scalars, 3), GlobalPool(scalars, "max")),
    ]
    gauges = _gauges(atlas, data.draw)
    for layer in layers:
        record_error(assert_gauge_equivariant(layer, atlas, gauges=gauges))


def _orientable_by_search(atlas: Atlas) -> bool:
    """Whether some choice of one reflection or none per chart makes every transition a rotation."""
    reflection = next(g for g in range(D4.order) if D4.det(g) < 0)
    for flips in itertools.product((False, True), repeat=atlas.num_charts):
        turned = atlas.reoriented([reflection if f else D4.identity for f in flips])
        if all(D4.det(turned.transition(gl)) > 0 for gl in turned.gluings):
            return True
    return False


@PROPERTY
@given(atlas=atlases(), data=st.data())
def test_topology_agrees_with_brute_force_and_survives_reorientation(atlas, data):
    assert atlas.is_orientable == _orientable_by_search(atlas)
    (gauge,) = _gauges(atlas, data.draw)
    turned = atlas.reoriented(gauge)
    assert (turned.is_orientable, turned.is_connected, turned.euler_characteristic) == (
        atlas.is_orientable,
        atlas.is_connected,
        atlas.euler_characteristic,
    )
    for gl, gl_turned in zip(atlas.gluings, turned.gluings):  # t' = g_b t g_a⁻¹
        g_a, g_b = gauge[gl.chart_a], gauge[gl.chart_b]
        assert turned.transition(gl_turned) == D4.mul(D4.mul(g_b, atlas.transition(gl)), D4.inv(g_a))
    assert turned.reoriented([D4.inv(g) for g in gauge]) == atlas
    closed = len(atlas.gluings) == 2 * atlas.num_charts
    if closed and atlas.is_connected:
        assert atlas.euler_characteristic <= 2


@pytest.mark.parametrize("charts", [1, 2, 3, 4])
def test_a_drawn_atlas_can_have_every_number_of_charts(charts):
    """The strategy reaches every size (a check on the test itself)."""
    seen = set()

    @settings(max_examples=30, deadline=None, derandomize=True, database=None)
    @given(atlases())
    def collect(atlas):
        seen.add(atlas.num_charts)

    collect()
    assert charts in seen
