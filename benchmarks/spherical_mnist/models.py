"""Spherical MNIST models, all from gaugecnn layers, after the Icosahedral CNN's MNIST model.

The architecture of Cohen, Weiler, Kicanaoglu and Welling (2019): seven 3 x 3 convolutions
of regular fields, ``8, 16, 16, 24, 24, 32, 64`` of them, each followed by batch norm and
ReLU; their three stride-2 convolutions become ``GaugePool`` followed by the convolution at
the coarser resolution here (a stride-2 convolution on a cell grid is not symmetric under
the chart's half turn; pooling first is, and costs a quarter of the convolution at full
resolution); then a maximum over each field's orientations (``GroupPool``) and over the
sphere (``GlobalPool``), and an MLP ``64 -> 64 -> 32 -> 10`` with batch norm. The same
network runs on

- the icosahedral sphere ``IcoSphere(4)`` (2560 pixels + the two poles; pooled to r = 3, 2, 1)
  with regular fields of C6 (``ico_gauge_c6``) or D6 (``ico_gauge_d6``);
- the cube sphere ``CubeSphere(24)`` (3456 pixels; pooled to 12, 6, 3) with regular fields
  of C4 (``cube_gauge_c4``) or D4 (``cube_gauge_d4``);
- and, as the conventional baseline, ``ConventionalConv`` on the cube sphere (naive padding
  along the seams, no gauge action) with the channels of the C4 model
  (``cube_cnn_channels``: 4 per field) or half of them (``cube_cnn_params``: about its
  parameter count).
"""

from __future__ import annotations

import math

from torch import nn

from gaugecnn import Atlas, FieldType, cyclic_group, dihedral_group, regular, trivial
from gaugecnn import nn as gnn
from manifolds import CubeSphere, IcoSphere

__all__ = [
    "MODELS",
    "SMOKE",
    "VARIANTS",
    "PUBLISHED",
    "FIELDS",
    "POOL_BEFORE",
    "manifold_of",
    "build_atlas",
    "data_atlas",
    "build_model",
    "count_parameters",
]

FIELDS = (8, 16, 16, 24, 24, 32, 64)  # fields per convolution
POOL_BEFORE = (1, 3, 5)  # the convolutions at half the previous resolution (stride 2 in the paper)

# name -> (manifold, group factory, kind)
MODELS = {
    "cube_gauge_c4": ("cube", lambda: cyclic_group(4), "gauge"),
    "cube_gauge_d4": ("cube", lambda: dihedral_group(4), "gauge"),
    "cube_cnn_channels": ("cube", lambda: cyclic_group(4), "cnn"),
    "cube_cnn_params": ("cube", lambda: cyclic_group(4), "cnn"),
    "ico_gauge_c6": ("ico", lambda: cyclic_group(6), "gauge"),
    "ico_gauge_d6": ("ico", lambda: dihedral_group(6), "gauge"),
}

# variants for investigating a row, not in 'all': name -> (manifold, group factory, kind, the model it differs from, how)
VARIANTS = {
    "ico_gauge_c6_stride": (
        "ico",
        lambda: cyclic_group(6),
        "gauge_stride",
        "ico_gauge_c6",
        "stride-2 convolutions where ico_gauge_c6 pools and then convolves, as the Icosahedral CNN downsamples",
    ),
    "ico_gauge_c6_meanpool": (
        "ico",
        lambda: cyclic_group(6),
        "gauge_meanpool",
        "ico_gauge_c6",
        "a global mean over the sphere where ico_gauge_c6 takes the maximum",
    ),
}

# a tiny gauge CNN on the cube sphere for checking the pipeline (data, training, checkpoints, tables)
# in seconds: one regular field, kernel 3; not in 'all', no published figure, its accuracy means nothing
SMOKE = {"cube_smoke": ("cube", lambda: cyclic_group(4), "smoke")}
_ALL = {**MODELS, **SMOKE, **{name: v[:3] for name, v in VARIANTS.items()}}

# published test accuracy (%): (N/N, N/R, R/R, note); None where not given
PUBLISHED = {
    "S2CNN (Cohen et al. 2018)": (96.0, 94.0, 95.0, "60 x 60 grid, 58k params"),
    "Esteves et al. 2018": (98.75, 98.08, 98.71, ""),
    "Icosahedral CNN (Cohen et al. 2019)": (99.43, None, 99.31, ""),
    "HexRUNet-C": (99.45, 29.84, 97.05, ""),
    "UGSCNN (Jiang et al. 2019)": (99.23, None, None, "level-4 icosphere, 62k params"),
    "spin-weighted spherical CNN (README demo)": (None, None, 99.49, "64 x 64, 39k params, one run"),
}


def manifold_of(name: str) -> str:
    """``"cube"`` or ``"ico"``: the sphere a model runs on."""
    return _ALL[name][0]


