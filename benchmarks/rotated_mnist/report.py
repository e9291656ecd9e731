"""Rotated MNIST results as data: the table of docs/results.md, generated from the committed runs.

    python -m benchmarks.rotated_mnist --table benchmarks/results/rotated_mnist.jsonl --update-docs

Test error (%) on the generated rotated test digits: mean ± sample standard deviation over
seeds; training-step time as the runs measured it (their devices are listed below the table).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from .._docs import write_blocks
from .._report import load_records, mean_std, protocol_records, provenance
from .models import CHANNELS, MODELS, group_of, library_of
from .train import QUICK, RotatedConfig

__all__ = ["RESULTS_DATA", "QUICK_DATA", "results_table", "protocol_words", "update_docs", "TABLE_LEGEND"]

REPO = Path(__file__).resolve().parents[2]
RESULTS_DATA = REPO / "benchmarks" / "results" / "rotated_mnist.jsonl"
QUICK_DATA = REPO / "benchmarks" / "results" / "rotated_mnist_quick.jsonl"
DOC = REPO / "docs" / "results.md"
COMMAND = "python -m benchmarks.rotated_mnist --table FILE --update-docs"
TABLE_LEGEND = (
    "Test error (%) on generated rotated MNIST digits (not the original MNIST-rot file): mean ± sample std over "
    "seeds, the number of seeds in brackets; step: milliseconds per training step, as the runs measured them."
)
MODEL_FILE_SIZES = "20 to 180 kB a run"


def protocol_words(config: RotatedConfig) -> str:
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    digits = f"{config.train_size} train / {config.test_size} test digits, batch {config.batch_size}"
    which = "the benchmark's protocol" if config == RotatedConfig() else "another protocol than the benchmark's"
    return f"{which} ({epochs}, {digits})"


def results_table(records: Sequence[dict], models: Sequence[str] = tuple(MODELS)) -> str:
    """Markdown: per model, its library, group, parameters, test error and step time."""
    lines = ["| model | library | group | params | test error (%) | step (ms) |", "|---|---|---|---:|---|---:|"]
    for m in models:
        own = [r for r in records if r["model"] == m]
        errors = [r["test_error"] for r in own]
        error = f"{mean_std(errors)} ({len(errors)})" if errors else "–"
        params = str(own[0]["params"]) if own else "–"
        step = f"{statistics.median(r['step_ms'] for r in own):.0f}" if own else "–"
        lines.append(f"| {m} | {library_of(m)} | {group_of(m)} | {params} | {error} | {step} |")
    return "\n".join(lines)


def _block(records: Sequence[dict], config: RotatedConfig) -> str:
    widths = ", ".join(map(str, CHANNELS))
    header = f"Protocol: {protocol_words(config)}; channel widths {widths} (SO(2): the nearest whole copies of 7)."
    where = provenance(records, protocol_words(config)) if records else "No runs of this protocol yet."
    return f"{header}\n\n{results_table(records)}\n\n{TABLE_LEGEND}\n\n{where}"


def update_docs(data: Path, config: RotatedConfig) -> Path:
    """Rewrite the generated block of docs/results.md (the quick preset's block for its runs)."""
    names = {RotatedConfig(): "rotated-mnist", RotatedConfig(**QUICK): "rotated-mnist-quick"}
    if config not in names:
        raise ValueError(
            "docs/results.md has tables for the benchmark's protocol and the quick preset (--quick) only; these settings "
            f"({protocol_words(config)}) have none: print their table without --update-docs"
        )
    records = protocol_records(load_records([data]), config)
    return write_blocks(DOC, {names[config]: _block(records, config)}, COMMAND)
