"""The figures script and gaugecnn.viz: every PNG is written and valid, the drawn surfaces agree with the atlases."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gaugecnn import FieldType, dihedral_group, flip_group
from gaugecnn.nn import GaugeConv
from manifolds import CubeSphere, MobiusStrip

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GAUGECNN_TEST_DATA", ROOT.parent / "shared" / "data"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of a PNG, after checking its signature and header chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    return struct.unpack(">II", data[16:24])


def test_viz_imports_without_matplotlib_and_says_how_to_install_it():
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "import gaugecnn.viz as viz\n"
        "from manifolds import MobiusStrip\n"
        "try:\n    viz.plot_transport_padding(MobiusStrip(4, 6), 1)\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert 'pip install -e ".[viz]"' in out


def test_mobius_embedding_agrees_with_transport_padding():
    """Every halo pixel with a source lands, in 3D, exactly on its source pixel: the picture is the atlas's strip."""
    figures = pytest.importorskip("benchmarks.figures")
    strip = MobiusStrip(5, 7)
    fmap = strip.padding_map(2)
    (_, hp, wp), (h, w) = fmap.target_grid, strip.chart_shape
    ii, jj = np.meshgrid(np.arange(hp) - 2, np.arange(wp) - 2, indexing="ij")
    valid = fmap.valid[0]
    halo_points = np.stack(figures.mobius_embedding((ii[valid] + 0.5) / h, (jj[valid] + 0.5) / w), axis=-1)
    src_i, src_j = np.divmod(fmap.source[0][valid], w)
    source_points = np.stack(figures.mobius_embedding((src_i + 0.5) / h, (src_j + 0.5) / w), axis=-1)
    assert (~valid).any() and valid.sum() > h * w  # there is a halo, part of it beyond the boundary
    np.testing.assert_allclose(halo_points, source_points, atol=1e-12)


def test_cube_faces_are_drawn_where_the_atlas_glues_them():
    """A halo pixel's source lies on the neighbouring face, √2 pixel half-widths from the edge pixel it borders."""
    figures = pytest.importorskip("benchmarks.figures")
    n = 4
    cube = CubeSphere(n)
    centres = figures.cube_pixel_centres(cube).reshape(-1, 3)
    assert np.allclose(np.abs(centres).max(axis=1), 1.0)  # on the surface of [-1, 1]^3
    fmap = cube.padding_map(1)
    checked = 0
    for c in range(6):
        for i in range(n + 2):
            for j in range(n + 2):
                src = fmap.source[c, i, j]
                inside = 1 <= i <= n and 1 <= j <= n
                if inside or src < 0:
                    continue
                edge_pixel = c * n * n + min(max(i - 1, 0), n - 1) * n + min(max(j - 1, 0), n - 1)
                assert np.isclose(np.linalg.norm(centres[src] - centres[edge_pixel]), np.sqrt(2) / n)
                checked += 1
    assert checked == 6 * 4 * n  # every non-corner halo pixel has a source


def test_plot_results_writes_a_png_with_and_without_records(tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks.mobius_mnist.report import plot_results

    records = [
        {"model": "gauge_regular", "train_mode": "shifted", "test_error_shifted": 1.3},
        {"model": "gauge_regular", "train_mode": "shifted", "test_error_shifted": 1.1},
        {"model": "cnn_channels", "train_mode": "centered", "test_error_shifted": 41.0},
    ]
    for name, recs in (("some.png", records), ("none.png", [])):
        path = plot_results(recs, tmp_path / name)
        width, height = png_size(path)
        assert width > 600 and height > 250


def test_viz_functions_on_a_multi_chart_atlas():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from gaugecnn import viz

    group = dihedral_group(4)
    assert len({viz.element_label(group, g) for g in range(group.order)}) == group.order
    cube = CubeSphere(3, group)
    fig = viz.plot_transport_padding(cube, 1, chart=2)
    assert len(fig.axes[0].patches) == 5 * 5 + 1  # every padded pixel and the chart's frame
    plt.close(fig)

    g = flip_group()
    conv = GaugeConv(MobiusStrip(4, 6), FieldType(g, "1 trivial + 1 regular"), FieldType(g, "1 sign + 1 regular"), 3)
    fig = viz.plot_kernels(conv, [(0, 0), (1, 1)], bases={"regular": np.array([[1, 1], [1, -1]]) / np.sqrt(2)})
    images = [a for a in fig.get_axes() if a.get_images()]
    assert len(images) == 1 * 1 + 2 * 2
    # the sign <- trivial kernel is antisymmetric in dy, as the flip group demands
    kernel = images[0].get_images()[0].get_array()
    np.testing.assert_allclose(kernel, -kernel[::-1], atol=1e-12)
    plt.close(fig)


def test_the_figures_script_writes_every_png(tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks.figures import FIGURES, main
    from benchmarks.mobius_mnist.models import build_model

    torch.manual_seed(0)
    weights = tmp_path / "gauge_regular.pt"
    torch.save(build_model("gauge_regular", MobiusStrip(28, 28)).state_dict(), weights)
    data = ["--data-root", str(SHARED_DATA)] if (SHARED_DATA / "MNIST" / "raw").is_dir() else ["--synthetic"]
    out = tmp_path / "img"
    argv = [
        "--out",
        str(out),
        "--quick",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--weights",
        str(weights),
        "--results",
        str(tmp_path / "no-results.jsonl"),
        *data,
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FIGURES)
    for name in FIGURES:
        path = out / name
        width, height = png_size(path)
        assert 300 <= width <= 2500 and 200 <= height <= 2000, f"{name} is {width} x {height}"
        assert 5_000 < path.stat().st_size < 300_000, f"{name} is {path.stat().st_size} bytes"


def test_brief_training_when_there_are_no_weights(monkeypatch):
    pytest.importorskip("matplotlib")
    from types import SimpleNamespace

    from benchmarks import figures

    monkeypatch.setattr(figures, "_default_weights", lambda: None)
    images, labels = figures._synthetic_digits(8)
    torch.manual_seed(0)
    untrained = figures.build_model("gauge_regular", MobiusStrip(28, 28))
    model, provenance = figures._gauge_regular(SimpleNamespace(weights=None, steps=1, quick=True), images, labels)
    assert "1 Adam steps" in provenance and not model.training
    assert not torch.equal(model[0].weights["trivial_to_regular"], untrained[0].weights["trivial_to_regular"])


def test_unreadable_weights_are_named_or_skipped(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from types import SimpleNamespace

    from benchmarks import figures

    bad = tmp_path / "gauge_regular_shifted.pt"
    bad.write_bytes(b"")
    images, labels = figures._synthetic_digits(8)
    with pytest.raises(SystemExit, match=f"could not read gauge_regular weights from {bad}"):
        figures._gauge_regular(SimpleNamespace(weights=bad, steps=1, quick=True), images, labels)
    monkeypatch.setattr(figures, "_default_weights", lambda: bad)  # found on disk, not asked for: skipped
    _, provenance = figures._gauge_regular(SimpleNamespace(weights=None, steps=1, quick=True), images, labels)
    assert f"skipping unreadable weights {bad}" in capsys.readouterr().out and "1 Adam steps" in provenance
