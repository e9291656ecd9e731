"""Beyond eager float32: torch.compile, export to frozen modules, mixed precision, eval-mode caching."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from gaugecnn import FieldType, trivial
from gaugecnn import nn as gnn
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant, tolerance
from manifolds import CubeSphere, IcoSphere, MobiusStrip


def mobius_net(strip: MobiusStrip) -> nn.Sequential:
    g = strip.group
    scalar, hidden = FieldType(g, "1 trivial"), FieldType(g, "2 trivial + 2 sign + 2 regular")
    pool = gnn.GaugePool(strip, hidden)
    torch.manual_seed(0)
    return nn.Sequential(
        gnn.GaugeConv(strip, scalar, hidden, 3),
        gnn.ELU(hidden),
        pool,
        gnn.GaugeConv(pool.out_atlas, hidden, hidden, 3),
        gnn.FieldBatchNorm(hidden),
        gnn.ELU(hidden),
        gnn.GroupPool(hidden),
        gnn.GlobalPool(FieldType(g, [trivial(g)] * 6)),
        nn.Linear(6, 3),
    )


def test_torch_compile_fullgraph_matches_eager():
    strip = MobiusStrip(8, 8)
    net = mobius_net(strip).eval()
    x = torch.randn(4, 1, 8, 8)
    compiled = torch.compile(net, fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(x), net(x), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_export_gives_identical_outputs_and_runs_without_gaugecnn(tmp_path):
    for atlas, shape in ((MobiusStrip(8, 8), (8, 8)), (CubeSphere(4), (6, 4, 4))):
        g = atlas.group
        net = nn.Sequential(
            gnn.GaugeConv(atlas, FieldType(g, "1 trivial"), FieldType(g, "3 regular"), 3),
            gnn.ELU(FieldType(g, "3 regular")),
            gnn.ConventionalConv(atlas, FieldType(g, "3 regular").size, 2, 3),
        ).eval()
        x = torch.randn(3, 1, *shape)
        frozen = gnn.export(net)
        assert not any(isinstance(m, (gnn.GaugeConv, gnn.ConventionalConv)) for m in frozen.modules())
        with torch.no_grad():
            assert torch.equal(frozen(x), net(x))
            program = torch.export.export(frozen, (x,))
            assert torch.equal(program.module()(x), net(x))
    path = tmp_path / "model.pt2"
    torch.export.save(program, str(path))
    torch.save(x, tmp_path / "x.pt")
    # a fresh interpreter in which gaugecnn cannot be imported runs the saved program
    code = (
        "import sys; sys.modules['gaugecnn'] = None; sys.modules['manifolds'] = None\n"
        "import torch\n"
        f"m = torch.export.load({str(path)!r}).module(); x = torch.load({str(tmp_path / 'x.pt')!r})\n"
        f"torch.save(m(x), {str(tmp_path / 'y.pt')!r})\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)
    with torch.no_grad():
        assert torch.equal(torch.load(tmp_path / "y.pt"), net(x))


def strided_net(space) -> nn.Sequential:
    """An encoder-decoder of the new samplings: a stride-2 kernel (even on cells, odd on vertices), a dilated one, the transpose."""
    g = space.group
    scalar, hidden = FieldType(g, "1 trivial"), FieldType(g, "2 regular")
    k = 3 if space.grid_kind == "vertices" else 4
    torch.manual_seed(1)
    down = gnn.GaugeConv(space, scalar, hidden, k, stride=2)
    return nn.Sequential(
        down,
        gnn.ELU(hidden),
        gnn.GaugeConv(down.out_atlas, hidden, hidden, 3, dilation=2),
        gnn.ELU(hidden),
        gnn.GaugeConvTranspose(space, hidden, scalar, k),
    )


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("space", [CubeSphere(8), IcoSphere(4)], ids=["cube-cells", "ico-vertices"])
def test_strided_dilated_and_transposed_layers_compile_export_and_stay_exact(space, record_error):
    net = strided_net(space).eval()
    x = torch.randn(2, 1, *space.shape)
    with torch.no_grad():
        eager = net(x)
        # every layer sees something (a dilated kernel on small icosphere charts would see only blind pixels)
        assert net[:3](x).abs().amax() > 0 and eager.abs().amax() > 0
        assert torch.allclose(torch.compile(net, fullgraph=True)(x), eager, rtol=1e-5, atol=1e-6)
        frozen = gnn.export(net)
        assert not any(isinstance(m, gnn.GaugeConv) for m in frozen.modules())
        assert torch.equal(frozen(x), eager)
        assert torch.equal(torch.export.export(frozen, (x,)).module()(x), eager)
    # float32, exact to float32's tolerance, and the frozen copy too
    for module in (net, frozen):
        record_error(assert_isometry_equivariant(module, space, space.isometries()[:8], dtype=torch.float32), torch.float32)


def _trained_norms(net: nn.Module) -> None:
    """Give every batch norm running statistics and affine parameters away from their defaults."""
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, gnn.FieldBatchNorm):
                m.running_mean.uniform_(-1, 1, generator=g)
                m.running_var.uniform_(0.5, 2, generator=g)
                m.weight.uniform_(0.5, 2, generator=g)
                if m.bias is not None:
                    m.bias.uniform_(-1, 1, generator=g)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_export_folds_batch_norm_into_the_convolution_before_it(memory_format):
    strip = MobiusStrip(8, 8)
    net = mobius_net(strip).double()
    _trained_norms(net)
    net.eval()
    frozen = gnn.export(net, memory_format=memory_format)
    assert not any(isinstance(m, gnn.FieldBatchNorm) for m in frozen.modules())
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), net(x), rtol=0, atol=1e-12)
    assert frozen[3].weight.is_contiguous(memory_format=memory_format)


def test_export_keeps_batch_norm_after_a_convolution_with_blind_pixels():
    # on an atlas with cone points the convolution zeroes blind pixels, which the norm's shift moves
    from manifolds import IcoSphere

    atlas = IcoSphere(2)
    g = atlas.group
    t = FieldType(g, "2 regular")
    net = nn.Sequential(gnn.GaugeConv(atlas, FieldType(g, "1 trivial"), t, 5), gnn.FieldBatchNorm(t)).double()
    _trained_norms(net)
    net.eval()
    frozen = gnn.export(net)
    assert isinstance(frozen[1], gnn.FieldBatchNorm)
    x = torch.randn(2, 1, *atlas.shape, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), net(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.bfloat16])
def test_autocast_on_cpu_stays_within_the_documented_bound(dtype, record_error):
    strip = MobiusStrip(8, 8)
    net = mobius_net(strip)
    net.train()
    net(torch.randn(8, 1, 8, 8))
    net.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
        assert net(torch.randn(2, 1, 8, 8)).dtype == dtype  # the linear layer runs in low precision
    err = assert_gauge_equivariant(net, strip, autocast=dtype)
    err = max(err, assert_isometry_equivariant(net, strip, strip.isometries(step=2), autocast=dtype))
    assert err <= tolerance(dtype)
    record_error(err, dtype)
    # and the bound is not vacuous: low precision does differ from float32
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        full = net(x)
        with torch.autocast("cpu", dtype=dtype):
            low = net(x).float()
    assert 0 < (full - low).abs().max() <= 0.1 * full.abs().max()


def test_eval_cache_reuses_the_kernel_and_keeps_state_dict_keys():
    strip = MobiusStrip(6, 6)
    t = FieldType(strip.group, "2 regular + 1 sign")
    conv = gnn.GaugeConv(strip, t, t, 3)
    keys = set(conv.state_dict())
    conv.eval()
    x = torch.randn(2, t.size, 6, 6)
    with torch.no_grad():
        first = conv(x)
        cached = conv._expanded_cache[1]
        assert torch.equal(conv(x), first) and conv._expanded_cache[1] is cached
        next(iter(conv.weights.values())).mul_(2)  # an in-place update invalidates the cache
        assert not torch.equal(conv(x), first)
    assert set(conv.state_dict()) == keys
    conv.train()
    assert set(conv.state_dict()) == keys
    # training still reaches the parameters
    conv(x).sum().backward()
    assert all(p.grad is not None for p in conv.parameters())
