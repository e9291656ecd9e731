"""Command line of the Möbius MNIST benchmark: runs, skipping finished ones, and the results table."""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

import torch

from .data import default_cache_dir, load_mobius_mnist
from .models import MODELS, PAPER
from .train import RESULTS_FILE, TrainConfig, finished_runs, run_one

__all__ = ["main", "results_table"]

QUICK = {"epochs": 1, "train_size": 384, "test_size": 500}


class _Formatter(argparse.HelpFormatter):
    """Shows defaults, except unset (None) ones and flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def _parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.mobius_mnist",
        description="Train the Möbius MNIST models of Weiler et al. (2021, Table 5) with gaugecnn and print "
        "mean ± std test error beside the paper's. Finished runs are skipped, interrupted ones resume "
        "from their last epoch checkpoint.",
        formatter_class=_Formatter,
    )
    p.add_argument("--model", default="all", help=f"model name, comma-separated names, or 'all' ({', '.join(MODELS)})")
    p.add_argument("--train-mode", default="both", choices=("shifted", "centered", "both"),
                   help="train on shifted or centered digits (or both, one after the other)")
    p.add_argument("--runs", type=int, default=1, help="independent runs (seeds) per model and train mode")
    p.add_argument("--seed", type=int, default=0, help="first seed; runs use seed, seed+1, ...")
    p.add_argument("--epochs", type=int, default=None, help=f"training epochs (default {d.epochs})")
    p.add_argument("--train-size", type=int, default=None,
                   help=f"training digits, the first N of MNIST train, up to 60000 (default {d.train_size})")
    p.add_argument("--test-size", type=int, default=None,
                   help=f"test digits, the first N of MNIST test, up to 10000 (default {d.test_size})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="training batch size")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="Adam weight decay")
    p.add_argument("--lr-step", type=int, default=d.lr_step, help="epochs between learning-rate decays")
    p.add_argument("--lr-gamma", type=float, default=d.lr_gamma, help="learning-rate decay factor")
    p.add_argument("--data-seed", type=int, default=d.data_seed, help="seed of the digits' random shifts")
    p.add_argument("--quick", action="store_true",
                   help=f"CPU smoke-test preset: {QUICK['train_size']} train / {QUICK['test_size']} test digits, "
                   f"{QUICK['epochs']} epoch (for --epochs, --train-size, --test-size not given explicitly)")
    p.add_argument("--device", default="auto", help="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ...")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--no-flush-denormal", action="store_true",
                   help="keep denormal floats; by default they are flushed to zero, without which CPU training "
                   "slows 5-10x after a few dozen Adam steps")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder holding MNIST/raw/*.gz (torchvision layout) to copy from, for machines without a "
                   "network; otherwise MNIST is downloaded by torchvision into the cache")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help=f"where MNIST and the generated Möbius MNIST arrays live (default $GAUGECNN_CACHE or {default_cache_dir()})")
    p.add_argument("--out", type=Path, default=Path("results"),
                   help=f"results folder: {RESULTS_FILE} (one JSON line per finished run), table.md, checkpoints/")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--parallel", default="data", choices=("data", "seeds"),
                   help="under torchrun: 'data' trains each run data-parallel (DistributedDataParallel; gloo on CPU, "
                   "nccl on CUDA); 'seeds' gives each process its own share of the runs")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="run only the K-th of N shares of the runs (K = 0..N-1), to spread seeds over machines")
    p.add_argument("--merge", type=Path, nargs="*", default=[], metavar="FILE",
                   help="more results.jsonl files (e.g. from other machines) to include in the table")
    return p


def _distributed(parallel: str, device: torch.device) -> tuple[int, int, bool]:
    """``(rank, world, ddp)``: joins the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, False
    rank = int(os.environ["RANK"])
    if parallel == "seeds":
        return rank, world, False
    backend = "nccl" if device.type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend)
    return rank, world, True


def _shard(spec: str | None, rank: int, world: int, parallel: str) -> tuple[int, int]:
    if spec is None:
        return (rank, world) if parallel == "seeds" else (0, 1)
    try:
        k, n = (int(v) for v in spec.split("/"))
    except ValueError:
        raise SystemExit(f"--shard must look like K/N, e.g. 0/4, got {spec!r}") from None
    if not 0 <= k < n:
        raise SystemExit(f"--shard {spec}: K must be in 0..N-1")
    return k, n


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    return device


