"""Rotated MNIST: the generated digits, the models' exact quarter-turn invariance, the CLI end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from benchmarks.rotated_mnist.cli import main
from benchmarks.rotated_mnist.data import load_rotated_mnist, rotate
from benchmarks.rotated_mnist.models import ESCNN_MODELS, GAUGECNN_MODELS, build_model

SHARED_DATA = Path(os.environ.get("GAUGECNN_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason=f"no MNIST .gz files under {SHARED_DATA}/MNIST/raw")


def test_rotation_is_exact_at_quarter_turns_and_keeps_the_centre():
    torch.manual_seed(0)
    images = torch.rand(3, 1, 29, 29, dtype=torch.float64)
    assert torch.allclose(rotate(images, torch.zeros(3)), images, atol=1e-12)
    turned = rotate(images, torch.full((3,), 90.0))
    assert torch.allclose(turned, torch.rot90(images, 1, dims=(-2, -1)), atol=1e-12)
    # any angle keeps the centre pixel
    assert torch.allclose(rotate(images, torch.tensor([17.0, 123.0, 301.0]))[..., 14, 14], images[..., 14, 14], atol=1e-12)


@needs_mnist
def test_fewer_digits_are_the_first_digits_of_the_full_split(tmp_path):
    small = load_rotated_mnist(tmp_path, SHARED_DATA, 0, 40, 30, log=lambda *a: None)
    smaller = load_rotated_mnist(tmp_path, SHARED_DATA, 0, 20, 10, log=lambda *a: None)
    for split, n in (("train", 20), ("test", 10)):
        assert torch.equal(small[split].images[:n], smaller[split].images) and torch.equal(small[split].labels[:n], smaller[split].labels)
    angles = torch.cat([small["train"].angles, small["test"].angles])
    assert small["train"].images.shape == (40, 1, 29, 29) and 0 <= angles.min() and angles.max() < 360
    with pytest.raises(ValueError, match="sizes must be in 1..12000"):
        load_rotated_mnist(tmp_path, SHARED_DATA, 0, 0, 10)


@pytest.mark.parametrize("name", list(GAUGECNN_MODELS))
def test_every_gaugecnn_model_is_invariant_to_quarter_turns(name):
    """Eval mode, float64: rotating the digit by 90 degrees (an element of every group's lattice part) keeps the logits."""
    torch.manual_seed(0)
    model = build_model(name).double().eval()
    with torch.no_grad():
        for module in model.modules():  # non-trivial statistics, so that batch norm takes part
            if hasattr(module, "running_var") and module.running_var is not None:
                module.running_var.uniform_(0.5, 2.0)
        x = torch.rand(2, 1, 29, 29, dtype=torch.float64)
        logits = model(x)
        turned = model(torch.rot90(x, 1, dims=(-2, -1)))
    assert logits.shape == (2, 10) and torch.allclose(turned, logits, atol=1e-12, rtol=1e-10)


def test_escnn_models_build_where_escnn_is_installed():
    pytest.importorskip("escnn")
    for name in ESCNN_MODELS:
        assert build_model(name)(torch.rand(2, 1, 29, 29)).shape == (2, 10)


@needs_mnist
def test_tiny_run_end_to_end_and_skipped_when_finished(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--quick", "--train-size", "64", "--test-size", "32", "--model", "c8_regular,so2_irreps", "--data-root", str(SHARED_DATA)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["model"] for r in records} == {"c8_regular", "so2_irreps"}
    for r in records:
        assert r["library"] == "gaugecnn" and r["train_size"] == 64 and r["test_size"] == 32 and 0 <= r["test_error"] <= 100
        (last,) = r["history"]
        assert last["epoch"] == 1 and r["step_ms"] > 0
    assert "| c8_regular | gaugecnn | C8 |" in (out / "table.md").read_text()
    capsys.readouterr()
    assert main(argv) == 0 and capsys.readouterr().out.count("skip") == 2


def test_escnn_models_without_escnn_say_where_it_lives(tmp_path):
    try:
        import escnn  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit, match="environment of its own"):
            main(["--model", "escnn_c8_regular", "--out", str(tmp_path)])
    else:
        pytest.skip("escnn is installed here")


def test_only_the_protocol_and_the_quick_preset_have_docs_tables(tmp_path):
    (tmp_path / "r.jsonl").write_text("")
    with pytest.raises(SystemExit, match="the quick preset .--quick. only"):
        main(["--epochs", "6", "--table", str(tmp_path / "r.jsonl"), "--update-docs"])


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for option in ("--model", "--quick", "--epochs", "--train-size", "--test-size", "--table", "--runs", "--jobs"):
        assert option in text


@pytest.mark.slow
@needs_mnist
def test_quick_preset_learns(tmp_path):
    """The real quick preset (1000 train / 1000 test digits, one epoch) for C8: well above chance (90 % error)."""
    out = tmp_path / "out"
    argv = ["--quick", "--model", "c8_regular", "--data-root", str(SHARED_DATA), "--cache-dir", str(tmp_path / "cache")]
    assert main([*argv, "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    (record,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert record["train_size"] == 1000 and record["test_size"] == 1000 and record["epochs"] == 1
    assert record["test_error"] < 80


def test_committed_rotated_tables_are_generated_from_the_committed_results():
    from benchmarks._docs import read_blocks
    from benchmarks._report import load_records, protocol_records
    from benchmarks.rotated_mnist import report
    from benchmarks.rotated_mnist.train import QUICK, RotatedConfig

    blocks = read_blocks(report.DOC.read_text())
    for data, config, name, flag in (
        (report.RESULTS_DATA, RotatedConfig(), "rotated-mnist", ""),
        (report.QUICK_DATA, RotatedConfig(**QUICK), "rotated-mnist-quick", "--quick "),
    ):
        records = protocol_records(load_records([data]), config) if data.exists() else []
        fix = f"regenerate: python -m benchmarks.rotated_mnist {flag}--table {data} --update-docs"
        assert blocks[name] == report._block(records, config), fix
