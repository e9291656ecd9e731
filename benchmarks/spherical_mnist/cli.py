"""Command line of the spherical MNIST benchmark: runs, skipping finished ones, and the results table."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from .._cli import (
    HelpFormatter,
    add_run_options,
    apply_preset,
    check_options,
    device_from,
    distributed,
    interrupt_on_signals,
    prepare_torch,
    report_paths,
    shard_of,
    train_runs,
)
from .._files import atomic_write_text
from .._report import load_records, protocol_records
from .._training import finished_runs
from . import report
from .data import default_cache_dir, fresh_rotations, load_spherical_mnist
from .models import MODELS, SMOKE, VARIANTS, data_atlas, manifold_of
from .train import TRAIN_MODES, SphericalConfig, run_one

__all__ = ["main"]

# a few hundred Adam steps on small grids: enough to learn, little enough for a CPU
QUICK = {"epochs": 2, "train_size": 3000, "test_size": 500, "batch_size": 32}


def _parser() -> argparse.ArgumentParser:
    d = SphericalConfig()
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.spherical_mnist",
        description="Train spherical MNIST models (gauge CNNs on the cube sphere and the icosahedral sphere, a "
        "conventional CNN on the cube sphere) and print their accuracy -- trained on unrotated (N) or rotated (R) "
        "digits, tested on unrotated, rotated and exactly-symmetry-moved (G) digits -- beside published figures. "
        "Finished runs are skipped, interrupted ones resume from their last epoch checkpoint.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        default="cube_gauge_c4,cube_cnn_channels",
        help=f"model name, comma-separated names, or 'all' ({', '.join(MODELS)}); variants, not in 'all': {', '.join(VARIANTS)}; "
        f"the pipeline check: {', '.join(SMOKE)}",
    )
    p.add_argument(
        "--train-mode",
        default="both",
        choices=("N", "R", "both"),
        help="train on unrotated (N) or rotated (R) digits, or both, one after the other; every run is "
        "tested on unrotated, rotated and symmetry-moved digits",
    )
    p.add_argument(
        "--rotation-chunk",
        type=int,
        default=d.rotation_chunk,
        help="digits sharing one random rotation: 1 (a rotation per digit, the stronger test) or 500 "
        "(the standard generator's default, so the published rotated test sets hold 20 rotations)",
    )
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {d.epochs})")
    p.add_argument(
        "--train-size", type=int, default=None, help=f"training digits, the first N of MNIST train, up to 60000 (default {d.train_size})"
    )
    p.add_argument(
        "--test-size", type=int, default=None, help=f"test digits, the first N of MNIST test, up to 10000 (default {d.test_size})"
    )
    p.add_argument("--batch-size", type=int, default=None, help=f"training batch size (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="Adam weight decay")
    p.add_argument("--lr-step", type=int, default=d.lr_step, help="epochs between learning-rate decays")
    p.add_argument("--lr-gamma", type=float, default=d.lr_gamma, help="learning-rate decay factor")
    p.add_argument("--data-seed", type=int, default=d.data_seed, help="seed of the random rotations")
    p.add_argument(
        "--fresh-rotations",
        action="store_true",
        help="train rotated (R) on new random rotations of the training digits every epoch instead of one fixed "
        "rotated copy: another protocol than the published one, reported apart",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"CPU preset that learns in minutes: {QUICK['train_size']} train / {QUICK['test_size']} test digits, "
        f"{QUICK['epochs']} epochs at batch {QUICK['batch_size']} ({QUICK['epochs'] * (QUICK['train_size'] // QUICK['batch_size'])} "
        "Adam steps), small grids (cube 6 x 8 x 8, icosphere r = 3): well above chance, far from the published figures; "
        "about 15 s a cube run and 45 s an icosphere run on one core; see docs/results.md; for the options among these "
        "not given explicitly",
    )
    add_run_options(
        p,
        f"where MNIST and the generated spherical MNIST arrays live (default $GAUGECNN_CACHE or {default_cache_dir()})",
        Path("results") / "spherical_mnist",
        models_size=report.MODEL_FILE_SIZES,
    )
    return p


def _models(spec: str) -> list[str]:
    names: list[str] = []
    for name in (m.strip() for m in spec.split(",") if m.strip()):
        names += [m for m in (MODELS if name == "all" else [name]) if m not in names]
    unknown = [m for m in names if m not in MODELS and m not in SMOKE and m not in VARIANTS]
    if unknown:
        raise SystemExit(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}, 'all', the variants "
            f"{', '.join(VARIANTS)}, or the pipeline check {', '.join(SMOKE)}"
        )
    return names


def config_from_args(args: argparse.Namespace) -> SphericalConfig:
    return SphericalConfig(
        args.epochs,
        args.train_size,
        args.test_size,
        args.batch_size,
        args.lr,
        args.weight_decay,
        args.lr_step,
        args.lr_gamma,
        args.data_seed,
        args.rotation_chunk,
        args.quick,
        args.fresh_rotations,
    )


def _data_key(model: str, quick: bool) -> str:
    """Models on the same grid share one data set (the pixels are the same whatever the group)."""
    atlas = data_atlas(model, quick)
    return f"{manifold_of(model)}{atlas.chart_shape[0]}"


def _print_table(args: argparse.Namespace, config: SphericalConfig) -> int:
    try:
        records = protocol_records(load_records(args.table), config)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    files = ", ".join(map(str, args.table))
    print(f"{len(records)} finished runs of {report.protocol_words(config)} in {files} ({report.protocol_of(records)})\n")
    print(report.results_table(records))
    print(f"\n{report.TABLE_LEGEND}")
    print(f"\nPublished:\n\n{report.published_table()}")
    if args.update_docs and args.quick:  # the quick preset's runs have a block of their own
        print(f"updated {report.update_quick_docs(records, config)}")
        return 0
    if args.update_docs:
        lost = report.published_runs_missing(protocol_records(load_records(args.table[:1]), config))
        if lost and not args.force:
            raise SystemExit(
                f"error: {args.table[0]} lacks {len(lost)} of the runs the published tables show ({', '.join(lost[:6])}"
                f"{', ...' if len(lost) > 6 else ''}); --update-docs would drop them. Use the committed file "
                f"({report.RESULTS_DATA.relative_to(report.REPO)}) with new runs merged in, or add --force to replace them"
            )
        for path in report.update_docs(args.table[0], config=config):
            print(f"updated {path}")
    return 0


def main(argv: list[str] | None = None, on_epoch_end=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with interrupt_on_signals():  # SIGTERM and SIGHUP stop the runs as Ctrl-C does
        return _main(argv, on_epoch_end)


def _main(argv: list[str], on_epoch_end) -> int:
    args = _parser().parse_args(argv)
    prepare_torch(args)
    apply_preset(args, QUICK, SphericalConfig())
    check_options(args, train_max=60000)
    if args.rotation_chunk < 1:
        raise SystemExit(f"error: --rotation-chunk must be at least 1, got {args.rotation_chunk}")
    if args.table is not None:
        return _print_table(args, config_from_args(args))
    models = _models(args.model)
    modes = list(TRAIN_MODES) if args.train_mode == "both" else [args.train_mode]
    config = config_from_args(args)
    device = device_from(args.device)
    rank, world, ddp = distributed(args.parallel, device)
    if ddp and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    shard, shards = shard_of(args.shard, rank, world, args.parallel)
    args.out.mkdir(parents=True, exist_ok=True)

    data = {}
    try:
        for model in models:
            key = _data_key(model, args.quick)
            if key not in data:
                data[key] = load_spherical_mnist(
                    data_atlas(model, args.quick), key, args.cache_dir, args.data_root, args.train_size, args.data_seed, args.rotation_chunk
                )
    except (FileNotFoundError, RuntimeError) as error:  # no data and no network: say what to do, no traceback
        raise SystemExit(f"error: {error}") from None
    seeds = range(args.seed, args.seed + args.runs)
    runs = [(m, mode, seed) for seed in seeds for m in models for mode in modes]  # seed by seed

    fresh = {}
    if config.fresh_rotations:  # new rotations every epoch: one generator per grid
        for model in models:
            key = _data_key(model, args.quick)
            if key not in fresh:
                atlas = data_atlas(model, args.quick)
                fresh[key] = fresh_rotations(atlas, args.cache_dir, args.data_root, args.train_size, args.data_seed, args.rotation_chunk)

    def train(model: str, mode: str, seed: int) -> dict:
        return run_one(
            model,
            mode,
            seed,
            config,
            data[_data_key(model, args.quick)],
            args.out,
            device,
            progress=not args.no_progress,
            on_epoch_end=on_epoch_end,
            ddp=ddp,
            epoch_images=fresh.get(_data_key(model, args.quick)),
        )

    def summary(r: dict) -> str:
        accuracy = ", ".join(f"{name} {100 - r[f'test_error_{name}']:.2f}%" for name in ("N", "R", "G"))
        return (
            f"{r['model']} trained {r['train_mode']}, seed {r['seed']}: accuracy on test digits {accuracy} "
            f"({r['wall_time_s']:.0f} s on {r['device']})"
        )

    status = train_runs("benchmarks.spherical_mnist", argv, args, config, runs[shard::shards], device, ddp, rank, train, summary)
    if status is not None:
        return status
    if rank != 0 or args.worker:
        return 0

    records = protocol_records(finished_runs(args.out) + load_records(args.merge), config)
    records = [r for r in records if r["seed"] in seeds and r["train_mode"] in modes]
    header = f"Spherical MNIST accuracy (%); {report.protocol_words(config)}; {report.protocol_of(records)}"
    table = report.results_table(records, models)
    footer = report.provenance(records, report.protocol_words(config))
    text = f"{header}\n\n{table}\n\n{report.TABLE_LEGEND}\n\n{footer}"
    atomic_write_text(args.out / "table.md", f"{text}\n")
    print(f"\n{text}\n\nPublished:\n\n{report.published_table()}")
    chart = None
    try:
        import matplotlib  # noqa: F401  (the optional 'viz' extra)
    except ImportError:
        print("\n(install the viz extra, pip install -e '.[viz]', for a bar chart beside the table)")
    else:
        chart = report.plot_accuracies(records, args.out / "results.png")
    print(f"\n{report_paths(args.out, chart)}")
    return 0
