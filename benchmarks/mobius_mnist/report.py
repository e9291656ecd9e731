"""Möbius MNIST results as data: tables and the bar chart, generated from JSON lines.

Every figure of ours in docs/results.md, the README and docs/img/results.png comes from
one committed file of finished runs (``RESULTS_DATA``), written between markers by

    python -m benchmarks.mobius_mnist --table benchmarks/results/mobius_mnist.jsonl --update-docs

and ``tests/test_mobius_mnist.py`` checks that what is committed is what that command
writes, so no number in the docs can drift from the data.

A cell is the mean ± sample standard deviation of the test error on shifted test digits
over our seeds, beside the paper's mean ± std of 32 runs, and ``Δ`` is their difference in
units of the paper's standard deviation, ``(ours − paper) / σ_paper``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from .._docs import read_blocks, replace_blocks, write_blocks
from .._report import chart_source, load_records, mean_std, protocol_records, provenance
from .models import ABLATIONS, MODELS, PAPER
from .train import TrainConfig

__all__ = [
    "RESULTS_DATA",
    "load_records",
    "protocol_records",
    "paper_records",
    "results_table",
    "summary_table",
    "ablation_table",
    "provenance",
    "chart_source",
    "generated_blocks",
    "read_blocks",
    "replace_blocks",
    "update_docs",
]

REPO = Path(__file__).resolve().parents[2]
RESULTS_DATA = REPO / "benchmarks" / "results" / "mobius_mnist.jsonl"
MODES = ("shifted", "centered")
FLAG = 2.0  # cells further than this many paper standard deviations are flagged


def paper_records(records: Sequence[dict]) -> list[dict]:
    """The records made under the paper's protocol, one per (model, mode, seed)."""
    return protocol_records(records, TrainConfig())


def _paper(model: str) -> tuple:
    return PAPER[ABLATIONS[model][0]] if model in ABLATIONS else PAPER[model]


def _errors(records: Sequence[dict], model: str, mode: str, key: str = "test_error_shifted") -> list[float]:
    return [r[key] for r in records if r["model"] == model and r["train_mode"] == mode]


def _delta(values: list[float], paper: tuple[float, float]) -> str:
    if not values:
        return "–"
    delta = (statistics.mean(values) - paper[0]) / paper[1]
    return f"{delta:+.1f}{' †' if abs(delta) > FLAG else ''}"


def results_table(records: Sequence[dict], models: Sequence[str] = MODELS) -> str:
    """Markdown: per model and train mode, ours (mean ± std, seeds) beside the paper, and Δ in paper std."""
    lines = [
        "| model | params (paper's) | trained shifted: ours | seeds | paper | Δ | trained centered: ours | seeds | paper | Δ |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in models:
        paper_params, *paper = _paper(m)
        own = [r for r in records if r["model"] == m]
        params = f"{own[0]['params']} ({paper_params})" if own else f"– ({paper_params})"
        cells = []
        for mode, (mean, std) in zip(MODES, paper):
            values = _errors(records, m, mode)
            cells += [mean_std(values), str(len(values)), f"{mean:.2f} ± {std:.2f}", _delta(values, (mean, std))]
        lines.append(f"| {m} | {params} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_table(records: Sequence[dict]) -> str:
    """The README's short table: all seven models, ours (seeds) beside the paper."""
    lines = ["| model | trained shifted: ours | paper | trained centered: ours | paper |", "|---|---|---|---|---|"]
    for m in MODELS:
        cells = []
        for mode, (mean, std) in zip(MODES, PAPER[m][1:]):
            values = _errors(records, m, mode)
            cells += [f"{mean_std(values)} ({len(values)})" if values else "–", f"{mean:.2f} ± {std:.2f}"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _parameters(model: str) -> int:
    from manifolds import MobiusStrip

    from .models import build_model, count_parameters

    return count_parameters(build_model(model, MobiusStrip(28, 28)))


def ablation_table(records: Sequence[dict]) -> str:
    """Each ablation or variant beside its base model on the seeds both have (paired runs)."""
    lines = [
        "| model | params (base) | train mode | paired seeds | base model: ours | variant: ours | paper (base model) |",
        "|---|---|---|---|---|---|---|",
    ]
    for ablation, (base, _) in ABLATIONS.items():
        params = f"{_parameters(ablation)} ({_parameters(base)})"
        for mode, (mean, std) in zip(MODES, PAPER[base][1:]):
            by_seed = {
                name: {r["seed"]: r["test_error_shifted"] for r in records if r["model"] == name and r["train_mode"] == mode}
                for name in (base, ablation)
            }
            seeds = sorted(set(by_seed[base]) & set(by_seed[ablation]))
            pair = [mean_std([by_seed[name][s] for s in seeds]) for name in (base, ablation)]
            lines.append(f"| {ablation} vs {base} | {params} | {mode} | {len(seeds)} | {pair[0]} | {pair[1]} | {mean:.2f} ± {std:.2f} |")
    return "\n".join(lines)


def centered_test_table(records: Sequence[dict], models: Sequence[str] = MODELS) -> str:
    """Markdown: the error on the centered (unshifted) test digits, for completeness."""
    lines = ["| model | trained shifted | trained centered |", "|---|---|---|"]
    for m in models:
        cells = [mean_std(_errors(records, m, mode, "test_error_centered")) for mode in MODES]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generated_blocks(records: Sequence[dict]) -> dict[str, str]:
    """The generated Markdown blocks by name, as they appear between the docs' markers."""
    return {
        "results": results_table(records),
        "centered-test": centered_test_table(records),
        "ablations": ablation_table(records),
        "provenance": provenance(records),
        "summary": summary_table(records),
    }


COMMAND = "python -m benchmarks.mobius_mnist --table FILE --update-docs"


def update_docs(data: Path, root: Path = REPO) -> list[Path]:
    """Rewrite the generated blocks of docs/results.md and README.md and the bar chart from ``data``."""
    from ..figures import plot_results

    records = paper_records(load_records([data]))
    blocks = generated_blocks(records)
    written = [write_blocks(doc, blocks, COMMAND) for doc in (root / "docs" / "results.md", root / "README.md")]
    chart = root / "docs" / "img" / "results.png"
    plot_results(records, chart, source=chart_source(data))
    return [*written, chart]
