"""``python -m benchmarks.kernel_counts``: steerable basis sizes, gaugecnn beside escnn, odd and even kernels.

For C4 and D4, trivial -> regular and regular -> regular fields, kernel sizes 2 to 5: the
complete basis (``basis="lattice"``) and the band-limited one of gaugecnn, and the default
basis of escnn's ``R2Conv`` (stride 2 for even sizes, as they are used). escnn builds no basis
for ``k = 2`` ("The basis for the steerable filter is empty!", escnn issue #39); gaugecnn's
even kernels live on the half-integer offsets around a 2 x 2 block's centre.

escnn needs numpy < 2 (its lie_learn dependency), healpy numpy >= 2: measure escnn in an
environment of its own and merge::

    python -m benchmarks.kernel_counts --escnn-only --out escnn.json      # where escnn is installed
    python -m benchmarks.kernel_counts --escnn escnn.json --out benchmarks/results/kernel_counts.json
    python -m benchmarks.kernel_counts --table benchmarks/results/kernel_counts.json --update-docs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["CASES", "escnn_counts", "gaugecnn_counts", "main", "table"]

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "concepts.md"
COMMAND = "python -m benchmarks.kernel_counts --table FILE --update-docs"
CASES = [(group, k, rep_in) for group in ("C4", "D4") for k in (2, 3, 4, 5) for rep_in in ("trivial", "regular")]


def _key(group: str, k: int, rep_in: str) -> str:
    return f"{group} k={k} {rep_in}->regular"


def gaugecnn_counts() -> dict[str, dict[str, int]]:
    from gaugecnn import FieldType, cyclic_group, dihedral_group, kernel_basis

    out = {}
    for group_name, k, rep_in in CASES:
        group = cyclic_group(4) if group_name == "C4" else dihedral_group(4)
        a, b = (FieldType(group, f"1 {name}").reps[0] for name in (rep_in, "regular"))
        out[_key(group_name, k, rep_in)] = {basis: len(kernel_basis(a, b, k, basis)) for basis in ("lattice", "bandlimited")}
    return out


def escnn_counts() -> dict[str, int | str]:
    import warnings

    from escnn import gspaces
    from escnn import nn as enn

    out: dict[str, int | str] = {}
    for group_name, k, rep_in in CASES:
        space = gspaces.rot2dOnR2(4) if group_name == "C4" else gspaces.flipRot2dOnR2(4)
        fin = enn.FieldType(space, [space.trivial_repr if rep_in == "trivial" else space.regular_repr])
        fout = enn.FieldType(space, [space.regular_repr])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                conv = enn.R2Conv(fin, fout, kernel_size=k, stride=2 if k % 2 == 0 else 1)
            out[_key(group_name, k, rep_in)] = int(conv.basisexpansion.dimension())
        except ValueError as error:
            out[_key(group_name, k, rep_in)] = "empty basis" if "empty" in str(error) else f"error: {str(error)[:60]}"
    return out


def table(data: dict) -> str:
    lines = [
        "| group | k | fields | gaugecnn complete | gaugecnn band-limited | escnn default |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for group_name, k, rep_in in CASES:
        key = _key(group_name, k, rep_in)
        ours = data["gaugecnn"][key]
        theirs = data.get("escnn", {}).get(key, "–")
        lines.append(f"| {group_name} | {k} | {rep_in} → regular | {ours['lattice']} | {ours['bandlimited']} | {theirs} |")
    versions = ", ".join(f"{name} {v}" for name, v in data.get("versions", {}).items())
    return "\n".join(lines) + (f"\n\n{versions}." if versions else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.kernel_counts", description=__doc__.splitlines()[0])
    p.add_argument("--escnn-only", action="store_true", help="count escnn's bases only (in an environment with escnn)")
    p.add_argument("--escnn", type=Path, default=None, metavar="FILE", help="escnn's counts from --escnn-only, merged in")
    p.add_argument("--out", type=Path, default=None, help="write the counts as JSON")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="count nothing: the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/concepts.md")
    args = p.parse_args(argv)
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    if args.escnn_only:
        import escnn

        data: dict = {"escnn": escnn_counts(), "versions": {"escnn": escnn.__version__}}
    elif args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        import torch

        data = {"gaugecnn": gaugecnn_counts(), "versions": {"torch": torch.__version__}}
        if args.escnn is not None:
            peer = json.loads(args.escnn.read_text())
            data["escnn"], data["versions"]["escnn"] = peer["escnn"], peer["versions"]["escnn"]
    if args.out is not None:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    if "gaugecnn" in data:
        print(table(data))
    else:
        print(json.dumps(data, indent=1))
    if args.update_docs:
        from ._docs import write_blocks

        print(f"updated {write_blocks(DOC, {'kernel-counts': table(data)}, COMMAND)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
