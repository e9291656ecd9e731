"""The pictures in docs/img: Möbius MNIST on the strip, transport padding, learned kernels, the cube sphere, results.

    python -m benchmarks.figures [--out DIR] [--quick] [--data-root DIR] [--weights PATH]

Manifold-specific drawing lives here (the Möbius strip and the cube as embedded surfaces);
the generic plotting is ``gaugecnn.viz``. Needs matplotlib: ``pip install -e ".[viz]"``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from gaugecnn import FieldType, trivial
from gaugecnn.viz import Embedding, _pyplot, plot_embedded_field, plot_kernels, plot_surface_field, plot_transport_padding
from manifolds import CubeRotation, CubeSphere, IcoSphere, MeshSurface, MobiusStrip, quad_grid_mesh

from ._files import atomic_write
from .mobius_mnist.data import load_mobius_mnist
from .mobius_mnist.models import build_model
from .mobius_mnist.report import RESULTS_DATA, chart_source, load_records, paper_records, plot_results

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "cube_embeddings",
    "cube_pixel_centres",
    "main",
    "mobius_embedding",
    "plot_cube_field",
    "plot_mobius_field",
]

FIGURES = {
    "mobius_digit.png": "a Möbius MNIST digit on the chart and on the strip, the cut marked",
    "mobius_digit_shifted.png": "the same digit shifted along the strip past the cut: it comes back reflected",
    "mobius_padding.png": "transport padding of a 6 x 8 Möbius strip chart by 2 pixels",
    "cube_padding.png": "transport padding of one face of a 4 x 4 cube sphere by 1 pixel",
    "kernels.png": "learned steerable kernels of the first two layers of the gauge_regular model",
    "cube_field.png": "a scalar field on the cube sphere, and the same field after a rotation of the cube",
    "icosphere_field.png": "the ten charts of the icosahedral sphere with its cone points, a field, and the field rotated",
    "mesh_field.png": "a field on a torus given as a quad mesh, and the field moved by one of the mesh's symmetries",
    "block_centres.png": "stride 2 on a cell chart: every other pixel is moved off the grid by a half turn, block centres are not",
    "results.png": "Möbius MNIST test error per model and train mode beside the paper's",
}

DIGIT_INDEX = 0  # the first MNIST test digit, a 7: not symmetric, so its reflection shows
SHIFT_PAST_CUT = 14  # half the strip's length: the centred digit straddles the cut
_FLIP_TO_IRREPS = {"regular": np.array([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2)}  # regular = trivial ⊕ sign


# -- the Möbius strip ---------------------------------------------------------------------------------------


def mobius_embedding(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chart coordinates (``s``: across the width, ``t``: along the length, both in [0, 1]) to 3D.

    The standard strip: ``u = 2π t`` along the length, ``v = 1 - 2 s`` across it (row 0 at
    ``v = 1``), ``x = (1 + v/2 cos(u/2)) cos u``, ``y = (1 + v/2 cos(u/2)) sin u``, ``z = v/2 sin(u/2)``.
    At ``u = 2π`` the point ``v`` meets the point ``-v`` of ``u = 0``: the chart's ends glued reversed.
    """
    u, v = 2 * np.pi * np.asarray(t), 1 - 2 * np.asarray(s)
    radius = 1 + v / 2 * np.cos(u / 2)
    return radius * np.cos(u), radius * np.sin(u), v / 2 * np.sin(u / 2)


def plot_mobius_field(
    field,
    ax: Axes | None = None,
    cut: bool = True,
    *,
    cmap: str = "Blues",
    view: tuple[float, float] = (20.0, 180.0),
    zoom: float = 1.0,
) -> Figure:
    """A scalar field ``(width, length)`` painted on the Möbius strip in 3D, the cut marked by a red line.

    The strip's length is 2π times its width: a square chart such as Möbius MNIST's appears
    stretched along the strip.
    """
    field = field.detach().cpu().numpy() if isinstance(field, torch.Tensor) else np.asarray(field)
    curves = []
    if cut:
        s = np.linspace(0, 1, 30)
        curves.append(np.stack(mobius_embedding(s, np.zeros_like(s)), axis=1))
    return plot_surface_field(
        field, mobius_embedding, ax=ax, cmap=cmap, subdivide=3, curves=curves, view=view, zoom=zoom, curve_style={"linewidth": 2}
    )


