"""Results as data, shared by the benchmarks: records from JSON lines, their statistics and provenance."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["load_records", "protocol_records", "mean_std", "provenance", "chart_source"]


def load_records(paths: Iterable[Path | str]) -> list[dict]:
    """The JSON lines of ``paths``, one record per line; a bad line is an error naming file and line."""
    records = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no results file {path}")
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number} is not a JSON line ({error.msg}); fix or delete that line") from None
    return records


def protocol_records(records: Sequence[dict], config) -> list[dict]:
    """The records made under ``config`` (a benchmark's protocol), one per (model, mode, seed).

    Where two records share a (model, mode, seed), e.g. the same results merged twice,
    the first is kept.
    """
    unique: dict[tuple, dict] = {}
    for r in records:
        if config.matches(r):
            unique.setdefault((r["model"], r["train_mode"], r["seed"]), r)
    return list(unique.values())


def mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def provenance(records: Sequence[dict], protocol: str = "the paper's protocol") -> str:
    """Where the runs were made: device, versions, wall time, as a Markdown list."""

    def counted(key: str) -> str:
        return ", ".join(f"{value} ({_runs(n)})" for value, n in sorted(Counter(str(r.get(key, "?")) for r in records).items()))

    walls = {}
    for r in records:
        walls.setdefault(r["device"], []).append(r["wall_time_s"])
    wall = "; ".join(
        f"{device}: median {statistics.median(w) / 60:.0f} min, {min(w) / 60:.0f}–{max(w) / 60:.0f}" for device, w in sorted(walls.items())
    )
    return "\n".join(
        [
            f"- {_runs(len(records))} finished, of {protocol}.",
            f"- Devices: {counted('device')}.",
            f"- gaugecnn {counted('gaugecnn_version')}; torch {counted('torch_version')}.",
            f"- Wall time per run (training and evaluation): {wall}.",
        ]
    )


def chart_source(path: Path) -> str:
    """What the chart records as its source: the data file's name and SHA-256."""
    return f"{Path(path).name} sha256:{hashlib.sha256(Path(path).read_bytes()).hexdigest()}"
