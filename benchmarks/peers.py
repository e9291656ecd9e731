"""The same steerable CNNs on the plane in gaugecnn, escnn and e2cnn, timed side by side in one process.

Two networks, each with C4 and D4 regular fields, every library with its own convolution,
batch norm, ReLU, max pooling and group pooling, padding ``k // 2`` so that shapes agree:

- ``intro``: the network of escnn's introduction (29 x 29 input; 24, 48, 48, 96, 96, 64
  regular fields, kernels 7 then 5, two poolings), then group pooling, a global max and
  ``Linear(64, 64), BatchNorm1d, ELU, Linear(64, 10)``;
- ``mid``: ``1 -> 16 -> 32 -> 64`` regular fields, kernel 5, batch norm, ReLU, two poolings,
  28 x 28, then group pooling, a global max and ``Linear(64, 10)``.

Timed: the training step (forward, cross entropy, backward, Adam), the eval forward, and
the eval forward of each library's exported model (``gaugecnn.nn.export``, escnn's and
e2cnn's ``export()``), in interleaved rounds; also the time to build each network and its
parameter count (escnn's and e2cnn's default kernel bases are band-limited, with fewer
parameters than gaugecnn's complete ones; the channel counts are equal). On 29 x 29 the
libraries pool differently: gaugecnn pools odd sizes to ``ceil`` and keeps them exactly
equivariant (15, 8), escnn and e2cnn to ``floor`` (14, 7).

The peers are an optional extra (``pip install -e ".[peers]"``); without them only
gaugecnn is built and timed, with a message.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gaugecnn import FieldType, cyclic_group, dihedral_group, regular, trivial
from gaugecnn import nn as gnn
from manifolds import Plane

__all__ = ["NETS", "build", "available_peers", "bench_peers"]

# name -> (input size, [(fields, kernel size, pool after)], head)
NETS = {
    "intro": (29, [(24, 7, False), (48, 5, True), (48, 5, False), (96, 5, True), (96, 5, False), (64, 5, False)], "mlp"),
    "mid": (28, [(16, 5, True), (32, 5, True), (64, 5, False)], "linear"),
}
GROUPS = ("C4", "D4")


def _head(kind: str, fields: int) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(fields, 64), nn.BatchNorm1d(64), nn.ELU(), nn.Linear(64, 10))
    return nn.Linear(fields, 10)


def _gaugecnn(net: str, group: str) -> nn.Module:
    size, layers, head = NETS[net]
    atlas = Plane(size, cyclic_group(4) if group == "C4" else dihedral_group(4))
    g = atlas.group
    t = FieldType(g, [trivial(g)])
    modules: list[nn.Module] = []
    for fields, k, pool in layers:
        out = FieldType(g, [regular(g)] * fields)
        modules += [gnn.GaugeConv(atlas, t, out, k), gnn.FieldBatchNorm(out), gnn.ReLU(out, inplace=True)]
        if pool:
            p = gnn.GaugePool(atlas, out)
            modules.append(p)
            atlas = p.out_atlas
        t = out
    invariant = gnn.GroupPool(t)
    modules += [invariant, gnn.GlobalPool(invariant.out_type, "max"), _head(head, layers[-1][0])]
    return nn.Sequential(*modules)


class _Peer(nn.Module):
    """An escnn / e2cnn body on GeometricTensors, a global max and a torch head."""

    def __init__(self, lib, body, in_type, head: nn.Module):
        super().__init__()
        self.lib, self.body, self.in_type, self.head = lib, body, in_type, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(self.lib.GeometricTensor(x, self.in_type)).tensor
        return self.head(y.amax(dim=(2, 3)))

    def export(self) -> nn.Module:
        return nn.Sequential(self.body.export(), _GlobalMax(), self.head)


class _GlobalMax(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=(2, 3))


def _peer(lib_name: str, net: str, group: str) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if lib_name == "escnn":
            from escnn import gspaces
            from escnn import nn as lib

            space = gspaces.rot2dOnR2(N=4) if group == "C4" else gspaces.flipRot2dOnR2(N=4)
        else:
            from e2cnn import gspaces
            from e2cnn import nn as lib

            space = gspaces.Rot2dOnR2(N=4) if group == "C4" else gspaces.FlipRot2dOnR2(N=4)
    size, layers, head = NETS[net]
    in_type = t = lib.FieldType(space, [space.trivial_repr])
    modules = []
    for fields, k, pool in layers:
        out = lib.FieldType(space, fields * [space.regular_repr])
        modules += [lib.R2Conv(t, out, k, padding=k // 2), lib.InnerBatchNorm(out), lib.ReLU(out, inplace=True)]
        if pool:
            modules.append(lib.PointwiseMaxPool(out, 2))
        t = out
    modules.append(lib.GroupPooling(t))
    return _Peer(lib, lib.SequentialModule(*modules), in_type, _head(head, layers[-1][0]))


def available_peers() -> list[str]:
    """The peer libraries that import here."""
    found = []
    for name in ("escnn", "e2cnn"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                __import__(name)
        except ImportError:
            continue
        found.append(name)
    return found


def build(lib: str, net: str, group: str) -> nn.Module:
    """Network ``net`` with ``group`` regular fields in library ``lib`` (``gaugecnn``, ``escnn`` or ``e2cnn``)."""
    return _gaugecnn(net, group) if lib == "gaugecnn" else _peer(lib, net, group)


def _export(lib: str, model: nn.Module) -> nn.Module:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gnn.export(model) if lib == "gaugecnn" else model.export().eval()


def bench_peers(
    batches: dict[str, list[int]],
    rounds: int,
    warmup: int,
    device: torch.device,
    timer: Callable[[Callable[[], object], torch.device], float],
) -> dict:
    """Per network, group and batch: build time, parameters and median train / eval / exported-eval ms per library."""
    libs = ["gaugecnn", *available_peers()]
    results = {"libraries": libs, "runs": {}}
    for net, net_batches in batches.items():
        size = NETS[net][0]
        for group in GROUPS:
            built = {}
            for lib in libs:
                torch.manual_seed(0)
                start = time.perf_counter()
                built[lib] = build(lib, net, group).to(device)
                built[lib].build_s = time.perf_counter() - start
            for batch in net_batches:
                x = torch.randn(batch, 1, size, size, device=device)
                y = torch.randint(0, 10, (batch,), device=device)
                steps: dict[str, dict[str, Callable[[], object]]] = {}
                for lib, model in built.items():
                    optimizer = torch.optim.Adam(model.parameters(), 1e-3)

                    def train(model=model, optimizer=optimizer, x=x, y=y):
                        model.train()
                        optimizer.zero_grad(set_to_none=True)
                        F.cross_entropy(model(x), y).backward()
                        optimizer.step()

                    exported = _export(lib, model)

                    def evaluate(model=model, x=x):
                        model.eval()
                        with torch.no_grad():
                            model(x)

                    def evaluate_exported(exported=exported, x=x):
                        with torch.no_grad():
                            exported(x)

                    steps[lib] = {"train": train, "eval": evaluate, "exported": evaluate_exported}
                entry = {
                    lib: {"params": sum(p.numel() for p in built[lib].parameters()), "build_s": round(built[lib].build_s, 3)}
                    for lib in libs
                }
                for kind in ("train", "eval", "exported"):
                    for _ in range(warmup):
                        for lib in libs:
                            steps[lib][kind]()
                    samples = {lib: [] for lib in libs}
                    for _ in range(rounds):  # interleaved: every library once per round
                        for lib in libs:
                            samples[lib].append(timer(steps[lib][kind], device))
                    for lib in libs:
                        entry[lib][f"{kind}_ms"] = 1e3 * statistics.median(samples[lib])
                key = f"{net} {group} batch {batch}"
                results["runs"][key] = entry
                print(
                    f"{key:22s} "
                    + "  ".join(
                        f"{lib} train {entry[lib]['train_ms']:.1f} eval {entry[lib]['eval_ms']:.1f} export {entry[lib]['exported_ms']:.1f}"
                        for lib in libs
                    ),
                    flush=True,
                )
    return results
