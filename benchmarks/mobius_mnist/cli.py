"""Command line of the Möbius MNIST benchmark: runs, skipping finished ones, and the results table."""

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
from . import report
from .data import default_cache_dir, load_mobius_mnist
from .models import ABLATIONS, MODELS, SMOKE
from .train import TrainConfig, finished_runs, run_one

__all__ = ["main"]

# a few hundred Adam steps: enough to learn (gauge_regular reached 88% after its 124 steps), little enough for a CPU
QUICK = {"epochs": 2, "train_size": 2000, "test_size": 500, "batch_size": 32}


def _parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.mobius_mnist",
        description="Train the Möbius MNIST models of Weiler et al. (2021, Table 5) with gaugecnn and print "
        "mean ± std test error beside the paper's. Finished runs are skipped, interrupted ones resume "
        "from their last epoch checkpoint.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        default="all",
        help=f"model name, comma-separated names, or 'all' ({', '.join(MODELS)}); ablations, not in 'all': {', '.join(ABLATIONS)}",
    )
    p.add_argument(
        "--train-mode",
        default="both",
        choices=("shifted", "centered", "both"),
        help="train on shifted or centered digits (or both, one after the other)",
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
    p.add_argument("--data-seed", type=int, default=d.data_seed, help="seed of the digits' random shifts")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"CPU preset that learns in minutes: {QUICK['train_size']} train / {QUICK['test_size']} test digits, "
        f"{QUICK['epochs']} epochs at batch {QUICK['batch_size']} ({QUICK['epochs'] * (QUICK['train_size'] // QUICK['batch_size'])} "
        "Adam steps: well above chance, far from the paper's figures; about 15 to 45 s a run on one core, 10 minutes "
        "for all models and both train modes; see docs/results.md); for the options among these not given explicitly",
    )
    add_run_options(
        p,
        f"where MNIST and the generated Möbius MNIST arrays live (default $GAUGECNN_CACHE or {default_cache_dir()})",
        Path("results") / "mobius_mnist",
        models_size=report.model_file_sizes(),
    )
    return p


def _models(spec: str) -> list[str]:
    names: list[str] = []
    for name in (m.strip() for m in spec.split(",") if m.strip()):
        names += [m for m in (MODELS if name == "all" else [name]) if m not in names]
    unknown = [m for m in names if m not in MODELS and m not in ABLATIONS and m not in SMOKE]
    if unknown:
        raise SystemExit(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}, 'all', the ablations "
            f"{', '.join(ABLATIONS)}, or the pipeline check {', '.join(SMOKE)}"
        )
    return names


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        args.epochs,
        args.train_size,
        args.test_size,
        args.batch_size,
        args.lr,
        args.weight_decay,
        args.lr_step,
        args.lr_gamma,
        args.data_seed,
    )


def _print_table(args: argparse.Namespace, config: TrainConfig) -> int:
    """``--table FILE...``: the table of finished runs, and with ``--update-docs`` the docs regenerated."""
    try:
        records = report.protocol_records(report.load_records(args.table), config)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{len(records)} finished runs of {report.protocol_words(config)} in {', '.join(map(str, args.table))}\n")
    print(report.results_table(records))
    print(f"\n{report.TABLE_LEGEND}")
    if any(r["model"] in ABLATIONS for r in records):
        print(f"\n{report.ablation_table(records)}")
    print(f"\n{report.provenance(records, report.protocol_words(config))}" if records else "")
    if args.update_docs and args.quick:  # the quick preset's runs have a block of their own
        print(f"updated {report.update_quick_docs(records, config)}")
        return 0
    if args.update_docs:
        lost = report.published_runs_missing(records)
        if lost and not args.force:
            raise SystemExit(
                f"error: {args.table[0]} lacks {len(lost)} of the runs the published tables show ({', '.join(lost[:6])}"
                f"{', ...' if len(lost) > 6 else ''}); --update-docs would drop them. Use the committed file "
                f"({report.RESULTS_DATA.relative_to(report.REPO)}) with new runs merged in, or add --force to replace them"
            )
        for path in report.update_docs(args.table[0]):
            print(f"updated {path}")
    return 0


def main(argv: list[str] | None = None, on_epoch_end=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with interrupt_on_signals():  # SIGTERM and SIGHUP stop the runs as Ctrl-C does
        return _main(argv, on_epoch_end)


def _main(argv: list[str], on_epoch_end) -> int:
    args = _parser().parse_args(argv)
    prepare_torch(args)
    apply_preset(args, QUICK, TrainConfig())
    check_options(args, train_max=60000)
    if args.table is not None:
        return _print_table(args, config_from_args(args))
    models = _models(args.model)
    modes = ["shifted", "centered"] if args.train_mode == "both" else [args.train_mode]
    config = config_from_args(args)
    device = device_from(args.device)
    rank, world, ddp = distributed(args.parallel, device)
    if ddp and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    shard, shards = shard_of(args.shard, rank, world, args.parallel)
    args.out.mkdir(parents=True, exist_ok=True)

    try:
        data = load_mobius_mnist(args.cache_dir, args.data_root, args.train_size, args.data_seed)
    except (FileNotFoundError, RuntimeError) as error:  # no data and no network: say what to do, no traceback
        raise SystemExit(f"error: {error}") from None
    seeds = range(args.seed, args.seed + args.runs)
    runs = [(m, mode, seed) for seed in seeds for m in models for mode in modes]  # seed by seed

    def train(model: str, mode: str, seed: int) -> dict:
        return run_one(model, mode, seed, config, data, args.out, device, progress=not args.no_progress, on_epoch_end=on_epoch_end, ddp=ddp)

    def summary(r: dict) -> str:
        return (
            f"{r['model']} trained {r['train_mode']}, seed {r['seed']}: test error shifted "
            f"{r['test_error_shifted']:.2f}%, centered {r['test_error_centered']:.2f}% "
            f"({r['wall_time_s']:.0f} s on {r['device']})"
        )

    status = train_runs("benchmarks.mobius_mnist", argv, args, config, runs[shard::shards], device, ddp, rank, train, summary)
    if status is not None:
        return status
    if rank != 0 or args.worker:
        return 0

    records = report.protocol_records(finished_runs(args.out) + report.load_records(args.merge), config)
    records = [r for r in records if r["seed"] in seeds and r["train_mode"] in modes]
    table = report.results_table(records, models)
    header = (
        f"Möbius MNIST test error (%) on shifted test digits; {config.epochs} epochs, "
        f"{config.train_size} train / {config.test_size} test digits"
    )
    legend = report.TABLE_LEGEND
    footer = report.provenance(records, report.protocol_words(config))
    atomic_write_text(args.out / "table.md", f"{header}\n\n{table}\n\n{legend}\n\n{footer}\n")
    print(f"\n{header}\n\n{table}\n\n{legend}\n\n{footer}")
    chart = None
    try:
        import matplotlib  # noqa: F401  (the optional 'viz' extra)
    except ImportError:
        print("\n(install the viz extra, pip install -e '.[viz]', for a bar chart beside the table)")
    else:
        from .report import plot_results

        chart = plot_results(records, args.out / "results.png")
    print(f"\n{report_paths(args.out, chart)}")
    return 0
