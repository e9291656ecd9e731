"""Defects found by using the library and the benchmark as users would (issue 10), one test each.

Every test here failed before its fix: awkward inputs (zero fields, empty batches, NumPy
integers), far halos, and the benchmark's files interrupted, corrupted, resumed under
other settings or shared by several processes.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks._files import append_line, read_json_lines
from benchmarks.mobius_mnist.cli import main
from benchmarks.mobius_mnist.data import load_mobius_mnist
from gaugecnn import Atlas, FieldType, dihedral_group, flip_group, trivial_group
from gaugecnn.nn import ELU, FieldBatchNorm, GaugeConv, GaugePool, GlobalPool, GroupPool, TransportPad
from gaugecnn.testing import assert_gauge_equivariant
from manifolds import MobiusStrip, Torus

SHARED_DATA = Path(os.environ.get("GAUGECNN_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason=f"no MNIST .gz files under {SHARED_DATA}/MNIST/raw")

TINY = [
    "--epochs",
    "2",
    "--train-size",
    "128",
    "--test-size",
    "20",
    "--no-progress",
    "--threads",
    "1",
    "--model",
    "gauge_smoke",
    "--train-mode",
    "shifted",
]


# -- 1. norms of zero vectors -------------------------------------------------------------------------------------


NORM_FIELDS = [
    (MobiusStrip(4, 6), "1 tangent + 1 sign"),
    (Atlas(dihedral_group(4), (4, 4), 1, [(0, "left", 0, "right", True)]), "1 tangent + 1 irrep(1) + 1 irrep(2) + 1 regular"),
]


@pytest.mark.parametrize("atlas, spec", NORM_FIELDS)
def test_every_norm_based_layer_has_finite_gradients_at_zero_fields(atlas, spec):
    field_type = FieldType(atlas.group, spec)
    layers = [
        ELU(field_type),
        GroupPool(field_type),
        FieldBatchNorm(field_type),
        GaugePool(atlas, field_type),
        GaugePool(atlas.with_chart_shape((5, 5)), field_type),
    ]
    for layer in layers:
        layer = layer.double()
        shape = layer.atlas.shape if hasattr(layer, "atlas") else atlas.shape
        for value in (0.0, 1e-30):  # exactly zero (a blank background) and almost
            x = torch.full((2, field_type.size, *shape), value, dtype=torch.float64, requires_grad=True)
            layer(x).pow(2).sum().backward()
            assert torch.isfinite(x.grad).all(), f"{type(layer).__name__} on {value}"


def test_norm_nonlinearity_of_a_zero_vector_is_zero_with_zero_gradient():
    field_type = FieldType(flip_group(), "1 tangent")
    elu = ELU(field_type)
    elu.norm_bias.data.fill_(0.7)
    x = torch.zeros(1, 2, 3, 3, requires_grad=True)
    y = elu(x)
    y.sum().backward()
    assert torch.equal(y, torch.zeros_like(y)) and torch.equal(x.grad, torch.zeros_like(x))


# -- 3. halos that need many chart crossings ----------------------------------------------------------------------


def _four_chart_torus(size: int) -> Atlas:
    """A torus as a 2 x 2 block of square charts a b / c d, all glued straight."""
    gluings = [
        ("a", "right", "b", "left", False),
        ("b", "right", "a", "left", False),
        ("c", "right", "d", "left", False),
        ("d", "right", "c", "left", False),
        ("a", "bottom", "c", "top", False),
        ("c", "bottom", "a", "top", False),
        ("b", "bottom", "d", "top", False),
        ("d", "bottom", "b", "top", False),
    ]
    return Atlas(trivial_group(), (size, size), ["a", "b", "c", "d"], gluings)


def _as_blocks(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, C, 2s, 2s)`` on one chart -> ``(B, C, 4, s, s)`` on the charts a, b, c, d."""
    return torch.stack([x[..., :size, :size], x[..., :size, size:], x[..., size:, :size], x[..., size:, size:]], 2)


