"""``python -m benchmarks.spherical_mnist.recalibrate``: trained runs tested again with batch-norm statistics re-estimated.

A model in eval mode normalizes with running statistics, exponential averages (momentum
0.1) taken while the weights were still moving. This tool reads finished runs (a results
folder's ``results.jsonl`` and ``models/``), tests each saved model on its own test set as the
run did (the recorded accuracy, reproduced), then re-estimates every batch norm's statistics
with the final weights -- the plain average over ``--batches`` training batches of the run's
batch size, the first training digits of the run's train mode, in train mode, without
gradients -- and tests again. The weights do not change: only the statistics eval mode uses.
One JSON line per run::

    python -m benchmarks.spherical_mnist.recalibrate RUN_DIR [RUN_DIR ...] --data-root ../shared/data --out FILE
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .._files import append_line
from .._report import load_records
from .._training import RESULTS_FILE, run_name, test_error
from .cli import _data_key
from .data import load_spherical_mnist
from .models import build_atlas, build_model, data_atlas
from .train import config_of

__all__ = ["recalibrate", "main"]


def _norms(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if getattr(m, "running_mean", None) is not None]


@torch.no_grad()
def recalibrate(model: torch.nn.Module, images: torch.Tensor, batch_size: int, batches: int) -> None:
    """Replace every batch norm's running statistics by their plain average over ``batches`` batches of ``images``."""
    norms = _norms(model)
    for m in norms:
        m.running_mean.zero_()
        m.running_var.zero_()
    model.train()
    for i in range(batches):
        for m in norms:
            m.momentum = 1.0 / (i + 1)  # the running value becomes the mean over the batches so far
        model(images[i * batch_size : (i + 1) * batch_size])
    for m in norms:
        m.momentum = 0.1
    model.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.spherical_mnist.recalibrate", description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, nargs="+", help="results folders of finished runs (results.jsonl and models/)")
    p.add_argument("--batches", type=int, default=100, help="training batches the statistics are averaged over")
    p.add_argument("--data-root", type=Path, default=None, help="a folder with MNIST/raw/*.gz")
    p.add_argument("--cache-dir", type=Path, default=None, help="where the generated spherical MNIST arrays live")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    p.add_argument("--out", type=Path, required=True, help="JSON lines file the results are appended to")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    done = {(r["dir"], r["model"], r["train_mode"], r["seed"]) for r in load_records([args.out])} if args.out.exists() else set()
    for folder in args.runs:
        for record in load_records([folder / RESULTS_FILE]):
            key = (str(folder), record["model"], record["train_mode"], record["seed"])
            if key in done:
                continue
            config = config_of(record)
            name, mode = record["model"], record["train_mode"]
            data = load_spherical_mnist(
                data_atlas(name, config.quick_grids),
                _data_key(name, config.quick_grids),
                args.cache_dir,
                args.data_root,
                config.train_size,
                config.data_seed,
                config.rotation_chunk,
                log=lambda *a: None,
            )
            model = build_model(name, build_atlas(name, config.quick_grids))
            model.load_state_dict(torch.load(folder / "models" / f"{run_name(name, mode, record['seed'], config)}.pt"))
            n = config.test_size
            test_images, labels = data["test"].sets[mode][:n], data["test"].labels[:n]
            before = 100 - test_error(model, test_images, labels, torch.device("cpu"))
            recalibrate(model, data["train"].sets[mode][: config.train_size], config.batch_size, args.batches)
            after = 100 - test_error(model, test_images, labels, torch.device("cpu"))
            line = {
                "run": run_name(name, mode, record["seed"], config),
                "dir": str(folder),
                "model": name,
                "train_mode": mode,
                "seed": record["seed"],
                "recorded_accuracy": round(100 - record[f"test_error_{mode}"], 2),
                "running_statistics": round(before, 2),
                "recalibrated": round(after, 2),
                "batches": args.batches,
                "batch_size": config.batch_size,
            }
            append_line(args.out, line)
            print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
