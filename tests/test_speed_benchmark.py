"""The speed benchmark runs and compares like with like (it measures; it asserts no timings)."""

from __future__ import annotations

import json

from torch import nn

from benchmarks.mobius_mnist.models import MODELS, build_model
from benchmarks.speed import main, plain_lower_bound
from gaugecnn import nn as gnn
from manifolds import MobiusStrip


def test_plain_lower_bound_has_the_same_topology_and_channels():
    for name in (*MODELS, "gauge_regular_separable", "gauge_regular_bandlimited"):
        model = build_model(name, MobiusStrip(28, 28))
        plain = plain_lower_bound(model)
        convs = [m for m in model if isinstance(m, (gnn.GaugeConv, gnn.SeparableGaugeConv, gnn.ConventionalConv))]
        plain_convs = [m for m in plain if isinstance(m, nn.Conv2d)]
        assert [m.out_channels for m in plain_convs] == [
            m.out_channels if isinstance(m, gnn.ConventionalConv) else m.out_type.size for m in convs
        ]
        assert all(m.padding == (2, 2) for m in plain_convs)
        assert sum(isinstance(m, nn.MaxPool2d) for m in plain) == sum(isinstance(m, gnn.GaugePool) for m in model)


def test_quick_run_writes_figures_for_every_part(tmp_path, capsys):
    out = tmp_path / "speed.json"
    assert main(["--quick", "--models", "gauge_mixed", "--threads", "1", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    entry = results["models"]["gauge_mixed"]
    for part in ("train", "eval"):
        assert entry["eager"][part]["gauge"]["median_ms"] > 0 and entry["eager"][part]["ratio"] > 0
    assert entry["saved_for_backward_mb"]["gauge"] > 0
    assert any(name.startswith("conv") for name in results["layers"])
    assert "| gauge_mixed |" in capsys.readouterr().out


def test_atlas_build_table_in_the_docs_is_generated_from_the_committed_data():
    import json

    from benchmarks import atlas_build
    from benchmarks._docs import read_blocks

    block = read_blocks(atlas_build.DOC.read_text())["icosphere-build"]
    expected = atlas_build.table(json.loads(atlas_build.DATA.read_text()))
    assert block == expected, "regenerate: python -m benchmarks.atlas_build --table benchmarks/results/atlas_build.json --update-docs"


def test_atlas_build_measures_every_step(tmp_path, capsys):
    from benchmarks import atlas_build

    out = tmp_path / "build.json"
    assert atlas_build.main(["--resolutions", "1", "--rounds", "1", "--out", str(out)]) == 0
    assert "| 1 | 40 |" in capsys.readouterr().out
    assert set(__import__("json").loads(out.read_text())["results"]["1"]) == {*atlas_build.STEPS, "total"}


def test_performance_tables_in_the_docs_are_generated_from_the_committed_data():
    from benchmarks import speed
    from benchmarks._docs import read_blocks

    blocks = speed.performance_blocks(*speed._load_tables(list(speed.COMMITTED)))
    found = read_blocks(speed.DOC.read_text())
    assert set(blocks) == {"speed-models", "speed-layers", "speed-peers", "speed-variants"} <= set(found)
    for name, content in blocks.items():
        assert found[name] == content, (
            f"docs/performance.md: block {name} is not what the data gives; regenerate: "
            "python -m benchmarks.speed --table " + " ".join(f"benchmarks/results/{p.name}" for p in speed.COMMITTED) + " --update-docs"
        )


def test_peers_quick_run_times_gaugecnn_and_every_installed_peer(tmp_path, capsys):
    from benchmarks.peers import available_peers

    out = tmp_path / "peers.json"
    assert main(["--peers", "--quick", "--threads", "1", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["libraries"] == ["gaugecnn", *available_peers()]
    assert set(results["runs"]) == {f"{net} {group} batch 8" for net in ("mid", "intro") for group in ("C4", "D4")}
    for entry in results["runs"].values():
        for lib in results["libraries"]:
            assert entry[lib]["params"] > 0 and min(entry[lib][f"{k}_ms"] for k in ("train", "eval", "exported")) > 0
    printed = capsys.readouterr().out
    assert "| mid C4 batch 8 | gaugecnn |" in printed
    if not available_peers():
        assert 'pip install -e ".[peers]"' in printed


def test_kernel_expansion_table_in_the_docs_is_generated_from_the_committed_data():
    from benchmarks import kernel_expansion
    from benchmarks._docs import read_blocks

    block = read_blocks(kernel_expansion.DOC.read_text())["kernel-expansion"]
    expected = kernel_expansion.table(json.loads(kernel_expansion.DATA.read_text()))
    command = "python -m benchmarks.kernel_expansion --table benchmarks/results/kernel_expansion.json --update-docs"
    assert block == expected, f"regenerate: {command}"


def test_kernel_expansion_benchmark_times_both_paths(tmp_path, monkeypatch):
    from benchmarks import kernel_expansion
    from gaugecnn import FieldType
    from gaugecnn.nn import GaugeConv

    strip = MobiusStrip(6, 8)
    small = {"tiny": (GaugeConv(strip, FieldType(strip.group, "1 regular"), FieldType(strip.group, "1 irrep(1,0)"), 3), 2)}
    monkeypatch.setattr(kernel_expansion, "layers", lambda: small)
    out = tmp_path / "expansion.json"
    assert kernel_expansion.main(["--rounds", "1", "--repeats", "1", "--out", str(out)]) == 0
    row = json.loads(out.read_text())["results"]["tiny"]
    assert set(row) == {"fast_step", "reference_step", "fast_expand", "reference_expand"} and min(row.values()) > 0
