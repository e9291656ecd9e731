"""``python -m benchmarks.spherical_mnist.cost``: what a full-protocol run of each model costs on this machine.

The training step of every model of the table (forward, loss, backward, Adam step; batch 32 on
its full grid, as the benchmark trains), timed in interleaved rounds in one process; the table
gives samples per second, minutes per epoch of 60000 digits and hours per 10-epoch run (training
only; evaluation adds a few minutes). A reader without a GPU sees what each row takes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .._docs import write_blocks
from .._files import atomic_write_text
from .._report import timing_header, timing_record
from .models import MODELS, VARIANTS, build_atlas, build_model
from .train import SphericalConfig

COMMAND = "python -m benchmarks.spherical_mnist.cost --table FILE --update-docs"
DATA = Path(__file__).resolve().parents[1] / "results" / "spherical_cost.json"
DOC = Path(__file__).resolve().parents[2] / "docs" / "results.md"


def measure(models: list[str], rounds: int, steps: int, batch: int) -> dict:
    built = {}
    for name in models:
        torch.manual_seed(0)
        model = build_model(name, build_atlas(name)).train()
        x = torch.rand(batch, 1, *build_atlas(name).shape)
        y = torch.randint(0, 10, (batch,))
        built[name] = (model, torch.optim.Adam(model.parameters(), 2e-3), x, y)

    def step(name: str) -> None:
        model, optimizer, x, y = built[name]
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    for name in models:  # warm up
        step(name)
    samples: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):  # interleaved: every model once per round
        for name in models:
            start = time.perf_counter()
            for _ in range(steps):
                step(name)
            samples[name].append(batch * steps / (time.perf_counter() - start))
    epoch = SphericalConfig().train_size
    results = {}
    for name in models:
        rate = statistics.median(samples[name])
        minutes = epoch / rate / 60
        params = sum(p.numel() for p in built[name][0].parameters())
        results[name] = {
            "params": params,
            "samples_per_s": round(rate, 1),
            "epoch_min": round(minutes, 1),
            "run_h": round(10 * minutes / 60, 1),
        }
    return timing_record(batch, rounds, steps, results)


def table(data: dict) -> str:
    lines = [
        timing_header(data),
        "",
    ]
    with_params = all("params" in r for r in data["results"].values())  # measurements before the column have none
    params_head, params_rule = ("params | ", "---:|") if with_params else ("", "")
    lines += [
        f"| model | {params_head}samples / s | minutes per epoch (60000 digits) | hours per 10-epoch run (training) |",
        f"|---|{params_rule}---|---|---|",
    ]
    for name, r in data["results"].items():
        params = f"{r['params']} | " if with_params else ""
        lines.append(f"| {name} | {params}{r['samples_per_s']:.1f} | {r['epoch_min']:.1f} | {r['run_h']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.spherical_mnist.cost", description=__doc__.splitlines()[0])
    p.add_argument(
        "--models",
        default="all",
        help=f"comma-separated models, or 'all' ({', '.join(MODELS)}); the variants {', '.join(VARIANTS)} by name",
    )
    p.add_argument(
        "--block",
        default="spherical-cost",
        help="with --update-docs: the generated block of docs/results.md to rewrite (default spherical-cost)",
    )
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    p.add_argument("--steps", type=int, default=5, help="training steps a model takes per round")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    p.add_argument("--out", type=Path, default=None, help="write the measurement as JSON")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="measure nothing: the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the cost table in docs/results.md")
    args = p.parse_args(argv)
    for name in ("rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name} must be at least 1, got {getattr(args, name)}")
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    if args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        models = list(MODELS) if args.models == "all" else args.models.split(",")
        unknown = [m for m in models if m not in MODELS and m not in VARIANTS]
        if unknown:
            raise SystemExit(
                f"error: --models: unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)} or {', '.join(VARIANTS)}"
            )
        torch.set_num_threads(args.threads)
        torch.set_flush_denormal(True)
        data = measure(models, args.rounds, args.steps, 32)
        if args.out:
            atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(table(data))
    if args.update_docs:
        command = COMMAND if args.block == "spherical-cost" else COMMAND.replace("--update-docs", f"--block {args.block} --update-docs")
        print(f"updated {write_blocks(DOC, {args.block: table(data)}, command)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