@pytest.mark.parametrize("size, kernel_size", [(1, 7), (2, 5), (1, 9)])
def test_far_halos_match_the_same_torus_as_one_chart(size, kernel_size):
    one, four = Torus(2 * size, 2 * size), _four_chart_torus(size)
    field_type = FieldType(trivial_group(), "2 trivial")
    torch.manual_seed(0)
    conv_one = GaugeConv(one, field_type, field_type, kernel_size).double()
    conv_four = GaugeConv(four, field_type, field_type, kernel_size).double()
    conv_four.load_state_dict(conv_one.state_dict())
    x = torch.randn(2, 2, 2 * size, 2 * size, dtype=torch.float64)
    torch.testing.assert_close(conv_four(_as_blocks(x, size)), _as_blocks(conv_one(x), size), rtol=1e-12, atol=1e-12)


def test_an_eight_pixel_four_chart_torus_pooled_twice_matches_one_chart():
    """8 x 8 as four 4 x 4 charts; after two poolings they are 1 x 1, and a 7 x 7 kernel reaches 3 charts away."""
    one, four = Torus(8, 8), _four_chart_torus(4)
    t = FieldType(trivial_group(), "3 trivial")

    def net(atlas):
        pool1 = GaugePool(atlas, t)
        pool2 = GaugePool(pool1.out_atlas, t)
        return torch.nn.Sequential(GaugeConv(atlas, t, t, 3), pool1, pool2, GaugeConv(pool2.out_atlas, t, t, 7)).double()

    torch.manual_seed(1)
    net_one, net_four = net(one), net(four)
    net_four.load_state_dict(net_one.state_dict())
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(net_four(_as_blocks(x, 4)), _as_blocks(net_one(x), 1), rtol=1e-12, atol=1e-12)


# -- 4. a kernel space without parameters -------------------------------------------------------------------------


def test_conv_with_an_empty_kernel_space_follows_dtype_changes():
    group = dihedral_group(4)
    atlas = Atlas(group, (4, 4), 1, [])
    with pytest.warns(UserWarning, match="leaves no kernel from these inputs to the output field.s. trivial"):
        conv = GaugeConv(atlas, FieldType(group, "1 sign"), FieldType(group, "1 trivial"), 3)
    assert len(conv.weights) == 0
    y = conv.double()(torch.rand(2, 1, 4, 4, dtype=torch.float64))
    assert y.dtype == torch.float64
    assert assert_gauge_equivariant(conv, atlas) == 0.0
    with pytest.warns(UserWarning, match="stay zero"):
        frozen = GaugeConv(atlas, FieldType(group, "1 sign"), FieldType(group, "1 trivial"), 3, bias=False).eval()
    with torch.no_grad():  # the eval cache of a conv without any parameter
        frozen(torch.rand(1, 1, 4, 4))
        assert frozen.double()(torch.rand(1, 1, 4, 4, dtype=torch.float64)).dtype == torch.float64


# -- 5. empty batches ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("atlas", [MobiusStrip(5, 6), MobiusStrip(4, 6)], ids=["odd", "even"])
def test_every_layer_accepts_an_empty_batch(atlas):
    field_type = FieldType(atlas.group, "1 trivial + 1 sign + 1 regular + 1 tangent")
    scalars = FieldType(atlas.group, "3 trivial")
    layers = [
        GaugeConv(atlas, field_type, field_type, 3),
        TransportPad(atlas, field_type, 2),
        GaugePool(atlas, field_type),
        ELU(field_type),
        FieldBatchNorm(field_type),
        GroupPool(field_type),
    ]
    for layer in layers:
        x = torch.zeros(0, field_type.size, *atlas.shape, requires_grad=True)
        y = layer(x)
        assert y.shape[0] == 0
        y.sum().backward()
        assert x.grad.shape == x.shape
    assert GlobalPool(scalars)(torch.zeros(0, 3, *atlas.shape)).shape == (0, 3)
    norm = FieldBatchNorm(field_type)
    norm(torch.zeros(0, field_type.size, *atlas.shape))
    assert torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    assert torch.equal(norm.running_var, torch.ones_like(norm.running_var))


# -- 10. smaller input checks -------------------------------------------------------------------------------------