def _plot_chart(ax: Axes, field: np.ndarray, cmap: str, title: str) -> None:
    """The flat chart with its two ends marked as the cut, glued reversed (arrows in opposite directions)."""
    width, length = field.shape
    ax.imshow(field, cmap=cmap, extent=(-0.5, length - 0.5, width - 0.5, -0.5))
    for x, direction in ((-0.5, 1), (length - 0.5, -1)):
        ax.plot([x, x], [-0.5, width - 0.5], color="crimson", linewidth=3, clip_on=False)
        start, end = (0.15 * width, 0.85 * width)[::direction]
        ax.annotate(
            "",
            xy=(x, end),
            xytext=(x, start),
            annotation_clip=False,
            arrowprops={"arrowstyle": "-|>", "color": "crimson", "linewidth": 1.5, "mutation_scale": 14},
        )
    ax.set_xlabel("length (columns)", fontsize=9)
    ax.set_ylabel("width (rows)", fontsize=9)
    ax.set_xticks([0, length - 1])
    ax.set_yticks([0, width - 1])
    ax.set_title(title, fontsize=10)


def _digit_figure(field: torch.Tensor, title: str, chart_title: str, strip_title: str, view: tuple[float, float]) -> Figure:
    plt = _pyplot()
    fig = plt.figure(figsize=(10, 4.4))
    chart_ax = fig.add_axes((0.06, 0.12, 0.3, 0.7))
    strip_ax = fig.add_axes((0.38, -0.06, 0.62, 1.0), projection="3d")
    _plot_chart(chart_ax, field.numpy(), "Blues", chart_title)
    plot_mobius_field(field, ax=strip_ax, view=view, zoom=1.2)
    fig.text(0.69, 0.86, strip_title, ha="center", fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


# -- the cube sphere -------------------------------------------------------------------------------------------


def cube_embeddings(atlas: CubeSphere) -> list[Embedding]:
    """One embedding ``(s, t) -> point on the cube [-1, 1]^3`` per face, in the atlas's chart order."""

    def face(name: str):
        normal, rows, cols = CubeSphere.face_frames()[name]

        def embed(s, t):
            point = normal[:, None, None] + rows[:, None, None] * (2 * s - 1) + cols[:, None, None] * (2 * t - 1)
            return point[0], point[1], point[2]

        return embed

    return [face(name) for name in atlas.charts]


def cube_pixel_centres(atlas: CubeSphere) -> np.ndarray:
    """``(6, n, n, 3)``: the point on the cube of every pixel centre."""
    n = atlas.chart_shape[0]
    centres = (np.arange(n) + 0.5) / n
    s, t = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([np.stack(embed(s, t), axis=-1) for embed in cube_embeddings(atlas)])


def plot_cube_field(
    cube_field,
    atlas: CubeSphere,
    ax: Axes | None = None,
    *,
    cmap: str = "Reds",
    view: tuple[float, float] = (25.0, 35.0),
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """A scalar field ``(6, n, n)`` on the faces of a CubeSphere, painted on the cube in 3D."""
    field = cube_field.detach().cpu().numpy() if isinstance(cube_field, torch.Tensor) else np.asarray(cube_field)
    if field.shape != atlas.shape:
        raise ValueError(f"a field on {atlas!r} has shape {atlas.shape}, got {field.shape}")
    fig = plot_surface_field(list(field), cube_embeddings(atlas), ax=ax, cmap=cmap, view=view, vmin=vmin, vmax=vmax)
    return fig


def _cube_example(n: int = 24) -> tuple[CubeSphere, torch.Tensor]:
    """A field on the cube sphere: a round bump across a vertex and a band around a great circle."""
    atlas = CubeSphere(n)
    p = cube_pixel_centres(atlas)
    direction = p / np.linalg.norm(p, axis=-1, keepdims=True)
    bump_at = np.array([0.9, 0.35, 0.6]) / np.linalg.norm([0.9, 0.35, 0.6])
    band_normal = np.array([0.0, 1.0, 1.0]) / math.sqrt(2)
    bump = np.exp(-np.sum((direction - bump_at) ** 2, axis=-1) / 0.08)
    band = 0.6 * np.exp(-((direction @ band_normal) ** 2) / 0.01)
    return atlas, torch.from_numpy(np.maximum(bump, band))


def _icosphere_figure(r: int = 4) -> Figure:
    """The ten charts of an IcoSphere with its cone points, a field on it, and that field rotated."""
    plt = _pyplot()
    atlas = IcoSphere(r)
    direction = atlas.embedding()
    bump_at = np.array([0.6, -0.5, 0.62]) / np.linalg.norm([0.6, -0.5, 0.62])
    band_normal = np.array([0.3, 0.2, 1.0]) / np.linalg.norm([0.3, 0.2, 1.0])
    field = np.maximum(np.exp(-np.sum((direction - bump_at) ** 2, axis=-1) / 0.08), 0.6 * np.exp(-((direction @ band_normal) ** 2) / 0.01))
    scalar = FieldType(atlas.group, [trivial(atlas.group)])
    rotation = atlas.isometries()[7]
    turned = rotation.field_map(atlas).apply(torch.from_numpy(field)[None, None], scalar)[0, 0]
    charts = np.broadcast_to(np.arange(atlas.num_charts)[:, None, None], atlas.shape)
    fig = plt.figure(figsize=(11, 4))
    view = (20.0, -50.0)
    for k, (f, cmap, title) in enumerate(
        (
            (
                charts,
                "tab10",
                f"IcoSphere({r}): ten charts of {atlas.chart_shape[0]} x {atlas.chart_shape[1]} vertices,\n"
                "the cone pixels in red (the two poles are no pixels)",
            ),
            (field, "viridis", "a field on it"),
            (turned.numpy(), "viridis", "after a rotation of the icosahedron\n(RigidMotion, an exact pixel permutation)"),
        )
    ):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        plot_embedded_field(
            f,
            atlas,
            ax=ax,
            cmap=cmap,
            view=view,
            marks=atlas.cone_pixels if k == 0 else None,
            vmin=None if k == 0 else 0.0,
            vmax=None if k == 0 else 1.0,
        )
        ax.set_title(title, fontsize=9.5)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.88, wspace=0)
    return fig


def _block_centres_figure(n: int = 8) -> Figure:
    """Stride 2 on an ``n x n`` cell chart: every other pixel against the centres of 2 x 2 blocks, under the half turn."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2))

    def grid(ax, title: str) -> None:
        for k in range(n + 1):
            ax.plot([0, n], [k, k], color="0.8", lw=0.8)
            ax.plot([k, k], [0, n], color="0.8", lw=0.8)
        ax.set_xlim(-0.3, n + 0.3)
        ax.set_ylim(n + 0.3, -0.3)  # row 0 at the top, as a chart is printed
        ax.set_aspect("equal")
        ax.set_xticks(np.arange(n) + 0.5, [str(j) for j in range(n)], fontsize=8)
        ax.set_yticks(np.arange(n) + 0.5, [str(i) for i in range(n)], fontsize=8)
        ax.set_title(title, fontsize=10)

    # left: sampling pixels 0, 2, 4, ... (a stride-2 odd kernel); the chart's half turn sends them to 1, 3, 5, ...
    ax = axes[0]
    grid(ax, "odd kernel, stride 2: pixels 0, 2, 4, ... (blue)\nthe chart's half turn sends them to 1, 3, 5, ... (red)")
    even = np.arange(0, n, 2) + 0.5
    ii, jj = np.meshgrid(even, even, indexing="ij")
    ax.scatter(jj, ii, s=60, color="tab:blue", zorder=3)
    ax.scatter(n - jj, n - ii, s=60, color="tab:red", marker="x", zorder=3)
    ax.add_patch(plt.Rectangle((1, 1), 3, 3, fill=True, alpha=0.15, color="tab:blue", lw=0))
    ax.text(2.5, 4.35, "3 x 3 kernel at pixel (2, 2)", ha="center", fontsize=8, color="tab:blue")

    # right: the centres of 2 x 2 blocks, invariant under every symmetry of the chart; a 4 x 4 kernel around one
    ax = axes[1]
    grid(ax, "even kernel, stride 2: 2 x 2 block centres (blue)\nmapped onto each other by every chart symmetry")
    for k in range(0, n + 1, 2):
        ax.plot([0, n], [k, k], color="0.35", lw=1.2)
        ax.plot([k, k], [0, n], color="0.35", lw=1.2)
    centres = np.arange(1, n, 2)
    ii, jj = np.meshgrid(centres, centres, indexing="ij")
    ax.scatter(jj, ii, s=60, color="tab:blue", zorder=3)
    ax.add_patch(plt.Rectangle((2, 2), 4, 4, fill=True, alpha=0.15, color="tab:blue", lw=0))
    ax.text(4, 6.45, "4 x 4 kernel around a block centre: offsets ±1/2, ±3/2", ha="center", fontsize=8, color="tab:blue")
    ax.add_patch(plt.Rectangle((0, 0), 2, 2, fill=True, alpha=0.12, color="tab:green", lw=0))
    ax.text(1, 2.45, "2 x 2 kernel", ha="center", fontsize=8, color="tab:green")
    fig.suptitle(f"Stride 2 on an {n} x {n} cell chart: the coarse chart's pixels are the block centres", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def _mesh_figure() -> Figure:
    """A torus as a 6 x 12 quad mesh: its charts, a field from data on its vertices, and the field moved by a symmetry."""
    plt = _pyplot()
    points, faces = quad_grid_mesh(6, 12, closed_rows=True, closed_cols=True)
    torus = MeshSurface(points, faces, 6)
    height = np.exp(-np.sum((points - points[8]) ** 2, axis=-1) / 1.5) + 0.5 * (points[:, 2] > 0.5)
    field = torus.vertex_to_field(height)
    symmetry = torus.isometries()[5]
    scalar = FieldType(torus.group, [trivial(torus.group)])
    moved = symmetry.field_map(torus).apply(torch.from_numpy(field)[None, None], scalar)[0, 0].numpy()
    charts = np.broadcast_to((np.arange(torus.num_charts) % 10)[:, None, None], torus.shape)
    fig = plt.figure(figsize=(11, 3.8))
    for k, (f, cmap, title) in enumerate(
        (
            (charts, "tab10", f"MeshSurface: a torus of {len(faces)} quads,\none {torus.n} x {torus.n} chart each"),
            (field, "viridis", "data on the mesh's vertices as a field\n(vertex_to_field)"),
            (moved, "viridis", f"moved by {symmetry.name} of {len(torus.isometries())}\n(an exact pixel permutation)"),
        )
    ):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        plot_embedded_field(f, torus, ax=ax, cmap=cmap, view=(40.0, -60.0), zoom=1.6, surface="grid")
        ax.set_title(title, fontsize=9.5)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.88, wspace=0)
    return fig


# -- results ------------------------------------------------------------------------------------------------------


def _synthetic_digits(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Digit-like strokes (a 7 and its variants) for when there is no MNIST: ``(n, 1, 28, 28)`` in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    images = []
    for _ in range(n):
        top, left, right = 6 + 2 * torch.rand((), generator=generator), 8.0, 19 + 2 * torch.rand((), generator=generator)
        bar = torch.exp(-((yy - top) ** 2) / 2) * ((xx > left) & (xx < right))
        # the diagonal stroke from the bar's right end down to the bottom left
        along = (yy - top) / 16
        diagonal = torch.exp(-((xx - (right - along * 8)) ** 2) / 2) * ((yy > top) & (yy < top + 16))
        images.append(torch.clamp(bar + diagonal, 0, 1))
    return torch.stack(images).unsqueeze(1), torch.full((n,), 7)


def _digits(args) -> tuple[dict | None, str]:
    """Möbius MNIST (or synthetic digits with --synthetic, or with --quick and no MNIST) and words saying which."""
    if args.synthetic:
        return None, "synthetic"
    train_size = 384 if args.quick else 12000
    try:
        return load_mobius_mnist(args.cache_dir, args.data_root, train_size, log=lambda m: print(m)), "MNIST"
    except (RuntimeError, FileNotFoundError) as error:
        if not args.quick:
            raise SystemExit(f"cannot load MNIST ({error}); pass --data-root DIR (a folder with MNIST/raw/*.gz)") from error
        print(f"no MNIST ({error}); --quick: using synthetic digit-like strokes")
        return None, "synthetic"


def _default_weights() -> Path | None:
    found = sorted(Path("results/full/models").glob("gauge_regular_*.pt"), key=lambda p: ("shifted" not in p.name, p.name))
    return found[0] if found else None


def _gauge_regular(args, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.nn.Module, str]:
    """The gauge_regular model: trained weights from --weights (or results/full/models), else trained briefly here."""
    torch.manual_seed(0)
    model = build_model("gauge_regular", MobiusStrip(28, 28))
    weights = args.weights or _default_weights()
    if weights is not None:
        try:
            model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        except Exception as error:  # truncated, corrupt, or another model's weights
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if args.weights:
                raise SystemExit(
                    f"error: could not read gauge_regular weights from {weights} ({reason}); "
                    "pass another --weights, or none to train briefly"
                ) from None
            print(f"kernels: skipping unreadable weights {weights} ({reason})")
            torch.manual_seed(0)
            model = build_model("gauge_regular", MobiusStrip(28, 28))
        else:
            print(f"kernels: weights from {weights}")
            return model, f"trained weights {Path(weights).name}"
    steps = args.steps if args.steps is not None else (4 if args.quick else 60)
    print(f"kernels: no gauge_regular weights found; training gauge_regular for {steps} steps (batch 64)")
    torch.set_flush_denormal(True)  # denormals slow CPU training down several times
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(len(labels), (64,), generator=generator)
        loss = F.cross_entropy(model(images[idx]), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.set_flush_denormal(False)
    print(f"  {steps} steps in {time.perf_counter() - start:.0f} s, last loss {loss.item():.3f}")
    return model.eval(), f"no full-run weights: briefly trained here, {steps} Adam steps of batch 64"


# -- the figures ---------------------------------------------------------------------------------------------------


def _save(fig: Figure, path: Path, dpi: int = 100) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=Path(path).suffix[1:], dpi=dpi, bbox_inches="tight", pad_inches=0.1))
    _pyplot().close(fig)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.figures", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/img"), help="folder for the PNGs (default docs/img)")
    p.add_argument(
        "--quick", action="store_true", help="fast: 384 training digits, 4 training steps when no weights, synthetic digits when no MNIST"
    )
    p.add_argument("--synthetic", action="store_true", help="use synthetic digit-like strokes instead of MNIST")
    p.add_argument("--data-root", type=Path, default=None, help="folder holding MNIST/raw/*.gz (torchvision layout)")
    p.add_argument("--cache-dir", type=Path, default=None, help="Möbius MNIST cache (default $GAUGECNN_CACHE or ~/.cache/gaugecnn)")
    p.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="state_dict of a trained gauge_regular model (default: results/full/models/gauge_regular_*.pt "
        "if present, else a brief training run)",
    )
    p.add_argument("--steps", type=int, default=None, help="training steps when there are no weights (default 60, --quick 4)")
    p.add_argument(
        "--results",
        type=Path,
        default=RESULTS_DATA,
        help="results file of the benchmark for results.png (default: the committed "
        "benchmarks/results/mobius_mnist.jsonl, as --table FILE --update-docs draws it)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plt = _pyplot()
    args.out.mkdir(parents=True, exist_ok=True)
    data, source = _digits(args)
    if data is not None:
        images, labels = data["train"].shifted, data["train"].labels
        digit, label = data["test"].centered[DIGIT_INDEX, 0], int(data["test"].labels[DIGIT_INDEX])
    else:
        images, labels = _synthetic_digits()
        digit, label = images[0, 0], 7

    # (a), (b): a digit on the strip, centred and shifted past the cut
    strip = MobiusStrip(28, 28)
    scalar = FieldType(strip.group, [trivial(strip.group)])
    shifted = strip.shift(SHIFT_PAST_CUT).field_map(strip).apply(digit[None, None], scalar)[0, 0]
    what = f"an MNIST test digit ({label})" if source == "MNIST" else "a synthetic digit-like pattern"
    _save(
        _digit_figure(
            digit,
            f"Möbius MNIST: {what} on the 28 x 28 Möbius strip",
            "the chart (red: the cut, its ends glued reversed)",
            "on the strip (red: the cut)",
            view=(20.0, 180.0),
        ),
        args.out / "mobius_digit.png",
    )
    _save(
        _digit_figure(
            shifted,
            f"The same digit shifted {SHIFT_PAST_CUT} pixels along the strip, past the cut",
            "the chart: the part past the cut comes back reflected",
            "on the strip: the same digit, moved",
            view=(50.0, 0.0),
        ),
        args.out / "mobius_digit_shifted.png",
    )

    # (c) transport padding, on the Möbius strip and on a face of the cube sphere
    for atlas, halo, name, words in (
        (MobiusStrip(6, 8), 2, "mobius_padding.png", "Möbius strip, one 6 x 8 chart"),
        (CubeSphere(4), 1, "cube_padding.png", "cube sphere, face +x of six 4 x 4 faces"),
    ):
        fig = plot_transport_padding(atlas, halo)
        fig.axes[0].set_title(f"{words}, padded by {halo}: halo pixel = ρ(g) · source pixel", fontsize=10)
        _save(fig, args.out / name)

    # (d) the learned kernels of the gauge_regular model, in the regular basis and split into trivial ⊕ sign
    model, provenance = _gauge_regular(args, images, labels)
    fig = plt.figure(figsize=(11, 6.6), layout="constrained")
    rows = fig.subfigures(2, 2, width_ratios=[2, 3])
    convs = {"layer 1": model[0], "layer 2": model[2]}
    for c, (name, conv) in enumerate(convs.items()):
        pairs = [(0, 0), (1, 0)]
        plot_kernels(
            conv, pairs, fig=rows[0, c], title=f"{name} ({conv.in_type} → {conv.out_type}): a regular field's 2 channels are mirror images"
        )
        plot_kernels(
            conv,
            pairs,
            fig=rows[1, c],
            bases=_FLIP_TO_IRREPS,
            title=f"{name}, regular = trivial ⊕ sign (channels 0, 1): symmetric / antisymmetric",
        )
    fig.suptitle(f"Steerable 5 x 5 kernels of gauge_regular ({provenance}); blue > 0 > red", fontsize=10)
    _save(fig, args.out / "kernels.png")

    # (e) a field on the cube sphere, seen from two sides, and after a quarter turn of the cube
    atlas, field = _cube_example()
    quarter_turn = CubeRotation(np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]))
    cube_scalar = FieldType(atlas.group, [trivial(atlas.group)])
    turned = quarter_turn.field_map(atlas).apply(field[None, None], cube_scalar)[0, 0]
    fig = plt.figure(figsize=(11, 4))
    for k, (f, view, title) in enumerate(
        (
            (field, (25.0, 35.0), "a field on the cube sphere"),
            (field, (-25.0, 215.0), "the same field from the opposite side"),
            (turned, (25.0, 35.0), "after a quarter turn about z (CubeRotation)"),
        )
    ):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        plot_cube_field(f, atlas, ax=ax, view=view, vmin=0.0, vmax=1.0)
        ax.set_title(title, fontsize=10)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=0.92, wspace=0)
    _save(fig, args.out / "cube_field.png")

    # (f) the icosahedral sphere: its ten charts, a field, the field after a rotation of the icosahedron
    _save(_icosphere_figure(), args.out / "icosphere_field.png")

    # (g) a field on a mesh, and the field moved by one of the mesh's symmetries
    _save(_mesh_figure(), args.out / "mesh_field.png")

    # (h) where a stride-2 convolution on a cell chart is exact
    _save(_block_centres_figure(), args.out / "block_centres.png")

    # (h) results beside the paper's
    exists = args.results.exists()
    records = paper_records(load_records([args.results])) if exists else []
    plot_results(records, args.out / "results.png", source=chart_source(args.results) if exists else None)
    print(f"wrote {args.out / 'results.png'} ({len(records)} records from {args.results})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
