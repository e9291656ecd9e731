"""What the layers compute, checked against direct references (equivariance is in test_equivariance.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gaugecnn import Atlas, FieldType, bias_basis, cyclic_group, dihedral_group, flip_group, kernel_basis, trivial_group
from gaugecnn.nn import (
    ELU,
    FieldBatchNorm,
    FieldNonlinearity,
    GaugeConv,
    GaugeConvTranspose,
    GaugePool,
    GlobalPool,
    GroupPool,
    ReLU,
)
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant
from manifolds import CubeSphere, IcoSphere, MobiusStrip, Plane

pytestmark = pytest.mark.usefixtures("single_thread")
F64 = torch.float64


def test_gauge_conv_on_cylinder_is_a_circular_conv():
    """Trivial group, scalar fields: the kernel is unconstrained and padding is periodic along the length."""
    torch.manual_seed(0)
    cyl = Atlas(trivial_group(), (4, 6), 1, [(0, "left", 0, "right", False)])
    t_in, t_out = FieldType(cyl.group, "2 trivial"), FieldType(cyl.group, "3 trivial")
    conv = GaugeConv(cyl, t_in, t_out, 3).double()
    with torch.no_grad():
        conv.biases["trivial"].normal_()
    assert sum(p.numel() for p in conv.weights.values()) == 2 * 3 * 9  # unconstrained
    x = torch.randn(2, 2, 4, 6, dtype=F64)
    padded = F.pad(F.pad(x, (1, 1, 0, 0), mode="circular"), (0, 0, 1, 1))  # columns periodic, rows zero
    expected = F.conv2d(padded, conv.expand_weight(), conv.expand_bias())
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-12)


def test_gauge_conv_kernel_symmetry_on_mobius():
    """Flip group: trivial->trivial kernels are symmetric under the row flip, trivial->sign antisymmetric."""
    torch.manual_seed(1)
    m = MobiusStrip(4, 6)
    conv = GaugeConv(m, FieldType(m.group, "1 trivial"), FieldType(m.group, "1 trivial + 1 sign + 1 regular"), 5)
    k = conv.expand_weight().detach()
    torch.testing.assert_close(k[0], k[0].flip(-2), rtol=0, atol=0)
    torch.testing.assert_close(k[1], -k[1].flip(-2), rtol=0, atol=0)
    torch.testing.assert_close(k[2], k[3].flip(-2), rtol=0, atol=0)  # the flip swaps the regular channels
    assert k[1, :, 2].abs().max() == 0  # the antisymmetric kernel vanishes on the middle row


def test_gauge_conv_parameter_counts_follow_bases():
    m = MobiusStrip(4, 6)
    G = m.group
    t_in, t_out = FieldType(G, "2 trivial + 1 sign"), FieldType(G, "1 sign + 3 regular")
    conv = GaugeConv(m, t_in, t_out, 5)
    n_weights = sum(p.numel() for p in conv.weights.values())
    expected = 0
    for r_out in t_out.reps:
        for r_in in t_in.reps:
            expected += len(kernel_basis(r_in, r_out, 5))
    assert n_weights == expected == 2 * 10 + 1 * 15 + 3 * (2 * 25 + 25)
    assert sum(p.numel() for p in conv.biases.values()) == 3 * len(bias_basis(t_out.reps[1]))  # no sign bias


def test_gauge_conv_bias_is_invariant():
    torch.manual_seed(2)
    m = MobiusStrip(4, 6)
    t_out = FieldType(m.group, "1 sign + 1 regular + 1 trivial")
    conv = GaugeConv(m, FieldType(m.group, "1 trivial"), t_out, 3)
    with torch.no_grad():
        for p in conv.biases.values():
            p.normal_()
    b = conv.expand_bias()
    assert b[0] == 0 and b[1] == b[2] != 0 and b[3] != 0


@pytest.mark.parametrize(
    "fields",
    [
        "1 tangent + 1 trivial + 1 regular + 1 sign + 1 irrep(1,2) + 1 tangent",  # gathered channels
        "3 regular",  # one consecutive run: a view
        "2 regular + 2 sign",  # consecutive runs, cat
        "1 sign + 2 regular + 1 trivial",  # reordered
    ],
)
def test_group_pool_values_per_field(fields):
    torch.manual_seed(3)
    G = dihedral_group(4)
    t = FieldType(G, fields)
    x = torch.randn(2, t.size, 3, 4, dtype=F64)
    y = GroupPool(t)(x)
    assert y.shape == (2, len(t), 3, 4)
    for f, (rep, sl) in enumerate(zip(t.reps, t.slices)):
        v = x[:, sl]
        expected = v.amax(1) if rep.is_permutation else v.norm(dim=1)
        torch.testing.assert_close(y[:, f], expected, rtol=0, atol=1e-14)


def test_gauge_pool_even_chart_values():
    torch.manual_seed(4)
    G = dihedral_group(4)
    atlas = Atlas(G, (4, 4), 1)
    t = FieldType(G, "1 trivial + 1 sign + 1 tangent")
    x = torch.randn(2, 4, 4, 4, dtype=F64)
    y = GaugePool(atlas, t)(x)
    assert y.shape == (2, 4, 2, 2)
    torch.testing.assert_close(y[:, :1], F.max_pool2d(x[:, :1], 2), rtol=0, atol=0)
    for i in range(2):
        for j in range(2):
            win = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].flatten(2)  # (B, C, 4)
            for b in range(2):
                s = win[b, 1]
                assert y[b, 1, i, j] == s[s.abs().argmax()]  # signed value of largest magnitude
                v = win[b, 2:4]
                assert torch.equal(y[b, 2:4, i, j], v[:, v.norm(dim=0).argmax()])  # whole vector of largest norm


@pytest.mark.parametrize("shape", [(5, 7), (4, 7), (5, 6)])
def test_gauge_pool_odd_chart_shapes(shape):
    m = MobiusStrip(*shape)
    t = FieldType(m.group, "1 trivial + 1 regular")
    pool = GaugePool(m, t)
    out = pool(torch.randn(2, 3, *shape))
    assert out.shape == (2, 3, (shape[0] + 1) // 2, (shape[1] + 1) // 2)
    assert pool.out_atlas == m.coarsened()


def test_gauge_pool_odd_chart_of_constant_field_is_constant():
    """Pixels without a source never win, so a positive constant field pools to the same constant."""
    m = MobiusStrip(5, 7)
    t = FieldType(m.group, "1 trivial + 1 regular")
    out = GaugePool(m, t)(torch.full((1, 3, 5, 7), 0.5, dtype=F64))
    torch.testing.assert_close(out, torch.full((1, 3, 3, 4), 0.5, dtype=F64), rtol=0, atol=1e-15)


@pytest.mark.parametrize("types", ["1 tangent", "1 irrep(2)"])
def test_gauge_pool_window_holding_one_point_twice_is_equivariant(types):
    """A chart whose bottom edge is glued to its right edge: the corner window of a 3 x 3 chart
    holds a pixel and, in its halo, the same pixel seen across the gluing (equal norm, other
    frame). Breaking that tie by position depends on the gauge; averaging the maximisers does not."""
    D4 = dihedral_group(4)
    atlas = Atlas(D4, (3, 3), 1, [(0, "bottom", 0, "right", False)])
    pool = GaugePool(atlas, FieldType(D4, types))
    for g in range(D4.order):
        assert_gauge_equivariant(pool, atlas, gauges=[[g]])


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_global_pool_reduces_over_charts_and_pixels(reduce):
    torch.manual_seed(5)
    t = FieldType(dihedral_group(4), "2 trivial")
    x = torch.randn(2, 2, 3, 4, 4, dtype=F64)
    y = GlobalPool(t, reduce)(x)
    expected = x.flatten(2).amax(2) if reduce == "max" else x.flatten(2).mean(2)
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-15)


def test_norm_nonlinearity_values_and_channel_order():
    torch.manual_seed(6)
    G = dihedral_group(4)
    t = FieldType(G, "1 tangent + 1 regular + 1 sign + 1 trivial")
    nl = FieldNonlinearity(t, "elu").double()
    assert nl.norm_bias.shape == (2,)  # one bias per non-permutation field (tangent, sign)
    with torch.no_grad():
        nl.norm_bias.fill_(-0.2)
    x = torch.randn(2, t.size, 3, 3, dtype=F64)
    y = nl(x)
    v = x[:, 0:2]
    norm = v.norm(dim=1, keepdim=True)
    torch.testing.assert_close(y[:, 0:2], v / norm * F.elu(norm - 0.2), rtol=0, atol=1e-14)
    torch.testing.assert_close(y[:, 2:10], F.elu(x[:, 2:10]), rtol=0, atol=1e-15)
    torch.testing.assert_close(y[:, 10], torch.sign(x[:, 10]) * F.elu(x[:, 10].abs() - 0.2), rtol=0, atol=1e-15)
    torch.testing.assert_close(y[:, 11], F.elu(x[:, 11]), rtol=0, atol=1e-15)
    # the two biases are independent: changing one changes exactly one norm field
    for i in range(2):
        with torch.no_grad():
            nl.norm_bias.fill_(-0.2)
            nl.norm_bias[i] = 0.7
        changed = ((nl(x) - y).abs() > 1e-12).flatten(2).any(2).any(0)
        assert changed[2:10].sum() == 0 and changed[11] == 0
        assert bool(changed[0:2].all()) != bool(changed[10])


def test_pointwise_nonlinearities_on_permutation_fields():
    t = FieldType(flip_group(), "1 trivial + 1 regular")
    x = torch.randn(1, 3, 2, 2)
    assert ELU(t).norm_bias is None
    torch.testing.assert_close(ELU(t)(x), F.elu(x))
    torch.testing.assert_close(ReLU(t)(x), F.relu(x))


# -- fast paths against their plain references ----------------------------------------------------------------


@pytest.mark.parametrize("basis", ["lattice", "bandlimited"])
@pytest.mark.parametrize("group_name", ["flip", "C4", "D4", "C6", "D6"])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_kernel_expansion_equals_the_einsum_reference(group_name, kernel_size, basis):
    from gaugecnn import Atlas, cyclic_group, dihedral_group, flip_group, irreps

    group = {
        "flip": flip_group,
        "C4": lambda: cyclic_group(4),
        "D4": lambda: dihedral_group(4),
        "C6": lambda: cyclic_group(6),
        "D6": lambda: dihedral_group(6),
    }[group_name]()
    atlas = Atlas(group, (6, 6), 1, [])
    names = ["trivial", "sign", "regular", "tangent"] + [r.name for r in irreps(group)]
    in_type = FieldType(group, " + ".join(f"1 {n}" for n in names[::2]))
    out_type = FieldType(group, " + ".join(f"1 {n}" for n in names[1::2] + names[:1]))
    conv = GaugeConv(atlas, in_type, out_type, kernel_size, basis=basis).double()
    with torch.no_grad():
        for w in conv.weights.values():
            w.normal_()
    signed = all(r.is_signed_permutation for r in in_type.reps + out_type.reps)
    if signed and basis == "lattice":  # ±1 bases on disjoint supports: one gather, bit for bit the einsum
        assert conv._signed_expansion
        assert torch.equal(conv.expand_weight(), conv.expand_weight_reference())
    else:  # dense bases: a product per pair of representations and a gather, equal up to the order of the sums
        torch.testing.assert_close(conv.expand_weight(), conv.expand_weight_reference(), rtol=1e-14, atol=1e-14)
    fast = conv.expand_weight()
    (grad_fast,) = torch.autograd.grad((fast * torch.arange(fast.numel()).view_as(fast)).sum(), list(conv.weights.values())[:1])
    reference = conv.expand_weight_reference()
    (grad_ref,) = torch.autograd.grad((reference * torch.arange(fast.numel()).view_as(fast)).sum(), list(conv.weights.values())[:1])
    torch.testing.assert_close(grad_fast, grad_ref, rtol=1e-14, atol=1e-12)
    loss = (conv.expand_weight() ** 2).sum()  # gradients flow back to every parameter
    loss.backward()
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in conv.weights.values())


@pytest.mark.parametrize("spec", ["3 regular", "4 trivial"])
def test_native_batch_norm_equals_the_field_by_field_statistics(spec):
    from gaugecnn import flip_group

    t = FieldType(flip_group(), spec)
    fast, slow = FieldBatchNorm(t).double(), FieldBatchNorm(t).double()
    slow.native = False
    assert fast.native
    x = torch.randn(4, t.size, 5, 6, dtype=torch.float64) * 3 + 1
    with torch.no_grad():
        for bn in (fast, slow):
            bn.weight.normal_(generator=torch.Generator().manual_seed(0))
            bn.bias.normal_(generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(fast.train()(x), slow.train()(x))  # training: batch statistics, the same
    torch.testing.assert_close(fast.running_mean, slow.running_mean)
    slow.running_var.copy_(fast.running_var)  # torch keeps the unbiased variance; then eval agrees too
    torch.testing.assert_close(fast.eval()(x), slow.eval()(x))


def test_inplace_nonlinearity_overwrites_pointwise_fields_only():
    from gaugecnn import flip_group

    g = flip_group()
    x = torch.randn(2, 4, 3, 3)
    relu = ReLU(FieldType(g, "2 regular"), inplace=True)
    y = relu(x)
    assert y.data_ptr() == x.data_ptr() and (x >= 0).all()
    signed = ELU(FieldType(g, "1 sign + 1 regular"), inplace=True)
    assert not signed.inplace
    z = torch.randn(2, 3, 3, 3)
    assert signed(z).data_ptr() != z.data_ptr()
    # a view (batch norm's output is one) is left alone: in place, its backward would copy the base
    base = torch.randn(2, 2, 18)
    view = base.view(2, 4, 3, 3)
    out = relu(view)
    assert out.data_ptr() != base.data_ptr() and (base < 0).any()
    torch.testing.assert_close(out, view.clamp_min(0))
    with torch.no_grad():  # nothing recorded: in place after all
        assert relu(view).data_ptr() == base.data_ptr() and (base >= 0).all()


@pytest.mark.parametrize("group_name", ["C6", "D6"])
def test_stride_two_on_a_vertex_grid_keeps_the_coarse_vertices_of_the_stride_one_conv(group_name):
    """The strided conv2d computes exactly the stride-1 outputs at every second vertex (from each origin), also on
    re-oriented charts whose origins differ, and it refuses cell grids with the reason."""
    from gaugecnn import cyclic_group, dihedral_group
    from gaugecnn.atlas.derived import coarse_offset
    from manifolds import IcoSphere, MobiusStrip

    group = cyclic_group(6) if group_name == "C6" else dihedral_group(6)
    base = IcoSphere(3, group)
    t = FieldType(group, "1 regular + 1 tangent")
    allowed = base.shape_preserving_elements()  # the half turn, and under D6 the reflections across the diagonals
    gauge = [allowed[(3 * c + 1) % len(allowed)] for c in range(base.num_charts)]
    for atlas in (base, base.reoriented(gauge)):
        strided = GaugeConv(atlas, t, t, 3, stride=2).double()
        plain = GaugeConv(atlas, t, t, 3).double()
        plain.load_state_dict(strided.state_dict())
        x = torch.randn(2, t.size, *atlas.shape, dtype=torch.float64)
        full = plain(x)
        kept = torch.stack([full[:, :, c, r0::2, c0::2] for c, (r0, c0) in enumerate(coarse_offset(atlas, ch) for ch in atlas.charts)], 2)
        kept = kept.masked_fill(torch.from_numpy(atlas.coarsened().cone_pixels.copy()), 0.0)
        torch.testing.assert_close(strided(x), kept, rtol=1e-13, atol=1e-13)
        assert strided.out_atlas.chart_shape == (4, 4)
    with pytest.raises(ValueError, match="not be equivariant.*or GaugePool followed by a stride-1 convolution"):
        GaugeConv(
            MobiusStrip(6, 6), FieldType(MobiusStrip(6, 6).group, "1 regular"), FieldType(MobiusStrip(6, 6).group, "1 regular"), 3, stride=2
        )


# -- even kernels at stride 2 on cell grids, their adjoint, and dilation ---------------------------------------------


def test_an_even_kernel_at_stride_2_is_centred_on_the_blocks():
    """On one chart with open edges the layer is conv2d at stride 2 with (k - 2) / 2 zeros of padding:
    output (I, J) reads the k x k window around the centre of block (2I .. 2I+1, 2J .. 2J+1)."""
    plane = Plane(8)
    t_in, t_out = FieldType(plane.group, "1 trivial + 1 regular"), FieldType(plane.group, "2 regular")
    x = torch.randn(2, t_in.size, 8, 8, dtype=torch.float64)
    for k in (2, 4):
        conv = GaugeConv(plane, t_in, t_out, k, stride=2).double()
        weight, bias = conv.expanded()
        expected = F.conv2d(F.pad(x, [(k - 2) // 2] * 4), weight, bias, stride=2)
        torch.testing.assert_close(conv(x), expected, rtol=1e-14, atol=1e-14)
        assert conv.out_atlas.chart_shape == (4, 4)


def test_the_transposed_even_kernel_is_the_adjoint_of_the_strided_one():
    """<conv(x), y> = <x, convT(y)> with one kernel: for trivial fields the two layers share their parameters."""
    plane = Plane(8)
    t = FieldType(plane.group, "1 trivial")
    for k in (2, 4, 6):
        down = GaugeConv(plane, t, t, k, stride=2, bias=False).double()
        up = GaugeConvTranspose(plane, t, t, k, bias=False).double()
        up.conv.load_state_dict(down.state_dict())
        x, y = torch.randn(3, 1, 8, 8, dtype=torch.float64), torch.randn(3, 1, 4, 4, dtype=torch.float64)
        torch.testing.assert_close((down(x) * y).sum(), (x * up(y)).sum(), rtol=1e-12, atol=1e-12)


def test_dilation_spreads_the_taps():
    plane = Plane(9)
    t = FieldType(plane.group, "1 regular")
    conv = GaugeConv(plane, t, t, 3, dilation=2).double()
    x = torch.randn(2, t.size, 9, 9, dtype=torch.float64)
    weight, bias = conv.expanded()
    torch.testing.assert_close(conv(x), F.conv2d(x, weight, bias, padding=2, dilation=2), rtol=1e-14, atol=1e-14)
    assert "dilation=2" in repr(conv)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda: CubeSphere(4), {"kernel_size": 3, "stride": 2}, "Use an even kernel \\(2 or 4\\)"),
        (lambda: CubeSphere(4), {"kernel_size": 2}, "at stride 1 it would put its outputs between the pixels"),
        (lambda: IcoSphere(2), {"kernel_size": 2, "stride": 2}, "on a vertex grid .* use an odd kernel"),
        (lambda: Plane(6, cyclic_group(6)), {"kernel_size": 2, "stride": 2}, "does not map its half-integer offsets onto each other"),
        (lambda: CubeSphere(5), {"kernel_size": 4, "stride": 2}, "do not split into 2 x 2 blocks"),
        (lambda: CubeSphere(4), {"kernel_size": 3, "stride": 2, "dilation": 2}, "dilation=2 works at stride 1"),
        (lambda: CubeSphere(4), {"kernel_size": 3, "stride": 3}, "stride must be 1 or 2"),
        (lambda: CubeSphere(4), {"kernel_size": 3, "dilation": 0}, "dilation must be a positive integer"),
    ],
    ids=["odd-stride2-cells", "even-stride1", "even-vertices", "even-hexagonal", "odd-chart", "dilated-strided", "stride3", "dilation0"],
)
def test_inexact_sampling_is_refused_with_what_works(make, kwargs, message):
    space = make()
    t = FieldType(space.group, "1 trivial")
    with pytest.raises(ValueError, match=message):
        GaugeConv(space, t, t, **kwargs)


def test_convtranspose_refuses_other_strides():
    cube = CubeSphere(4)
    t = FieldType(cube.group, "1 trivial")
    with pytest.raises(ValueError, match="stride must be 2"):
        GaugeConvTranspose(cube, t, t, 4, stride=1)


def test_escnns_empty_basis_case_is_exact_here(record_error):
    """escnn builds no basis for a 2 x 2 kernel (its issue #39); here C4 and D4 at k = 2, stride 2, on the plane and
    the cube sphere: exactly gauge and isometry equivariant, and the transposed layer too."""
    for group in (cyclic_group(4), dihedral_group(4)):
        for space in (Plane(8, group), CubeSphere(8, group)):
            t_in, t_out = FieldType(group, "1 trivial + 1 regular"), FieldType(group, "2 regular")
            down = GaugeConv(space, t_in, t_out, 2, stride=2).double()
            up = GaugeConvTranspose(space, t_out, t_in, 2).double()
            coarse = space.coarsened()
            for module, atlas in ((down, space), (up, coarse)):
                record_error(assert_gauge_equivariant(module, atlas))
                record_error(assert_isometry_equivariant(module, atlas, atlas.isometries()))


def test_sampling_arguments_take_any_integer_type_and_refusals_only_suggest_what_works():
    cube = CubeSphere(8)
    t = FieldType(cube.group, "1 regular")
    conv = GaugeConv(cube, t, t, np.int64(4), stride=np.int64(2))
    assert conv.stride == 2 and type(conv.stride) is int and conv.out_atlas == cube.coarsened()
    assert GaugeConvTranspose(cube, t, t, np.int64(4)).spread is None  # the even path, not the odd one
    hexagonal = Plane(6, cyclic_group(6))
    t6 = FieldType(hexagonal.group, "1 regular")
    with pytest.raises(ValueError, match="Use GaugePool followed by a stride-1 convolution") as refused:
        GaugeConv(hexagonal, t6, t6, 3, stride=2)
    assert "even kernel" not in str(refused.value)  # none would be accepted here


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_field_norm_is_the_vector_norm_with_the_same_gradient_also_at_zero(dtype):
    """The fast field norm (a sum of squares) against the plain reference, torch.linalg.vector_norm."""
    from gaugecnn.nn._fields import field_norm

    torch.manual_seed(0)
    v = torch.randn(3, 4, 2, 5, 5, dtype=dtype)
    v[0, 1] = 0.0  # a zero field: gradient 0, not NaN
    a, b = v.clone().requires_grad_(), v.clone().requires_grad_()
    fast, plain = field_norm(a, 2, keepdim=True), torch.linalg.vector_norm(b, dim=2, keepdim=True)
    tol = 1e-14 if dtype == torch.float64 else 1e-6
    assert torch.allclose(fast, plain, rtol=tol, atol=0)
    weights = torch.randn_like(fast)
    (fast * weights).sum().backward()
    (plain * weights).sum().backward()
    assert torch.isfinite(a.grad).all() and torch.allclose(a.grad, b.grad, rtol=tol * 10, atol=tol)
    assert (a.grad[0, 1] == 0).all()
