"""Clear errors for the mistakes users make: wrong shapes, wrong groups, wrong names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaugecnn import Atlas, FieldType, Representation, cyclic_group, dihedral_group, flip_group, kernel_basis, trivial
from gaugecnn.nn import ELU, ConventionalConv, FieldNonlinearity, GaugeConv, GaugePool, GlobalPool, GroupPool, TransportPad
from manifolds import MobiusStrip

STRIP = MobiusStrip(4, 6)
G = STRIP.group
MIXED = FieldType(G, "1 trivial + 1 sign + 1 regular")  # 4 channels


def d4_atlas():
    return Atlas(dihedral_group(4), (4, 4), ["a", "b"], [("a", "right", "b", "left", False)])


def layers(atlas, ftype):
    return {
        "GaugeConv": GaugeConv(atlas, ftype, ftype, 3),
        "GaugePool": GaugePool(atlas, ftype),
        "TransportPad": TransportPad(atlas, ftype, 1),
    }


SHAPE_MESSAGE = r"expects a tensor of shape \(batch, {c}, {s}\).*{n} channels for field type .* but got {got}"


@pytest.mark.parametrize("layer", ["GaugeConv", "GaugePool", "TransportPad"])
def test_wrong_channel_count(layer):
    module = layers(STRIP, MIXED)[layer]
    x = torch.randn(2, 3, 4, 6)
    with pytest.raises(ValueError, match=layer + " " + SHAPE_MESSAGE.format(c=4, s="4, 6", n=4, got=r"\(2, 3, 4, 6\)")):
        module(x)


@pytest.mark.parametrize("layer", ["GaugeConv", "GaugePool", "TransportPad"])
@pytest.mark.parametrize("shape", [(2, 4, 6, 4), (2, 4, 4, 7), (2, 4, 1, 4, 6), (4, 4, 6)])
def test_wrong_spatial_shape(layer, shape):
    module = layers(STRIP, MIXED)[layer]
    with pytest.raises(ValueError, match=r"expects a tensor of shape \(batch, 4, 4, 6\).*but got"):
        module(torch.randn(*shape))


@pytest.mark.parametrize("layer", ["GaugeConv", "GaugePool", "TransportPad"])
def test_multichart_atlas_needs_chart_axis(layer):
    atlas = d4_atlas()
    ftype = FieldType(atlas.group, "1 regular")
    module = layers(atlas, ftype)[layer]
    with pytest.raises(ValueError, match=r"shape \(batch, 8, 2, 4, 4\)"):
        module(torch.randn(1, 8, 4, 4))  # one chart's worth, chart axis missing
    module(torch.randn(1, 8, 2, 4, 4))  # the right shape goes through


def test_non_tensor_input():
    with pytest.raises(TypeError, match="expects a torch.Tensor"):
        GaugeConv(STRIP, MIXED, MIXED, 3)(np.zeros((1, 4, 4, 6)))


def test_field_type_of_another_group_than_the_atlas():
    other = FieldType(dihedral_group(4), "1 regular")
    with pytest.raises(ValueError, match=r"in_type is of group D4 but the atlas has structure group flip"):
        GaugeConv(STRIP, other, MIXED, 3)
    with pytest.raises(ValueError, match=r"out_type is of group D4 but the atlas has structure group flip"):
        GaugeConv(STRIP, MIXED, other, 3)
    with pytest.raises(ValueError, match=r"group D4 .* group flip"):
        TransportPad(STRIP, other, 1)


def test_gauge_pool_odd_chart_refuses_field_type_of_another_group():
    with pytest.raises(ValueError, match="group"):
        GaugePool(MobiusStrip(5, 7), FieldType(dihedral_group(4), "1 regular"))


def test_gauge_pool_even_chart_refuses_field_type_of_another_group():
    with pytest.raises(ValueError, match="group"):
        GaugePool(STRIP, FieldType(dihedral_group(4), "1 regular"))


def test_field_types_must_be_field_types():
    with pytest.raises(TypeError, match="in_type must be a gaugecnn FieldType"):
        GaugeConv(STRIP, "1 trivial", MIXED, 3)


def test_layers_need_an_atlas():
    with pytest.raises(TypeError, match="expected a gaugecnn Atlas"):
        GaugeConv((4, 6), MIXED, MIXED, 3)


@pytest.mark.parametrize("text", ["1 sign", "1 regular", "2 trivial + 1 sign"])
def test_global_pool_on_non_trivial_fields_points_to_group_pool(text):
    with pytest.raises(ValueError, match=r"GlobalPool needs scalar \(trivial\) fields.*apply GroupPool first"):
        GlobalPool(FieldType(G, text))


def test_global_pool_accepts_trivial_fields_and_refuses_unknown_reduce():
    GlobalPool(FieldType(G, "3 trivial"))
    GlobalPool(GroupPool(MIXED).out_type, "mean")
    with pytest.raises(ValueError, match="reduce must be 'max' or 'mean'"):
        GlobalPool(FieldType(G, "1 trivial"), "sum")


def test_global_and_group_pool_wrong_channels():
    with pytest.raises(ValueError, match=r"GlobalPool expects \(batch, 2, \*spatial\)"):
        GlobalPool(FieldType(G, "2 trivial"))(torch.randn(1, 3, 4, 6))
    with pytest.raises(ValueError, match=r"GroupPool expects \(batch, 4, ...\)"):
        GroupPool(MIXED)(torch.randn(1, 5, 4, 6))


@pytest.mark.parametrize("name", ["tanh", "ELU", "gelu"])
def test_unknown_activation(name):
    with pytest.raises(ValueError, match=rf"unknown activation '{name}'; choose one of \['elu', 'relu'\]"):
        FieldNonlinearity(MIXED, name)


def test_nonlinearity_wrong_channels():
    with pytest.raises(ValueError, match=r"ELU expects \(batch, 4, ...\)"):
        ELU(MIXED)(torch.randn(1, 2, 4, 6))


@pytest.mark.parametrize("k", [2, 4])
def test_even_kernel_size_at_stride_one(k):
    """Even kernels are exact only at stride 2 on cell grids: at stride 1 they are refused, saying what works."""
    with pytest.raises(ValueError, match=rf"an even kernel \({k}\) is exact only at stride 2 .* use an odd kernel"):
        GaugeConv(STRIP, MIXED, MIXED, k)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer"):
        ConventionalConv(STRIP, 1, 1, k)
    assert len(kernel_basis(trivial(G), trivial(G), k)) > 0  # the basis itself exists (half-integer offsets)


def test_zero_kernel_size():
    for make in (
        lambda: GaugeConv(STRIP, MIXED, MIXED, 0),
        lambda: ConventionalConv(STRIP, 1, 1, 0),
        lambda: kernel_basis(trivial(G), trivial(G), 0),
    ):
        with pytest.raises(ValueError, match="kernel_size must be a positive"):
            make()


def test_non_homomorphism_representation():
    C4 = cyclic_group(4)
    mats = np.stack([np.eye(1)] + [-np.eye(1)] * 3)  # ρ(r) ρ(r) = 1 but ρ(r²) = -1
    with pytest.raises(ValueError, match=r"'bad' is not a homomorphism of C4"):
        Representation(C4, "bad", mats)


def test_rebind_to_another_grid_is_refused():
    conv = GaugeConv(STRIP, MIXED, MIXED, 3)
    with pytest.raises(ValueError, match="cannot rebind"):
        conv.rebind(MobiusStrip(4, 8))
    with pytest.raises(ValueError, match="cannot rebind"):
        conv.rebind(MobiusStrip(4, 6, group=dihedral_group(4)))


def test_flip_group_rejects_quarter_turn_gluing():
    with pytest.raises(ValueError, match="needs a rotation .* not in the structure group flip"):
        Atlas(flip_group(), (4, 4), 2, [(0, "right", 1, "top", True)])
