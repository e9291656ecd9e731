"""Möbius MNIST: MNIST digits on a 28 x 28 Möbius strip, centered and shifted along the strip.

The digits come from ``torchvision.datasets.MNIST`` (downloaded where a network exists,
or copied from a folder that already holds ``MNIST/raw/*.gz``). The shifted version moves
every digit by the strip isometry ``MobiusStrip(28, 28).shift(s)`` with ``s`` drawn
uniformly from ``0 .. 2L-1`` under a fixed seed, so that digits crossing the cut come back
reflected. Generated arrays are cached with a SHA-256 checksum; a missing or corrupt
cache is rebuilt with a message, never silently used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gaugecnn import FieldType, trivial
from manifolds import MobiusStrip

from .._files import atomic_write, atomic_write_text, file_lock

__all__ = ["MobiusMNIST", "default_cache_dir", "load_mobius_mnist", "mobius_shift"]

_RAW_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def default_cache_dir() -> Path:
    """``$GAUGECNN_CACHE`` if set, else ``~/.cache/gaugecnn``."""
    return Path(os.environ.get("GAUGECNN_CACHE", Path.home() / ".cache" / "gaugecnn"))


@dataclass
class MobiusMNIST:
    """Images ``(N, 1, 28, 28)`` float in [0, 1] and labels ``(N,)`` for one split, both versions."""

    centered: torch.Tensor
    shifted: torch.Tensor
    labels: torch.Tensor
    shifts: torch.Tensor


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _seed_cache(raw: Path, data_root: Path) -> None:
    """Copy the four MNIST .gz files from ``data_root/MNIST/raw`` into ``raw``, checked against MNIST's MD5 sums.

    A cached copy that is missing or differs from the good source is replaced (atomically),
    and the file torchvision extracted from it is removed so that it is extracted again.
    """
    from torchvision import datasets

    source = Path(data_root) / "MNIST" / "raw"
    if not source.is_dir():
        raise FileNotFoundError(
            f"--data-root {data_root} has no MNIST/raw folder; it should hold the four MNIST .gz files "
            f"({', '.join(_RAW_FILES)}) in torchvision's layout"
        )
    md5 = dict(datasets.MNIST.resources)
    missing = [name for name in _RAW_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source} lacks {', '.join(missing)}; it needs all four MNIST .gz files ({', '.join(_RAW_FILES)})")
    bad = [name for name in _RAW_FILES if _md5(source / name) != md5[name]]
    if bad:
        raise FileNotFoundError(
            f"{', '.join(str(source / name) for name in bad)}: not the MNIST file of that name (MD5 differs: "
            "truncated or corrupt); replace it with a good copy"
        )
    raw.mkdir(parents=True, exist_ok=True)
    for name in _RAW_FILES:
        cached = raw / name
        if cached.is_file() and _md5(cached) == md5[name]:
            continue
        atomic_write(cached, lambda tmp, name=name: shutil.copyfile(source / name, tmp))
        (raw / name.removesuffix(".gz")).unlink(missing_ok=True)


def _mnist(cache: Path, data_root: Path | None):
    """torchvision's MNIST in ``cache``, seeded from ``data_root/MNIST/raw`` when given."""
    from torchvision import datasets

    raw = cache / "MNIST" / "raw"
    if data_root is not None:
        _seed_cache(raw, data_root)

    def load():
        return datasets.MNIST(str(cache), train=True, download=True), datasets.MNIST(str(cache), train=False, download=True)

    def first_line(error: Exception) -> str:
        return (str(error).strip().splitlines() or [type(error).__name__])[0]

    try:
        return load()
    except Exception as error:  # no network, or a corrupt file
        if data_root is None:
            raise RuntimeError(
                f"could not load MNIST into {cache} ({first_line(error)}). Without a network, put the four MNIST "
                f".gz files into a folder DIR/MNIST/raw and pass --data-root DIR"
            ) from error
    # the .gz copies are checked, so the files torchvision extracted from them are at fault
    # (torn by a crash): extract them again, once
    for name in _RAW_FILES:
        (raw / name.removesuffix(".gz")).unlink(missing_ok=True)
    try:
        return load()
    except Exception as error:
        raise RuntimeError(
            f"could not read MNIST in {cache} from the checked copies of --data-root {data_root} "
            f"({first_line(error)}); delete {cache / 'MNIST'} and run again"
        ) from error


