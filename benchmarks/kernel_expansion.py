"""``python -m benchmarks.kernel_expansion``: a convolution's training step with the fast kernel expansion and with the einsum.

``GaugeConv`` expands its kernel from the free parameters in every training step. The fast path
is a precomputed linear map (one gather, or one gather and one scatter-add); the reference is
one einsum per pair of representations, which was the only route for the band-limited bases
and for irreps on the hexagonal lattice before the fast path covered every basis. Both run
here on the same layer in one process, interleaved, for several rounds; the table gives median
milliseconds of a training step (forward, loss, backward) and of the expansion alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from gaugecnn import FieldType
from gaugecnn.nn import GaugeConv
from manifolds import CubeSphere, IcoSphere, MobiusStrip

from ._docs import replace_blocks
from ._files import atomic_write_text

COMMAND = "python -m benchmarks.kernel_expansion --table FILE --update-docs"
DATA = Path(__file__).resolve().parent / "results" / "kernel_expansion.json"
DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def layers() -> dict[str, tuple[GaugeConv, int]]:
    """The convolutions timed, by name, with the batch size of their step."""
    cube, ico, strip = CubeSphere(16), IcoSphere(4), MobiusStrip(28, 28)
    c4 = cube.group
    hexagonal = FieldType(ico.group, "4 irrep(1) + 4 irrep(2) + 4 tangent + 4 trivial")
    return {
        "band-limited, cube C4, 16 regular -> 16 regular, k=5": (
            GaugeConv(cube, FieldType(c4, "16 regular"), FieldType(c4, "16 regular"), 5, basis="bandlimited"),
            8,
        ),
        "hexagonal irreps, icosphere C6 r=4, k=3": (GaugeConv(ico, hexagonal, hexagonal, 3), 8),
        "lattice basis (±1), Möbius regular 16 -> 16, k=5": (
            GaugeConv(strip, FieldType(strip.group, "16 regular"), FieldType(strip.group, "16 regular"), 5),
            16,
        ),
    }


def _step(conv: GaugeConv, x: torch.Tensor, reference: bool) -> tuple[float, float]:
    """Seconds of one training step and of the kernel expansion alone."""
    expand = conv.expand_weight_reference if reference else conv.expand_weight
    conv.zero_grad(set_to_none=True)
    start = time.perf_counter()
    weight = expand()
    expansion = time.perf_counter() - start
    start = time.perf_counter()
    original = conv.expand_weight
    conv.expand_weight = expand  # type: ignore[method-assign]
    try:
        conv(x).square().mean().backward()
    finally:
        conv.expand_weight = original  # type: ignore[method-assign]
    del weight
    return time.perf_counter() - start, expansion


def measure(rounds: int, repeats: int) -> dict:
    results = {}
    samples: dict[str, dict[str, list[float]]] = {}
    built = layers()
    inputs = {name: torch.randn(batch, conv.in_type.size, *conv.atlas.shape) for name, (conv, batch) in built.items()}
    for name, (conv, _) in built.items():  # warm up both paths
        for reference in (False, True):
            _step(conv, inputs[name], reference)
        samples[name] = {"fast_step": [], "reference_step": [], "fast_expand": [], "reference_expand": []}
    for _ in range(rounds):  # interleaved: every layer and path once per round
        for name, (conv, _) in built.items():
            for path, reference in (("fast", False), ("reference", True)):
                runs = [_step(conv, inputs[name], reference) for _ in range(repeats)]
                samples[name][f"{path}_step"].append(statistics.median(r[0] for r in runs))
                samples[name][f"{path}_expand"].append(statistics.median(r[1] for r in runs))
    for name, s in samples.items():
        results[name] = {k: 1e3 * statistics.median(v) for k, v in s.items()}
    return {
        "device": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "rounds": rounds,
        "results": results,
    }


def table(data: dict) -> str:
    """Markdown: median milliseconds per step and per expansion, both paths, with the machine."""
    lines = [
        f"Median of {data['rounds']} interleaved rounds, milliseconds; {data['device']}, {data['threads']} threads, torch {data['torch']}.",
        "",
        "| convolution | training step: einsum | fast | expansion: einsum | fast |",
        "|---|---|---|---|---|",
    ]
    for name, r in data["results"].items():
        lines.append(
            f"| {name} | {r['reference_step']:.1f} | {r['fast_step']:.1f} | {r['reference_expand']:.2f} | {r['fast_expand']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.kernel_expansion", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median)")
    p.add_argument("--repeats", type=int, default=3, help="steps per layer and path in a round (median)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--out", type=Path, default=None, help="write the measurement as JSON (e.g. benchmarks/results/kernel_expansion.json)")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="measure nothing: print the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/performance.md")
    args = p.parse_args(argv)
    if args.update_docs and args.table is None:
        raise SystemExit("--update-docs needs the file to generate from: --table FILE --update-docs")
    for name in ("rounds", "repeats"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.threads is not None:
        if args.threads < 1:
            raise SystemExit(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        data = measure(args.rounds, args.repeats)
        if args.out:
            atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(table(data))
    if args.update_docs:
        atomic_write_text(DOC, replace_blocks(DOC.read_text(), {"kernel-expansion": table(data)}, COMMAND))
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
