"""``python -m benchmarks.speed``: what gauge equivariance costs, measured against plain convolutions.

For every Möbius MNIST model, the training step (forward, loss, backward, Adam step) and the
eval forward of the gaugecnn model are timed against its plain-conv lower bound: the same
topology and channel counts with ``nn.Conv2d`` and its built-in zero padding, ``nn.ELU``,
``nn.MaxPool2d`` -- no kernel expansion, no transport padding. Both run in one process,
interleaved, for several rounds; the table gives medians (min-max) and ratios. Layer-level
figures compare GaugeConv, the nonlinearities and pooling with their plain counterparts.
Memory: the bytes autograd saves for backward in one training step (the activations), and
on CUDA the allocator's peak. Denormals are flushed on both sides (``--no-flush-denormal``
to keep them). This is a benchmark: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import gaugecnn
from gaugecnn import FieldType
from gaugecnn import nn as gnn
from manifolds import MobiusStrip

from ._docs import read_blocks, replace_blocks
from ._files import atomic_write_text
from .mobius_mnist.models import ABLATIONS, MODELS, build_model

__all__ = ["main", "plain_lower_bound"]


def plain_lower_bound(model: nn.Sequential, kernel_size: int = 5) -> nn.Sequential:
    """The same topology with plain layers: Conv2d(padding=k//2), ELU, MaxPool2d, global max pool."""
    layers: list[nn.Module] = []
    c_in = 1
    for m in model:
        if isinstance(m, (gnn.GaugeConv, gnn.SeparableGaugeConv, gnn.ConventionalConv)):
            c_out = m.out_channels if isinstance(m, gnn.ConventionalConv) else m.out_type.size
            layers.append(nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2))
            c_in = c_out
        elif isinstance(m, (gnn.FieldNonlinearity, nn.ELU)):
            layers.append(nn.ELU())
        elif isinstance(m, gnn.GaugePool):
            layers.append(nn.MaxPool2d(2))
        elif isinstance(m, gnn.GlobalPool):
            layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten()]
        else:  # the classifier: identical on both sides
            layers.append(copy.deepcopy(m))
    return nn.Sequential(*layers)


def _time(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def _stats(times: list[float]) -> dict:
    return {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times), "max_ms": 1e3 * max(times)}


def _train_step(model, optimizer, x, y):
    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def _eval_forward(model, x):
    def forward():
        with torch.no_grad():
            model(x)

    return forward


def _saved_for_backward_mb(model, x, y) -> float:
    """Megabytes autograd keeps for backward in one training forward (distinct storages)."""
    seen: dict[int, int] = {}

    def pack(t):
        if t.device.type != "meta":
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    model.zero_grad(set_to_none=True)
    return sum(seen.values()) / 2**20


def _compare(pairs: dict[str, tuple[Callable, Callable]], rounds: int, warmup: int, device) -> dict:
    """Interleaved timing of (gauge, plain) callables: warm-up, then ``rounds`` alternations."""
    out = {}
    for name, (gauge, plain) in pairs.items():
        for _ in range(warmup):
            gauge()
            plain()
        tg, tp = [], []
        for _ in range(rounds):
            tg.append(_time(gauge, device))
            tp.append(_time(plain, device))
        out[name] = {"gauge": _stats(tg), "plain": _stats(tp), "ratio": statistics.median(tg) / statistics.median(tp)}
    return out


