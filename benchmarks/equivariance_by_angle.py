"""``python -m benchmarks.equivariance_by_angle``: how invariant a network is to rotations by any angle, gaugecnn beside escnn.

The same small network in both libraries -- a 7 x 7 convolution from one scalar field, ReLU,
two 5 x 5 convolutions each followed by ReLU, group pooling, the mean over the disc of radius
14 -- for C8 (8 regular fields), SO(2) and O(2) (4 copies each of the irreps of frequencies 0
to 3; for O(2) the trivial and the 2-dim ones), and C4 in gaugecnn alone (8 regular fields,
the group of the lattice). Kernels: gaugecnn's harmonic basis (the complete one for C4),
escnn's default; no biases; random weights from a fixed seed; float64.
Nonlinearities are ReLU on regular and trivial fields and norm-ReLU on the others (escnn:
``ReLU`` and ``NormNonLinearity("n_relu")``).

Inputs: the first 16 MNIST test digits padded to 29 x 29 (so that the rotation centre is a
pixel), rotated about it by 0, 5, ..., 90 degrees with one function for both libraries:
``torch.rot90`` at multiples of 90 degrees (exact), bilinear interpolation otherwise. The
error at an angle is the median over the digits of ``|y(R x) - y(x)| / |y(x)|`` for the
invariant output ``y``. At 90 degrees the rotation is an element of the lattice part, so
gaugecnn's error is rounding only.

escnn needs numpy < 2: measure it in an environment of its own and merge::

    python -m benchmarks.equivariance_by_angle --escnn-only --out escnn.json --data-root ../shared/data   # with escnn
    python -m benchmarks.equivariance_by_angle --escnn escnn.json --out FILE --data-root ../shared/data
    python -m benchmarks.equivariance_by_angle --table FILE --update-docs

with ``FILE`` the committed ``benchmarks/results/equivariance_by_angle.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from .rotated_mnist.data import rotate

__all__ = ["ANGLES", "MODELS", "rotate_images", "digits", "gaugecnn_errors", "escnn_errors", "table", "main"]

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "concepts.md"
COMMAND = "python -m benchmarks.equivariance_by_angle --table FILE --update-docs"
ANGLES = list(range(0, 91, 5))
MODELS = ("C4", "C8", "SO(2)", "O(2)")
SIZE, DIGITS, FREQUENCIES, COPIES, SEED = 29, 16, 3, 4, 0


def digits(data_root: Path | None, cache: Path | None = None) -> torch.Tensor:
    """``(16, 1, 29, 29)`` float64: the first MNIST test digits in [0, 1], padded to 29 x 29."""
    from ._mnist import default_cache_dir, load_mnist

    _, test = load_mnist(cache or default_cache_dir(), data_root)
    images = test.data[:DIGITS].to(torch.float64)[:, None] / 255.0
    return F.pad(images, (0, 1, 0, 1))


def rotate_images(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """Images rotated by ``degrees`` about the centre pixel: ``rot90`` at multiples of 90 (exact), else the bilinear
    rotation of the rotated MNIST data (``benchmarks.rotated_mnist.data.rotate``, the same sense)."""
    if degrees % 90 == 0:
        return torch.rot90(images, int(degrees // 90) % 4, dims=(-2, -1))
    return rotate(images, torch.full((len(images),), float(degrees))).to(images.dtype)


def _disc_mean(y: torch.Tensor) -> torch.Tensor:
    """The mean over the pixels within 14 of the centre: ``(batch, channels)``."""
    r = torch.arange(SIZE, dtype=y.dtype) - SIZE // 2
    disc = (r[:, None] ** 2 + r[None] ** 2) <= (SIZE // 2) ** 2
    return y[..., disc].mean(-1)


def _errors(model, images: torch.Tensor) -> dict[int, float]:
    with torch.no_grad():
        reference = model(images)
        out = {}
        for degrees in ANGLES:
            moved = model(rotate_images(images, degrees))
            relative = (moved - reference).norm(dim=1) / reference.norm(dim=1)
            out[degrees] = float(relative.median())
    return out


def _gaugecnn_model(name: str):
    from gaugecnn import FieldType, cyclic_group, irrep, o2_group, so2_group
    from gaugecnn import nn as gnn
    from manifolds import Plane

    group = {"C4": lambda: cyclic_group(4), "C8": lambda: cyclic_group(8), "SO(2)": so2_group, "O(2)": o2_group}[name]()
    plane = Plane(SIZE, group)
    if group.is_continuous:
        hidden = FieldType(group, [irrep(group, k) for k in range(FREQUENCIES + 1) for _ in range(COPIES)])
    else:
        hidden = FieldType(group, "8 regular")
    scalar = FieldType(group, "1 trivial")
    layers = gnn.GaugeSequential(
        gnn.GaugeConv(plane, scalar, hidden, 7, bias=False),
        gnn.ReLU(hidden),
        gnn.GaugeConv(plane, hidden, hidden, 5, bias=False),
        gnn.ReLU(hidden),
        gnn.GaugeConv(plane, hidden, hidden, 5, bias=False),
        gnn.ReLU(hidden),
        gnn.GroupPool(hidden),
    )

    def model(x: torch.Tensor) -> torch.Tensor:
        return _disc_mean(layers(x))

    for module in layers.modules():
        if hasattr(module, "norm_bias") and module.norm_bias is not None:
            torch.nn.init.zeros_(module.norm_bias)
    return layers.double(), model


def gaugecnn_errors(images: torch.Tensor) -> dict[str, dict[int, float]]:
    """``{model: {degrees: median relative error}}`` for gaugecnn's networks."""
    out = {}
    for name in MODELS:
        torch.manual_seed(SEED)
        _, model = _gaugecnn_model(name)
        out[name] = _errors(model, images)
    return out


