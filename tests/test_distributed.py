"""Data-parallel training with torch.distributed (gloo, 2 CPU processes) equals one process on the global batch."""

from __future__ import annotations

import socket

import torch
import torch.multiprocessing as mp
from torch import nn

from benchmarks.mobius_mnist.train import data_parallel, train_epoch
from gaugecnn import FieldType, trivial
from gaugecnn import nn as gnn
from manifolds import MobiusStrip

STEPS, BATCH = 3, 8


def small_gauge_net() -> nn.Module:
    """No batch norm or dropout: their per-process statistics and masks are the one known difference."""
    torch.manual_seed(0)
    strip = MobiusStrip(8, 8)
    g = strip.group
    hidden = FieldType(g, "1 trivial + 1 sign + 2 regular")
    pool = gnn.GaugePool(strip, hidden)
    return nn.Sequential(
        gnn.GaugeConv(strip, FieldType(g, "1 trivial"), hidden, 3),
        gnn.ELU(hidden),
        pool,
        gnn.GaugeConv(pool.out_atlas, hidden, hidden, 3),
        gnn.ELU(hidden),
        gnn.GroupPool(hidden),
        gnn.GlobalPool(FieldType(g, [trivial(g)] * 4)),
        nn.Linear(4, 10),
    )


def data():
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(STEPS * BATCH, 1, 8, 8, generator=generator)
    labels = torch.randint(0, 10, (STEPS * BATCH,), generator=generator)
    order = torch.randperm(STEPS * BATCH, generator=generator)
    return images, labels, order


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    model = small_gauge_net()
    ddp = data_parallel(model, torch.device("cpu"))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    images, labels, order = data()
    train_epoch(ddp, optimizer, images, labels, order, BATCH, torch.device("cpu"), rank=rank, world=world)
    if rank == 0:
        torch.save(model.state_dict(), out)
    torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_match_one_process(tmp_path):
    out = str(tmp_path / "ddp.pt")
    mp.spawn(_worker, args=(2, _free_port(), out), nprocs=2, join=True)

    model = small_gauge_net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    images, labels, order = data()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_epoch(model, optimizer, images, labels, order, BATCH, torch.device("cpu"))

    distributed = torch.load(out)
    for key, value in model.state_dict().items():
        assert torch.allclose(distributed[key], value, rtol=1e-5, atol=1e-6), key
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # training moved them
