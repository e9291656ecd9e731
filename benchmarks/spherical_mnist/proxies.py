"""``python -m benchmarks.spherical_mnist.proxies``: short R/R runs that compare candidate causes of a gap, side by side.

A proxy trains rotated on the first 10000 training digits for 4 epochs (learning rate halved
every 2) and tests on 5000 rotated digits, one thread: 10 to 25 minutes a run on a 2-core CPU
where a full run takes 3 hours. Each proxy changes one thing against the baseline
(``ico_gauge_c6`` with the benchmark's defaults otherwise); the table says what, read from
the runs' own settings. What a proxy shows is a direction at this budget, not a full-protocol
figure: a cause it points to is confirmed by a full run, reported beside the published
protocol's row, never in its place. ::

    python -m benchmarks.spherical_mnist.proxies --commands          # the runs, one command each
    python -m benchmarks.spherical_mnist.proxies --table benchmarks/results/spherical_mnist_proxies.jsonl \
        --recalibrated benchmarks/results/spherical_mnist_recalibrated.jsonl --update-docs

``--recalibrated`` adds the accuracy of each run's saved model with its batch-norm statistics
re-estimated (``benchmarks.spherical_mnist.recalibrate``), the weights unchanged.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from .._docs import write_blocks
from .._report import load_records
from .._training import run_name
from .models import VARIANTS
from .report import _grid
from .train import config_of

__all__ = ["BASELINE", "PROXIES", "PROXY_DATA", "RECALIBRATED_DATA", "change_of", "commands", "proxy_table", "main"]

REPO = Path(__file__).resolve().parents[2]
PROXY_DATA = REPO / "benchmarks" / "results" / "spherical_mnist_proxies.jsonl"
RECALIBRATED_DATA = REPO / "benchmarks" / "results" / "spherical_mnist_recalibrated.jsonl"
DOC = REPO / "docs" / "results.md"
COMMAND = "python -m benchmarks.spherical_mnist.proxies --table FILE --recalibrated FILE --update-docs"

# the proxy protocol: what every proxy shares unless it changes it
BASELINE = {
    "model": "ico_gauge_c6",
    "train_mode": "R",
    "train_size": 10000,
    "test_size": 5000,
    "epochs": 4,
    "lr_step": 2,
    "lr": 0.002,
    "batch_size": 32,
    "rotation_chunk": 1,
    "fresh_rotations": False,
    "seed": 0,
}
# name -> the settings that differ from the baseline
PROXIES: dict[str, dict] = {
    "base": {},
    "base_seed1": {"seed": 1},
    "cube": {"model": "cube_gauge_c4"},
    "fresh": {"fresh_rotations": True},
    "meanpool": {"model": "ico_gauge_c6_meanpool"},
    "lr005": {"lr": 0.005},
    "chunk500": {"rotation_chunk": 500},
    "stride": {"model": "ico_gauge_c6_stride"},
    "long": {"epochs": 8, "lr_step": 4},
    "long_fresh": {"epochs": 8, "lr_step": 4, "fresh_rotations": True},
    "batch128": {"batch_size": 128},
}


def commands(out: str = "proxies", data_root: str = "../shared/data") -> list[str]:
    """One command line per proxy (each in its own results folder, so that two can run side by side)."""
    lines = []
    for name, changes in PROXIES.items():
        s = {**BASELINE, **changes}
        line = (
            f"python -m benchmarks.spherical_mnist --model {s['model']} --train-mode R --train-size {s['train_size']} "
            f"--test-size {s['test_size']} --epochs {s['epochs']} --lr-step {s['lr_step']} --lr {s['lr']:g} "
            f"--batch-size {s['batch_size']} --rotation-chunk {s['rotation_chunk']}"
        )
        line += " --fresh-rotations" if s["fresh_rotations"] else ""
        line += f" --seed {s['seed']}" if s["seed"] else ""
        lines.append(f"{line} --threads 1 --data-root {data_root} --out {out}/{name}")
    return lines


def change_of(record: dict) -> str:
    """What a proxy run changes against the baseline, in words, read from its settings."""
    changes = []
    model = record["model"]
    if model != BASELINE["model"]:
        changes.append(VARIANTS[model][4] if model in VARIANTS else f"{model} on the {_grid(model)}")
    if record["epochs"] != BASELINE["epochs"] or record["lr_step"] != BASELINE["lr_step"]:
        changes.append(f"{record['epochs']} epochs, lr halved every {record['lr_step']}")
    if record["lr"] != BASELINE["lr"]:
        changes.append(f"learning rate {record['lr']:g}")
    if record["batch_size"] != BASELINE["batch_size"]:
        changes.append(f"batch {record['batch_size']}")
    if record["rotation_chunk"] != BASELINE["rotation_chunk"]:
        changes.append(f"one rotation per {record['rotation_chunk']} digits")
    if record.get("fresh_rotations", False):
        changes.append("new rotations of the training digits every epoch")
    if record["seed"] != BASELINE["seed"]:
        changes.append(f"seed {record['seed']} (the same settings)")
    return "; ".join(changes) or "the baseline"


def _is_proxy(record: dict) -> bool:
    shared = ("train_mode", "train_size", "test_size")
    return all(record[key] == BASELINE[key] for key in shared)


def _run_name(record: dict) -> str:
    config = config_of(record)
    return run_name(record["model"], record["train_mode"], record["seed"], config)


def proxy_table(records: Sequence[dict], recalibrated: Sequence[dict] = ()) -> str:
    """One row per proxy run: what it changes, train accuracy, test accuracy after every epoch and at the end,
    and (from ``recalibrated``, lines of ``benchmarks.spherical_mnist.recalibrate``) with re-estimated statistics."""
    runs = [r for r in records if _is_proxy(r)]
    again = {line["run"]: line for line in recalibrated}
    lines = [
        "| proxy | change against the baseline | train acc. (last epoch) | R/R per epoch | R/R | Δ to baseline | "
        "R/R, statistics re-estimated | min |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    baseline = [r for r in runs if change_of(r) == "the baseline"]
    base_acc = 100 - baseline[0]["test_error_R"] if baseline else None
    for r in runs:
        history = r.get("history", [])
        per_epoch = " ".join(f"{h['test_accuracy_R']:.1f}" for h in history if "test_accuracy_R" in h)
        train = f"{history[-1]['train_accuracy']:.1f}" if history else "–"
        acc = 100 - r["test_error_R"]
        delta = f"{acc - base_acc:+.2f}" if base_acc is not None and change_of(r) != "the baseline" else ""
        minutes = f"{r['wall_time_s'] / 60:.0f}" if "wall_time_s" in r else "–"
        line = again.get(_run_name(r))
        if line is not None and line["running_statistics"] != round(acc, 2):
            raise ValueError(f"the recalibration of {_run_name(r)} tested {line['running_statistics']} before, the run {acc:.2f}")
        redone = f"{line['recalibrated']:.2f}" if line is not None else "–"
        lines.append(f"| {r['model']} | {change_of(r)} | {train} | {per_epoch} | {acc:.2f} | {delta} | {redone} | {minutes} |")
    if len(lines) == 2:
        lines.append("| (no proxy runs yet) | | | | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.spherical_mnist.proxies", description=__doc__.splitlines()[0])
    p.add_argument("--commands", action="store_true", help="print the command line of every proxy")
    p.add_argument("--table", type=Path, nargs="+", default=None, metavar="FILE", help="the table of these results files")
    p.add_argument("--recalibrated", type=Path, default=None, metavar="FILE", help="with --table: the recalibrated accuracies")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the proxy table in docs/results.md")
    args = p.parse_args(argv)
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    if args.commands:
        print("\n".join(commands()))
    if args.table is not None:
        missing = [str(path) for path in args.table if not path.exists()]
        if missing:
            raise SystemExit(f"error: --table: no such file {', '.join(missing)}")
        text = proxy_table(load_records(args.table), load_records([args.recalibrated]) if args.recalibrated else ())
        print(text)
        if args.update_docs:
            print(f"updated {write_blocks(DOC, {'spherical-proxies': text}, COMMAND)}")
    if not args.commands and args.table is None:
        p.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
