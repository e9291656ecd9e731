"""Gauge and isometry equivariance of every layer, on Möbius strips and on a three-chart D4 atlas.

Checked with ``gaugecnn.testing`` in float64 at the default tolerance, a float32 subset at its
dtype-aware tolerance, and negative controls showing the helpers do fail on broken modules.
Every error the helpers return is recorded and the worst is printed at the end of the run.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from gaugecnn import FieldType, Representation, tangent
from gaugecnn.nn import (
    ELU,
    ConventionalConv,
    FieldNonlinearity,
    GaugeConv,
    GaugePool,
    GlobalPool,
    GroupPool,
    ReLU,
    TransportPad,
)
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant, tolerance
from manifolds import MobiusStrip

F64, F32 = torch.float64, torch.float32
pytestmark = pytest.mark.usefixtures("single_thread")

# -- Möbius strips and field types --------------------------------------------------------------

STRIP_SIZES = [(4, 6), (5, 6), (4, 5), (5, 7)]  # odd and even width and length
EVEN_LENGTH = [s for s in STRIP_SIZES if s[1] % 2 == 0]
_STRIPS: dict[tuple[int, int], MobiusStrip] = {}


def strip(size) -> MobiusStrip:
    """One strip per size for the whole module, so padding maps are built once."""
    if size not in _STRIPS:
        _STRIPS[size] = MobiusStrip(*size)
    return _STRIPS[size]


# all non-empty mixtures of trivial/sign/regular with multiplicities 0..2
MIXTURES = [m for m in itertools.product(range(3), repeat=3) if any(m)]
assert len(MIXTURES) == 26


def mixture_text(m) -> str:
    return " + ".join(f"{n} {name}" for n, name in zip(m, ("trivial", "sign", "regular")) if n)


def mix_type(G, m) -> FieldType:
    return FieldType(G, mixture_text(m))


MIX_IDS = [mixture_text(m).replace(" ", "") for m in MIXTURES]
# conv pairs: input i, output (7 i + 3) mod 26: a bijection, so every mixture is input once and output once
CONV_PAIRS = [(MIXTURES[i], MIXTURES[(7 * i + 3) % 26]) for i in range(26)]
CONV_IDS = [f"{mixture_text(a)}->{mixture_text(b)}".replace(" ", "") for a, b in CONV_PAIRS]
assert sorted(b for _, b in CONV_PAIRS) == sorted(MIXTURES)

FLIP_GAUGES = [[1]]  # the non-trivial gauge transform of the one chart


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give biases (conv biases, norm-nonlinearity biases) random values so they are tested too."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "bias" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return module


# -- GaugeConv on Möbius strips ----------------------------------------------------------------------


# a covering list: every pair of field types once; the first 16 of them take every (size, kernel size, bias)
CONV_CASES = [(pair, STRIP_SIZES[i % 4], (3, 5)[(i // 4) % 2], (True, False)[(i // 8) % 2]) for i, pair in enumerate(CONV_PAIRS)]
assert len({c[1:] for c in CONV_CASES}) == len(STRIP_SIZES) * 2 * 2


@pytest.mark.parametrize(
    "pair, size, kernel_size, bias",
    CONV_CASES,
    ids=[f"{i}-{s[0]}x{s[1]}-k{k}-{'bias' if b else 'nobias'}" for i, (_, s, k, b) in zip(CONV_IDS, CONV_CASES)],
)
def test_gauge_conv_mobius(pair, size, kernel_size, bias, record_error):
    torch.manual_seed(0)
    m = strip(size)
    t_in, t_out = mix_type(m.group, pair[0]), mix_type(m.group, pair[1])
    conv = randomize(GaugeConv(m, t_in, t_out, kernel_size, bias=bias))
    if bias and len(conv.biases):  # trivial and regular outputs have invariant biases; make sure they are used
        assert conv.expand_bias().abs().sum() > 0
    record_error(assert_gauge_equivariant(conv, m, gauges=FLIP_GAUGES))
    record_error(assert_isometry_equivariant(conv, m, m.isometries()))


@pytest.mark.parametrize("size", STRIP_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_gauge_conv_interleaved_field_order(size, record_error):
    """Fields of one representation need not be contiguous: channel bookkeeping is exercised."""
    torch.manual_seed(1)
    m = strip(size)
    t_in = FieldType(m.group, "1 sign + 1 regular + 1 trivial + 1 sign")
    t_out = FieldType(m.group, "1 regular + 1 sign + 1 regular + 1 trivial")
    conv = randomize(GaugeConv(m, t_in, t_out, 3))
    record_error(assert_gauge_equivariant(conv, m, gauges=FLIP_GAUGES))
    record_error(assert_isometry_equivariant(conv, m, m.isometries()))


@pytest.mark.parametrize("n", [4, 5])
def test_square_mobius_over_d4(n, record_error):
    """A square Möbius strip over D4: quarter-turn gauges move the glued edges to top and bottom."""
    from gaugecnn import dihedral_group

    m = MobiusStrip(n, n, group=dihedral_group(4))
    t = FieldType(m.group, "1 regular + 1 tangent + 1 sign + 1 irrep(1,2)")
    gauges = [[g] for g in range(m.group.order)]
    torch.manual_seed(12)
    for module in (randomize(GaugeConv(m, t, t, 3)), randomize(ELU(t)), GaugePool(m, t), GroupPool(t)):
        record_error(assert_gauge_equivariant(module, m, gauges=gauges))
        if not isinstance(module, GaugePool):
            record_error(assert_isometry_equivariant(module, m, m.isometries()))
        elif n % 2 == 0:
            record_error(assert_isometry_equivariant(module, m, m.isometries(step=2)))


# -- nonlinearities ----------------------------------------------------------------------------------


# a covering list: every mixture once; every (size, activation) at least three times
NONLINEARITY_CASES = [(m, STRIP_SIZES[i % 4], (ELU, ReLU)[(i // 4) % 2]) for i, m in enumerate(MIXTURES)]


@pytest.mark.parametrize(
    "mixture, size, activation",
    NONLINEARITY_CASES,
    ids=[f"{i}-{s[0]}x{s[1]}-{a.__name__}" for i, (_, s, a) in zip(MIX_IDS, NONLINEARITY_CASES)],
)
def test_nonlinearity_mobius(mixture, size, activation, record_error):
    m = strip(size)
    ftype = mix_type(m.group, mixture)
    nl = randomize(activation(ftype), seed=sum(mixture))
    if mixture[1]:  # sign fields use the norm nonlinearity with a learned bias
        assert nl.norm_bias is not None and nl.norm_bias.abs().min() > 0
    record_error(assert_gauge_equivariant(nl, m, gauges=FLIP_GAUGES))
    record_error(assert_isometry_equivariant(nl, m, m.isometries()))


def test_nonlinearity_is_not_the_identity():
    """The norm nonlinearity really acts: sign(x) σ(|x| + b)."""
    m = strip((4, 6))
    ftype = FieldType(m.group, "1 sign")
    nl = FieldNonlinearity(ftype, "relu")
    with torch.no_grad():
        nl.norm_bias.fill_(-0.5)
    x = torch.tensor([-2.0, -0.2, 0.3, 1.0]).view(1, 1, 1, 4)
    torch.testing.assert_close(nl(x), torch.tensor([-1.5, 0.0, 0.0, 0.5]).view(1, 1, 1, 4))


# -- pooling -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", STRIP_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mixture", MIXTURES, ids=MIX_IDS)
def test_gauge_pool_mobius(mixture, size, record_error):
    m = strip(size)
    ftype = mix_type(m.group, mixture)
    pool = GaugePool(m, ftype)
    assert pool.out_atlas.chart_shape == ((size[0] + 1) // 2, (size[1] + 1) // 2)
    record_error(assert_gauge_equivariant(pool, m, gauges=FLIP_GAUGES))
    if size[1] % 2 == 0:
        record_error(assert_isometry_equivariant(pool, m, m.isometries(step=2)))


@pytest.mark.parametrize("size", STRIP_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mixture", MIXTURES, ids=MIX_IDS)
def test_group_pool_mobius(mixture, size, record_error):
    m = strip(size)
    ftype = mix_type(m.group, mixture)
    pool = GroupPool(ftype)
    assert pool.out_type.size == len(ftype)
    record_error(assert_gauge_equivariant(pool, m, gauges=FLIP_GAUGES))
    record_error(assert_isometry_equivariant(pool, m, m.isometries()))


@pytest.mark.parametrize("reduce", ["max", "mean"])
@pytest.mark.parametrize("size", STRIP_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mixture", [(1, 0, 0), (2, 1, 0), (0, 1, 2), (2, 2, 2)], ids=mixture_text)
def test_global_pool_mobius(mixture, size, reduce, record_error):
    m = strip(size)
    ftype = mix_type(m.group, mixture)
    group_pool = GroupPool(ftype)
    readout = nn.Sequential(group_pool, GlobalPool(group_pool.out_type, reduce))
    record_error(assert_gauge_equivariant(readout, m, in_type=ftype, gauges=FLIP_GAUGES))
    record_error(assert_isometry_equivariant(readout, m, m.isometries(), in_type=ftype))
    scalars = FieldType(m.group, "2 trivial")
    record_error(assert_isometry_equivariant(GlobalPool(scalars, reduce), m, m.isometries()))


# -- a whole network ------------------------------------------------------------------------------------


def make_network(atlas, in_type: FieldType, mixed: FieldType, n_classes: int = 3, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    pool = GaugePool(atlas, mixed)
    group_pool = GroupPool(mixed)
    net = nn.Sequential(
        GaugeConv(atlas, in_type, mixed, 3),
        ELU(mixed),
        pool,
        GaugeConv(pool.out_atlas, mixed, mixed, 3),
        ELU(mixed),
        group_pool,
        GlobalPool(group_pool.out_type),
        nn.Linear(len(mixed), n_classes),
    )
    return randomize(net, seed)


@pytest.mark.parametrize("size", STRIP_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_network_logits_are_invariant_mobius(size, record_error):
    m = strip(size)
    in_type = FieldType(m.group, "1 trivial")
    net = make_network(m, in_type, FieldType(m.group, "2 trivial + 2 sign + 2 regular"))
    record_error(assert_gauge_equivariant(net, m, in_type=in_type, gauges=FLIP_GAUGES))
    if size[1] % 2 == 0:
        record_error(assert_isometry_equivariant(net, m, m.isometries(step=2), in_type=in_type))
    logits = net.double().eval()(torch.randn(2, 1, *m.shape, dtype=F64))
    assert logits.shape == (2, 3)


def test_network_is_not_invariant_under_odd_shifts():
    """Stride-2 pooling breaks odd shifts: the even-shift check above is not vacuous."""
    m = strip((4, 6))
    in_type = FieldType(m.group, "1 trivial")
    net = make_network(m, in_type, FieldType(m.group, "2 trivial + 2 sign + 2 regular"))
    with pytest.raises(AssertionError, match="relative error"):
        assert_isometry_equivariant(net, m, [m.shift(1)], in_type=in_type)


# -- the three-chart D4 fixture atlas -------------------------------------------------------------------

D4_SHAPES = [(4, 4), (5, 5)]
D4_TYPES = [
    "1 regular",
    "1 tangent + 1 trivial",
    "1 irrep(0,2) + 1 irrep(1,2) + 1 sign",
    "1 irrep(0,1) + 2 trivial + 1 regular",
    "1 sign + 1 tangent + 1 irrep(1,2) + 1 trivial",
]
D4_GAUGES = [[g, (g + 3) % 8, (5 * g + 1) % 8] for g in range(8)]  # every element on every chart


def test_d4_gauges_cover_every_element_on_every_chart():
    for c in range(3):
        assert sorted(g[c] for g in D4_GAUGES) == list(range(8))


@pytest.mark.parametrize("kernel_size", [3, 5])
@pytest.mark.parametrize("shape", D4_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("t_in, t_out", [(a, D4_TYPES[(i + 2) % 5]) for i, a in enumerate(D4_TYPES)] + [(a, a) for a in D4_TYPES])
def test_gauge_conv_d4_atlas(t_in, t_out, shape, kernel_size, d4_atlas_factory, record_error):
    torch.manual_seed(2)
    atlas = d4_atlas_factory(shape)
    conv = randomize(GaugeConv(atlas, FieldType(atlas.group, t_in), FieldType(atlas.group, t_out), kernel_size))
    record_error(assert_gauge_equivariant(conv, atlas, gauges=D4_GAUGES))


@pytest.mark.parametrize("activation", ["elu", "relu"])
@pytest.mark.parametrize("shape", D4_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("text", D4_TYPES)
def test_nonlinearity_d4_atlas(text, shape, activation, d4_atlas_factory, record_error):
    atlas = d4_atlas_factory(shape)
    nl = randomize(FieldNonlinearity(FieldType(atlas.group, text), activation), seed=3)
    record_error(assert_gauge_equivariant(nl, atlas, gauges=D4_GAUGES))


@pytest.mark.parametrize("shape", D4_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("text", D4_TYPES)
def test_pooling_d4_atlas(text, shape, d4_atlas_factory, record_error):
    atlas = d4_atlas_factory(shape)
    ftype = FieldType(atlas.group, text)
    record_error(assert_gauge_equivariant(GaugePool(atlas, ftype), atlas, gauges=D4_GAUGES))
    group_pool = GroupPool(ftype)
    record_error(assert_gauge_equivariant(group_pool, atlas, gauges=D4_GAUGES))
    readout = nn.Sequential(group_pool, GlobalPool(group_pool.out_type, "mean"))
    record_error(assert_gauge_equivariant(readout, atlas, in_type=ftype, gauges=D4_GAUGES))


@pytest.mark.parametrize("shape", D4_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_network_logits_are_invariant_d4_atlas(shape, d4_atlas_factory, record_error):
    atlas = d4_atlas_factory(shape)
    in_type = FieldType(atlas.group, "1 trivial + 1 tangent")
    net = make_network(atlas, in_type, FieldType(atlas.group, "1 regular + 1 tangent + 1 irrep(1,2) + 1 trivial"))
    record_error(assert_gauge_equivariant(net, atlas, in_type=in_type, gauges=D4_GAUGES))


# -- float32 subset ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(4, 6), (5, 7)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_float32_mobius(size, record_error):
    m = strip(size)
    G = m.group
    t_in, t_out = FieldType(G, "1 trivial + 1 sign + 1 regular"), FieldType(G, "2 sign + 2 regular")
    torch.manual_seed(4)
    modules = [randomize(GaugeConv(m, t_in, t_out, 5)), randomize(ELU(t_out)), GaugePool(m, t_out), GroupPool(t_out)]
    for module in modules:
        record_error(assert_gauge_equivariant(module, m, gauges=FLIP_GAUGES, dtype=F32), F32)
    for module in modules[:2] + modules[3:]:
        record_error(assert_isometry_equivariant(module, m, m.isometries(), dtype=F32), F32)
    if size[1] % 2 == 0:
        record_error(assert_isometry_equivariant(modules[2], m, m.isometries(step=2), dtype=F32), F32)
        net = make_network(m, FieldType(G, "1 trivial"), t_out)
        record_error(assert_isometry_equivariant(net, m, m.isometries(step=2), in_type=FieldType(G, "1 trivial"), dtype=F32), F32)


@pytest.mark.parametrize("shape", D4_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_float32_d4_atlas(shape, d4_atlas_factory, record_error):
    atlas = d4_atlas_factory(shape)
    G = atlas.group
    in_type = FieldType(G, "1 trivial + 1 tangent")
    mixed = FieldType(G, "1 regular + 1 tangent + 1 irrep(1,2)")
    torch.manual_seed(5)
    for module in (randomize(GaugeConv(atlas, in_type, mixed, 3)), randomize(ReLU(mixed)), GaugePool(atlas, mixed)):
        record_error(assert_gauge_equivariant(module, atlas, gauges=D4_GAUGES, dtype=F32), F32)
    net = make_network(atlas, in_type, mixed)
    record_error(assert_gauge_equivariant(net, atlas, in_type=in_type, gauges=D4_GAUGES, dtype=F32), F32)


def rotated_tangent(G, degrees):
    a = np.deg2rad(degrees)
    Q = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return Representation(G, f"tangent{degrees}", Q @ tangent(G).matrices @ Q.T)


def test_non_signed_permutation_fields_float32(d4_atlas_factory, record_error):
    """A tangent field in a frame rotated by 30°: dense ρ(g), exercised in conv, nonlinearity and pooling."""
    atlas = d4_atlas_factory((5, 5))
    G = atlas.group
    ftype = FieldType(G, [rotated_tangent(G, 30), tangent(G)])
    assert not ftype.is_signed_permutation
    torch.manual_seed(6)
    for module in (randomize(GaugeConv(atlas, ftype, ftype, 3)), randomize(ELU(ftype)), GaugePool(atlas, ftype), GroupPool(ftype)):
        record_error(assert_gauge_equivariant(module, atlas, gauges=D4_GAUGES, dtype=F32), F32)


def test_non_signed_permutation_fields_float64(d4_atlas_factory):
    atlas = d4_atlas_factory((5, 5))
    G = atlas.group
    ftype = FieldType(G, [rotated_tangent(G, 30), tangent(G)])
    torch.manual_seed(6)
    assert_gauge_equivariant(GaugeConv(atlas, ftype, ftype, 3), atlas, gauges=D4_GAUGES)


def test_fieldmap_apply_is_float64_accurate_for_dense_reps(d4_atlas_factory):
    atlas = d4_atlas_factory((3, 3))
    G = atlas.group
    rep = rotated_tangent(G, 30)
    ftype = FieldType(G, [rep])
    torch.manual_seed(7)
    x = torch.randn(2, 2, 3, 3, 3, dtype=F64)
    gauge = [4, 5, 7]
    fmap = atlas.gauge_transform(gauge)
    out = fmap.apply(x, ftype)
    src = torch.from_numpy(fmap.source.reshape(-1).copy())
    el = fmap.element.reshape(-1)
    rho = torch.from_numpy(rep.matrices[el])  # (P, 2, 2)
    expected = torch.einsum("pij,bjp->bip", rho, x.reshape(2, 2, -1)[..., src]).reshape(x.shape)
    assert (out - expected).abs().max() <= tolerance(F64) * expected.abs().max()


# -- TransportPad ------------------------------------------------------------------------------------------


def test_transport_pad_matches_padding_map():
    m = strip((4, 5))
    ftype = FieldType(m.group, "1 trivial + 1 sign + 1 regular")
    pad = TransportPad(m, ftype, 2)
    x = torch.randn(2, 4, 4, 5)
    assert torch.equal(pad(x), m.padding_map(2).apply(x, ftype))


@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("shape", D4_SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_transport_pad_gauge_equivariant(shape, width, d4_atlas_factory, record_error):
    """The padded field lives on the grown charts; the helper re-orients those about their centres."""
    atlas = d4_atlas_factory(shape)
    ftype = FieldType(atlas.group, "1 regular + 1 tangent + 1 irrep(1,2)")
    pad = TransportPad(atlas, ftype, width)
    record_error(assert_gauge_equivariant(pad, atlas, in_type=ftype, out_type=ftype, gauges=D4_GAUGES))


def test_transport_pad_without_transport_is_not_equivariant(d4_atlas_factory):
    atlas = d4_atlas_factory((4, 4))
    ftype = FieldType(atlas.group, "1 regular")
    pad = TransportPad(atlas, ftype, 1, transport=False)
    with pytest.raises(AssertionError, match="relative error"):
        assert_gauge_equivariant(pad, atlas, in_type=ftype, out_type=ftype, gauges=D4_GAUGES)


# -- negative controls: the helpers fail on modules that are not equivariant ----------------------------------


def test_conventional_conv_is_not_gauge_equivariant():
    torch.manual_seed(8)
    m = strip((4, 6))
    scalars = FieldType(m.group, "2 trivial")
    conv = ConventionalConv(m, 2, 2, 3)
    with pytest.raises(AssertionError, match="relative error"):
        assert_gauge_equivariant(conv, m, in_type=scalars, out_type=scalars, gauges=FLIP_GAUGES)


@pytest.mark.parametrize("text", ["1 sign", "1 regular"])
def test_untransported_conv_is_not_equivariant(text, d4_atlas_factory):
    torch.manual_seed(9)
    atlas = d4_atlas_factory((4, 4))
    t_in, t_out = FieldType(atlas.group, text), FieldType(atlas.group, "1 regular")
    conv = GaugeConv(atlas, t_in, t_out, 3, transport=False)
    with pytest.raises(AssertionError, match="relative error"):
        assert_gauge_equivariant(conv, atlas, gauges=D4_GAUGES)
    # on the Möbius strip the missing transport breaks the shifts across the twist
    m = strip((4, 6))
    conv = GaugeConv(m, FieldType(m.group, text), FieldType(m.group, "1 regular"), 3, transport=False)
    with pytest.raises(AssertionError, match="relative error"):
        assert_isometry_equivariant(conv, m, m.isometries())


def test_perturbed_kernel_is_not_equivariant(monkeypatch):
    torch.manual_seed(10)
    m = strip((4, 6))
    t_in, t_out = FieldType(m.group, "1 trivial + 1 sign"), FieldType(m.group, "1 regular")
    conv = GaugeConv(m, t_in, t_out, 3)
    # sanity: unperturbed it passes
    assert_gauge_equivariant(conv, m, gauges=FLIP_GAUGES)
    noise = 0.1 * torch.randn(t_out.size, t_in.size, 3, 3, dtype=F64)
    original = GaugeConv.expand_weight
    monkeypatch.setattr(GaugeConv, "expand_weight", lambda self: original(self) + noise.to(self.weights[next(iter(self.weights))].dtype))
    with pytest.raises(AssertionError, match="relative error"):
        assert_gauge_equivariant(conv, m, gauges=FLIP_GAUGES)
    with pytest.raises(AssertionError, match="relative error"):
        assert_isometry_equivariant(conv, m, m.isometries())


def test_helpers_fail_on_non_equivariant_nonlinearity(monkeypatch):
    """A pointwise σ on a sign field is not gauge equivariant: the helpers see it."""
    m = strip((4, 6))
    ftype = FieldType(m.group, "1 sign")
    nl = FieldNonlinearity(ftype, "elu")
    monkeypatch.setattr(FieldNonlinearity, "forward", lambda self, x: torch.nn.functional.elu(x))
    with pytest.raises(AssertionError, match="relative error"):
        assert_gauge_equivariant(nl, m, gauges=FLIP_GAUGES)