def _models(spec: str) -> list[str]:
    names = list(MODELS) if spec == "all" else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise SystemExit(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)} or 'all'")
    return names


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f} (1 run)"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} ({len(values)} runs)"


def results_table(records: list[dict], models: list[str]) -> str:
    """Markdown table: test error on shifted digits per model and train mode, beside the paper's."""
    lines = [
        "| model | params | paper params | shifted train | paper | centered train (tested shifted) | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in models:
        paper_params, paper_shifted, paper_centered = PAPER[m]
        own = [r for r in records if r["model"] == m]
        params = own[0]["params"] if own else "–"
        cells = [_cell([r["test_error_shifted"] for r in own if r["train_mode"] == mode]) for mode in ("shifted", "centered")]
        lines.append(
            f"| {m} | {params} | {paper_params} | {cells[0]} | {paper_shifted[0]:.2f} ± {paper_shifted[1]:.2f} "
            f"| {cells[1]} | {paper_centered[0]:.2f} ± {paper_centered[1]:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None, on_epoch_end=None) -> int:
    args = _parser().parse_args(argv)
    # before the first multi-threaded op, so that every worker thread inherits it
    torch.set_flush_denormal(not args.no_flush_denormal)
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = QUICK if args.quick else {k: getattr(TrainConfig(), k) for k in QUICK}
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if not 0 < args.test_size <= 10000:
        raise SystemExit(f"--test-size must be in 1..10000, got {args.test_size}")
    models = _models(args.model)
    modes = ["shifted", "centered"] if args.train_mode == "both" else [args.train_mode]
    config = TrainConfig(args.epochs, args.train_size, args.test_size, args.batch_size, args.lr,
                         args.weight_decay, args.lr_step, args.lr_gamma, args.data_seed)
    device = _device(args.device)
    rank, world, ddp = _distributed(args.parallel, device)
    if ddp and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    shard, shards = _shard(args.shard, rank, world, args.parallel)
    args.out.mkdir(parents=True, exist_ok=True)

    try:
        data = load_mobius_mnist(args.cache_dir, args.data_root, args.train_size, args.data_seed)
    except (FileNotFoundError, RuntimeError) as error:  # no data and no network: say what to do, no traceback
        raise SystemExit(f"error: {error}") from None
    seeds = range(args.seed, args.seed + args.runs)
    runs = [(m, mode, seed) for m in models for mode in modes for seed in seeds]
    try:
        for model, mode, seed in runs[shard::shards]:
            done = [r for r in finished_runs(args.out)
                    if (r["model"], r["train_mode"], r["seed"]) == (model, mode, seed) and config.matches(r)]
            if done:
                if rank == 0 or not ddp:
                    print(f"skip {model} {mode} seed {seed}: already in {args.out / RESULTS_FILE}")
                continue
            r = run_one(model, mode, seed, config, data, args.out, device,
                        progress=not args.no_progress, on_epoch_end=on_epoch_end, ddp=ddp)
            if r:
                print(f"{model} trained {mode}, seed {seed}: test error shifted {r['test_error_shifted']:.2f}%, "
                      f"centered {r['test_error_centered']:.2f}% ({r['wall_time_s']:.0f} s on {r['device']})")
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs and the last epoch checkpoint are kept; re-run the same command to resume")
        return 130
    finally:
        if ddp:
            torch.distributed.destroy_process_group()
    if rank != 0:
        return 0

    merged = [json.loads(line) for path in args.merge for line in path.read_text().splitlines() if line.strip()]
    unique = {(r["model"], r["train_mode"], r["seed"], r["epochs"], r["train_size"]): r for r in finished_runs(args.out) + merged}
    records = [r for r in unique.values() if config.matches(r) and r["seed"] in seeds and r["train_mode"] in modes]
    table = results_table(records, models)
    header = (f"Möbius MNIST test error (%) on shifted test digits; {config.epochs} epochs, "
              f"{config.train_size} train / {config.test_size} test digits")
    (args.out / "table.md").write_text(f"{header}\n\n{table}\n")
    print(f"\n{header}\n\n{table}")
    try:
        import matplotlib  # noqa: F401  (the optional 'viz' extra)
    except ImportError:
        print("\n(install the viz extra, pip install -e '.[viz]', for a bar chart beside the table)")
    else:
        from ..figures import plot_results

        print(f"\nbar chart: {plot_results(records, args.out / 'results.png')}")
    return 0
