"""Spherical MNIST results as data: the tables of docs/results.md and the README, and the chart.

Every figure of ours is generated from the committed runs (``RESULTS_DATA``) by

    python -m benchmarks.spherical_mnist --table benchmarks/results/spherical_mnist.jsonl --update-docs

and ``tests/test_spherical_mnist.py`` checks that what is committed is what that command writes.
Accuracies are ``100 - test error``; a cell is the mean ± sample standard deviation over
seeds. Columns: N/N (trained on unrotated digits, tested on unrotated ones), N/R (tested on
rotated ones), N/G (tested on digits moved by the grid's own exact rotations: a gauge CNN
must score as on N/N), R/R (trained and tested rotated).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .._docs import write_blocks
from .._report import chart_source, load_records, mean_std, protocol_records, provenance
from .models import MODELS, PUBLISHED, SMOKE, VARIANTS, build_atlas, build_model, count_parameters
from .train import SphericalConfig

__all__ = [
    "RESULTS_DATA",
    "COLUMNS",
    "cells",
    "results_table",
    "published_table",
    "summary_table",
    "generated_blocks",
    "history_table",
    "update_docs",
    "protocol_of",
]

REPO = Path(__file__).resolve().parents[2]
RESULTS_DATA = REPO / "benchmarks" / "results" / "spherical_mnist.jsonl"
COMMAND = "python -m benchmarks.spherical_mnist --table FILE --update-docs"
TABLE_LEGEND = (
    "Accuracy (%) on test digits: mean ± sample std over our seeds, the number of seeds in brackets; "
    "columns trained/tested, N unrotated, R rotated, G moved by the grid's own exact rotations."
)
# the trained weights (4 bytes a parameter) of the smallest and the largest model, full grids (measured; a test checks them)
MODEL_FILE_SIZES = "0.5 to 1.6 MB a run"


def protocol_words(config: SphericalConfig) -> str:
    """The protocol of ``config`` in words: the published protocol (our defaults), or what it is."""
    epochs = f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"
    digits = f"{config.train_size} train / {config.test_size} test digits"
    if config == SphericalConfig():
        return f"the published protocol ({epochs}, {digits})"
    grids = ", small grids" if config.quick_grids else ""
    return f"another protocol than the published one ({epochs}, {digits}, batch {config.batch_size}{grids})"


def published_runs_missing(records: Sequence[dict]) -> list[str]:
    """The runs of the published protocol in the committed results (what the docs show) that ``records`` lack."""
    have = {(r["model"], r["train_mode"], r["seed"]) for r in records}
    published = sorted((r["model"], r["train_mode"], r["seed"]) for r in protocol_records(load_records([RESULTS_DATA]), SphericalConfig()))
    return [f"{m} {mode} seed {seed}" for m, mode, seed in published if (m, mode, seed) not in have]


COLUMNS = {"N/N": ("N", "N"), "N/R": ("N", "R"), "N/G": ("N", "G"), "R/R": ("R", "R")}  # column -> (train, test set)


def protocol_of(records: Sequence[dict]) -> str:
    """The rotation protocol(s) of the records, in words."""
    chunks = sorted({r["rotation_chunk"] for r in records})
    words = {1: "one rotation per digit", 500: "one rotation per chunk of 500 digits (the published protocol)"}
    return "; ".join(words.get(c, f"one rotation per chunk of {c} digits") for c in chunks) or "no runs yet"


def cells(records: Sequence[dict], model: str) -> dict[str, list[float]]:
    """Accuracies (%) of a model's runs, per column."""
    out = {}
    for column, (train, test) in COLUMNS.items():
        out[column] = [100.0 - r[f"test_error_{test}"] for r in records if r["model"] == model and r["train_mode"] == train]
    return out


def _grid(model: str, quick: bool = False) -> str:
    atlas = build_atlas(model, quick)
    manifold, _, family = {**MODELS, **SMOKE, **{name: v[:3] for name, v in VARIANTS.items()}}[model]
    kind = "cube sphere" if manifold == "cube" else "icosphere"
    fields = "plain channels, no gauge action" if family == "cnn" else atlas.group.name
    return f"{kind} {'x'.join(map(str, atlas.shape))}, {fields}"


def _params(records: Sequence[dict], model: str) -> str:
    """The parameter count of a model's runs, or of the model built here (it does not depend on the grid's size)."""
    own = [r["params"] for r in records if r["model"] == model]
    return str(own[0] if own else count_parameters(build_model(model, build_atlas(model, quick=True))))