def mobius_shift(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move each scalar image ``(N, 1, W, L)`` along the Möbius strip by its own shift."""
    width, length = images.shape[-2:]
    strip = MobiusStrip(width, length)
    scalar = FieldType(strip.group, [trivial(strip.group)])
    out = torch.empty_like(images)
    for s in torch.unique(shifts).tolist():
        picked = shifts == s
        out[picked] = strip.shift(s).field_map(strip).apply(images[picked], scalar)
    return out


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def _generate(cache: Path, data_root: Path | None, train_size: int, seed: int) -> dict[str, np.ndarray]:
    train, test = _mnist(cache, data_root)
    if not 0 < train_size <= len(train.data):
        raise ValueError(f"train size must be in 1..{len(train.data)}, got {train_size}")
    arrays = {}
    for stream, (split, ds, n) in enumerate((("train", train, train_size), ("test", test, len(test.data)))):
        images = ds.data[:n].unsqueeze(1)  # uint8, exact under pixel permutations
        # one stream per split, drawn for the whole split: digit i gets the same shift whatever n is
        all_shifts = np.random.default_rng([seed, stream]).integers(0, 2 * images.shape[-1], size=len(ds.data))
        shifts = torch.from_numpy(all_shifts[:n])
        arrays[f"{split}_centered"] = images.numpy()
        arrays[f"{split}_shifted"] = mobius_shift(images, shifts).numpy()
        arrays[f"{split}_labels"] = ds.targets[:n].numpy()
        arrays[f"{split}_shifts"] = shifts.numpy()
    return arrays


def _load_or_generate(cache: Path, data_root, train_size: int, seed: int, log) -> dict[str, np.ndarray]:
    """The cached arrays if present and intact, else freshly generated ones, written atomically."""
    stem = cache / f"mobius_mnist_train{train_size}_seed{seed}"
    npz, meta = stem.with_suffix(".npz"), stem.with_suffix(".json")
    if npz.exists() and meta.exists():
        try:
            with np.load(npz) as f:
                arrays = {k: f[k] for k in f.files}
            if _checksum(arrays) == json.loads(meta.read_text())["sha256"]:
                return arrays
            log(f"cached Möbius MNIST {npz} fails its checksum; rebuilding it")
        except Exception as error:  # unreadable file
            log(f"cached Möbius MNIST {npz} is unreadable ({error}); rebuilding it")
    elif npz.exists() or meta.exists():
        log(f"cached Möbius MNIST {stem} is incomplete; rebuilding it")
    log(f"generating Möbius MNIST ({train_size} train digits, shift seed {seed}) into {cache}")
    arrays = _generate(cache, Path(data_root) if data_root else None, train_size, seed)
    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: given a name, np.savez would append ".npz" to it
            np.savez(f, **arrays)

    atomic_write(npz, save)
    atomic_write_text(meta, json.dumps({"sha256": _checksum(arrays), "train_size": train_size, "seed": seed}))
    return arrays


def load_mobius_mnist(
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    train_size: int = 12000,
    seed: int = 0,
    log=print,
) -> dict[str, MobiusMNIST]:
    """Train and test splits of Möbius MNIST, generated once and cached with a checksum.

    Several processes may call it at once on one cache: one prepares the data while the
    others wait for it (a file lock), so none reads a half-written file.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / ".lock", waiting=lambda: log(f"waiting for another process preparing the data in {cache}")):
        arrays = _load_or_generate(cache, data_root, train_size, seed, log)
    out = {}
    for split in ("train", "test"):
        out[split] = MobiusMNIST(
            centered=torch.from_numpy(arrays[f"{split}_centered"]).float() / 255.0,
            shifted=torch.from_numpy(arrays[f"{split}_shifted"]).float() / 255.0,
            labels=torch.from_numpy(arrays[f"{split}_labels"]).long(),
            shifts=torch.from_numpy(arrays[f"{split}_shifts"]).long(),
        )
    return out
