"""Results as data, shared by the benchmarks: records from JSON lines, their statistics and provenance."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from ._files import read_json_lines

__all__ = ["load_records", "protocol_records", "mean_std", "provenance", "chart_source"]


def load_records(paths: Iterable[Path | str]) -> list[dict]:
    """The JSON lines of ``paths``, one record per line, read as the trainer reads them: a torn or
    corrupt line is skipped with a warning that names file and line; a missing file is an error."""
    records = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no results file {path}")
        records += read_json_lines(path)
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
    wall = "; ".join(f"{device}: median {_duration(statistics.median(w))}, {_span(w)}" for device, w in sorted(walls.items()))
    return "\n".join(
        [
            f"- {_runs(len(records))} finished, of {protocol}.",
            f"- Devices: {counted('device')}.",
            f"- gaugecnn {counted('gaugecnn_version')}; torch {counted('torch_version')}.",
            f"- Wall time per run (training and evaluation): {wall}.",
        ]
    )


def _duration(seconds: float) -> str:
    """Seconds below two minutes, whole minutes below two hours, else hours."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _span(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return _duration(low) if _duration(low) == _duration(high) else f"{_duration(low)} to {_duration(high)}"


def chart_source(path: Path) -> str:
    """What the chart records as its source: the data file's name and SHA-256."""
    return f"{Path(path).name} sha256:{hashlib.sha256(Path(path).read_bytes()).hexdigest()}"


def timing_record(batch: int, rounds: int, steps: int, results: dict) -> dict:
    """A timing measurement with the machine, threads and torch it ran on (the form every timing file keeps)."""
    import platform

    import torch

    return {
        "device": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": batch,
        "rounds": rounds,
        "steps": steps,
        "results": results,
    }


def timing_header(data: dict) -> str:
    """The first line of a timing table: what was timed, how, and where."""
    return (
        f"Training step, batch {data['batch']}: median of {data['rounds']} interleaved rounds of {data['steps']} steps; "
        f"{data['device']}, {data['threads']} thread(s), torch {data['torch']}."
    )