def bench_models(models, batch, rounds, warmup, device, compiled: bool) -> dict:
    strip = MobiusStrip(28, 28)
    results = {}
    for name in models:
        torch.manual_seed(0)
        gauge = build_model(name, strip).to(device)
        plain = plain_lower_bound(gauge).to(device)
        x = torch.rand(batch, 1, 28, 28, device=device)
        y = torch.randint(0, 10, (batch,), device=device)
        entry = {}
        variants = [("eager", gauge, plain)]
        if compiled:
            variants.append(("compiled", torch.compile(gauge), torch.compile(plain)))
        for variant, g, p in variants:
            og = torch.optim.Adam(gauge.parameters(), 5e-3, weight_decay=1e-6)
            op = torch.optim.Adam(plain.parameters(), 5e-3, weight_decay=1e-6)
            g.train(), p.train()
            train = _compare({"train": (_train_step(g, og, x, y), _train_step(p, op, x, y))}, rounds, warmup, device)
            g.eval(), p.eval()
            evals = _compare({"eval": (_eval_forward(g, x), _eval_forward(p, x))}, rounds, warmup, device)
            entry[variant] = {**train, **evals}
        gauge.train(), plain.train()
        entry["saved_for_backward_mb"] = {"gauge": _saved_for_backward_mb(gauge, x, y), "plain": _saved_for_backward_mb(plain, x, y)}
        if device.type == "cuda":
            peaks = {}
            for side, model in (("gauge", gauge), ("plain", plain)):
                torch.cuda.reset_peak_memory_stats(device)
                _train_step(model, torch.optim.Adam(model.parameters()), x, y)()
                peaks[side] = torch.cuda.max_memory_allocated(device) / 2**20
            entry["peak_cuda_mb"] = peaks
        results[name] = entry
        print(_model_line(name, entry), flush=True)
    return results


def bench_layers(batch, rounds, warmup, device) -> dict:
    """GaugeConv, the nonlinearities and pooling against Conv2d, ELU and MaxPool2d (train: fwd+bwd)."""
    strip = MobiusStrip(14, 14)
    g = strip.group
    cases = {}
    for label, text in (("regular", "32 regular"), ("sign", "64 sign"), ("mixed", "16 trivial + 16 sign + 16 regular")):
        t = FieldType(g, text)
        c = t.size
        x = torch.randn(batch, c, 14, 14, device=device, requires_grad=True)
        cases[f"conv {label} {c}->{c}"] = (gnn.GaugeConv(strip, t, t, 5).to(device), nn.Conv2d(c, c, 5, padding=2).to(device), x)
        cases[f"elu {label}"] = (gnn.ELU(t).to(device), nn.ELU().to(device), x)
        cases[f"pool {label}"] = (gnn.GaugePool(strip, t).to(device), nn.MaxPool2d(2).to(device), x)
    out = {}
    for name, (gauge, plain, x) in cases.items():

        def fwd_bwd(m, x=x):
            return lambda: m(x).sum().backward()

        out[name] = {
            **_compare({"train": (fwd_bwd(gauge), fwd_bwd(plain))}, rounds, warmup, device),
            **_compare({"eval": (_eval_forward(gauge.eval(), x), _eval_forward(plain.eval(), x))}, rounds, warmup, device),
        }
        gauge.train(), plain.train()
        print(f"  {name:28s} train x{out[name]['train']['ratio']:.2f}  eval x{out[name]['eval']['ratio']:.2f}", flush=True)
    return out


def _model_line(name: str, entry: dict) -> str:
    e = entry["eager"]
    line = (
        f"{name:15s} train {e['train']['gauge']['median_ms']:8.1f} ms vs {e['train']['plain']['median_ms']:8.1f} ms "
        f"(x{e['train']['ratio']:.2f})  eval {e['eval']['gauge']['median_ms']:7.1f} vs {e['eval']['plain']['median_ms']:7.1f} ms "
        f"(x{e['eval']['ratio']:.2f})"
    )
    if "compiled" in entry:
        c = entry["compiled"]
        line += f"  compiled train x{c['train']['ratio']:.2f} eval x{c['eval']['ratio']:.2f}"
    return line


