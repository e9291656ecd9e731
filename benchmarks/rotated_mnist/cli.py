"""Command line of the rotated MNIST benchmark: runs, skipping finished ones, and the results table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
from .data import TEST_SIZE, TRAIN_SIZE, default_cache_dir, load_rotated_mnist
from .models import ESCNN_MODELS, GAUGECNN_MODELS, MODELS
from .train import QUICK, RotatedConfig, run_one

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    d = RotatedConfig()
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.rotated_mnist",
        description="Train rotated MNIST models on the plane -- gaugecnn under C4, C8, C16 (regular fields) and SO(2) "
        "(irreps), escnn under C8 and C16 with the same architecture -- and print their test error and training-step "
        "time. The digits are generated from the MNIST files (12000 train / 50000 test, uniform random rotations, "
        "fixed seed), not read from the original MNIST-rot file. Finished runs are skipped, interrupted ones resume.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        default=",".join(GAUGECNN_MODELS),
        help=f"model name, comma-separated names, 'gaugecnn' or 'all' ({', '.join(MODELS)}); the escnn models need escnn "
        "installed (an environment of its own: docs/results.md)",
    )
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {d.epochs})")
    p.add_argument("--train-size", type=int, default=None, help=f"training digits, up to {TRAIN_SIZE} (default {d.train_size})")
    p.add_argument("--test-size", type=int, default=None, help=f"test digits, up to {TEST_SIZE} (default {d.test_size})")
    p.add_argument("--batch-size", type=int, default=None, help=f"training batch size (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="Adam weight decay")
    p.add_argument("--lr-step", type=int, default=d.lr_step, help="epochs between learning-rate decays")
    p.add_argument("--lr-gamma", type=float, default=d.lr_gamma, help="learning-rate decay factor")
    p.add_argument("--data-seed", type=int, default=d.data_seed, help="seed of the digit split and the rotations")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"CPU preset: {QUICK['train_size']} train / {QUICK['test_size']} test digits, {QUICK['epochs']} epoch at batch "
        f"{QUICK['batch_size']}; for the options among these not given explicitly",
    )
    add_run_options(
        p,
        f"where MNIST and the generated rotated digits live (default $GAUGECNN_CACHE or {default_cache_dir()})",
        Path("results") / "rotated_mnist",
        models_size=report.MODEL_FILE_SIZES,
    )
    return p


def _models(spec: str) -> list[str]:
    names: list[str] = []
    groups = {"all": list(MODELS), "gaugecnn": list(GAUGECNN_MODELS), "escnn": list(ESCNN_MODELS)}
    for name in (m.strip() for m in spec.split(",") if m.strip()):
        names += [m for m in groups.get(name, [name]) if m not in names]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}, 'gaugecnn', 'escnn' or 'all'")
    if any(m in ESCNN_MODELS for m in names):
        try:
            import escnn  # noqa: F401
        except ImportError:
            raise SystemExit(
                "error: the escnn models need escnn, which is not installed here; it needs numpy < 2, so it lives in an "
                "environment of its own (docs/results.md says how); run --model gaugecnn here"
            ) from None
    return names


def config_from_args(args: argparse.Namespace) -> RotatedConfig:
    settings = ("epochs", "train_size", "test_size", "batch_size", "lr", "weight_decay", "lr_step", "lr_gamma", "data_seed")
    return RotatedConfig(**{name: getattr(args, name) for name in settings})


def _print_table(args: argparse.Namespace, config: RotatedConfig) -> int:
    try:
        records = protocol_records(load_records(args.table), config)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{len(records)} finished runs of {report.protocol_words(config)} in {', '.join(map(str, args.table))}\n")
    print(report.results_table(records))
    print(f"\n{report.TABLE_LEGEND}")
    if args.update_docs:
        try:
            print(f"updated {report.update_docs(args.table[0], config)}")
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
    return 0


def main(argv: list[str] | None = None, on_epoch_end=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with interrupt_on_signals():  # SIGTERM and SIGHUP stop the runs as Ctrl-C does
        return _main(argv, on_epoch_end)


def _main(argv: list[str], on_epoch_end) -> int:
    args = _parser().parse_args(argv)
    prepare_torch(args)
    apply_preset(args, QUICK, RotatedConfig())
    check_options(args, train_max=TRAIN_SIZE, test_max=TEST_SIZE)
    config = config_from_args(args)
    if args.table is not None:
        return _print_table(args, config)
    models = _models(args.model)
    device = device_from(args.device)
    rank, world, ddp = distributed(args.parallel, device)
    shard, shards = shard_of(args.shard, rank, world, args.parallel)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        data = load_rotated_mnist(args.cache_dir, args.data_root, args.data_seed, args.train_size, args.test_size)
    except (FileNotFoundError, RuntimeError) as error:  # no data and no network: say what to do, no traceback
        raise SystemExit(f"error: {error}") from None
    seeds = range(args.seed, args.seed + args.runs)
    runs = [(m, "R", seed) for seed in seeds for m in models]  # seed by seed

    def train(model: str, mode: str, seed: int) -> dict:
        return run_one(model, seed, config, data, args.out, device, progress=not args.no_progress, on_epoch_end=on_epoch_end, ddp=ddp)

    def summary(r: dict) -> str:
        return (
            f"{r['model']} ({r['library']}, {r['group']}), seed {r['seed']}: test error {r['test_error']:.2f}% "
            f"({r['step_ms']:.0f} ms a step, {r['wall_time_s']:.0f} s on {r['device']})"
        )

    status = train_runs("benchmarks.rotated_mnist", argv, args, config, runs[shard::shards], device, ddp, rank, train, summary)
    if status is not None:
        return status
    if rank != 0 or args.worker:
        return 0
    records = protocol_records(finished_runs(args.out) + load_records(args.merge), config)
    records = [r for r in records if r["seed"] in seeds and r["model"] in models]
    text = f"Rotated MNIST; {report.protocol_words(config)}\n\n{report.results_table(records, models)}\n\n{report.TABLE_LEGEND}"
    atomic_write_text(args.out / "table.md", f"{text}\n")
    print(f"\n{text}\n\n{report_paths(args.out, None)}")
    return 0
