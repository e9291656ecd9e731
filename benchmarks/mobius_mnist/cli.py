"""Command line of the Möbius MNIST benchmark: runs, skipping finished ones, and the results table."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from .data import default_cache_dir, load_mobius_mnist
from .._files import atomic_write_text
from . import report
from .models import ABLATIONS, MODELS
from .train import RESULTS_FILE, CheckpointError, TrainConfig, claim_run, finished_runs, run_name, run_one

__all__ = ["main"]

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
    p.add_argument("--model", default="all",
                   help=f"model name, comma-separated names, or 'all' ({', '.join(MODELS)}); ablations, not in "
                   f"'all': {', '.join(ABLATIONS)}")
    p.add_argument("--train-mode", default="both", choices=("shifted", "centered", "both"),
                   help="train on shifted or centered digits (or both, one after the other)")
    p.add_argument("--runs", type=int, default=1,
                   help="independent runs (seeds) per model and train mode; runs go seed by seed, so that an "
                   "interrupted sweep leaves every cell with about the same number of runs")
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
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained at once, each in its own process, sharing the results folder (on one GPU, "
                   "several small runs use it better than one; with several GPUs, jobs are spread over them)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a process started by --jobs
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="run only the K-th of N shares of the runs (K = 0..N-1), to spread seeds over machines")
    p.add_argument("--merge", type=Path, nargs="*", default=[], metavar="FILE",
                   help="more results.jsonl files (e.g. from other machines) to include in the table")
    p.add_argument("--table", type=Path, nargs="+", default=None, metavar="FILE",
                   help="train nothing: print the table of the finished runs in these results files (those of "
                   "the protocol the other options give, by default the paper's)")
    p.add_argument("--update-docs", action="store_true",
                   help="with --table FILE: rewrite the generated tables of docs/results.md and README.md and the "
                   "chart docs/img/results.png from FILE")
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
    names: list[str] = []
    for name in (m.strip() for m in spec.split(",") if m.strip()):
        names += [m for m in (MODELS if name == "all" else [name]) if m not in names]
    unknown = [m for m in names if m not in MODELS and m not in ABLATIONS]
    if unknown:
        raise SystemExit(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}, 'all', "
            f"or the ablations {', '.join(ABLATIONS)}"
        )
    return names


def _run_jobs(argv: list[str], jobs: int, device: torch.device, threads: int | None, progress: bool,
              runs: list[tuple[str, str, int]], out: Path, config: TrainConfig) -> int:
    """Train ``runs`` in ``jobs`` worker processes over one results folder; returns an exit status.

    Every worker walks the same run list and trains the runs no other worker has claimed
    (``claim_run``), so the work balances itself. CUDA jobs are spread over the visible GPUs
    when no device index was given; on the CPU each job gets its share of the cores.
    """
    from tqdm.auto import tqdm

    gpus = torch.cuda.device_count() if device.type == "cuda" and device.index is None else 0
    if threads is None and device.type == "cpu":
        threads = max(1, (os.cpu_count() or 1) // jobs)
    procs = []
    for k in range(jobs):
        cmd = [sys.executable, "-m", "benchmarks.mobius_mnist", *argv, "--jobs", "1", "--worker", "--no-progress"]
        if gpus:
            cmd += ["--device", f"cuda:{k % gpus}"]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        procs.append(subprocess.Popen(cmd))
    keys = {(m, mode, seed) for m, mode, seed in runs}

    def done() -> int:
        return sum((r["model"], r["train_mode"], r["seed"]) in keys and config.matches(r) for r in finished_runs(out))

    try:
        with tqdm(total=len(runs), initial=done(), desc=f"runs ({jobs} jobs)", disable=not progress) as bar:
            while any(p.poll() is None for p in procs):
                time.sleep(2)
                bar.update(done() - bar.n)
            bar.update(done() - bar.n)
    except KeyboardInterrupt:  # the workers got the same signal and keep their checkpoints
        for p in procs:
            p.wait()
        print("\ninterrupted: finished runs and the last epoch checkpoints are kept; re-run the same command to resume")
        return 130
    failed = [p.returncode for p in procs if p.returncode]
    if failed:
        print(f"{len(failed)} of {jobs} jobs failed (exit status {', '.join(map(str, failed))}); their output is above. "
              "Finished runs are kept; re-run the same command to train the rest")
        return 1
    return 0


@contextlib.contextmanager
def _claimed():
    """Data-parallel ranks train one run together: no claim to take."""
    yield True


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(args.epochs, args.train_size, args.test_size, args.batch_size, args.lr,
                       args.weight_decay, args.lr_step, args.lr_gamma, args.data_seed)


def _print_table(args: argparse.Namespace, config: TrainConfig) -> int:
    """``--table FILE...``: the table of finished runs, and with ``--update-docs`` the docs regenerated."""
    try:
        records = report.protocol_records(report.load_records(args.table), config)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{len(records)} finished runs of this protocol in {', '.join(map(str, args.table))}\n")
    print(report.results_table(records))
    if any(r["model"] in ABLATIONS for r in records):
        print(f"\n{report.ablation_table(records)}")
    print(f"\n{report.provenance(records)}" if records else "")
    if args.update_docs:
        for path in report.update_docs(args.table[0]):
            print(f"updated {path}")
    return 0


def main(argv: list[str] | None = None, on_epoch_end=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    # before the first multi-threaded op, so that every worker thread inherits it
    torch.set_flush_denormal(not args.no_flush_denormal)
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = QUICK if args.quick else {k: getattr(TrainConfig(), k) for k in QUICK}
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.update_docs and (args.table is None or len(args.table) != 1):
        raise SystemExit("--update-docs needs the one results file to generate from: --table FILE --update-docs")
    if args.table is not None:
        return _print_table(args, config_from_args(args))
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
    if args.jobs > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SystemExit("--jobs starts its own processes; do not combine it with torchrun")
    if not 0 < args.test_size <= 10000:
        raise SystemExit(f"--test-size must be in 1..10000, got {args.test_size}")
    models = _models(args.model)
    modes = ["shifted", "centered"] if args.train_mode == "both" else [args.train_mode]
    config = config_from_args(args)
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
    runs = [(m, mode, seed) for seed in seeds for m in models for mode in modes]  # seed by seed

    def finished(model: str, mode: str, seed: int) -> bool:
        return any((r["model"], r["train_mode"], r["seed"]) == (model, mode, seed) and config.matches(r)
                   for r in finished_runs(args.out))

    if args.jobs > 1:
        status = _run_jobs(argv, args.jobs, device, args.threads, not args.no_progress, runs[shard::shards], args.out, config)
        if status:
            return status
    try:
        for model, mode, seed in runs[shard::shards] if args.jobs == 1 else []:
            if finished(model, mode, seed):
                if (rank == 0 or not ddp) and not args.worker:
                    print(f"skip {model} {mode} seed {seed}: already in {args.out / RESULTS_FILE}")
                continue
            with claim_run(args.out, run_name(model, mode, seed, config)) if not ddp else _claimed() as claimed:
                if not claimed or finished(model, mode, seed):  # another process has it, or just finished it
                    if not args.worker:
                        print(f"skip {model} {mode} seed {seed}: being trained by another process in {args.out}")
                    continue
                r = run_one(model, mode, seed, config, data, args.out, device,
                            progress=not args.no_progress, on_epoch_end=on_epoch_end, ddp=ddp)
            if r:
                print(f"{model} trained {mode}, seed {seed}: test error shifted {r['test_error_shifted']:.2f}%, "
                      f"centered {r['test_error_centered']:.2f}% ({r['wall_time_s']:.0f} s on {r['device']})", flush=True)
    except CheckpointError as error:
        raise SystemExit(f"error: {error}") from None
    except KeyboardInterrupt:
        if not args.worker:
            print("\ninterrupted: finished runs and the last epoch checkpoint are kept; re-run the same command to resume")
        return 130
    finally:
        if ddp:
            torch.distributed.destroy_process_group()
    if rank != 0 or args.worker:
        return 0

    records = report.protocol_records(finished_runs(args.out) + report.load_records(args.merge), config)
    records = [r for r in records if r["seed"] in seeds and r["train_mode"] in modes]
    table = report.results_table(records, models)
    header = (f"Möbius MNIST test error (%) on shifted test digits; {config.epochs} epochs, "
              f"{config.train_size} train / {config.test_size} test digits")
    atomic_write_text(args.out / "table.md", f"{header}\n\n{table}\n")
    print(f"\n{header}\n\n{table}")
    try:
        import matplotlib  # noqa: F401  (the optional 'viz' extra)
    except ImportError:
        print("\n(install the viz extra, pip install -e '.[viz]', for a bar chart beside the table)")
    else:
        from ..figures import plot_results

        print(f"\nbar chart: {plot_results(records, args.out / 'results.png')}")
    return 0
