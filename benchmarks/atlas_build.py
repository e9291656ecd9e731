"""``python -m benchmarks.atlas_build``: how long building an atlas and its index maps takes.

For the icosahedral sphere at each resolution: the atlas itself (gluings, derived
transitions), its transport-padding maps for 3 x 3 and 5 x 5 kernels, a GaugeConv bound to
it, and the FieldMaps of its 60 rotations. Everything is built from scratch in every round
(``gaugecnn.clear_caches()`` first: equal atlases otherwise share what was built); the figures
are medians of interleaved rounds in one process.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from gaugecnn import FieldType, clear_caches
from gaugecnn.nn import GaugeConv
from manifolds import IcoSphere

from ._docs import replace_blocks
from ._files import atomic_write_text

STEPS = ("atlas", "padding k=3", "padding k=5", "GaugeConv k=3", "60 rotations")


def build(r: int) -> dict[str, float]:
    """Seconds per step of building IcoSphere(r) and its maps, each step on top of the previous ones."""
    times = {}
    clear_caches()
    start = time.perf_counter()
    atlas = IcoSphere(r)
    times["atlas"] = time.perf_counter() - start
    for k in (3, 5):
        start = time.perf_counter()
        atlas.padding_map(k // 2)
        times[f"padding k={k}"] = time.perf_counter() - start
    start = time.perf_counter()
    GaugeConv(atlas, FieldType(atlas.group, "1 trivial"), FieldType(atlas.group, "4 regular"), 3)
    times["GaugeConv k=3"] = time.perf_counter() - start
    start = time.perf_counter()
    for iso in atlas.isometries():
        iso.field_map(atlas)
    times["60 rotations"] = time.perf_counter() - start
    return times


COMMAND = "python -m benchmarks.atlas_build --table FILE --update-docs"
DATA = Path(__file__).resolve().parent / "results" / "atlas_build.json"
DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def table(data: dict) -> str:
    """Markdown: median seconds per step and resolution, with the machine it ran on."""
    lines = [
        f"Median of {data['rounds']} rounds, seconds; {data['device']}, {data['threads']} threads, torch {data['torch']}.",
        "",
        "| r | pixels | " + " | ".join(STEPS) + " | total |",
        "|---|---|" + "---|" * (len(STEPS) + 1),
    ]
    for r, row in sorted(data["results"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {r} | {10 * 4 ** int(r)} | " + " | ".join(f"{row[s]:.3f}" for s in STEPS) + f" | {row['total']:.3f} |")
    return "\n".join(lines)


def measure(resolutions: list[int], rounds: int) -> dict:
    samples: dict[int, list[dict[str, float]]] = {r: [] for r in resolutions}
    for _ in range(rounds):  # interleaved: every resolution once per round
        for r in resolutions:
            samples[r].append(build(r))
    results = {}
    for r in resolutions:
        medians = {step: statistics.median(s[step] for s in samples[r]) for step in STEPS}
        results[str(r)] = {**medians, "total": statistics.median(sum(s.values()) for s in samples[r])}
    return {
        "device": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "rounds": rounds,
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.atlas_build", description=__doc__.splitlines()[0])
    p.add_argument("--resolutions", default="2,3,4,5", help="comma-separated r")
    p.add_argument("--rounds", type=int, default=3, help="rounds per resolution (median)")
    p.add_argument("--out", type=Path, default=None, help="write the measurement as JSON (e.g. benchmarks/results/atlas_build.json)")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="measure nothing: print the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/performance.md")
    args = p.parse_args(argv)
    if args.update_docs and args.table is None:
        raise SystemExit("--update-docs needs the file to generate from: --table FILE --update-docs")
    if args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        data = measure([int(r) for r in args.resolutions.split(",")], args.rounds)
        if args.out:
            atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(table(data))
    if args.update_docs:
        atomic_write_text(DOC, replace_blocks(DOC.read_text(), {"icosphere-build": table(data)}, COMMAND))
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
