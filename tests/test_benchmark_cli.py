"""The benchmarks' command lines as a user meets them: signals, bad values, tables, folders, help.

Everything trains the ``*_smoke`` models on a few hundred digits: the plumbing is what is checked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks._files import read_json_lines
from benchmarks._training import claim_run

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GAUGECNN_TEST_DATA", ROOT.parent / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason=f"no MNIST .gz files under {SHARED_DATA}/MNIST/raw")

BENCHMARKS = {
    "mobius_mnist": ["--model", "gauge_smoke", "--train-size", "256", "--test-size", "50"],
    "spherical_mnist": ["--model", "cube_smoke", "--quick", "--train-size", "256", "--test-size", "50"],
}


def _main(name: str):
    if name == "mobius_mnist":
        from benchmarks.mobius_mnist.cli import main
    else:
        from benchmarks.spherical_mnist.cli import main
    return main


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@needs_mnist
@pytest.mark.parametrize(("name", "signum"), [("mobius_mnist", signal.SIGTERM), ("spherical_mnist", signal.SIGHUP)])
def test_sigterm_to_a_jobs_parent_stops_its_workers_and_leaves_no_claim(name, signum, tmp_path, cache):
    """SIGTERM (kill, timeout, a scheduler) or SIGHUP (a closed terminal) to the parent alone: each benchmark, each signal once."""
    out = tmp_path / "out"
    argv = [*BENCHMARKS[name], "--runs", "2", "--jobs", "2", "--epochs", "400", "--threads", "1", "--no-progress"]
    argv += ["--data-root", str(SHARED_DATA), "--cache-dir", str(cache), "--out", str(out)]
    parent = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.{name}", *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 240
    while not list((out / "checkpoints").glob("*.pt")):  # both workers are training (an epoch is checkpointed)
        assert parent.poll() is None and time.monotonic() < deadline, parent.stdout.read() if parent.stdout else ""
        time.sleep(0.2)
    locks = [p.stem for p in (out / "checkpoints").glob("*.lock")]
    assert locks
    parent.send_signal(signum)  # to the parent alone, as kill, timeout, a scheduler or a closed terminal send it
    output, _ = parent.communicate(timeout=180)
    assert parent.returncode == 130, output
    assert "workers stopped" in output
    for stem in locks:  # no process holds a claim: the same command would train these runs, not skip them
        with claim_run(out, stem) as claimed:
            assert claimed, f"{stem} is still claimed after the parent stopped"
    assert list((out / "checkpoints").glob("*.pt")), "the last epoch checkpoints are kept"


@pytest.mark.parametrize("name", BENCHMARKS)
@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--epochs", "0", "--epochs must be at least 1, got 0"),
        ("--epochs", "-1", "--epochs must be at least 1, got -1"),
        ("--runs", "0", "--runs must be at least 1, got 0"),
        ("--train-size", "0", "--train-size must be in 1..60000, got 0"),
        ("--train-size", "70000", "--train-size must be in 1..60000, got 70000"),
        ("--batch-size", "0", "--batch-size must be at least 1, got 0"),
        ("--batch-size", "1000000", "--batch-size must be at most --train-size"),
        ("--threads", "-2", "--threads must be at least 1, got -2"),
        ("--seed", "-5", "--seed must be at least 0, got -5"),
        ("--lr", "-1", "--lr must be positive, got -1.0"),
    ],
)
def test_bad_values_are_one_line_errors_before_any_work(name, option, value, message, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as error:
        _main(name)([*BENCHMARKS[name], option, value, "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    text = str(error.value)
    assert message in text and "\n" not in text
    assert not (tmp_path / "cache").exists() and not out.exists()  # refused before data generation or training


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--models", "bogus"], "--models: unknown model(s) bogus"),
        (["--table", "no/such/file.json"], "--table: no results file no/such/file.json"),
        (["--device", "bogus"], "--device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'bogus'"),
        (["--rounds", "0"], "--rounds must be at least 1, got 0"),
    ],
)
def test_the_speed_benchmark_refuses_bad_values_in_one_line(argv, message):
    from benchmarks.speed import main

    with pytest.raises(SystemExit) as error:
        main(argv)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_speed_benchmark_names_a_table_file_that_is_not_json(tmp_path):
    from benchmarks.speed import main

    bad = tmp_path / "speed.json"
    bad.write_text('{"models": ')
    with pytest.raises(SystemExit, match=r"speed.json is not JSON .*written by --out"):
        main(["--table", str(bad)])


def test_table_reads_a_torn_line_as_the_trainer_does(tmp_path, capsys):
    from benchmarks.mobius_mnist.cli import main
    from benchmarks.mobius_mnist.report import RESULTS_DATA

    lines = RESULTS_DATA.read_text().splitlines()
    torn = tmp_path / "torn.jsonl"
    torn.write_text("\n".join(lines[:3]) + '\n{"model": "gauge_sca\n')
    with pytest.warns(UserWarning, match=r"torn.jsonl: skipped 1 line.*line 4"):
        assert main(["--table", str(torn)]) == 0
    assert "3 finished runs of the paper's protocol" in capsys.readouterr().out


@pytest.mark.parametrize("name", BENCHMARKS)
def test_update_docs_refuses_to_drop_published_runs(name, tmp_path):
    main = _main(name)
    report = __import__(f"benchmarks.{name}.report", fromlist=["RESULTS_DATA"])
    docs = {p: p.read_bytes() for p in (ROOT / "README.md", ROOT / "docs" / "results.md")}
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("\n".join(report.RESULTS_DATA.read_text().splitlines()[:1]) + "\n")
    with pytest.raises(SystemExit, match=r"lacks \d+ of the runs the published tables show .*--force to replace them"):
        main(["--table", str(fewer), "--update-docs"])
    assert all(p.read_bytes() == content for p, content in docs.items())  # nothing rewritten


def test_each_benchmark_has_its_own_default_folder_and_help_shows_every_default(capsys):
    from benchmarks.mobius_mnist.cli import _parser as mobius
    from benchmarks.spherical_mnist.cli import _parser as spherical

    assert mobius().parse_args([]).out == Path("results/mobius_mnist")
    assert spherical().parse_args([]).out == Path("results/spherical_mnist")
    text = " ".join(spherical().format_help().split())
    for default in ("--seed SEED first seed; runs use seed, seed+1, ... (default: 0)", "(default: 0)", "--rotation-chunk"):
        assert default in text
    assert "seed of the random rotations (default: 0)" in text
    assert "(standard generator's default, so the published rotated test sets hold 20 rotations) (default: 1)" in text.replace("(the ", "(")
    assert "models/ (the trained weights, 0.5 to 1.6 MB a run)" in text
    assert "models/ (the trained weights, 3.0 to 6.0 MB a run)" in " ".join(mobius().format_help().split())


def test_the_spherical_help_states_the_size_of_the_saved_models():
    """The size the help gives is that of the models' weights (4 bytes a parameter; the grid does not change it)."""
    from benchmarks.spherical_mnist.models import MODELS, build_atlas, build_model
    from benchmarks.spherical_mnist.report import MODEL_FILE_SIZES

    sizes = [
        sum(t.numel() * t.element_size() for t in build_model(m, build_atlas(m, quick=True)).state_dict().values()) / 1e6 for m in MODELS
    ]
    assert MODEL_FILE_SIZES == f"{min(sizes):.1f} to {max(sizes):.1f} MB a run"


