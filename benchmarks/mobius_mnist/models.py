"""The Möbius MNIST models of Weiler et al. (2021), Table 4, built from gaugecnn layers.

Gauge CNNs: six GaugeConvs (kernel 5) with field multiplicities ``4, 8, pool, 16, 32,
pool, 64`` times a per-model base multiplicity of (trivial, sign, regular) fields, a last
conv to 64 scalar fields, global max pooling and an MLP 64-32-10. The conventional CNNs
use the same topology with ConventionalConv (naive padding along the gluing).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gaugecnn import Atlas, FieldType, regular, sign, trivial
from gaugecnn import nn as gnn

__all__ = ["MODELS", "ABLATIONS", "SMOKE", "PAPER", "build_model", "count_parameters"]

# base multiplicities (trivial, sign, regular) of the gauge models
_GAUGE_BASE = {
    "gauge_scalar": (4, 0, 0),
    "gauge_signflip": (0, 4, 0),
    "gauge_regular": (0, 0, 2),
    "gauge_irreps": (2, 2, 0),
    "gauge_mixed": (1, 1, 1),
}
_CHANNEL_FACTORS = (4, 8, 16, 32, 64)

MODELS = ("cnn_channels", "cnn_params", *_GAUGE_BASE)

# paper's Table: parameters, test error % (mean, std) trained shifted / trained centered (tested shifted)
PAPER = {
    "cnn_channels": (1501162, (1.97, 0.11), (42.99, 2.65)),
    "cnn_params": (832190, (2.08, 0.10), (43.68, 2.85)),
    "gauge_scalar": (901962, (1.60, 0.10), (1.60, 0.09)),
    "gauge_signflip": (819962, (4.27, 0.24), (4.89, 0.36)),
    "gauge_regular": (751914, (1.24, 0.08), (1.23, 0.07)),
    "gauge_irreps": (752162, (1.65, 0.09), (1.64, 0.12)),
    "gauge_mixed": (752038, (1.43, 0.09), (1.42, 0.10)),
}


# variants for investigating a row: name -> (paper model it is compared with, what differs)
ABLATIONS = {
    "gauge_signflip_eps": (
        "gauge_signflip",
        "sign-flip nonlinearity written x/(|x|+1e-8)·ELU(|x|+b), as in the paper's reference code, "
        "instead of sign(x)·ELU(|x|+b): equal values, but a gradient of up to 1e8·ELU(b) near x = 0",
    ),
    "gauge_regular_separable": (
        "gauge_regular",
        "the regular -> regular convolutions separable (SeparableGaugeConv: group mixing, then a steerable "
        "depthwise kernel), the first and last as in gauge_regular",
    ),
    "gauge_regular_bandlimited": (
        "gauge_regular",
        "every convolution on the band-limited kernel basis (GaugeConv(basis='bandlimited'), escnn's band limit)",
    ),
}


# a tiny gauge CNN for checking the pipeline (data, training, checkpoints, claims, tables) in
# seconds: one regular field per layer, kernel 3; not in 'all', no published figure, its accuracy
# means nothing
SMOKE = {"gauge_smoke": "one 3 x 3 GaugeConv to a regular field, pooling, one to 4 scalar fields, a linear readout"}


def _smoke_model(atlas: Atlas, classes: int) -> nn.Sequential:
    hidden, scalars = _field_type(atlas, (0, 0, 1)), _field_type(atlas, (4, 0, 0))
    pool = gnn.GaugePool(atlas, hidden)
    return gnn.GaugeSequential(
        gnn.GaugeConv(atlas, _field_type(atlas, (1, 0, 0)), hidden, 3),
        gnn.ELU(hidden),
        pool,
        gnn.GaugeConv(pool.out_atlas, hidden, scalars, 3),
        gnn.GlobalPool(scalars, "max"),
        nn.Linear(4, classes),
    )


class _EpsilonSignELU(gnn.ELU):
    """The reference code's sign-flip nonlinearity ``x / (|x| + ε) · ELU(|x| + b)``, ε = 1e-8.

    Its values are those of ``sign(x) · ELU(|x| + b)`` times ``|x| / (|x| + ε)``, a factor
    within 1e-4 of one wherever ``|x| > 1e-4``; but ``x / (|x| + ε)`` has the derivative
    ``ε / (|x| + ε)²``, which reaches ``1/ε`` at zero where that of ``sign`` is zero. Only
    for sign-flip (one-dim norm) fields, as in the ablation model.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.layout.all_norm1:
            raise ValueError("_EpsilonSignELU is written for sign-flip fields only")
        bias = self.norm_bias.view(1, -1, *([1] * (x.dim() - 2)))
        return x / (x.abs() + 1e-8) * F.elu(x.abs() + bias)