def profile(name: str, batch: int, device: torch.device, rows: int = 15) -> str:
    """Operator breakdown (self time) of a few training steps and eval forwards of one gauge model."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch.manual_seed(0)
    model = build_model(name, MobiusStrip(28, 28)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), 5e-3, weight_decay=1e-6)
    x = torch.rand(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    tables = []
    for mode, step in (("train", _train_step(model.train(), optimizer, x, y)), ("eval", _eval_forward(model.eval(), x))):
        step()
        with torch_profile(activities=activities) as prof:
            for _ in range(3):
                step()
        sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        tables.append(f"{name} {mode}:\n" + prof.key_averages().table(sort_by=sort, row_limit=rows))
    return "\n".join(tables)


def markdown(results: dict) -> str:
    """The model table: medians (min-max) and ratios."""

    def cell(s):
        return f"{s['median_ms']:.1f} ({s['min_ms']:.1f}-{s['max_ms']:.1f})"

    rows = [
        "| model | train gauge ms | train plain ms | train ratio | eval gauge ms | eval plain ms | eval ratio "
        "| saved for backward MB (gauge / plain) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in results["models"].items():
        e = entry["eager"]
        mem = entry["saved_for_backward_mb"]
        rows.append(
            f"| {name} | {cell(e['train']['gauge'])} | {cell(e['train']['plain'])} | {e['train']['ratio']:.2f} "
            f"| {cell(e['eval']['gauge'])} | {cell(e['eval']['plain'])} | {e['eval']['ratio']:.2f} "
            f"| {mem['gauge']:.0f} / {mem['plain']:.0f} |"
        )
    return "\n".join(rows)


RESULTS = Path(__file__).resolve().parent / "results"
DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
COMMAND = "python -m benchmarks.speed --table FILES --update-docs"
COMMITTED = tuple(RESULTS / name for name in ("speed_models.json", "speed_models_before.json", "speed_peers.json", "speed_variants.json"))
PEER_BATCHES = {"mid": [16, 64, 128], "intro": [16, 128]}  # per network: the batch sizes timed against the peers
STEPS_PER_EPOCH = 12000 // 128  # the Möbius MNIST protocol: 93 steps of batch 128


def models_block(after: dict, before: dict | None = None) -> str:
    """Markdown: gaugecnn against the plain lower bound per Möbius model, and the epoch time, before and after."""
    info = after["info"]
    lines = [
        f"{info['device']}, {info['threads']} threads, batch {info['batch_size']}, median of {info['rounds']} "
        f"interleaved rounds; torch {info['torch']}.",
        "",
        "| model | train ms (plain) | train ratio | eval ms (plain) | eval ratio | epoch s | before: train / eval ratio, epoch s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in after["models"].items():
        e = entry["eager"]
        epoch = e["train"]["gauge"]["median_ms"] * STEPS_PER_EPOCH / 1e3
        old = ""
        if before and name in before["models"]:
            b = before["models"][name]["eager"]
            old = f"{b['train']['ratio']:.2f} / {b['eval']['ratio']:.2f}, {b['train']['gauge']['median_ms'] * STEPS_PER_EPOCH / 1e3:.0f}"
        lines.append(
            f"| {name} | {e['train']['gauge']['median_ms']:.0f} ({e['train']['plain']['median_ms']:.0f}) "
            f"| {e['train']['ratio']:.2f} | {e['eval']['gauge']['median_ms']:.0f} ({e['eval']['plain']['median_ms']:.0f}) "
            f"| {e['eval']['ratio']:.2f} | {epoch:.0f} | {old} |"
        )
    return "\n".join(lines)


def layers_block(after: dict) -> str:
    lines = ["| layer (14 x 14 strip) | train ratio | eval ratio |", "|---|---|---|"]
    for name, entry in after.get("layers", {}).items():
        lines.append(f"| {name} | {entry['train']['ratio']:.2f} | {entry['eval']['ratio']:.2f} |")
    return "\n".join(lines)


def peers_block(peers: dict) -> str:
    """Markdown: per network, group and batch, each library's times and gaugecnn's ratios to the peers."""
    info, libs = peers["info"], peers["libraries"]
    others = [lib for lib in libs if lib != "gaugecnn"]
    lines = [
        f"{info['device']}, {info['threads']} threads, median of {info['rounds']} interleaved rounds; torch "
        f"{info['torch']}, " + ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items()) + ".",
        "",
        "| network | library | params | build s | train ms | eval ms | exported ms | "
        + " | ".join(f"gaugecnn / {o}: train, eval, exported" for o in others)
        + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(others),
    ]
    for key, entry in peers["runs"].items():
        g = entry["gaugecnn"]
        for lib in libs:
            e = entry[lib]
            ratios = [
                f"{g['train_ms'] / entry[o]['train_ms']:.2f}, {g['eval_ms'] / entry[o]['eval_ms']:.2f}, "
                f"{g['exported_ms'] / entry[o]['exported_ms']:.2f}"
                if lib == "gaugecnn"
                else ""
                for o in others
            ]
            lines.append(
                f"| {key if lib == 'gaugecnn' else ''} | {lib} | {e['params']} | {e['build_s']:.2f} | {e['train_ms']:.1f} "
                f"| {e['eval_ms']:.1f} | {e['exported_ms']:.1f} | " + " | ".join(ratios) + " |"
            )
    return "\n".join(lines)


def variants_block(variants: dict, base: str = "gauge_regular") -> str:
    """Markdown: variants of a model (separable, band-limited) against it, measured in one run."""
    from manifolds import MobiusStrip

    from .mobius_mnist.models import count_parameters

    info, entries = variants["info"], variants["models"]
    ref = entries[base]["eager"]
    lines = [
        f"{info['device']}, {info['threads']} threads, batch {info['batch_size']}, median of {info['rounds']} "
        f"interleaved rounds; torch {info['torch']}.",
        "",
        f"| model | params | train ms | train / {base} | eval ms | eval / {base} | train / plain bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in entries.items():
        e = entry["eager"]
        train, evaluate = e["train"]["gauge"]["median_ms"], e["eval"]["gauge"]["median_ms"]
        params = count_parameters(build_model(name, MobiusStrip(28, 28)))
        lines.append(
            f"| {name} | {params} | {train:.0f} | {train / ref['train']['gauge']['median_ms']:.2f} | {evaluate:.0f} "
            f"| {evaluate / ref['eval']['gauge']['median_ms']:.2f} | {e['train']['ratio']:.2f} |"
        )
    return "\n".join(lines)


def performance_blocks(models: dict, before: dict | None, peers: dict | None, variants: dict | None = None) -> dict[str, str]:
    blocks = {"speed-models": models_block(models, before), "speed-layers": layers_block(models)}
    if peers is not None:
        blocks["speed-peers"] = peers_block(peers)
    if variants is not None:
        blocks["speed-variants"] = variants_block(variants)
    return blocks


def _load_tables(paths: list[Path]) -> tuple[dict, dict | None, dict | None, dict | None]:
    """The models file, and optional ``*before*`` models, peers and ``*variants*`` files, told apart by content and name."""
    models = before = peers = variants = None
    for path in paths:
        if not Path(path).is_file():
            raise SystemExit(f"error: --table: no results file {path}")
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise SystemExit(
                f"error: --table: {path} is not JSON ({error.msg} at line {error.lineno}); give a file written by --out"
            ) from None
        if "runs" in data:
            peers = data
        elif "before" in Path(path).name:
            before = data
        elif "variants" in Path(path).name:
            variants = data
        else:
            models = data
    if models is None:
        raise SystemExit("--table needs a results file of the models (python -m benchmarks.speed --out FILE)")
    return models, before, peers, variants


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--models",
        default="all",
        help=f"comma-separated model names, 'all' among them for every paper model ({', '.join(MODELS)}), "
        f"or variants ({', '.join(ABLATIONS)})",
    )
    p.add_argument("--batch-size", type=int, default=128, help="batch size of the timed steps (default: 128)")
    p.add_argument("--rounds", type=int, default=7, help="timed rounds per measurement (median, min, max; default: 7)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default: 2)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's own choice)")
    p.add_argument("--device", default="auto", help="'auto' (CUDA when present), 'cpu' or 'cuda'")
    p.add_argument("--compile", action="store_true", help="also time torch.compile'd models (slow to start)")
    p.add_argument("--no-layers", action="store_true", help="skip the layer-level figures")
    p.add_argument("--no-flush-denormal", action="store_true", help="keep denormal floats (both sides alike)")
    p.add_argument("--quick", action="store_true", help="smoke test: batch 8, 1 round, no warm-up, two models")
    p.add_argument("--profile", default=None, metavar="MODEL", help="print an operator breakdown of MODEL instead")
    p.add_argument(
        "--peers",
        action="store_true",
        help="compare with escnn and e2cnn on the plane instead (the 'peers' extra; see benchmarks/peers.py)",
    )
    p.add_argument("--out", type=Path, default=Path("results") / "speed.json", help="JSON output")
    p.add_argument(
        "--table",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="measure nothing: print the tables of these results files (models, a '*before*' models file, "
        "peers, a '*variants*' models file)",
    )
    p.add_argument("--update-docs", action="store_true", help="with --table: rewrite the tables of docs/performance.md")
    args = p.parse_args(argv)
    for name in ("rounds", "batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        raise SystemExit(f"error: --warmup must be at least 0, got {args.warmup}")
    if args.threads is not None and args.threads < 1:
        raise SystemExit(f"error: --threads must be at least 1, got {args.threads}")
    if args.device not in ("auto", "cpu") and not args.device.startswith("cuda"):
        raise SystemExit(f"error: --device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {args.device!r}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda asked for, but torch sees no CUDA device; use --device cpu")
    unknown = [m for name in args.models.split(",") if name != "all" for m in [name] if m not in MODELS and m not in ABLATIONS]
    if unknown:
        raise SystemExit(
            f"error: --models: unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}, 'all', or {', '.join(ABLATIONS)}"
        )
    if args.table is not None:
        blocks = performance_blocks(*_load_tables(args.table))
        print("\n\n".join(blocks.values()))
        if args.update_docs:
            missing = set(blocks) - set(read_blocks(DOC.read_text()))
            if missing:
                raise SystemExit(
                    f"{DOC} has no markers for the blocks {sorted(missing)}: add "
                    "'<!-- begin generated: NAME (...) -->' and '<!-- end generated: NAME -->' lines"
                )
            atomic_write_text(DOC, replace_blocks(DOC.read_text(), blocks, COMMAND))
            print(f"updated {DOC}")
        return 0
    torch.set_flush_denormal(not args.no_flush_denormal)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.batch_size, args.rounds, args.warmup = 8, 1, 0
        if args.models == "all":
            args.models = "gauge_regular,gauge_signflip"
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if args.device == "auto" else args.device)
    if args.profile:
        print(profile(args.profile, args.batch_size, device))
        return 0
    if args.peers:
        from .peers import available_peers, bench_peers

        found = available_peers()
        if not found:
            print('neither escnn nor e2cnn is installed: pip install -e ".[peers]" and pip install --no-deps escnn; timing gaugecnn alone')
        versions = {name: __import__(name).__version__ for name in found if hasattr(__import__(name), "__version__")}
        info = {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
            "threads": torch.get_num_threads(),
            "rounds": args.rounds,
            "torch": torch.__version__,
            "versions": {"gaugecnn": gaugecnn.__version__, **versions},
        }
        batches = {"mid": [8], "intro": [8]} if args.quick else PEER_BATCHES
        results = {"info": info, **bench_peers(batches, args.rounds, args.warmup, device, _time)}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, json.dumps(results, indent=1))
        print("\n" + peers_block(results) + f"\n\nwritten to {args.out}")
        return 0
    models = [m for name in args.models.split(",") for m in (MODELS if name == "all" else (name,))]
    info = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "flush_denormal": not args.no_flush_denormal,
        "torch": torch.__version__,
        "gaugecnn": gaugecnn.__version__,
    }
    print(f"speed on {info['device']}, {info['threads']} threads, batch {args.batch_size}, {args.rounds} rounds", flush=True)
    results = {"info": info, "models": bench_models(models, args.batch_size, args.rounds, args.warmup, device, args.compile)}
    if not args.no_layers:
        print("layers:", flush=True)
        results["layers"] = bench_layers(args.batch_size, args.rounds, args.warmup, device)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(results, indent=1))
    print("\n" + markdown(results) + f"\n\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
