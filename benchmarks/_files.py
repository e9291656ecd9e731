"""Files the benchmarks write, written so that a crash or a second process never leaves them broken.

- ``atomic_write_*``: the content goes to a temporary file named after this process, which
  then replaces the target in one ``os.replace``; readers see the old file or the new one,
  never half of one, and two writers never share a temporary name.
- ``append_line``: one JSON line appended with a single ``write`` on a file opened for
  appending, so lines of concurrent writers do not interleave; if the file ends in a torn
  line (a crash mid-write), the new line starts on a line of its own.
- ``read_json_lines``: the records of a JSON-lines file, skipping torn or corrupt lines with
  a warning that names the file and line, so one bad line never stops later runs.
- ``file_lock``: an exclusive lock on a folder's work (an advisory ``flock``, dropped by the
  operating system when its process ends), for work that several processes may start at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "atomic_write_text", "atomic_torch_save", "append_line", "read_json_lines", "file_lock"]


def atomic_write(path: Path | str, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` for a temporary path beside ``path``, then move it onto ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_torch_save(obj: Any, path: Path | str) -> Path:
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def append_line(path: Path | str, record: dict) -> None:
    """Append ``record`` as one JSON line, on a new line even after a torn last line."""
    path = Path(path)
    data = (json.dumps(record) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    data = b"\n" + data
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json_lines(path: Path | str) -> list[dict]:
    """The JSON objects of a JSON-lines file (none if it is missing); bad lines are skipped with a warning."""
    path = Path(path)
    if not path.exists():
        return []
    records, bad = [], []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad.append(number)
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad.append(number)
    if bad:
        warnings.warn(
            f"{path}: skipped {len(bad)} line(s) that are not JSON records (line {', '.join(map(str, bad))}), "
            "e.g. torn by a crash mid-write; delete them to silence this",
            stacklevel=2,
        )
    return records


@contextlib.contextmanager
def file_lock(path: Path | str, waiting: Callable[[], Any] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing); ``waiting()`` is called if it must wait.

    Where ``fcntl`` is missing (Windows) it locks nothing.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