def _classifier(classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.BatchNorm1d(64),
        nn.ELU(),
        nn.Dropout(0.3),
        nn.Linear(64, 32),
        nn.BatchNorm1d(32),
        nn.ELU(),
        nn.Dropout(0.3),
        nn.Linear(32, classes),
    )


def _field_type(atlas: Atlas, counts: tuple[int, int, int]) -> FieldType:
    g = atlas.group
    return FieldType(g, [trivial(g)] * counts[0] + [sign(g)] * counts[1] + [regular(g)] * counts[2])


def _gauge_model(atlas: Atlas, base: tuple[int, int, int], kernel_size: int, classes: int, conv: str = "complete") -> nn.Sequential:
    """``conv``: ``"complete"`` kernels, ``"bandlimited"`` ones, or ``"separable"`` regular -> regular layers."""
    types = [_field_type(atlas, (1, 0, 0))] + [_field_type(atlas, tuple(f * b for b in base)) for f in _CHANNEL_FACTORS]
    basis = "bandlimited" if conv == "bandlimited" else "lattice"
    layers: list[nn.Module] = []
    for i in range(5):
        if conv == "separable" and i > 0:
            layer = gnn.SeparableGaugeConv(atlas, types[i], types[i + 1], kernel_size)
        else:
            layer = gnn.GaugeConv(atlas, types[i], types[i + 1], kernel_size, basis=basis)
        layers += [layer, gnn.ELU(types[i + 1])]
        if i in (1, 3):
            pool = gnn.GaugePool(atlas, types[i + 1])
            layers.append(pool)
            atlas = pool.out_atlas
    out = _field_type(atlas, (64, 0, 0))
    layers += [gnn.GaugeConv(atlas, types[-1], out, kernel_size, basis=basis), gnn.GlobalPool(out, "max"), _classifier(classes)]
    return gnn.GaugeSequential(*layers)


def _conventional_model(atlas: Atlas, channels: tuple[int, ...], kernel_size: int, classes: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(5):
        layers += [gnn.ConventionalConv(atlas, channels[i], channels[i + 1], kernel_size), nn.ELU()]
        if i in (1, 3):
            pool = gnn.GaugePool(atlas, _field_type(atlas, (channels[i + 1], 0, 0)))
            layers.append(pool)
            atlas = pool.out_atlas
    out = _field_type(atlas, (64, 0, 0))
    layers += [gnn.ConventionalConv(atlas, channels[-1], 64, kernel_size), gnn.GlobalPool(out, "max"), _classifier(classes)]
    return gnn.GaugeSequential(*layers)


def build_model(name: str, atlas: Atlas, kernel_size: int = 5, classes: int = 10) -> nn.Sequential:
    """One of ``MODELS``, ``ABLATIONS`` or ``SMOKE`` on the given (Möbius) atlas."""
    if name in SMOKE:
        return _smoke_model(atlas, classes)
    if name == "gauge_signflip_eps":
        model = _gauge_model(atlas, _GAUGE_BASE["gauge_signflip"], kernel_size, classes)
        for i, layer in enumerate(model):
            if isinstance(layer, gnn.ELU):
                model[i] = _EpsilonSignELU(layer.in_type)
        return model
    if name in ("gauge_regular_separable", "gauge_regular_bandlimited"):
        return _gauge_model(atlas, _GAUGE_BASE["gauge_regular"], kernel_size, classes, name.rsplit("_", 1)[1])
    if name in _GAUGE_BASE:
        return _gauge_model(atlas, _GAUGE_BASE[name], kernel_size, classes)
    if name in ("cnn_channels", "cnn_params"):
        # same channels as the regular gauge CNN (16 .. 256), or sqrt(2) fewer for about its parameters
        divisor = math.sqrt(2) if name == "cnn_params" else 1
        channels = (1, *(int(16 * 2**i // divisor) for i in range(5)))
        return _conventional_model(atlas, channels, kernel_size, classes)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join((*MODELS, *ABLATIONS, *SMOKE))}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
