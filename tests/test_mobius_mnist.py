"""The Möbius MNIST benchmark: parameter counts, the quick preset end to end, and exact resumption."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.mobius_mnist.cli import main
from benchmarks.mobius_mnist.data import load_mobius_mnist, mobius_shift
from benchmarks.mobius_mnist.models import MODELS, build_model, count_parameters
from manifolds import MobiusStrip

# the reference implementation's parameter counts (Weiler et al. 2021, Table 4 / its code)
REFERENCE_PARAMS = {
    "cnn_channels": 1501162,
    "cnn_params": 832190,
    "gauge_scalar": 901962,
    "gauge_signflip": 819962,
    "gauge_regular": 751914,
    "gauge_irreps": 752162,
    "gauge_mixed": 752038,
}

SHARED_DATA = Path(os.environ.get("GAUGECNN_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason=f"no MNIST .gz files under {SHARED_DATA}/MNIST/raw")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gaugecnn-cache")


@pytest.mark.parametrize("name", MODELS)
def test_parameter_counts_match_reference(name):
    assert count_parameters(build_model(name, MobiusStrip(28, 28))) == REFERENCE_PARAMS[name]


def test_every_model_classifies_a_batch():
    x = torch.rand(3, 1, 28, 28)
    for name in MODELS:
        model = build_model(name, MobiusStrip(28, 28)).eval()
        assert model(x).shape == (3, 10)


def test_shift_by_twice_the_length_is_identity_and_by_length_reflects():
    images = torch.rand(4, 1, 28, 28)
    assert torch.equal(mobius_shift(images, torch.full((4,), 0)), images)
    assert torch.equal(mobius_shift(images, torch.full((4,), 28)), images.flip(2))
    once = mobius_shift(images, torch.full((4,), 17))
    assert torch.equal(mobius_shift(once, torch.full((4,), 39)), images)


@needs_mnist
def test_data_is_cached_with_checksum_and_rebuilt_when_corrupt(cache_dir, capsys):
    data = load_mobius_mnist(cache_dir, SHARED_DATA, train_size=200, seed=0)
    train = data["train"]
    assert train.centered.shape == (200, 1, 28, 28) and data["test"].labels.shape == (10000,)
    assert 0.0 <= float(train.centered.min()) and float(train.centered.max()) <= 1.0
    assert torch.equal(train.shifted, mobius_shift(train.centered, train.shifts))
    capsys.readouterr()
    again = load_mobius_mnist(cache_dir, SHARED_DATA, train_size=200, seed=0)
    assert "generating" not in capsys.readouterr().out
    assert torch.equal(again["train"].shifted, train.shifted)
    # corrupt the cached arrays: the loader must notice and rebuild
    npz = cache_dir / "mobius_mnist_train200_seed0.npz"
    with np.load(npz) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["train_labels"][0] = (arrays["train_labels"][0] + 1) % 10
    np.savez(npz, **arrays)
    rebuilt = load_mobius_mnist(cache_dir, SHARED_DATA, train_size=200, seed=0)
    assert "fails its checksum" in capsys.readouterr().out
    assert torch.equal(rebuilt["train"].labels, train.labels)


def test_missing_data_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST/raw"):
        load_mobius_mnist(tmp_path / "cache", tmp_path / "nowhere", train_size=10)


def test_cli_without_data_exits_with_what_to_do(tmp_path):
    with pytest.raises(SystemExit, match="MNIST/raw"):
        main(["--quick", "--data-root", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")])


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
@needs_mnist
def test_quick_preset_end_to_end(cache_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "--quick",
        "--train-size",  # the preset's other settings, on fewer digits: the real preset is measured in docs/results.md
        "384",
        "--epochs",
        "1",
        "--model",
        "gauge_signflip",
        "--data-root",
        str(SHARED_DATA),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
        "--no-progress",
        "--threads",
        "2",
    ]
    assert main(argv) == 0
    records = _records(out)
    assert {(r["model"], r["train_mode"]) for r in records} == {("gauge_signflip", mode) for mode in ("shifted", "centered")}
    for r in records:
        assert r["epochs"] == 1 and r["train_size"] == 384 and r["test_size"] == 500 and r["batch_size"] == 32
        assert r["params"] == REFERENCE_PARAMS[r["model"]]
        for key in ("test_error_shifted", "test_error_centered"):
            assert 0.0 <= r[key] <= 100.0
        assert r["wall_time_s"] > 0 and r["device"].startswith("cpu") and r["gaugecnn_version"]
    table = (out / "table.md").read_text()
    assert "| gauge_signflip | 819962 (819962) |" in table
    assert "4.27 ± 0.24" in table  # the paper's figure beside ours
    assert list((out / "checkpoints").iterdir()) == []
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "results.png").read_bytes().startswith(b"\x89PNG")
    # a second identical command skips the finished runs
    capsys.readouterr()
    assert main(argv) == 0
    assert capsys.readouterr().out.count("skip") == 2
    assert len(_records(out)) == 2


@needs_mnist
def test_interrupted_run_resumes_to_the_same_result(cache_dir, tmp_path):
    argv = [
        "--quick",
        "--epochs",
        "2",
        "--model",
        "gauge_smoke",
        "--train-mode",
        "shifted",
        "--data-root",
        str(SHARED_DATA),
        "--cache-dir",
        str(cache_dir),
        "--no-progress",
        "--threads",
        "1",
    ]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert main(argv + ["--out", str(straight)]) == 0

    def interrupt(epoch):
        if epoch == 1:
            raise KeyboardInterrupt

    assert main(argv + ["--out", str(resumed)], on_epoch_end=interrupt) == 130
    assert not (resumed / "results.jsonl").exists()
    assert len(list((resumed / "checkpoints").iterdir())) == 1
    assert main(argv + ["--out", str(resumed)]) == 0

    a, b = _records(straight)[0], _records(resumed)[0]
    assert (a["test_error_shifted"], a["test_error_centered"]) == (b["test_error_shifted"], b["test_error_centered"])
    # the per-epoch history survives the interruption: the same losses and accuracies, epoch by epoch
    assert [e["epoch"] for e in b["history"]] == [1, 2]
    for entry_a, entry_b in zip(a["history"], b["history"]):
        assert {k: v for k, v in entry_a.items() if k != "epoch_s"} == {k: v for k, v in entry_b.items() if k != "epoch_s"}
    weights_a = torch.load(next((straight / "models").iterdir()))
    weights_b = torch.load(next((resumed / "models").iterdir()))
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key


def test_ablation_has_the_signflip_weights_and_values_but_not_its_gradient_at_zero():
    atlas = MobiusStrip(28, 28)
    torch.manual_seed(3)
    base = build_model("gauge_signflip", atlas).double().eval()
    torch.manual_seed(3)
    ablation = build_model("gauge_signflip_eps", atlas).double().eval()
    assert count_parameters(ablation) == REFERENCE_PARAMS["gauge_signflip"]
    for (name, a), (_, b) in zip(base.state_dict().items(), ablation.state_dict().items()):
        assert torch.equal(a, b), name  # same seed, same initial weights: runs pair up seed by seed
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(ablation(x), base(x), rtol=1e-5, atol=1e-6)  # factor |x|/(|x|+1e-8)
    # the one difference: d/dx of x/(|x|+1e-8)·ELU(|x|+b) at x = 0 is ELU(b)/1e-8, of sign(x)·ELU(|x|+b) zero
    sign_elu, eps_elu = base[1], ablation[1]
    for layer in (sign_elu, eps_elu):
        layer.norm_bias.data.fill_(0.5)
    for layer, expected in ((sign_elu, 0.0), (eps_elu, torch.nn.functional.elu(torch.tensor(0.5)).item() / 1e-8)):
        z = torch.zeros(1, layer.in_type.size, 2, 2, dtype=torch.float64, requires_grad=True)
        layer(z).sum().backward()
        torch.testing.assert_close(z.grad, torch.full_like(z, expected))


def test_model_list_expands_all_and_rejects_unknown_names():
    from benchmarks.mobius_mnist.cli import _models

    assert _models("all") == list(MODELS)
    assert _models("gauge_signflip_eps,all,gauge_scalar") == ["gauge_signflip_eps", *MODELS]
    with pytest.raises(SystemExit, match="unknown model.*gauge_flip.*ablations gauge_signflip_eps"):
        _models("gauge_flip")


def test_a_run_is_claimed_by_one_process_at_a_time(tmp_path):
    from benchmarks.mobius_mnist.train import claim_run

    with claim_run(tmp_path, "run") as first:
        with claim_run(tmp_path, "run") as second:  # a second open file: flock refuses it as it would another process
            assert first and not second
        assert (tmp_path / "checkpoints" / "run.lock").exists()
    assert not (tmp_path / "checkpoints" / "run.lock").exists()
    with claim_run(tmp_path, "run") as again:
        assert again


TINY = ["--epochs", "1", "--train-size", "128", "--test-size", "20", "--no-progress", "--threads", "1"]


@needs_mnist
def test_runs_go_seed_by_seed_and_skip_a_run_another_process_holds(cache_dir, tmp_path, capsys):
    from benchmarks.mobius_mnist.train import TrainConfig, claim_run, run_name

    out = tmp_path / "out"
    config = TrainConfig(epochs=1, train_size=128, test_size=20)
    argv = [
        "--model",
        "gauge_smoke,cnn_params",
        "--train-mode",
        "shifted",
        "--runs",
        "2",
        *TINY,
        "--data-root",
        str(SHARED_DATA),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
    ]
    with claim_run(out, run_name("cnn_params", "shifted", 0, config)):
        assert main(argv) == 0
    assert "skip cnn_params shifted seed 0: being trained by another process" in capsys.readouterr().out
    assert [(r["model"], r["seed"]) for r in _records(out)] == [("gauge_smoke", 0), ("gauge_smoke", 1), ("cnn_params", 1)]
    assert main(argv) == 0  # the claim is gone: the skipped run is trained now
    assert [(r["model"], r["seed"]) for r in _records(out)][-1] == ("cnn_params", 0)
    assert list((out / "checkpoints").iterdir()) == []


@needs_mnist
def test_jobs_train_every_run_once_in_parallel_processes(cache_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "--model",
        "gauge_smoke",
        "--runs",
        "2",
        "--jobs",
        "2",
        *TINY,
        "--data-root",
        str(SHARED_DATA),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    runs = sorted((r["model"], r["train_mode"], r["seed"]) for r in _records(out))
    assert runs == sorted(("gauge_smoke", mode, s) for mode in ("shifted", "centered") for s in (0, 1))
    table = (out / "table.md").read_text()  # mean ± std over the 2 seeds of each mode
    assert re.search(r"\| gauge_smoke \| \d+ \(–\) \| [\d.]+ ± [\d.]+ \| 2 \| – \| – \| [\d.]+ ± [\d.]+ \| 2 \| – \| – \|", table), table
    with pytest.raises(SystemExit, match="--jobs must be at least 1"):
        main(argv[:-2] + ["--jobs", "0", "--out", str(out)])


def test_committed_tables_and_chart_are_generated_from_the_committed_results():
    from PIL import Image

    from benchmarks.mobius_mnist import report

    fix = "regenerate them: python -m benchmarks.mobius_mnist --table benchmarks/results/mobius_mnist.jsonl --update-docs"
    raw = report.load_records([report.RESULTS_DATA])
    assert all(r.get("device") and r.get("gaugecnn_version") and r.get("torch_version") for r in raw)
    records = report.paper_records(raw)
    assert len(records) == len(raw), "every committed run follows the paper's protocol, once per (model, mode, seed)"
    blocks = report.generated_blocks(records)
    repo = report.REPO
    expected = {"docs/results.md": {"results", "centered-test", "ablations", "provenance"}, "README.md": {"summary"}}
    found = {}
    for doc, names in expected.items():  # other benchmarks keep their own blocks in the same docs
        present = report.read_blocks((repo / doc).read_text())
        assert names <= set(present), f"{doc} lacks the generated blocks {sorted(names - set(present))}"
        found[doc] = {name: present[name] for name in names}
    for doc, doc_blocks in found.items():
        for name, content in doc_blocks.items():
            assert content == blocks[name], f"{doc}: the generated block '{name}' is not what the data gives; {fix}"
    digest = hashlib.sha256(report.RESULTS_DATA.read_bytes()).hexdigest()
    assert Image.open(repo / "docs" / "img" / "results.png").text.get("Source") == f"mobius_mnist.jsonl sha256:{digest}", fix


def test_table_command_reads_results_files_and_names_a_bad_line_it_skips(tmp_path, capsys):
    from benchmarks.mobius_mnist.models import PAPER
    from benchmarks.mobius_mnist.train import TrainConfig

    record = {
        "model": "gauge_regular",
        "train_mode": "shifted",
        "seed": 0,
        **dataclasses.asdict(TrainConfig()),
        "test_error_shifted": 1.2,
        "test_error_centered": 1.3,
        "params": 751914,
        "wall_time_s": 60.0,
        "device": "cpu",
        "gaugecnn_version": "x",
        "torch_version": "y",
    }
    good = tmp_path / "a.jsonl"
    good.write_text("\n".join(json.dumps({**record, "seed": s, "test_error_shifted": e}) for s, e in ((0, 1.20), (1, 1.50))) + "\n")
    assert main(["--table", str(good)]) == 0
    out = capsys.readouterr().out
    mean, std = PAPER["gauge_regular"][1]
    assert f"| gauge_regular | 751914 (751914) | 1.35 ± 0.21 | 2 | {mean:.2f} ± {std:.2f} | {(1.35 - mean) / std:+.1f} |" in out
    bad = tmp_path / "b.jsonl"
    bad.write_text(json.dumps(record) + "\n{not json\n")
    with pytest.warns(UserWarning, match=r"b.jsonl: skipped 1 line.*line 2"):  # as the trainer reads it
        assert main(["--table", str(bad)]) == 0
    with pytest.raises(SystemExit, match="--update-docs needs the one results file"):
        main(["--table", str(good), str(bad), "--update-docs"])


def test_writing_blocks_needs_markers_and_leaves_other_blocks_alone(tmp_path):
    from benchmarks._docs import marker, read_blocks, write_blocks

    doc = tmp_path / "doc.md"
    doc.write_text("no markers here\n")
    with pytest.raises(ValueError, match=r"no markers for any of the generated blocks \['a'\]"):
        write_blocks(doc, {"a": "x"}, "cmd")
    doc.write_text("\n".join([*marker("a", "old"), *marker("b", "old")]) + "\n")
    write_blocks(doc, {"a": "new"}, "cmd")
    assert read_blocks(doc.read_text()) == {"a": "new", "b": ""}
    assert "(cmd)" in doc.read_text() and "(old)" in doc.read_text()


def test_the_quick_presets_take_a_few_hundred_steps():
    """Enough Adam steps to learn something a user can read (12 steps gave constant predictions)."""
    from benchmarks.mobius_mnist.cli import QUICK as MOBIUS
    from benchmarks.spherical_mnist.cli import QUICK as SPHERICAL

    for preset in (MOBIUS, SPHERICAL):
        assert preset["epochs"] * (preset["train_size"] // preset["batch_size"]) >= 100


def test_the_committed_quick_runs_learned_something_a_user_can_read():
    """Every committed quick run is above chance (90 % error) on its own test set, most far above; --help states the time."""

    from benchmarks.mobius_mnist.cli import _parser as mobius_parser
    from benchmarks.spherical_mnist.cli import _parser as spherical_parser

    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    own = {"shifted": "test_error_shifted", "centered": "test_error_centered", "N": "test_error_N", "R": "test_error_R"}
    errors = [
        r[own[r["train_mode"]]]
        for name in ("mobius_mnist_quick.jsonl", "spherical_mnist_quick.jsonl")
        for r in map(json.loads, (results / name).read_text().splitlines())
    ]
    assert len(errors) >= 18 and max(errors) < 80 and sorted(errors)[len(errors) // 2] < 30
    for parser in (mobius_parser(), spherical_parser()):
        assert "on one core" in " ".join(parser.format_help().split())
