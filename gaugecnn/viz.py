"""Pictures of fields, transport padding and steerable kernels (needs matplotlib).

Every function returns a matplotlib ``Figure``. matplotlib is imported only when a function
is called, so that gaugecnn itself does not depend on it: ``pip install -e ".[viz]"``.

Nothing here knows a particular manifold. A surface is drawn from an *embedding* of each
chart, a function ``(s, t) -> (x, y, z)`` of the chart coordinates ``s`` (rows, 0 at the top
edge, 1 at the bottom edge) and ``t`` (columns, 0 at the left edge, 1 at the right edge);
the manifolds' own pictures live with the benchmarks (``benchmarks/figures.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from .atlas import Atlas
from .groups import StructureGroup
from .manifold import Manifold, Space, atlas_of

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from .nn.conv import GaugeConv

__all__ = ["element_label", "grid_triangles", "plot_embedded_field", "plot_kernels", "plot_surface_field", "plot_transport_padding"]

ArrayLike = np.ndarray | torch.Tensor
Embedding = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt  # falls back to the Agg backend where there is no display
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError('gaugecnn.viz needs matplotlib; install it with: pip install -e ".[viz]"  (or pip install matplotlib)') from error
    return plt


def _figure(ax: Any) -> Figure:
    """The figure an axes belongs to."""
    return cast("Figure", ax.get_figure())


def _numpy(field) -> np.ndarray:
    if isinstance(field, torch.Tensor):
        field = field.detach().cpu().double().numpy()
    return np.asarray(field, dtype=np.float64)


def element_label(group: StructureGroup, g: int) -> str:
    """A short name for a group element: ``e``, a rotation ``r90``, ``r180``, ..., or a reflection.

    On the square lattice the reflections are ``s`` (of the row axis, ``dy -> -dy``), ``s'``
    (column axis), ``d`` (main diagonal), ``d'`` (anti-diagonal); on other lattices ``m30``
    is the reflection across the line at 30 degrees to the column axis.

    Args:
        group: the structure group.
        g: the element's index.

    Examples:
        >>> from gaugecnn import dihedral_group
        >>> [element_label(dihedral_group(4), g) for g in range(8)]
        ['e', 'r90', 's', 'r180', 'd', "d'", 'r270', "s'"]
    """
    m = group.matrix(g)
    if np.array_equal(m, np.eye(2)):
        return "e"
    if group.det(g) > 0:
        return f"r{round(math.degrees(group.angle(g))) % 360}"
    if group.lattice.name == "square":
        return {(-1, 0): "s", (1, 0): "s'", (0, 1): "d", (0, -1): "d'"}[int(m[0, 0]), int(m[0, 1])]
    values, vectors = np.linalg.eigh(group.cartesian[g])
    mirror = vectors[:, int(np.argmax(values))]  # the fixed line
    return f"m{round(math.degrees(math.atan2(mirror[0], mirror[1]))) % 180}"


# -- fields on embedded surfaces ------------------------------------------------------------------------


def plot_surface_field(
    fields: ArrayLike | Sequence[ArrayLike],
    embeddings: Embedding | Sequence[Embedding],
    *,
    ax: Axes | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    subdivide: int = 1,
    curves: Sequence[np.ndarray] = (),
    curve_style: dict | None = None,
    view: tuple[float, float] = (30.0, -60.0),
    shade: bool = True,
    zoom: float = 1.0,
    colorbar: bool = False,
) -> Figure:
    """Paint scalar fields, one ``H x W`` array per chart, on the surfaces their charts are embedded as.

    Pixel ``(i, j)`` fills the patch ``s in [i/H, (i+1)/H], t in [j/W, (j+1)/W]`` of its chart's
    embedding, in one colour.

    Args:
        fields: one ``(H, W)`` array or tensor, or one per chart.
        embeddings: one embedding ``(s, t) -> (x, y, z)`` (see the module docstring), or one per chart.
        ax: a 3D axes to draw into; a new figure by default.
        cmap: a matplotlib colour map name.
        vmin: the value at the bottom of the colour scale; the field's minimum by default.
        vmax: the value at the top of the colour scale; the field's maximum by default.
        subdivide: split each pixel's patch into ``subdivide²`` facets, so curved surfaces look smooth.
        curves: ``(N, 3)`` polylines (seams, cuts), drawn on top of a single chart's surface
            (with several charts, matplotlib orders whole artists by depth).
        curve_style: matplotlib line options for the curves.
        view: ``(elevation, azimuth)`` in degrees.
        shade: darken facets turned away from the light, which shows the surface's shape.
        zoom: scale the equally scaled axes by this factor.
        colorbar: add a colour bar.
    """
    plt = _pyplot()
    single = not isinstance(embeddings, (list, tuple))
    arrays = [_numpy(fields)] if single else [_numpy(f) for f in cast(Sequence[ArrayLike], fields)]
    charts = [cast(Embedding, embeddings)] if single else list(cast(Sequence[Embedding], embeddings))
    if len(arrays) != len(charts):
        raise ValueError(f"{len(arrays)} fields but {len(charts)} embeddings: give one embedding per chart")
    if any(f.ndim != 2 for f in arrays):
        raise ValueError(f"each field must be a 2D array (H, W), got shapes {[f.shape for f in arrays]}")
    if ax is None:
        fig = plt.figure(figsize=(6, 5))
        ax = fig.add_subplot(projection="3d")
    ax3d: Any = ax  # matplotlib types axes as 2D; this one is 3D
    fig = _figure(ax)
    lo = min(f.min() for f in arrays) if vmin is None else vmin
    hi = max(f.max() for f in arrays) if vmax is None else vmax
    norm = plt.Normalize(lo, hi if hi > lo else lo + 1)
    colormap = plt.get_cmap(cmap)
    for field, embed in zip(arrays, charts):
        h, w = field.shape
        s, t = np.meshgrid(np.linspace(0, 1, h * subdivide + 1), np.linspace(0, 1, w * subdivide + 1), indexing="ij")
        x, y, z = (np.asarray(c, dtype=np.float64) for c in embed(s, t))
        colours = colormap(norm(np.repeat(np.repeat(field, subdivide, 0), subdivide, 1)))
        ax3d.plot_surface(x, y, z, facecolors=colours, rstride=1, cstride=1, shade=shade, linewidth=0, antialiased=False)
    if len(arrays) == 1:
        ax3d.computed_zorder = False  # one surface: its facets are depth-sorted, the curves go on top
    style = {"color": "crimson", "linewidth": 2.5, "zorder": 10} | (curve_style or {})
    for curve in curves:
        curve = np.asarray(curve)
        ax3d.plot(curve[:, 0], curve[:, 1], curve[:, 2], **style)
    ax3d.view_init(*view)
    limits = np.array([ax3d.get_xlim3d(), ax3d.get_ylim3d(), ax3d.get_zlim3d()])
    ax3d.set_box_aspect(limits[:, 1] - limits[:, 0], zoom=zoom)
    ax3d.set_axis_off()
    if colorbar:
        fig.colorbar(plt.cm.ScalarMappable(norm, colormap), ax=ax, shrink=0.6)
    return fig


def plot_embedded_field(
    field: ArrayLike,
    atlas: Manifold,
    *,
    ax: Axes | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    marks: ArrayLike | None = None,
    mark_style: dict | None = None,
    view: tuple[float, float] = (20.0, -60.0),
    zoom: float = 1.0,
    colorbar: bool = False,
    surface: str = "hull",
) -> Figure:
    """Paint a scalar field on an embedded surface from the 3D positions of its pixels.

    ``field`` has the atlas's spatial shape (``atlas.shape``); ``atlas.embedding()`` places the
    pixels, and each triangle between them takes the mean of its corners' values. The triangles
    are the convex hull of the points (``surface="hull"``: right for spheres and other convex
    surfaces, whatever the grid) or the atlas's own grid (``surface="grid"``: every square of
    neighbouring pixels, across chart edges through the transport padding, for any surface --
    a torus, a Möbius band, a bounded mesh).

    Args:
        field: an array or tensor of shape ``atlas.shape``.
        atlas: an atlas with an ``embedding()`` (the cube sphere, the icosphere, ...).
        ax: a 3D axes to draw into; a new figure by default.
        cmap: a matplotlib colour map name.
        vmin: the value at the bottom of the colour scale; the field's minimum by default.
        vmax: the value at the top of the colour scale; the field's maximum by default.
        marks: a boolean mask of pixels (shape ``atlas.shape``) to draw as dots on top, for
            instance ``atlas.cone_pixels``; only those facing the viewer are drawn.
        mark_style: matplotlib scatter options for the marks.
        view: ``(elevation, azimuth)`` in degrees.
        zoom: scale the axes by this factor.
        colorbar: add a colour bar.
        surface: ``"hull"`` or ``"grid"``, where the triangles come from (above).
    """
    from scipy.spatial import ConvexHull

    plt = _pyplot()
    values = _numpy(field).reshape(-1)
    points = np.asarray(atlas.embedding(), dtype=np.float64).reshape(-1, 3)
    if values.shape[0] != points.shape[0]:
        raise ValueError(f"field of {values.shape[0]} values for an atlas of {points.shape[0]} pixels; give a field of shape {atlas.shape}")
    if surface not in ("hull", "grid"):
        raise ValueError(f"surface must be 'hull' (convex surfaces) or 'grid' (any surface), got {surface!r}")
    triangles = ConvexHull(points).simplices if surface == "hull" else grid_triangles(atlas_of(atlas))
    if ax is None:
        fig = plt.figure(figsize=(6, 5))
        ax = fig.add_subplot(projection="3d")
    ax3d: Any = ax  # matplotlib types axes as 2D; this one is 3D
    fig = _figure(ax)
    lo = values.min() if vmin is None else vmin
    hi = values.max() if vmax is None else vmax
    norm = plt.Normalize(lo, hi if hi > lo else lo + 1)
    colormap = plt.get_cmap(cmap)
    drawn = ax3d.plot_trisurf(points[:, 0], points[:, 1], points[:, 2], triangles=triangles, linewidth=0, antialiased=False, shade=False)
    drawn.set_facecolor(colormap(norm(values[triangles].mean(axis=1))))
    if marks is not None:  # drawn on top, those on the side facing the viewer only
        elevation, azimuth = np.radians(view)
        towards = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
        chosen = points[np.asarray(_numpy(marks), dtype=bool).reshape(-1)]
        chosen = chosen[chosen @ towards > 0] * 1.01
        style = {"color": "crimson", "s": 18, "depthshade": False, "zorder": 10} | (mark_style or {})
        ax3d.computed_zorder = False
        ax3d.scatter(chosen[:, 0], chosen[:, 1], chosen[:, 2], **style)
    ax3d.view_init(*view)
    ax3d.set_box_aspect(tuple(np.maximum(np.ptp(points, axis=0), 1e-9)), zoom=zoom)  # true proportions
    ax3d.set_axis_off()
    if colorbar:
        fig.colorbar(plt.cm.ScalarMappable(norm, colormap), ax=ax, shrink=0.6)
    return fig


def grid_triangles(atlas: Atlas) -> np.ndarray:
    """``(T, 3)`` flat pixel indices: two triangles per square of neighbouring pixels, across chart edges too.

    Each square has a pixel and its neighbours one row down, one column right and both, read from the
    transport padding; squares with a corner missing (at cone points, at a boundary) are left out, and a
    square met from two charts is kept once. Its diagonal is a lattice step (the hexagonal lattice has one).

    Args:
        atlas: the atlas whose pixels are the triangles' corners.
    """
    n, h, w = atlas.grid
    pad = atlas.padding_map(1).source.reshape(n, h + 2, w + 2)
    steps = {tuple(s) for s in atlas.group.lattice.neighbour_steps()}
    corners = np.stack([pad[:, :-1, :-1], pad[:, :-1, 1:], pad[:, 1:, 1:], pad[:, 1:, :-1]], -1).reshape(-1, 4)
    corners = corners[(corners >= 0).all(1)]
    corners = corners[np.unique(np.sort(corners, 1), axis=0, return_index=True)[1]]
    a, b, c, d = corners.T  # the square (i, j), (i, j+1), (i+1, j+1), (i+1, j)
    if (1, -1) in steps or (-1, 1) in steps:  # split along the lattice's diagonal step
        return np.concatenate([np.stack([a, b, d], 1), np.stack([b, c, d], 1)])
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


# -- transport padding -----------------------------------------------------------------------------------


def plot_transport_padding(
    atlas: Space,
    halo: int,
    chart: int = 0,
    *,
    ax: Axes | None = None,
    annotate_sources: bool = True,
) -> Figure:
    """The padded grid of one chart (by index): where every halo pixel takes its feature from.

    Interior pixels are pale blue; a halo pixel is coloured by the chart its source lies in and
    labelled with the gauge element ``g`` that carries the feature across (``halo = ρ(g) · source``,
    see ``element_label``) and, with ``annotate_sources``, the source pixel ``row,col``. Halo
    pixels without a source (beyond a boundary, or at a corner where three charts meet) are
    grey: they are zero.

    Args:
        atlas: the atlas whose padding is drawn.
        halo: the halo width in pixels.
        chart: the index of the chart to draw.
        ax: a 2D axes to draw into; a new figure by default.
        annotate_sources: write the source pixel into every halo pixel.
    """
    plt = _pyplot()
    from matplotlib.patches import Patch, Rectangle

    fmap = atlas.padding_map(halo)
    n, h, w = atlas.grid
    source, element = fmap.source[chart], fmap.element[chart]
    hp, wp = source.shape
    palette = plt.get_cmap("Set2").colors
    interior_colour, zero_colour = "#d6e4f5", "#bdbdbd"
    if ax is None:
        cell = 0.5 if annotate_sources else 0.35
        fig, ax = plt.subplots(figsize=(cell * wp + 3.5, cell * hp + 0.6), layout="constrained")
    fig = _figure(ax)
    used, labels = set(), {}
    fontsize = 7 if annotate_sources else 8
    for i in range(hp):
        for j in range(wp):
            inside = halo <= i < h + halo and halo <= j < w + halo
            src = int(source[i, j])
            if inside:
                colour = interior_colour
            elif src < 0:
                colour = zero_colour
            else:
                colour = palette[(src // (h * w)) % len(palette)]
                used.add(src // (h * w))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=colour, edgecolor="white", linewidth=0.8))
            if src < 0:
                continue
            c, rest = divmod(src, h * w)
            where = f"{rest // w},{rest % w}" if annotate_sources else ""
            if inside:
                if annotate_sources:
                    ax.text(j, i, where, ha="center", va="center", fontsize=fontsize - 1, color="#5a6b80")
                continue
            label = element_label(atlas.group, int(element[i, j]))
            labels[label] = atlas.group.describe(int(element[i, j]))
            text = f"{where}\n{label}" if annotate_sources else label
            bold = "bold" if label != "e" else "normal"
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, fontweight=bold, linespacing=1.1)
    ax.add_patch(Rectangle((halo - 0.5, halo - 0.5), w, h, fill=False, edgecolor="black", linewidth=2))
    ax.set_xlim(-0.5, wp - 0.5)
    ax.set_ylim(hp - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    handles = [Patch(facecolor=interior_colour, label=f"chart {atlas.charts[chart]} (interior)")]
    handles += [Patch(facecolor=palette[c % len(palette)], label=f"from chart {atlas.charts[c]}") for c in sorted(used)]
    handles.append(Patch(facecolor=zero_colour, label="no source: zero"))
    if annotate_sources:
        handles.append(Patch(visible=False, label="row,col: the source pixel"))
    handles += [Patch(visible=False, label=f"{label}: {words}") for label, words in sorted(labels.items())]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title(f"transport padding by {halo}: halo pixel = ρ(g) · source pixel", fontsize=10)
    return fig


# -- steerable kernels -------------------------------------------------------------------------------------


def _default_pairs(conv: GaugeConv, max_pairs: int) -> list[tuple[int, int]]:
    """The first (out field, in field) pair of every pair of representations, then more, up to ``max_pairs``."""
    pairs = [(o, i) for o in range(len(conv.out_type)) for i in range(len(conv.in_type))]
    seen, first = set(), []
    for o, i in pairs:
        kinds = (conv.out_type.reps[o].name, conv.in_type.reps[i].name)
        if kinds not in seen:
            seen.add(kinds)
            first.append((o, i))
    rest = [p for p in pairs if p not in first]
    return (first + rest)[:max_pairs]


def plot_kernels(
    conv: GaugeConv,
    pairs: Sequence[tuple[int, int]] | None = None,
    *,
    max_pairs: int = 4,
    fig: Figure | SubFigure | None = None,
    cmap: str = "RdBu_r",
    title: str | None = None,
    bases: Mapping[str, np.ndarray] | None = None,
) -> Figure | SubFigure:
    """The expanded kernels of a GaugeConv, one block per (output field, input field) pair.

    A block is the ``d_out x d_in`` matrix of ``k x k`` kernels between the two fields (rows:
    output channels, columns: input channels; image rows are ``dy``, columns ``dx``), drawn on
    one symmetric colour scale (blue positive, red negative). ``pairs`` are field indices
    ``(out, in)``; by default the first pair of every combination of representations. The
    steerability constraint is visible: for the flip group a trivial->trivial kernel is
    mirror-symmetric in ``dy``, trivial->sign antisymmetric, and a regular field's two channels
    see mirror images of each other.

    ``bases`` maps representation names to orthogonal matrices ``Q`` to show the kernels in
    another basis, ``Q_out K Q_in^T`` (for the flip group, ``{"regular": [[1, 1], [1, -1]] / √2}``
    splits a regular field into a trivial and a sign channel).

    Args:
        conv: the convolution whose current kernels are drawn.
        pairs: ``(out, in)`` field indices; by default the first pair of every combination of
            representations.
        max_pairs: the most blocks drawn when ``pairs`` is not given.
        fig: a figure or subfigure to draw into; a new figure by default.
        cmap: a diverging matplotlib colour map name.
        title: a title above the blocks.
        bases: as above.
    """
    plt = _pyplot()
    kernel = conv.expand_weight().detach().cpu().double().numpy()
    pairs = list(pairs) if pairs is not None else _default_pairs(conv, max_pairs)
    if not pairs:
        raise ValueError("no (out field, in field) pairs to show")
    dims = [(conv.out_type.reps[o].dim, conv.in_type.reps[i].dim) for o, i in pairs]
    if fig is None:
        width = sum(d_in for _, d_in in dims) * 1.3 + 0.4 * len(pairs)
        height = max(d_out for d_out, _ in dims) * 1.3 + 0.9
        fig = plt.figure(figsize=(max(width, 4.0), height), layout="constrained")
    blocks = fig.subfigures(1, len(pairs), width_ratios=[d_in + 0.3 for _, d_in in dims], squeeze=False)[0]
    for sub, (o, i), (d_out, d_in) in zip(blocks, pairs, dims):
        so, si = conv.out_type.slices[o], conv.in_type.slices[i]
        block = kernel[so, si]
        if bases:
            q_out = np.asarray(bases.get(conv.out_type.reps[o].name, np.eye(d_out)))
            q_in = np.asarray(bases.get(conv.in_type.reps[i].name, np.eye(d_in)))
            block = np.einsum("ab,bcyx,dc->adyx", q_out, block, q_in)
        scale = max(np.abs(block).max(), 1e-12)
        axes = sub.subplots(max(d_out for d_out, _ in dims), d_in, squeeze=False)
        for r in range(axes.shape[0]):
            for c in range(d_in):
                a = axes[r, c]
                a.set_xticks([])
                a.set_yticks([])
                if r >= d_out:
                    a.set_visible(False)
                    continue
                a.imshow(block[r, c], cmap=cmap, vmin=-scale, vmax=scale)
                if c == 0 and d_out > 1:
                    a.set_ylabel(f"out {r}", fontsize=8)
                if r == d_out - 1 and d_in > 1:
                    a.set_xlabel(f"in {c}", fontsize=8)
        name_out, name_in = conv.out_type.reps[o].name, conv.in_type.reps[i].name
        sub.suptitle(f"{name_in} #{i} → {name_out} #{o}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
