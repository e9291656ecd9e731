"""MNIST for the benchmarks: torchvision's real loading path, offline from a folder of the original files.

``load_mnist(cache, data_root)`` returns torchvision's train and test sets in ``cache``. With
``data_root`` (a folder holding ``MNIST/raw/*.gz``, torchvision's layout) the four files are
checked against MNIST's MD5 sums and copied in (a bad cached copy is replaced); without it
torchvision downloads them. Errors say what is missing and what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ._files import atomic_write

__all__ = ["default_cache_dir", "load_mnist"]

_RAW_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def default_cache_dir() -> Path:
    """``$GAUGECNN_CACHE`` if set, else ``~/.cache/gaugecnn``."""
    return Path(os.environ.get("GAUGECNN_CACHE", Path.home() / ".cache" / "gaugecnn"))


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


def load_mnist(cache: Path, data_root: Path | None):
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