def build_atlas(name: str, quick: bool = False) -> Atlas:
    """The atlas a model runs on: ``CubeSphere(24)`` or ``IcoSphere(4)`` (``quick``: 8 and r = 3)."""
    manifold, group, _ = _ALL[name]
    if manifold == "cube":
        return CubeSphere(8 if quick else 24, group())
    return IcoSphere(3 if quick else 4, group())


def data_atlas(name: str, quick: bool = False) -> Atlas:
    """The grid a model's digits are projected onto, with its rotation group only (C4 or C6): the
    data are the same for every group on it, and its exact symmetries (for the G test set) are
    the rotations of the cube or the icosahedron."""
    manifold = _ALL[name][0]
    return CubeSphere(8 if quick else 24) if manifold == "cube" else IcoSphere(3 if quick else 4)


def _classifier(classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.BatchNorm1d(64),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.BatchNorm1d(64),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.BatchNorm1d(32),
        nn.Linear(32, classes),
    )


def _gauge_model(atlas: Atlas, classes: int, stride: bool = False, reduce: str = "max") -> nn.Sequential:
    """The gauge CNN; ``stride``: stride-2 convolutions (vertex grids) instead of pooling then convolving;
    ``reduce``: the global pooling over the sphere."""
    g = atlas.group
    types = [FieldType(g, [trivial(g)])] + [FieldType(g, [regular(g)] * f) for f in FIELDS]
    layers: list[nn.Module] = []
    for i in range(len(FIELDS)):
        out = types[i + 1]
        if i in POOL_BEFORE and stride:
            conv = gnn.GaugeConv(atlas, types[i], out, 3, stride=2)
            atlas = conv.out_atlas
        else:
            if i in POOL_BEFORE:
                pool = gnn.GaugePool(atlas, types[i])
                layers.append(pool)
                atlas = pool.out_atlas
            conv = gnn.GaugeConv(atlas, types[i], out, 3)
        layers += [conv, gnn.FieldBatchNorm(out), gnn.ReLU(out)]
    invariant = gnn.GroupPool(types[-1])
    layers += [invariant, gnn.GlobalPool(invariant.out_type, reduce), _classifier(classes)]
    return gnn.GaugeSequential(*layers)


def _conventional_model(atlas: Atlas, width: float, classes: int) -> nn.Sequential:
    channels = [1] + [max(1, round(f * width)) for f in FIELDS[:-1]] + [FIELDS[-1]]
    layers: list[nn.Module] = []
    for i in range(len(FIELDS)):
        if i in POOL_BEFORE:
            pool = gnn.GaugePool(atlas, FieldType(atlas.group, [trivial(atlas.group)] * channels[i]))
            layers.append(pool)
            atlas = pool.out_atlas
        layers += [
            gnn.ConventionalConv(atlas, channels[i], channels[i + 1], 3),
            nn.BatchNorm2d(channels[i + 1]) if atlas.num_charts == 1 else _ChartBatchNorm(channels[i + 1]),
            nn.ReLU(),
        ]
    scalars = FieldType(atlas.group, [trivial(atlas.group)] * channels[-1])
    layers += [gnn.GlobalPool(scalars, "max"), _classifier(classes)]
    return gnn.GaugeSequential(*layers)


class _ChartBatchNorm(nn.BatchNorm3d):
    """Batch norm per channel over batch, charts and pixels: ``(batch, C, charts, H, W)``."""


def _smoke_model(atlas: Atlas, classes: int) -> nn.Sequential:
    g = atlas.group
    hidden, scalars = FieldType(g, [regular(g)]), FieldType(g, [trivial(g)] * 4)
    pool = gnn.GaugePool(atlas, hidden)
    return gnn.GaugeSequential(
        gnn.GaugeConv(atlas, FieldType(g, [trivial(g)]), hidden, 3),
        gnn.ReLU(hidden),
        pool,
        gnn.GaugeConv(pool.out_atlas, hidden, scalars, 3),
        gnn.GlobalPool(scalars, "max"),
        nn.Linear(4, classes),
    )


def build_model(name: str, atlas: Atlas | None = None, classes: int = 10) -> nn.Sequential:
    """One of ``MODELS`` (or ``SMOKE``) on its atlas (``build_atlas(name)`` unless given)."""
    if name not in _ALL:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}, or {', '.join(SMOKE)} to check the pipeline")
    atlas = atlas or build_atlas(name)
    _, _, kind = _ALL[name]
    if kind == "smoke":
        return _smoke_model(atlas, classes)
    if kind == "gauge":
        return _gauge_model(atlas, classes)
    if kind == "gauge_stride":
        return _gauge_model(atlas, classes, stride=True)
    if kind == "gauge_meanpool":
        return _gauge_model(atlas, classes, reduce="mean")
    group_order = atlas.group.order
    width = group_order if name == "cube_cnn_channels" else group_order / math.sqrt(group_order)
    return _conventional_model(atlas, width, classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
