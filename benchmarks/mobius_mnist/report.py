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

from gaugecnn.viz import _pyplot

from .._docs import read_blocks, replace_blocks, write_blocks
from .._files import atomic_write
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


TABLE_LEGEND = (
    "Ours: mean ± sample std over our seeds (one seed: the value alone); paper: mean ± std of its 32 runs; "
    f"Δ = (ours − paper) / σ_paper; † marks |Δ| > {FLAG:g}."
)


def protocol_words(config: TrainConfig) -> str:
    """The protocol of ``config`` in words: the paper's, or what it is."""
    if config == TrainConfig():
        return "the paper's protocol"
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    digits = f"{config.train_size} train / {config.test_size} test digits"
    return f"another protocol than the paper's ({epochs}, {digits}, batch {config.batch_size})"


def model_file_sizes() -> str:
    """How large a saved model is: 4 bytes per parameter of the paper's models (its Table, ``PAPER``)."""
    sizes = [4 * params / 1e6 for params, *_ in PAPER.values()]
    return f"{min(sizes):.1f} to {max(sizes):.1f} MB a run"


def published_runs_missing(records: Sequence[dict]) -> list[str]:
    """The runs of the paper's protocol in the committed results (what the docs show) that ``records`` lack."""
    have = {(r["model"], r["train_mode"], r["seed"]) for r in paper_records(records)}
    published = sorted((r["model"], r["train_mode"], r["seed"]) for r in paper_records(load_records([RESULTS_DATA])))
    return [f"{m} {mode} seed {seed}" for m, mode, seed in published if (m, mode, seed) not in have]


def paper_records(records: Sequence[dict]) -> list[dict]:
    """The records made under the paper's protocol, one per (model, mode, seed)."""
    return protocol_records(records, TrainConfig())


def _paper(model: str) -> tuple:
    """The paper's row for a model (its base model's for an ablation; none for the pipeline check)."""
    if model in ABLATIONS:
        return PAPER[ABLATIONS[model][0]]
    return PAPER.get(model, (None, None, None))


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
        params = f"{own[0]['params'] if own else '–'} ({paper_params or '–'})"
        cells = []
        for mode, published in zip(MODES, paper):
            values = _errors(records, m, mode)
            shown = "–" if published is None else f"{published[0]:.2f} ± {published[1]:.2f}"
            cells += [mean_std(values), str(len(values)), shown, "–" if published is None else _delta(values, published)]
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
    records = paper_records(load_records([data]))
    blocks = generated_blocks(records)
    written = [write_blocks(doc, blocks, COMMAND) for doc in (root / "docs" / "results.md", root / "README.md")]
    chart = root / "docs" / "img" / "results.png"
    plot_results(records, chart, source=chart_source(data))
    return [*written, chart]


def plot_results(records: Sequence[dict], path: Path | str, source: str | None = None) -> Path:
    """Bar chart of test error on shifted digits per model and train mode, beside the paper's values; saved to ``path``.

    ``records`` are dicts as in ``results.jsonl`` (keys ``model``, ``train_mode``,
    ``test_error_shifted``); several runs of one model and mode give mean ± std.
    Models without records show the paper's bars only. ``source``, if given, is stored in
    the PNG's "Source" text field (the docs chart records the SHA-256 of its data file).
    """
    plt = _pyplot()
    models = [m for m in MODELS if m in PAPER]
    fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
    bar = 0.19
    colours = {"shifted": "#3b75af", "centered": "#e08b2c"}
    for m, model in enumerate(models):
        for k, mode in enumerate(("shifted", "centered")):
            paper_mean, paper_std = PAPER[model][1 + k]
            ours = [r["test_error_shifted"] for r in records if r["model"] == model and r["train_mode"] == mode]
            x = m + (2 * k - 1.5) * bar
            ax.bar(
                x + bar,
                paper_mean,
                bar,
                yerr=paper_std,
                color=colours[mode],
                alpha=0.35,
                hatch="//",
                edgecolor=colours[mode],
                error_kw={"linewidth": 0.8},
            )
            if ours:
                std = statistics.stdev(ours) if len(ours) > 1 else 0.0
                ax.bar(x, statistics.mean(ours), bar, yerr=std or None, color=colours[mode], error_kw={"linewidth": 0.8})
                ax.text(
                    x, statistics.mean(ours) * 1.08, f"{statistics.mean(ours):.2f}", ha="center", va="bottom", fontsize=6.5, rotation=90
                )
    from matplotlib.patches import Patch

    handles = [
        Patch(color=colours["shifted"], label="ours, trained shifted"),
        Patch(facecolor=colours["shifted"], alpha=0.35, hatch="//", edgecolor=colours["shifted"], label="paper, trained shifted"),
        Patch(color=colours["centered"], label="ours, trained centered"),
        Patch(facecolor=colours["centered"], alpha=0.35, hatch="//", edgecolor=colours["centered"], label="paper, trained centered"),
    ]
    ax.legend(handles=handles, fontsize=8, ncols=2, loc="upper right")
    ax.set_yscale("log")
    ax.set_ylim(0.5, 150)
    ax.set_xticks(range(len(models)), models, fontsize=9)
    ax.set_ylabel("test error on shifted digits (%)")
    runs = sum(r["model"] in models for r in records)
    ax.set_title(
        f"Möbius MNIST: {runs} run{'s' if runs != 1 else ''} of ours beside the paper (Weiler et al. 2021)"
        if runs
        else "Möbius MNIST: the paper's test errors (no runs of ours yet)",
        fontsize=10,
    )
    ax.grid(axis="y", which="both", alpha=0.3)
    path = atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, metadata={"Source": source} if source else None))
    plt.close(fig)
    return path


# -- data and weights ----------------------------------------------------------------------------------------------


QUICK_DATA = REPO / "benchmarks" / "results" / "mobius_mnist_quick.jsonl"
QUICK_COMMAND = "python -m benchmarks.mobius_mnist --quick --table FILE --update-docs"


def quick_block(records: Sequence[dict], config: TrainConfig) -> str:
    """What the quick preset gives: the table (the paper's columns only for orientation), the protocol and times."""
    return f"{results_table(records)}\n\n{provenance(records, protocol_words(config))}"


def update_quick_docs(records: Sequence[dict], config: TrainConfig, root: Path = REPO) -> Path:
    """Rewrite the quick preset's block of docs/results.md."""
    return write_blocks(root / "docs" / "results.md", {"quick": quick_block(records, config)}, QUICK_COMMAND)