def test_numpy_and_torch_integers_are_kernel_sizes_but_bools_and_floats_are_not():
    atlas = MobiusStrip(4, 6)
    t = FieldType(atlas.group, "1 trivial")
    for k in (np.int64(3), torch.tensor(3)):
        conv = GaugeConv(atlas, t, t, k)
        assert conv.kernel_size == 3 and type(conv.kernel_size) is int
    for k in (True, 3.0, "3"):
        with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
            GaugeConv(atlas, t, t, k)


def test_negative_padding_width_is_refused():
    atlas = MobiusStrip(4, 6)
    t = FieldType(atlas.group, "1 trivial")
    for width in (-1, (1, -2), 1.5, (1, 2, 3)):
        with pytest.raises(ValueError, match="padding width must be a non-negative integer"):
            TransportPad(atlas, t, width)
    assert TransportPad(atlas, t, 0)(torch.ones(1, 1, 4, 6)).shape == (1, 1, 4, 6)


def test_a_field_type_without_fields_is_refused_but_zero_terms_are_fine():
    group = flip_group()
    with pytest.raises(ValueError, match="'0 trivial' has no fields"):
        FieldType(group, "0 trivial")
    with pytest.raises(ValueError, match="has no fields"):
        FieldType(group, [])
    assert str(FieldType(group, "2 trivial + 0 sign")) == "2 trivial"


def test_gluing_reversal_must_be_a_bool():
    for bad in ("no", 1, None):
        with pytest.raises(TypeError, match="reversed must be True or False"):
            Atlas(flip_group(), (4, 4), 1, [(0, "left", 0, "right", bad)])
    atlas = Atlas(flip_group(), (4, 4), 1, [(0, "left", 0, "right", np.bool_(True))])
    assert atlas.gluings[0].reversed is True and not atlas.is_orientable


# -- 2, 6, 8, 9. the benchmark's files ----------------------------------------------------------------------------


def _records(out: Path) -> list[dict]:
    return read_json_lines(out / "results.jsonl")


@needs_mnist
def test_a_checkpoint_of_other_settings_is_never_resumed(tmp_path, capsys):
    cache = tmp_path / "cache"
    base = [*TINY, "--data-root", str(SHARED_DATA), "--cache-dir", str(cache)]

    def interrupt(epoch):
        raise KeyboardInterrupt

    out = tmp_path / "out"
    assert main(base + ["--out", str(out), "--lr", "0.005"], on_epoch_end=interrupt) == 130
    assert main(base + ["--out", str(out), "--lr", "0.001"]) == 0
    assert "belong to other settings" in capsys.readouterr().out
    straight = tmp_path / "straight"
    assert main(base + ["--out", str(straight), "--lr", "0.001"]) == 0
    (resumed,), (fresh,) = _records(out), _records(straight)
    assert resumed["lr"] == 0.001
    assert (resumed["test_error_shifted"], resumed["test_error_centered"]) == (fresh["test_error_shifted"], fresh["test_error_centered"])
    # the lr 0.005 checkpoint is still there; renamed to pose as an lr 0.001 one, it is refused
    (other,) = [p for p in (out / "checkpoints").iterdir() if p.suffix == ".pt"]
    (out / "results.jsonl").unlink()
    (straight_ckpt_name,) = [p.name for p in (straight / "models").iterdir()]
    other.rename(out / "checkpoints" / straight_ckpt_name)
    with pytest.raises(SystemExit, match="made under other training settings .*lr 0.005 there, 0.001 here"):
        main(base + ["--out", str(out), "--lr", "0.001"])


@needs_mnist
@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_corrupt_checkpoint_is_set_aside_with_a_message(tmp_path, capsys, damage):
    argv = [*TINY, "--data-root", str(SHARED_DATA), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]

    def interrupt(epoch):
        raise KeyboardInterrupt

    assert main(argv, on_epoch_end=interrupt) == 130
    (ckpt,) = (tmp_path / "out" / "checkpoints").glob("*.pt")
    ckpt.write_bytes(b"" if damage == "empty" else ckpt.read_bytes()[:1000])
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"checkpoint {ckpt} is unreadable" in out and "starting this run over" in out
    assert (ckpt.parent / (ckpt.name + ".corrupt")).exists() and len(_records(tmp_path / "out")) == 1


