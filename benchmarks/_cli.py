"""Command-line machinery shared by the benchmarks: options, devices, torchrun, shards, worker jobs, the run loop.

A benchmark's CLI adds its own options (models, train modes, its protocol) to
``add_run_options`` and hands its runs to ``train_runs``, which skips finished runs, claims
each run (so processes sharing a results folder never train the same one), trains it and
prints a line per result; ``--jobs N`` starts N worker processes of the same command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch

from ._training import RESULTS_FILE, CheckpointError, claim_run, finished_runs, run_name

__all__ = [
    "HelpFormatter",
    "add_run_options",
    "apply_preset",
    "check_options",
    "interrupt_on_signals",
    "prepare_torch",
    "device_from",
    "distributed",
    "shard_of",
    "train_runs",
    "report_paths",
]


class HelpFormatter(argparse.HelpFormatter):
    """Shows defaults, except unset (None) ones and flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS or action.default == []
        if not unset and "(default" not in text:  # 0 is a default worth showing
            text += " (default: %(default)s)"
        return text


def add_run_options(p: argparse.ArgumentParser, cache_help: str, default_out: Path, models_size: str) -> None:
    """The options every benchmark shares: seeds, device, threads, data, output, parallelism, tables.

    ``default_out`` is the benchmark's own results folder; ``models_size`` says how large the
    saved model files are.
    """
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        help="independent runs (seeds) per model and train mode; runs go seed by seed, so that an "
        "interrupted sweep leaves every cell with about the same number of runs",
    )
    p.add_argument("--seed", type=int, default=0, help="first seed; runs use seed, seed+1, ...")
    p.add_argument("--device", default="auto", help="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ...")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's own choice)")
    p.add_argument(
        "--no-flush-denormal",
        action="store_true",
        help="keep denormal floats; by default they are flushed to zero, without which CPU training "
        "slows 5-10x after a few dozen Adam steps",
    )
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding MNIST/raw/*.gz (torchvision layout) to copy from, for machines without a "
        "network; otherwise MNIST is downloaded by torchvision into the cache",
    )
    p.add_argument("--cache-dir", type=Path, default=None, help=cache_help)
    p.add_argument(
        "--out",
        type=Path,
        default=default_out,
        help=f"results folder: {RESULTS_FILE} (one JSON line per finished run), table.md, results.png, "
        f"checkpoints/ (while training) and models/ (the trained weights, {models_size})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--parallel",
        default="data",
        choices=("data", "seeds"),
        help="under torchrun: 'data' trains each run data-parallel (DistributedDataParallel; gloo on CPU, "
        "nccl on CUDA); 'seeds' gives each process its own share of the runs",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs trained at once, each in its own process, sharing the results folder (on one GPU, "
        "several small runs use it better than one; with several GPUs, jobs are spread over them)",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a process started by --jobs
    p.add_argument(
        "--shard", default=None, metavar="K/N", help="run only the K-th of N shares of the runs (K = 0..N-1), to spread seeds over machines"
    )
    p.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        metavar="FILE",
        help="more results.jsonl files (e.g. from other machines) to include in the table",
    )
    p.add_argument(
        "--table",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="train nothing: print the table of the finished runs in these results files (those of "
        "the protocol the other options give, by default the published one)",
    )
    p.add_argument(
        "--update-docs", action="store_true", help="with --table FILE: rewrite the generated tables and chart of the docs from FILE"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --update-docs: rewrite the docs even from a file that lacks runs the published tables show",
    )


def apply_preset(args: argparse.Namespace, quick: dict, protocol) -> None:
    """Fill the options of ``quick`` not given on the command line: from ``quick`` with --quick, else from ``protocol``."""
    for key, value in quick.items():
        if getattr(args, key) is None:
            setattr(args, key, value if args.quick else getattr(protocol, key))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise SystemExit(f"error: {message}")


def check_options(args: argparse.Namespace, train_max: int, test_max: int = 10000) -> None:
    """Refuse values out of range, one line naming the option and its range (after presets are applied)."""
    _check(args.epochs >= 1, f"--epochs must be at least 1, got {args.epochs}")
    _check(args.runs >= 1, f"--runs must be at least 1, got {args.runs}")
    _check(1 <= args.train_size <= train_max, f"--train-size must be in 1..{train_max}, got {args.train_size}")
    _check(1 <= args.test_size <= test_max, f"--test-size must be in 1..{test_max}, got {args.test_size}")
    _check(args.batch_size >= 1, f"--batch-size must be at least 1, got {args.batch_size}")
    _check(
        args.batch_size <= args.train_size,
        f"--batch-size must be at most --train-size ({args.train_size}), got {args.batch_size}: a smaller batch or more digits",
    )
    _check(args.seed >= 0, f"--seed must be at least 0, got {args.seed}")
    _check(args.data_seed >= 0, f"--data-seed must be at least 0, got {args.data_seed}")
    _check(args.lr > 0, f"--lr must be positive, got {args.lr}")
    _check(args.weight_decay >= 0, f"--weight-decay must be at least 0, got {args.weight_decay}")
    _check(args.lr_step >= 1, f"--lr-step must be at least 1 epoch, got {args.lr_step}")
    _check(0 < args.lr_gamma <= 1, f"--lr-gamma must be in (0, 1], got {args.lr_gamma}")


def prepare_torch(args: argparse.Namespace) -> None:
    """Denormal flushing and threads, before the first multi-threaded op so that every worker thread inherits them."""
    _check(args.threads is None or args.threads >= 1, f"--threads must be at least 1, got {args.threads}")
    torch.set_flush_denormal(not args.no_flush_denormal)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.jobs < 1:
        raise SystemExit(f"error: --jobs must be at least 1, got {args.jobs}")
    if args.jobs > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SystemExit("--jobs starts its own processes; do not combine it with torchrun")
    if args.update_docs and (args.table is None or len(args.table) != 1):
        raise SystemExit("--update-docs needs the one results file to generate from: --table FILE --update-docs")


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP (a plain ``kill``, a timeout, a scheduler, a closed terminal) interrupt like Ctrl-C.

    The run loop then keeps its checkpoints and exits, its claims go with the process, and a
    ``--jobs`` parent stops its workers first. The previous handlers come back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    names = [s for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s)]
    previous = {name: signal.signal(getattr(signal, name), interrupt) for name in names}
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def distributed(parallel: str, device: torch.device) -> tuple[int, int, bool]:
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


def shard_of(spec: str | None, rank: int, world: int, parallel: str) -> tuple[int, int]:
    """``(K, N)`` from ``--shard K/N``, or from the torchrun rank when seeds are spread over processes."""
    if spec is None:
        return (rank, world) if parallel == "seeds" else (0, 1)
    try:
        k, n = (int(v) for v in spec.split("/"))
    except ValueError:
        raise SystemExit(f"--shard must look like K/N, e.g. 0/4, got {spec!r}") from None
    if not 0 <= k < n:
        raise SystemExit(f"--shard {spec}: K must be in 0..N-1")
    return k, n


def device_from(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    return device


def _run_jobs(
    module: str, argv: list[str], args: argparse.Namespace, device: torch.device, runs: Sequence[tuple[str, str, int]], config
) -> int:
    """Train ``runs`` in ``args.jobs`` worker processes of ``python -m module`` over one results folder.

    Every worker walks the same run list and trains the runs no other worker has claimed
    (``claim_run``), so the work balances itself. CUDA jobs are spread over the visible GPUs
    when no device index was given; on the CPU each job gets its share of the cores.
    """
    from tqdm.auto import tqdm

    gpus = torch.cuda.device_count() if device.type == "cuda" and device.index is None else 0
    threads = args.threads
    if threads is None and device.type == "cpu":
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
    procs = []
    for k in range(args.jobs):
        cmd = [sys.executable, "-m", module, *argv, "--jobs", "1", "--worker", "--no-progress"]
        if gpus:
            cmd += ["--device", f"cuda:{k % gpus}"]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        procs.append(subprocess.Popen(cmd))
    keys = {tuple(run) for run in runs}

    def done() -> int:
        return sum((r["model"], r["train_mode"], r["seed"]) in keys and config.matches(r) for r in finished_runs(args.out))

    try:
        with tqdm(total=len(runs), initial=done(), desc=f"runs ({args.jobs} jobs)", disable=args.no_progress) as bar:
            while any(p.poll() is None for p in procs):
                time.sleep(2)
                bar.update(done() - bar.n)
            bar.update(done() - bar.n)
    except KeyboardInterrupt:  # Ctrl-C reaches the workers too; a SIGTERM or SIGHUP to this process alone does not
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # they stop as on Ctrl-C: checkpoints kept, claims released
        for p in procs:
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        print("\ninterrupted: workers stopped; finished runs and the last epoch checkpoints are kept; re-run the same command to resume")
        return 130
    failed = [p.returncode for p in procs if p.returncode]
    if failed:
        print(
            f"{len(failed)} of {args.jobs} jobs failed (exit status {', '.join(map(str, failed))}); their output is above. "
            "Finished runs are kept; re-run the same command to train the rest"
        )
        return 1
    return 0


@contextlib.contextmanager
def _claimed() -> Iterator[bool]:
    """Data-parallel ranks train one run together: no claim to take."""
    yield True


def train_runs(
    module: str,
    argv: list[str],
    args: argparse.Namespace,
    config,
    runs: Sequence[tuple[str, str, int]],
    device: torch.device,
    ddp: bool,
    rank: int,
    train: Callable[[str, str, int], dict],
    summary: Callable[[dict], str],
) -> int | None:
    """Train every run not yet finished; ``None`` when done, else an exit status (interrupted, failed jobs).

    ``runs`` are ``(model, train_mode, seed)`` in the order to train them (this process's
    share); ``train(model, mode, seed)`` trains one and returns its record (``{}`` on ranks
    other than 0); ``summary(record)`` is the line printed for it.
    """

    def finished(model: str, mode: str, seed: int) -> bool:
        return any((r["model"], r["train_mode"], r["seed"]) == (model, mode, seed) and config.matches(r) for r in finished_runs(args.out))

    if args.jobs > 1:
        return _run_jobs(module, argv, args, device, runs, config) or None
    try:
        for model, mode, seed in runs:
            if finished(model, mode, seed):
                if (rank == 0 or not ddp) and not args.worker:
                    print(f"skip {model} {mode} seed {seed}: already in {args.out / RESULTS_FILE}")
                continue
            with claim_run(args.out, run_name(model, mode, seed, config)) if not ddp else _claimed() as claimed:
                if not claimed or finished(model, mode, seed):  # another process has it, or just finished it
                    if not args.worker:
                        print(f"skip {model} {mode} seed {seed}: being trained by another process in {args.out}")
                    continue
                record = train(model, mode, seed)
            if record:
                print(summary(record), flush=True)
    except CheckpointError as error:
        raise SystemExit(f"error: {error}") from None
    except KeyboardInterrupt:
        if not args.worker:
            print("\ninterrupted: finished runs and the last epoch checkpoint are kept; re-run the same command to resume")
        return 130
    finally:
        if ddp:
            torch.distributed.destroy_process_group()
    return None


def report_paths(out: Path, chart: Path | None) -> str:
    """Where a benchmark's files went, one line each."""
    lines = [
        f"results:        {out / RESULTS_FILE}",
        f"table:          {out / 'table.md'}",
    ]
    if chart is not None:
        lines.append(f"chart:          {chart}")
    lines.append(f"trained models: {out / 'models'}/ (one file per run)")
    return "\n".join(lines)
