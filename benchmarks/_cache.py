"""Generated arrays cached on disk with a checksum, safe when several processes build them at once.

``cached_arrays(cache, stem, generate, describe, log)`` returns the arrays in ``cache/stem.npz``
if they are there and pass their SHA-256 checksum (kept in ``stem.json``), else calls
``generate()`` and writes them atomically. One process at a time prepares the cache (a file
lock); the others wait, then find it ready. A missing, incomplete or corrupt cache is
rebuilt with a message, never silently used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._files import atomic_write, atomic_write_text, file_lock

__all__ = ["cached_arrays", "checksum"]


def checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode())
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def cached_arrays(
    cache: Path, stem: str, generate: Callable[[], dict[str, np.ndarray]], describe: str, log: Callable[[str], object] = print
) -> dict[str, np.ndarray]:
    """The arrays of ``cache/stem``, generated (``describe`` says what, in the message) if missing or corrupt."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / ".lock", waiting=lambda: log(f"waiting for another process preparing the data in {cache}")):
        return _load_or_generate(cache / stem, generate, describe, cache, log)


def _load_or_generate(stem: Path, generate, describe: str, cache: Path, log) -> dict[str, np.ndarray]:
    npz, meta = stem.with_suffix(".npz"), stem.with_suffix(".json")
    if npz.exists() and meta.exists():
        try:
            with np.load(npz) as f:
                arrays = {k: f[k] for k in f.files}
            if checksum(arrays) == json.loads(meta.read_text())["sha256"]:
                return arrays
            log(f"cached {describe} {npz} fails its checksum; rebuilding it")
        except Exception as error:  # unreadable file
            log(f"cached {describe} {npz} is unreadable ({error}); rebuilding it")
    elif npz.exists() or meta.exists():
        log(f"cached {describe} {stem} is incomplete; rebuilding it")
    log(f"generating {describe} into {cache}")
    arrays = generate()

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: given a name, np.savez would append ".npz" to it
            np.savez(f, **arrays)

    atomic_write(npz, save)
    atomic_write_text(meta, json.dumps({"sha256": checksum(arrays)}))
    return arrays
