"""A gauge U-Net on a HEALPix sky map: healpy's order in and out, exact under the sphere's pixel symmetries.

    python -m benchmarks.healpix_unet [--nside 32] [--steps 200] [--out FILE] [--figure PNG]
    python -m benchmarks.healpix_unet --table FILE --update-docs

A CMB temperature map is synthesized by healpy from the power spectrum it ships (``totcls.dat``),
read with ``HEALPixSphere.from_healpix`` (nested order), and a U-Net of gauge convolutions
(``nside -> nside/2 -> nside/4`` by ``GaugePool``, back by ``GaugeUpsample``, skips concatenated)
is trained for a few Adam steps to remove white noise from fresh realizations. The script then
checks exactness -- the network applied to a rotated sky equals the rotated output, for every
symmetry of ``HEALPixSphere.isometries()`` -- writes the denoised map back with ``to_healpix``
and draws the maps with healpy's ``mollview``. Needs the ``healpix`` and ``viz`` extras.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gaugecnn import FieldType
from gaugecnn import nn as gnn
from manifolds import HEALPixSphere

from ._docs import write_blocks
from ._files import atomic_write_text

__all__ = ["HEALPixUNet", "main"]

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "healpix_unet.json"
FIGURE = ROOT / "docs" / "img" / "healpix_unet.png"
DOC = ROOT / "docs" / "healpix.md"
COMMAND = "python -m benchmarks.healpix_unet --table FILE --update-docs"


class HEALPixUNet(nn.Module):
    """Two levels down and up: ``conv, pool`` per level, ``upsample, concat skip, conv`` back, added to the input.

    Args:
        sky: the HEALPix sphere of the input (``nside`` divisible by 4).
        width: regular fields in the first level (doubled per level down).
    """

    def __init__(self, sky: HEALPixSphere, width: int = 2):
        super().__init__()
        group = sky.group
        scalar = FieldType(group, "1 trivial")
        levels = [sky, sky.coarsened(), sky.coarsened().coarsened()]
        types = [FieldType(group, f"{width * 2**k} regular") for k in range(3)]

        def block(atlas, t_in, t_out):
            return gnn.GaugeSequential(gnn.GaugeConv(atlas, t_in, t_out, 3), gnn.ELU(t_out))

        self.down = nn.ModuleList([block(levels[0], scalar, types[0]), block(levels[1], types[0], types[1])])
        self.pool = nn.ModuleList([gnn.GaugePool(levels[0], types[0]), gnn.GaugePool(levels[1], types[1])])
        self.bottom = block(levels[2], types[1], types[2])
        self.up = nn.ModuleList([gnn.GaugeUpsample(levels[1], types[2]), gnn.GaugeUpsample(levels[0], types[1])])
        self.merge = nn.ModuleList([block(levels[1], types[2] + types[1], types[1]), block(levels[0], types[1] + types[0], types[0])])
        self.head = gnn.GaugeConv(levels[0], types[0], scalar, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sky, skips = x, []
        for down, pool in zip(self.down, self.pool):
            x = down(x)
            skips.append(x)
            x = pool(x)
        x = self.bottom(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = merge(torch.cat([up(x), skip], 1))
        return sky + self.head(x)  # a correction to the input: the noise it removes


def _sky(healpy, nside: int, seed: int) -> np.ndarray:
    """A CMB temperature map (nested order, unit variance) from the power spectrum healpy ships."""
    spectra = np.loadtxt(Path(healpy.__file__).parent / "data" / "totcls.dat")
    ell, tt = spectra[2:, 0], spectra[2:, 1]  # from l = 2: no monopole and dipole
    cl = np.zeros(int(ell.max()) + 1)
    cl[ell.astype(int)] = 2 * np.pi * tt / (ell * (ell + 1))  # the file holds l(l+1) C_l / 2π
    np.random.seed(seed)  # healpy's synfast draws from numpy's global generator
    sky = healpy.synfast(cl, nside, lmax=3 * nside - 1, new=True)
    sky = healpy.reorder(sky, r2n=True)
    return (sky - sky.mean()) / sky.std()


def run(nside: int, steps: int, noise: float, seed: int) -> tuple[dict, dict]:
    """Train, check exactness, write back; the result record and the maps to draw."""
    import healpy

    torch.manual_seed(seed)
    sky = HEALPixSphere(nside)
    model = HEALPixUNet(sky).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    losses = []
    for step in range(steps):
        clean = torch.as_tensor(sky.from_healpix(_sky(healpy, nside, 1000 + step)))[None, None]
        noisy = clean + noise * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
        loss = torch.mean((model(noisy) - clean) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    train_s = time.perf_counter() - start
    model.eval()
    truth = _sky(healpy, nside, seed)  # a sky the network has not seen, nested order
    clean = torch.as_tensor(sky.from_healpix(truth))[None, None]
    noisy = clean + noise * torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    scalar = FieldType(sky.group, "1 trivial")
    errors = []
    with torch.no_grad():
        out = model(noisy)
        for iso in sky.isometries():
            fmap = iso.field_map(sky)
            moved = model(fmap.apply(noisy, scalar))
            errors.append(float((moved - fmap.apply(out, scalar)).abs().max() / out.abs().max()))
    denoised = sky.to_healpix(out[0, 0]).numpy()
    noisy_map = sky.to_healpix(noisy[0, 0]).numpy()
    record = {
        "nside": nside,
        "pixels": 12 * nside**2,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "noise": noise,
        "seed": seed,
        "train_seconds": round(train_s, 1),
        "first_loss": losses[0] if losses else None,
        "last_loss": float(np.mean(losses[-20:])) if losses else None,
        "mse_noisy": float(np.mean((noisy_map - truth) ** 2)),
        "mse_denoised": float(np.mean((denoised - truth) ** 2)),
        "symmetries": len(errors),
        "combinatorial_symmetries": len(HEALPixSphere(nside, symmetries="combinatorial").isometries()),
        "max_relative_error": max(errors),
        "dtype": "float64",
        "torch": torch.__version__,
        "healpy": healpy.__version__,
    }
    return record, {"truth": truth, "noisy": noisy_map, "denoised": denoised}


def draw(maps: dict, record: dict, path: Path) -> None:
    """The three maps in Mollweide projection (healpy's ``mollview``, nested order)."""
    import healpy
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 3.4))
    titles = {
        "truth": "a CMB sky (synfast, healpy's totcls.dat)",
        "noisy": f"with white noise (MSE {record['mse_noisy']:.3f})",
        "denoised": f"the gauge U-Net's output, to_healpix (MSE {record['mse_denoised']:.3f})",
    }
    for k, (name, title) in enumerate(titles.items()):
        healpy.mollview(maps[name], nest=True, fig=fig.number, sub=(1, 3, k + 1), title=title, min=-3, max=3, cbar=False, cmap="RdBu_r")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def table(record: dict) -> str:
    """The docs block: what was run and what came out."""
    rows = [
        ("HEALPix map", f"nside {record['nside']}, {record['pixels']} pixels, nested order"),
        ("U-Net", f"{record['parameters']} parameters, float64"),
        ("training", f"{record['steps']} Adam steps on fresh skies, noise σ = {record['noise']}, {record['train_seconds']} s"),
        ("MSE to the clean sky", f"noisy {record['mse_noisy']:.4f}, denoised {record['mse_denoised']:.4f}"),
        (
            "symmetries checked",
            f"{record['symmetries']} that map pixel centres to pixel centres "
            f"(of the base's {record['combinatorial_symmetries']} combinatorial ones)",
        ),
        ("largest relative error, rotated input vs rotated output", f"{record['max_relative_error']:.1e}"),
    ]
    lines = ["| | |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines) + f"\n\ntorch {record['torch']}, healpy {record['healpy']}, seed {record['seed']}."


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.healpix_unet", description=__doc__.splitlines()[0])
    p.add_argument("--nside", type=int, default=32, help="HEALPix resolution (a power of two, at least 4)")
    p.add_argument("--steps", type=int, default=200, help="Adam steps of denoising training (0: untrained)")
    p.add_argument("--noise", type=float, default=0.5, help="standard deviation of the white noise (the sky has 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    p.add_argument("--out", type=Path, default=None, help=f"write the record as JSON (the committed one: {RESULT.relative_to(ROOT)})")
    p.add_argument("--figure", type=Path, default=None, help=f"draw the maps (the docs': {FIGURE.relative_to(ROOT)})")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="run nothing: the docs table of a JSON record")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/healpix.md")
    args = p.parse_args(argv)
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    if args.table is not None:
        record = json.loads(args.table.read_text())
    else:
        if args.nside < 4 or args.nside & (args.nside - 1):
            raise SystemExit(f"error: --nside must be a power of two, at least 4 (two levels of pooling), got {args.nside}")
        if args.steps < 0:
            raise SystemExit(f"error: --steps must be 0 or more, got {args.steps}")
        try:
            import healpy  # noqa: F401
        except ImportError:
            raise SystemExit('error: this script needs healpy: pip install -e ".[healpix,viz]"') from None
        torch.set_num_threads(args.threads)
        record, maps = run(args.nside, args.steps, args.noise, args.seed)
        if args.out:
            atomic_write_text(args.out, json.dumps(record, indent=1) + "\n")
        if args.figure:
            draw(maps, record, args.figure)
    print(table(record))
    if args.update_docs:
        print(f"updated {write_blocks(DOC, {'healpix-unet': table(record)}, COMMAND)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
