"""Spherical MNIST: the projection, its rotations against the grids' exact isometries, models, the CLI end to end."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.spherical_mnist.cli import main
from benchmarks.spherical_mnist.data import project_digits, sample_digits, uniform_rotations
from benchmarks.spherical_mnist.models import MODELS, build_atlas, build_model, count_parameters
from gaugecnn import FieldType, RigidMotion, trivial
from gaugecnn.testing import assert_isometry_equivariant
from manifolds import CubeSphere, IcoSphere

SHARED_DATA = Path(os.environ.get("GAUGECNN_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason=f"no MNIST .gz files under {SHARED_DATA}/MNIST/raw")


def digits(n: int = 8) -> np.ndarray:
    """The first ``n`` MNIST test digits, or digit-like strokes without MNIST."""
    path = SHARED_DATA / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    if path.exists():
        with gzip.open(path) as f:
            return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n].copy()
    rng = np.random.default_rng(0)
    out = np.zeros((n, 28, 28), dtype=np.uint8)
    for k in range(n):
        r = rng.integers(6, 20)
        out[k, r : r + 3, 6:22] = 255
        out[k, 6:22, r : r + 3] = 200
    return out


# -- data ---------------------------------------------------------------------------------------------------------


def test_rotations_are_uniform_random_rotations_shared_by_chunks():
    r = uniform_rotations(1200, seed=3, chunk=500)
    assert r.shape == (1200, 3, 3)
    assert np.allclose(r @ r.transpose(0, 2, 1), np.eye(3)) and np.allclose(np.linalg.det(r), 1)
    assert len({m.tobytes() for m in r}) == 3 and np.array_equal(r[0], r[499]) and not np.array_equal(r[499], r[500])
    assert len({m.tobytes() for m in uniform_rotations(1200, seed=3)}) == 1200  # one per digit by default
    assert np.array_equal(uniform_rotations(10, seed=4), uniform_rotations(10, seed=4))
    # uniform over SO(3): the rotated north pole's z is uniform on [-1, 1] (mean 0, variance 1/3)
    z = uniform_rotations(20000, seed=5)[:, 2, 2]
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1 / 3) < 0.02


@pytest.mark.parametrize("atlas", [CubeSphere(8), IcoSphere(3)], ids=["cube", "ico"])
def test_projection_lands_on_the_southern_hemisphere_rescaled(atlas):
    images = digits()
    projected = project_digits(images, atlas.embedding())
    assert projected.shape == (len(images), *atlas.shape) and projected.dtype == np.uint8
    assert (projected.reshape(len(images), -1).max(1) == 255).all() and (projected.reshape(len(images), -1).min(1) == 0).all()
    north = atlas.embedding()[..., 2] > 0.2
    assert not projected[:, north].any()  # the digit lies under the sphere; the northern cap stays dark


@pytest.mark.parametrize("atlas", [CubeSphere(8), IcoSphere(3)], ids=["cube", "ico"])
def test_a_rotation_of_the_grid_reads_the_digit_where_the_isometry_moves_it(atlas):
    """Reading the digit on the sphere turned by an exact symmetry Q = moving the samples by RigidMotion(Qᵀ).

    Compared before the per-digit rescaling, and away from cone pixels: a rotation of the
    icosahedron can carry a pole, which no chart stores, onto a stored vertex.
    """
    images = digits(4)
    points = atlas.embedding()
    plain = torch.from_numpy(sample_digits(images, points)).reshape(len(images), 1, *atlas.shape)
    scalar = FieldType(atlas.group, [trivial(atlas.group)])
    keep = ~atlas.cone_pixels
    for iso in atlas.isometries()[1:8]:
        q = np.asarray(iso.matrix, dtype=np.float64)
        turned = sample_digits(images, points, np.repeat(q[None], len(images), 0)).reshape(len(images), *atlas.shape)
        moved = RigidMotion(q.T).field_map(atlas).apply(plain, scalar)[:, 0].numpy()
        assert np.allclose(turned[:, keep], moved[:, keep], atol=1e-9), iso
    assert np.array_equal(project_digits(images, points)[0], project_digits(images[:1], points)[0])


# -- models -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_classifies_a_batch(name):
    atlas = build_atlas(name, quick=True)
    model = build_model(name, atlas).eval()
    assert model(torch.rand(3, 1, *atlas.shape)).shape == (3, 10)
    assert count_parameters(model) == count_parameters(build_model(name))  # the grid does not change the weights


@pytest.mark.parametrize("name", ["cube_gauge_c4", "ico_gauge_c6"])
def test_gauge_models_give_the_same_logits_after_every_rotation_of_the_grid(name, record_error):
    atlas = build_atlas(name, quick=True)
    torch.manual_seed(0)
    model = build_model(name, atlas)
    with torch.no_grad():
        model.train()(torch.rand(8, 1, *atlas.shape))  # batch-norm statistics of their own
    record_error(assert_isometry_equivariant(model.eval(), atlas, atlas.isometries()))


def test_the_conventional_cnn_is_not_invariant():
    atlas = build_atlas("cube_cnn_channels", quick=True)
    torch.manual_seed(0)
    model = build_model("cube_cnn_channels", atlas).eval()
    scalar = FieldType(atlas.group, [trivial(atlas.group)])
    with pytest.raises(AssertionError, match="exceeds tolerance"):
        assert_isometry_equivariant(model, atlas, atlas.isometries()[1:], in_type=scalar)


# -- the command line ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@needs_mnist
def test_quick_preset_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "--quick",
        "--train-size",  # the preset's other settings, on fewer digits: the real preset is measured in docs/results.md
        "384",
        "--epochs",
        "1",
        "--model",
        "cube_gauge_c4,cube_cnn_params",
        "--data-root",
        str(SHARED_DATA),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
        "--no-progress",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {(r["model"], r["train_mode"]) for r in records} == {(m, t) for m in ("cube_gauge_c4", "cube_cnn_params") for t in "NR"}
    for r in records:
        assert r["rotation_chunk"] == 1 and r["quick_grids"] and r["train_size"] == 384 and r["test_size"] == 500
        if r["model"] == "cube_gauge_c4":
            # the digits moved by the cube's own rotations are seen exactly as the unmoved ones
            assert r["test_error_G"] == r["test_error_N"]
        # one history entry per epoch; its last test accuracy is the record's, on the run's own test set
        (last,) = r["history"]
        assert last["epoch"] == 1 and last["lr"] == r["lr"] and 0 <= last["train_accuracy"] <= 100 and last["train_loss"] > 0
        assert last[f"test_accuracy_{r['train_mode']}"] == round(100 - r[f"test_error_{r['train_mode']}"], 2)
    table = (out / "table.md").read_text()
    assert "one rotation per digit" in table and "| cube_gauge_c4 | cube sphere 6x8x8, C4 |" in table
    capsys.readouterr()
    assert main(argv) == 0 and capsys.readouterr().out.count("skip") == 4


@needs_mnist
def test_published_rotation_chunks_are_a_protocol_of_their_own(tmp_path):
    out = tmp_path / "out"
    argv = [
        "--quick",
        "--model",
        "cube_smoke",
        "--train-mode",
        "R",
        "--rotation-chunk",
        "500",
        "--data-root",
        str(SHARED_DATA),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
        "--no-progress",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    (record,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert record["rotation_chunk"] == 500
    assert "chunk of 500 digits (the published protocol)" in (out / "table.md").read_text()


def test_committed_spherical_tables_are_generated_from_the_committed_results():
    from benchmarks._docs import read_blocks
    from benchmarks._report import load_records, protocol_records
    from benchmarks.spherical_mnist import report
    from benchmarks.spherical_mnist.train import SphericalConfig

    records = protocol_records(load_records([report.RESULTS_DATA]), SphericalConfig())
    blocks = report.generated_blocks(records)
    fix = "regenerate: python -m benchmarks.spherical_mnist --table benchmarks/results/spherical_mnist.jsonl --update-docs"
    for doc in ("docs/results.md", "README.md"):
        found = {k: v for k, v in read_blocks((report.REPO / doc).read_text()).items() if k in blocks}
        assert found, f"{doc} has no spherical blocks"
        for name, content in found.items():
            assert content == blocks[name], f"{doc}: block {name} is not what the data gives; {fix}"


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for option in ("--model", "--train-mode", "--rotation-chunk", "--quick", "--jobs", "--device", "--table", "--runs"):
        assert option in text


@needs_mnist
def test_fresh_rotations_are_a_protocol_of_their_own_with_new_digits_every_epoch(tmp_path):
    from benchmarks.spherical_mnist.data import fresh_rotations
    from benchmarks.spherical_mnist.train import SphericalConfig

    atlas = CubeSphere(4)
    images = fresh_rotations(atlas, tmp_path / "cache", SHARED_DATA, 16, seed=0, chunk=1)
    first, second = images(0), images(1)
    assert first.shape == (16, 1, 6, 4, 4) and not torch.equal(first, second) and torch.equal(first, images(0))
    # a setting added later: earlier records (without the key) were made at its default, whose checkpoint names stay
    default, fresh = SphericalConfig(), SphericalConfig(fresh_rotations=True)
    record = {k: v for k, v in dataclasses.asdict(default).items() if k != "fresh_rotations"}
    assert default.matches(record) and not fresh.matches(record)
    assert "fresh_rotations" not in default.training() and fresh.key() != default.key()


def test_the_cost_table_in_the_docs_is_generated_from_the_committed_measurement():
    from benchmarks._docs import read_blocks
    from benchmarks.spherical_mnist import cost

    data = json.loads(cost.DATA.read_text())
    assert set(data["results"]) == set(MODELS)
    assert read_blocks(cost.DOC.read_text())["spherical-cost"] == cost.table(data), f"regenerate: {cost.COMMAND}"


def test_the_strided_layout_costs_what_the_pooled_one_does_and_its_table_is_generated():
    """ico_gauge_c6_stride (stride-2 convolutions, issue 26) beside ico_gauge_c6: same parameters; the docs block is the committed file."""
    from benchmarks._docs import read_blocks
    from benchmarks.spherical_mnist import cost

    data = json.loads((cost.DATA.parent / "spherical_cost_stride.json").read_text())
    assert set(data["results"]) == {"ico_gauge_c6", "ico_gauge_c6_stride"}
    assert data["results"]["ico_gauge_c6"]["params"] == data["results"]["ico_gauge_c6_stride"]["params"]
    assert read_blocks(cost.DOC.read_text())["spherical-cost-stride"] == cost.table(data)


def test_proxy_table_says_what_each_run_changes_and_reads_it_from_the_settings():
    from benchmarks.spherical_mnist import proxies

    def record(**changes):
        base = {**proxies.BASELINE, "seed": 0, "test_error_R": 10.0, "test_error_N": 9.0, "test_error_G": 9.0, "wall_time_s": 600}
        base["history"] = [{"epoch": e, "train_accuracy": 80.0 + e, "test_accuracy_R": 85.0 + e} for e in (1, 2)]
        return {**base, **changes}

    records = [
        record(),
        record(model="ico_gauge_c6_stride", test_error_R=9.5),
        record(fresh_rotations=True, epochs=8, lr_step=4),
        record(lr=0.005, batch_size=128),
        record(train_mode="N"),  # not a proxy run: left out
    ]
    assert [proxies.change_of(r) for r in records[:4]] == [
        "the baseline",
        proxies.VARIANTS["ico_gauge_c6_stride"][4],
        "8 epochs, lr halved every 4; new rotations of the training digits every epoch",
        "learning rate 0.005; batch 128",
    ]
    assert proxies.change_of(record(seed=1)) == "seed 1 (the same settings)"
    # a recalibrated accuracy joins its run by name; one whose "before" differs from the run's is refused
    again = [{"run": proxies._run_name(records[1]), "running_statistics": 90.5, "recalibrated": 91.25}]
    table = proxies.proxy_table(records, again).splitlines()
    assert len(table) == 2 + 4
    assert "| 90.50 | +0.50 | 91.25 | 10 |" in table[3] and "86.0 87.0" in table[3] and "| 82.0 |" in table[3]
    assert "| 90.00 |  | – | 10 |" in table[2]
    with pytest.raises(ValueError, match="tested 90.4 before"):
        proxies.proxy_table(records, [{**again[0], "running_statistics": 90.4}])
    # every proxy has one command, in its own folder, with exactly its changes
    lines = proxies.commands()
    assert len(lines) == len(proxies.PROXIES) and all(f"--out proxies/{name}" in line for name, line in zip(proxies.PROXIES, lines))
    assert "--fresh-rotations" in lines[list(proxies.PROXIES).index("fresh")] and "--fresh-rotations" not in lines[0]


def test_the_proxy_table_in_the_docs_is_the_committed_proxy_runs():
    from benchmarks._docs import read_blocks
    from benchmarks._report import load_records
    from benchmarks.spherical_mnist import proxies

    records = load_records([proxies.PROXY_DATA])
    again = load_records([proxies.RECALIBRATED_DATA])
    assert records and all(proxies._is_proxy(r) for r in records)
    expected = proxies.proxy_table(records, again)
    assert read_blocks(proxies.DOC.read_text())["spherical-proxies"] == expected, f"regenerate: {proxies.COMMAND}"
