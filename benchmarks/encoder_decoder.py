"""``python -m benchmarks.encoder_decoder``: a gauge ResNet block and U-Net, strided against pooled sampling.

Two ways down and up an atlas, in the same U-Net (two levels, residual blocks at every level,
skips concatenated, a scalar field in and out):

- ``strided``: a stride-2 ``GaugeConv`` down and a ``GaugeConvTranspose`` up. On a cell grid
  (the cube sphere) the kernels are even (4 x 4 on the half-integer offsets around each 2 x 2
  block's centre); on a vertex grid (the icosphere) odd (3 x 3, evaluated on the coarse
  vertices, which are fine vertices).
- ``pooled``: ``GaugePool`` then a 3 x 3 ``GaugeConv`` down, ``GaugeUpsample`` (nearest) then a
  3 x 3 ``GaugeConv`` up.

For each sphere and sampling the script reports parameters, the FLOPs of one forward and
backward pass per sample (convolutions and matrix products, as ``torch.utils.flop_counter``
counts them), the training step's time (batch 8, forward, backward, Adam; median of
interleaved rounds in one process) and the worst relative error of exact equivariance in float64
under every symmetry of the sphere and a random gauge transform. It prints figures and asserts
nothing; the tests check the models' equivariance on small spheres.

    python -m benchmarks.encoder_decoder --threads 1 --out benchmarks/results/encoder_decoder.json
    python -m benchmarks.encoder_decoder --table benchmarks/results/encoder_decoder.json --update-docs
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gaugecnn import FieldType, Manifold
from gaugecnn import nn as gnn
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant
from manifolds import CubeSphere, IcoSphere

from ._docs import write_blocks
from ._files import atomic_write_text
from ._report import timing_header, timing_record

__all__ = ["ResidualBlock", "GaugeUNet", "SAMPLINGS", "measure", "sphere", "table", "main"]

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "encoder_decoder.json"
DOC = ROOT / "docs" / "concepts.md"
COMMAND = "python -m benchmarks.encoder_decoder --table FILE --update-docs"
SAMPLINGS = ("strided", "pooled")


class ResidualBlock(nn.Module):
    """``ELU(x + conv(ELU(conv(x))))``: a gauge ResNet block on one atlas and one field type.

    A sum of equivariant maps is equivariant, and ELU acts pointwise on the permutation
    channels of regular fields, so the block is exactly equivariant whenever its convolutions are.
    """

    def __init__(self, atlas: Manifold, field_type: FieldType, kernel_size: int = 3):
        super().__init__()
        self.atlas, self.in_type, self.out_type = atlas, field_type, field_type
        self.body = gnn.GaugeSequential(
            gnn.GaugeConv(atlas, field_type, field_type, kernel_size),
            gnn.ELU(field_type),
            gnn.GaugeConv(atlas, field_type, field_type, kernel_size),
        )
        self.act = gnn.ELU(field_type)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class GaugeUNet(nn.Module):
    """A two-level U-Net of residual blocks, from a scalar field to a scalar field on the same atlas.

    Args:
        atlas: the fine atlas (coarsened twice inside; chart sides divisible by 4 on a cell grid).
        sampling: ``"strided"`` (stride-2 convolution down, transposed convolution up) or
            ``"pooled"`` (pooling then convolution down, nearest upsampling then convolution up).
        width: regular fields at the finest level, doubled per level down.
    """

    def __init__(self, atlas: Manifold, sampling: str = "strided", width: int = 2):
        super().__init__()
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        group = atlas.group
        scalar = FieldType(group, "1 trivial")
        types = [FieldType(group, f"{width * 2**level} regular") for level in range(3)]
        levels = [atlas, atlas.coarsened(), atlas.coarsened().coarsened()]
        self.in_type, self.out_type = scalar, scalar
        sampling_kernel = 3 if atlas.grid_kind == "vertices" else 4

        def down(level: int) -> nn.Module:
            fine, t_in, t_out = levels[level], types[level], types[level + 1]
            if sampling == "strided":
                conv = gnn.GaugeConv(fine, t_in, t_out, sampling_kernel, stride=2)
            else:
                conv = gnn.GaugeSequential(gnn.GaugePool(fine, t_in), gnn.GaugeConv(levels[level + 1], t_in, t_out, 3))
            return gnn.GaugeSequential(conv, gnn.ELU(t_out))

        def up(level: int) -> nn.Module:
            fine, t_in, t_out = levels[level], types[level + 1], types[level]
            if sampling == "strided":
                conv = gnn.GaugeConvTranspose(fine, t_in, t_out, sampling_kernel)
            else:
                conv = gnn.GaugeSequential(gnn.GaugeUpsample(fine, t_in), gnn.GaugeConv(fine, t_in, t_out, 3))
            return gnn.GaugeSequential(conv, gnn.ELU(t_out))

        self.stem = gnn.GaugeSequential(gnn.GaugeConv(atlas, scalar, types[0], 3), gnn.ELU(types[0]))
        self.encoder = nn.ModuleList([ResidualBlock(levels[level], types[level]) for level in range(2)])
        self.down = nn.ModuleList([down(level) for level in range(2)])
        self.bottom = ResidualBlock(levels[2], types[2])
        self.up = nn.ModuleList([up(level) for level in range(2)])
        self.merge = nn.ModuleList(
            [
                gnn.GaugeSequential(gnn.GaugeConv(levels[level], types[level] + types[level], types[level], 3), gnn.ELU(types[level]))
                for level in range(2)
            ]
        )
        self.head = gnn.GaugeConv(atlas, types[0], scalar, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        x = self.stem(x)
        for block, down in zip(self.encoder, self.down):
            x = block(x)
            skips.append(x)
            x = down(x)
        x = self.bottom(x)
        for level in (1, 0):
            x = self.merge[level](torch.cat([self.up[level](x), skips[level]], 1))
        return self.head(x)


def sphere(name: str, small: bool = False) -> Manifold:
    """``"cube"``: ``CubeSphere(24)`` (``small``: 8); ``"ico"``: ``IcoSphere(4)`` (``small``: 3) -- the spherical MNIST grids."""
    if name == "cube":
        return CubeSphere(8 if small else 24)
    if name == "ico":
        return IcoSphere(3 if small else 4)
    raise ValueError(f"sphere must be 'cube' or 'ico', got {name!r}")


def _flops_per_sample(model: nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with counter:
        model(x).square().mean().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / x.shape[0]


def _equivariance_error(model: nn.Module, atlas: Manifold) -> float:
    """Worst relative error, float64, over every isometry of the sphere and one random gauge transform."""
    model = model.double()
    errors = [
        assert_isometry_equivariant(model, atlas, atlas.isometries(), batch_size=1),
        assert_gauge_equivariant(model, atlas, batch_size=1),
    ]
    model.float()
    return max(errors)


def measure(spheres: list[str], rounds: int, steps: int, batch: int, small: bool = False) -> dict:
    built = {}
    for name in spheres:
        atlas = sphere(name, small)
        for sampling in SAMPLINGS:
            torch.manual_seed(0)
            model = GaugeUNet(atlas, sampling)
            x = torch.randn(batch, 1, *atlas.shape)
            built[(name, sampling)] = {
                "model": model,
                "optimizer": torch.optim.Adam(model.parameters(), 1e-3),
                "x": x,
                "target": torch.randn_like(x),
                "params": sum(p.numel() for p in model.parameters()),
                "gflops": _flops_per_sample(model, x) / 1e9,
                "error": _equivariance_error(model, atlas),
                "times": [],
            }

    def step(entry: dict) -> None:
        entry["optimizer"].zero_grad(set_to_none=True)
        (entry["model"](entry["x"]) - entry["target"]).square().mean().backward()
        entry["optimizer"].step()

    for entry in built.values():  # warm up
        step(entry)
    for _ in range(rounds):  # interleaved: every model once per round
        for entry in built.values():
            start = time.perf_counter()
            for _ in range(steps):
                step(entry)
            entry["times"].append((time.perf_counter() - start) / steps)
    results = {
        f"{name} {sampling}": {
            "sphere": repr(sphere(name, small)),
            "params": e["params"],
            "gflops_per_sample": round(e["gflops"], 4),
            "step_ms": round(1000 * statistics.median(e["times"]), 1),
            "max_relative_error": float(f"{e['error']:.2e}"),
        }
        for (name, sampling), e in built.items()
    }
    return timing_record(batch, rounds, steps, results)


def table(data: dict) -> str:
    lines = [
        f"{timing_header(data)} FLOPs: forward and backward of "
        "convolutions and matrix products per sample. Error: worst relative error, float64, over every "
        "symmetry of the sphere and a random gauge transform.",
        "",
        "| sphere | sampling | params | GFLOPs / sample | step ms | step / pooled | equivariance error |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, r in data["results"].items():
        name, sampling = key.split()
        pooled = data["results"][f"{name} pooled"]["step_ms"]
        lines.append(
            f"| {r['sphere']} | {sampling} | {r['params']} | {r['gflops_per_sample']:.3f} | {r['step_ms']:.1f} | "
            f"{r['step_ms'] / pooled:.2f} | {r['max_relative_error']:.1e} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.encoder_decoder", description=__doc__.splitlines()[0])
    p.add_argument("--spheres", default="cube,ico", help="comma-separated: cube, ico (default: both)")
    p.add_argument("--small", action="store_true", help="the small spheres (CubeSphere(8), IcoSphere(3)): a quick check")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median; default 5)")
    p.add_argument("--steps", type=int, default=3, help="training steps a model takes per round (default 3)")
    p.add_argument("--batch", type=int, default=8, help="batch size of the timed step (default 8)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.add_argument("--out", type=Path, default=None, help="write the measurement as JSON")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="measure nothing: the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/concepts.md")
    args = p.parse_args(argv)
    for name in ("rounds", "steps", "batch", "threads"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name} must be at least 1, got {getattr(args, name)}")
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    if args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        spheres = [s.strip() for s in args.spheres.split(",") if s.strip()]
        unknown = [s for s in spheres if s not in ("cube", "ico")]
        if unknown or not spheres:
            raise SystemExit(f"error: --spheres: unknown sphere(s) {', '.join(unknown) or '(none)'}; choose from cube, ico")
        torch.set_num_threads(args.threads)
        torch.set_flush_denormal(True)
        data = measure(spheres, args.rounds, args.steps, args.batch, args.small)
        if args.out is not None:
            atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(table(data))
    if args.update_docs:
        print(f"updated {write_blocks(DOC, {'encoder-decoder': table(data)}, COMMAND)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