def results_table(records: Sequence[dict], models: Sequence[str] = tuple(MODELS)) -> str:
    """Markdown: per model, its grid, parameters and accuracy per column (mean ± std, seeds)."""
    quick = any(r.get("quick_grids") for r in records)
    lines = ["| model | grid | params | N/N | N/R | N/G | R/R |", "|---|---|---|---|---|---|---|"]
    for m in models:
        values = cells(records, m)
        shown = [f"{mean_std(v)} ({len(v)})" if v else "–" for v in values.values()]
        lines.append(f"| {m} | {_grid(m, quick)} | {_params(records, m)} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def published_table() -> str:
    """Markdown: the published accuracies the issue lists, as given."""
    lines = ["| model | N/N | N/R | R/R | notes |", "|---|---|---|---|---|"]
    for name, (nn_, nr, rr, note) in PUBLISHED.items():
        shown = ["–" if v is None else f"{v:.2f}" for v in (nn_, nr, rr)]
        lines.append(f"| {name} | " + " | ".join(shown) + f" | {note} |")
    return "\n".join(lines)


def summary_table(records: Sequence[dict]) -> str:
    """The README's short table: our models with runs, N/N, N/R and R/R."""
    lines = ["| model | N/N | N/R | R/R |", "|---|---|---|---|"]
    for m in MODELS:
        values = cells(records, m)
        if not any(values.values()):
            continue
        lines.append(
            f"| {m} | "
            + " | ".join(f"{mean_std(values[c])} ({len(values[c])})" if values[c] else "–" for c in ("N/N", "N/R", "R/R"))
            + " |"
        )
    if len(lines) == 2:
        lines.append("| (no runs yet) | – | – | – |")
    return "\n".join(lines)


def history_table(records: Sequence[dict]) -> str:
    """Per-epoch training history of the runs that recorded one: train loss and accuracy (rotated digits as
    trained, for R), and accuracy on the test set of the run's own train mode after every epoch."""
    runs = [r for r in records if r.get("history")]
    if not runs:
        return "(no run recorded its history yet)"
    epochs = max(len(r["history"]) for r in runs)
    lines = [
        "| run | " + " | ".join(str(e + 1) for e in range(epochs)) + " |",
        "|---|" + "---:|" * epochs,
    ]
    for r in runs:
        mode = r["train_mode"]
        own = [h.get(f"test_accuracy_{mode}") for h in r["history"]]
        rows = (
            ("train loss", [f"{h['train_loss']:.3f}" for h in r["history"]]),
            ("train acc.", [f"{h['train_accuracy']:.1f}" for h in r["history"]]),
            (f"test acc. {mode}", ["–" if a is None else f"{a:.2f}" for a in own]),
        )
        for what, cells in rows:
            lines.append(f"| {r['model']} {mode}/{mode}, seed {r['seed']}: {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def generated_blocks(records: Sequence[dict]) -> dict[str, str]:
    return {
        "spherical-history": history_table(records),
        "spherical-results": results_table(records),
        "spherical-published": published_table(),
        "spherical-provenance": (f"- Rotation protocol: {protocol_of(records)}.\n" + provenance(records, "the protocol below"))
        if records
        else "- No runs yet.",
        "spherical-summary": summary_table(records),
    }


def update_docs(data: Path, root: Path = REPO, config: SphericalConfig | None = None) -> list[Path]:
    """Rewrite the spherical blocks of docs/results.md and README.md and the chart from ``data``."""
    records = protocol_records(load_records([data]), config or SphericalConfig())
    blocks = generated_blocks(records)
    written = [write_blocks(doc, blocks, COMMAND) for doc in (root / "docs" / "results.md", root / "README.md")]
    chart = root / "docs" / "img" / "spherical_results.png"
    plot_accuracies(records, chart, source=chart_source(data))
    return [*written, chart]


def plot_accuracies(records: Sequence[dict], path: Path, source: str | None = None) -> Path:
    """Bar chart: test error (%, log scale) per model and column, the published figures beside."""
    from gaugecnn.viz import _pyplot

    from .._files import atomic_write

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    colours = {"N/N": "#3b75af", "N/R": "#e08b2c", "N/G": "#6aa84f", "R/R": "#9b59b6"}
    measured = [name for name in MODELS if any(cells(records, name).values())]  # models without runs take no room
    names = measured + list(PUBLISHED)
    width = 0.2
    for i, name in enumerate(names):
        if name in MODELS:
            values = {c: v for c, v in cells(records, name).items() if v}
            errors = {c: [100 - a for a in v] for c, v in values.items()}
        else:
            given = dict(zip(("N/N", "N/R", "R/R"), PUBLISHED[name][:3]))
            errors = {c: [100 - v] for c, v in given.items() if v is not None}
        for k, column in enumerate(COLUMNS):
            if column in errors:
                e = errors[column]
                ax.bar(
                    i + (k - 1.5) * width,
                    sum(e) / len(e),
                    width,
                    color=colours[column],
                    hatch="" if name in MODELS else "//",
                    alpha=1.0 if name in MODELS else 0.45,
                )
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=f"{col} (train/test)") for col, c in colours.items()]
    ax.legend(handles=handles, fontsize=8, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_yscale("log")
    ax.set_ylabel("test error (%)")
    ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=7, rotation=30, ha="right")
    ax.set_title(f"Spherical MNIST: {len(records)} runs of ours (solid) beside published figures (hatched)", fontsize=10, pad=22)
    ax.grid(axis="y", which="both", alpha=0.3)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, metadata={"Source": source} if source else None))
    plt.close(fig)
    return Path(path)


QUICK_DATA = REPO / "benchmarks" / "results" / "spherical_mnist_quick.jsonl"
QUICK_COMMAND = "python -m benchmarks.spherical_mnist --quick --table FILE --update-docs"


def quick_block(records: Sequence[dict], config: SphericalConfig) -> str:
    """What the quick preset gives: the table of the models it ran, the protocol and times."""
    models = [m for m in MODELS if any(r["model"] == m for r in records)]
    return f"{results_table(records, models)}\n\n{provenance(records, protocol_words(config))}"


def update_quick_docs(records: Sequence[dict], config: SphericalConfig, root: Path = REPO) -> Path:
    """Rewrite the quick preset's block of docs/results.md."""
    return write_blocks(root / "docs" / "results.md", {"spherical-quick": quick_block(records, config)}, QUICK_COMMAND)