def test_provenance_writes_short_times_and_the_protocol_in_words():
    from benchmarks._report import provenance
    from benchmarks.mobius_mnist.report import protocol_words
    from benchmarks.mobius_mnist.train import TrainConfig

    records = [{"device": "cpu", "wall_time_s": s, "gaugecnn_version": "0.1.0", "torch_version": "2"} for s in (8.0, 14.0)]
    quick = protocol_words(TrainConfig(epochs=1, train_size=384, test_size=500))
    text = provenance(records, quick)
    assert "2 runs finished, of another protocol than the paper's (1 epoch, 384 train / 500 test digits, batch 128)." in text
    assert "cpu: median 11 s, 8 s to 14 s" in text
    assert protocol_words(TrainConfig()) == "the paper's protocol"


@needs_mnist
def test_a_run_says_where_its_files_went(tmp_path, capsys):
    out = tmp_path / "out"
    main = _main("mobius_mnist")
    argv = [*BENCHMARKS["mobius_mnist"], "--train-mode", "shifted", "--epochs", "1", "--threads", "1", "--no-progress"]
    assert main([*argv, "--data-root", str(SHARED_DATA), "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for line in (f"results:        {out / 'results.jsonl'}", f"table:          {out / 'table.md'}", f"trained models: {out / 'models'}/"):
        assert line in printed
    assert read_json_lines(out / "results.jsonl")[0]["model"] == "gauge_smoke"
    assert "Δ = (ours − paper) / σ_paper; † marks |Δ| > 2." in (out / "table.md").read_text()
    assert json.loads((out / "results.jsonl").read_text().splitlines()[0])["history"][0]["epoch"] == 1


@pytest.mark.parametrize("name", BENCHMARKS)
def test_the_quick_presets_docs_block_is_generated_from_its_committed_runs(name):
    from benchmarks._docs import read_blocks
    from benchmarks._report import load_records, protocol_records

    cli = __import__(f"benchmarks.{name}.cli", fromlist=["QUICK"])
    report = __import__(f"benchmarks.{name}.report", fromlist=["QUICK_DATA"])
    args = cli._parser().parse_args(["--quick"])
    cli.apply_preset(args, cli.QUICK, cli.TrainConfig() if name == "mobius_mnist" else cli.SphericalConfig())
    config = cli.config_from_args(args)
    records = protocol_records(load_records([report.QUICK_DATA]), config)
    assert records and all(r["epochs"] * (r["train_size"] // r["batch_size"]) >= 100 for r in records)
    block = read_blocks((ROOT / "docs" / "results.md").read_text())["quick" if name == "mobius_mnist" else "spherical-quick"]
    assert block == report.quick_block(records, config), f"regenerate: {report.QUICK_COMMAND.replace('FILE', str(report.QUICK_DATA))}"