@needs_mnist
def test_a_torn_results_line_is_skipped_with_a_warning_and_never_glued_to(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"model": "gauge_scalar", "train_mo')  # a crash mid-write
    argv = [*TINY, "--data-root", str(SHARED_DATA), "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
    with pytest.warns(UserWarning, match=r"results.jsonl: skipped 1 line.*line 1"):
        assert main(argv) == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["model"] == "gauge_smoke"
    append_line(out / "results.jsonl", {"a": 1})
    with warnings.catch_warnings(record=True):
        assert read_json_lines(out / "results.jsonl")[-1] == {"a": 1}


LOAD = """
import sys
from benchmarks.mobius_mnist.data import load_mobius_mnist
data = load_mobius_mnist(sys.argv[1], sys.argv[2], 256, log=lambda _: None)
print(data["train"].shifted.sum().item(), data["test"].labels.sum().item())
"""


@needs_mnist
def test_processes_started_at_once_on_an_empty_cache_all_get_the_data(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD, str(tmp_path / "cache"), str(SHARED_DATA)],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert [p.name for p in (tmp_path / "cache").rglob("*") if ".tmp" in p.name] == []


WAIT = """
import sys
from benchmarks.mobius_mnist.data import load_mobius_mnist
load_mobius_mnist(sys.argv[1], sys.argv[2], 64, log=lambda m: print(m, flush=True))
"""


@needs_mnist
def test_a_second_process_waits_for_the_one_preparing_the_cache(tmp_path):
    from benchmarks._files import file_lock

    cache, repo = tmp_path / "cache", Path(__file__).resolve().parents[1]
    with file_lock(cache / ".lock"):  # this test plays the process that is preparing the data
        proc = subprocess.Popen(
            [sys.executable, "-c", WAIT, str(cache), str(SHARED_DATA)], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        first = proc.stdout.readline()
        assert "waiting for another process preparing the data" in first
        assert not (cache / "MNIST").exists()  # it touched nothing while it waited
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "generating Möbius MNIST" in out


# -- 7. MNIST files ---------------------------------------------------------------------------------------------


def _data_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(SHARED_DATA / "MNIST" / "raw", root / "MNIST" / "raw")
    return root


@needs_mnist
def test_a_corrupt_mnist_file_is_named_and_a_bad_cached_copy_replaced(tmp_path):
    root, cache = _data_root(tmp_path), tmp_path / "cache"
    labels = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    good = labels.read_bytes()
    labels.write_bytes(good[: len(good) // 2])
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte.gz: not the MNIST file .*replace it"):
        load_mobius_mnist(cache, root, 64, log=lambda _: None)
    # a bad copy already in the cache (an earlier crash, another tool) is replaced from a good source
    labels.write_bytes(good)
    cached = cache / "MNIST" / "raw" / labels.name
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(gzip.compress(b"garbage"))
    data = load_mobius_mnist(cache, root, 64, log=lambda _: None)
    assert cached.read_bytes() == good and len(data["test"].labels) == 10000


def test_an_empty_mnist_folder_lists_the_missing_files(tmp_path):
    (tmp_path / "root" / "MNIST" / "raw").mkdir(parents=True)
    with pytest.raises(SystemExit, match="lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k"):
        main(["--quick", "--data-root", str(tmp_path / "root"), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")])


@needs_mnist
def test_a_torn_extracted_mnist_file_is_extracted_again(tmp_path):
    cache = tmp_path / "cache"
    load_mobius_mnist(cache, SHARED_DATA, 64, log=lambda _: None)
    extracted = cache / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    good = extracted.read_bytes()
    extracted.write_bytes(good[:100])  # a crash while torchvision extracted it
    for f in cache.glob("mobius_mnist_*"):
        f.unlink()  # so that MNIST is read again
    data = load_mobius_mnist(cache, SHARED_DATA, 64, log=lambda _: None)
    assert extracted.read_bytes() == good and len(data["test"].labels) == 10000