class _SplitNonlinearity:
    """escnn: ReLU on the scalar fields (first in the type), norm-ReLU on the others."""

    def __init__(self, hidden):
        from escnn import nn as enn

        space = hidden.gspace
        self.hidden = hidden
        self.scalars = enn.FieldType(space, [r for r in hidden.representations if r.size == 1])
        self.vectors = enn.FieldType(space, [r for r in hidden.representations if r.size > 1])
        self.relu, self.norm = enn.ReLU(self.scalars), enn.NormNonLinearity(self.vectors, "n_relu", bias=False)

    def __call__(self, x):
        from escnn import nn as enn

        a, b = x.tensor[:, : self.scalars.size], x.tensor[:, self.scalars.size :]
        parts = [self.relu(enn.GeometricTensor(a, self.scalars)).tensor, self.norm(enn.GeometricTensor(b, self.vectors)).tensor]
        return enn.GeometricTensor(torch.cat(parts, 1), self.hidden)


def escnn_errors(images: torch.Tensor) -> dict[str, dict[int, float]]:
    """The same for escnn's (C8, SO(2), O(2)); run where escnn is installed."""
    from escnn import gspaces
    from escnn import nn as enn

    out = {}
    for name in ("C8", "SO(2)", "O(2)"):
        torch.manual_seed(SEED)
        space = {
            "C8": lambda: gspaces.rot2dOnR2(8),
            "SO(2)": lambda: gspaces.rot2dOnR2(-1, maximum_frequency=8),
            "O(2)": lambda: gspaces.flipRot2dOnR2(-1, maximum_frequency=8),
        }[name]()
        g = space.fibergroup
        scalar = enn.FieldType(space, [space.trivial_repr])
        if name == "C8":
            hidden = enn.FieldType(space, [space.regular_repr] * 8)
            nonlinearities: list = [enn.ReLU(hidden).double() for _ in range(3)]
            pool = enn.GroupPooling(hidden)
        else:
            irreps = (
                [g.irrep(k) for k in range(FREQUENCIES + 1)]
                if name == "SO(2)"
                else [g.irrep(0, 0)] + [g.irrep(1, k) for k in range(1, FREQUENCIES + 1)]
            )
            hidden = enn.FieldType(space, [r for r in irreps for _ in range(COPIES)])  # the trivial fields first
            nonlinearities = [_SplitNonlinearity(hidden) for _ in range(3)]
            pool = enn.NormPool(hidden)
        convs = [
            enn.R2Conv(scalar, hidden, 7, padding=3, bias=False).double().eval(),
            enn.R2Conv(hidden, hidden, 5, padding=2, bias=False).double().eval(),
            enn.R2Conv(hidden, hidden, 5, padding=2, bias=False).double().eval(),
        ]

        def model(x: torch.Tensor, convs=convs, nonlinearities=nonlinearities, pool=pool, scalar=scalar) -> torch.Tensor:
            y = enn.GeometricTensor(x, scalar)
            for conv, nonlinearity in zip(convs, nonlinearities):
                y = nonlinearity(conv(y))
            return _disc_mean(pool(y).tensor)

        out[name] = _errors(model, images)
    return out


def table(data: dict, every: int = 15) -> str:
    """Median relative error of the invariant output by angle, every ``every`` degrees."""
    columns = [(lib, name) for name in MODELS for lib in ("gaugecnn", "escnn") if name in data.get(lib, {})]
    head = "| degrees | " + " | ".join(f"{name} {lib}" for lib, name in columns) + " |"
    lines = [head, "|---:|" + "---:|" * len(columns)]
    for degrees in ANGLES:
        if degrees % every:
            continue
        cells = [f"{data[lib][name][str(degrees)]:.1e}" for lib, name in columns]
        lines.append(f"| {degrees} | " + " | ".join(cells) + " |")
    versions = ", ".join(f"{name} {v}" for name, v in data.get("versions", {}).items())
    return "\n".join(lines) + (f"\n\nfloat64; {versions}." if versions else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.equivariance_by_angle", description=__doc__.splitlines()[0])
    p.add_argument("--escnn-only", action="store_true", help="measure escnn's networks only (in an environment with escnn)")
    p.add_argument("--escnn", type=Path, default=None, metavar="FILE", help="escnn's errors from --escnn-only, merged in")
    p.add_argument("--data-root", type=Path, default=None, help="a folder with MNIST/raw/*.gz (else torchvision downloads)")
    p.add_argument("--out", type=Path, default=None, help="write the errors as JSON")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="measure nothing: the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/concepts.md")
    args = p.parse_args(argv)
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    torch.set_num_threads(1)
    if args.table is not None:
        data = json.loads(args.table.read_text())
    elif args.escnn_only:
        import escnn

        data = {"escnn": escnn_errors(digits(args.data_root)), "versions": {"escnn": escnn.__version__}}
    else:
        data = {"gaugecnn": gaugecnn_errors(digits(args.data_root)), "versions": {"torch": torch.__version__}}
        if args.escnn is not None:
            peer = json.loads(args.escnn.read_text())
            data["escnn"], data["versions"]["escnn"] = peer["escnn"], peer["versions"]["escnn"]
    data = json.loads(json.dumps(data))  # angles as strings, as in the file
    if args.out is not None:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(table(data, every=5))
    if args.update_docs:
        from ._docs import write_blocks

        print(f"updated {write_blocks(DOC, {'equivariance-by-angle': table(data)}, COMMAND)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
