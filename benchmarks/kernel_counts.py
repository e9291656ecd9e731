"""``python -m benchmarks.kernel_counts``: steerable basis sizes, gaugecnn beside escnn, odd and even kernels.

For C4 and D4, trivial -> regular and regular -> regular fields, kernel sizes 2 to 5: the
complete basis (``basis="lattice"``) and the band-limited one of gaugecnn, and the default
basis of escnn's ``R2Conv`` (stride 2 for even sizes, as they are used). escnn builds no basis
for ``k = 2`` ("The basis for the steerable filter is empty!", escnn issue #39); gaugecnn's
even kernels live on the half-integer offsets around a 2 x 2 block's centre.

For the groups beyond the lattice (C8, C16, D8, SO(2), O(2)), kernel sizes 3, 5 and 7: the
harmonic basis of gaugecnn (its only one there) beside escnn's default, for regular fields of
the finite groups and the irreps of frequencies 0 to 3 of the continuous ones.

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

__all__ = [
    "CASES",
    "HARMONIC_CASES",
    "escnn_counts",
    "escnn_harmonic_counts",
    "gaugecnn_counts",
    "gaugecnn_harmonic_counts",
    "harmonic_table",
    "main",
    "table",
]

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "concepts.md"
COMMAND = "python -m benchmarks.kernel_counts --table FILE --update-docs"
CASES = [(group, k, rep_in) for group in ("C4", "D4") for k in (2, 3, 4, 5) for rep_in in ("trivial", "regular")]
# groups beyond the lattice: (group, k, fields in, fields out); "irreps" are the frequencies 0 to 3
HARMONIC_CASES = [
    (group, k, fields_in, fields_out)
    for group, pairs in (
        ("C8", (("trivial", "regular"), ("regular", "regular"))),
        ("C16", (("trivial", "regular"), ("regular", "regular"))),
        ("D8", (("trivial", "regular"), ("regular", "regular"))),
        ("SO(2)", (("trivial", "irreps"), ("irreps", "irreps"))),
        ("O(2)", (("trivial", "irreps"), ("irreps", "irreps"))),
    )
    for k in (3, 5, 7)
    for fields_in, fields_out in pairs
]
_FREQUENCIES = 3


def _harmonic_key(group: str, k: int, fields_in: str, fields_out: str) -> str:
    return f"{group} k={k} {fields_in}->{fields_out}"


def _gaugecnn_type(group_name: str, fields: str):
    from gaugecnn import FieldType, cyclic_group, dihedral_group, irrep, o2_group, so2_group

    group = {"C8": lambda: cyclic_group(8), "C16": lambda: cyclic_group(16), "D8": lambda: dihedral_group(8)}.get(
        group_name, so2_group if group_name == "SO(2)" else o2_group
    )()
    if fields == "irreps":  # frequencies 0 .. 3, the 2-dim ones for O(2)
        return FieldType(group, [irrep(group, k) for k in range(_FREQUENCIES + 1)])
    return FieldType(group, f"1 {fields}")


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


def gaugecnn_harmonic_counts() -> dict[str, int]:
    from gaugecnn import kernel_basis

    out = {}
    for group_name, k, fields_in, fields_out in HARMONIC_CASES:
        t_in, t_out = _gaugecnn_type(group_name, fields_in), _gaugecnn_type(group_name, fields_out)
        count = sum(len(kernel_basis(a, b, k)) for a in t_in.reps for b in t_out.reps)
        out[_harmonic_key(group_name, k, fields_in, fields_out)] = count
    return out


def _escnn_reps(space, group_name: str, fields: str) -> list:
    """escnn's representations for ``fields``: trivial, regular, or the irreps of frequencies 0 to 3 (O(2): the 2-dim ones)."""
    if fields == "trivial":
        return [space.trivial_repr]
    if fields == "regular":
        return [space.regular_repr]
    g = space.fibergroup
    if group_name == "SO(2)":
        return [g.irrep(k) for k in range(_FREQUENCIES + 1)]
    return [g.irrep(0, 0)] + [g.irrep(1, k) for k in range(1, _FREQUENCIES + 1)]


def escnn_harmonic_counts() -> dict[str, int | str]:
    import warnings

    from escnn import gspaces
    from escnn import nn as enn

    out: dict[str, int | str] = {}
    for group_name, k, fields_in, fields_out in HARMONIC_CASES:
        space = {
            "C8": lambda: gspaces.rot2dOnR2(8),
            "C16": lambda: gspaces.rot2dOnR2(16),
            "D8": lambda: gspaces.flipRot2dOnR2(8),
            "SO(2)": lambda: gspaces.rot2dOnR2(-1, maximum_frequency=8),
            "O(2)": lambda: gspaces.flipRot2dOnR2(-1, maximum_frequency=8),
        }[group_name]()

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conv = enn.R2Conv(
                enn.FieldType(space, _escnn_reps(space, group_name, fields_in)),
                enn.FieldType(space, _escnn_reps(space, group_name, fields_out)),
                kernel_size=k,
            )
        out[_harmonic_key(group_name, k, fields_in, fields_out)] = int(conv.basisexpansion.dimension())
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


def harmonic_table(data: dict) -> str:
    """Basis sizes for the groups beyond the lattice: gaugecnn's harmonic basis beside escnn's default."""
    lines = ["| group | k | fields | gaugecnn harmonic | escnn default |", "|---|---:|---|---:|---:|"]
    words = {"irreps": f"irreps 0–{_FREQUENCIES}"}
    for group_name, k, fields_in, fields_out in HARMONIC_CASES:
        key = _harmonic_key(group_name, k, fields_in, fields_out)
        ours = data.get("gaugecnn_harmonic", {}).get(key, "–")
        theirs = data.get("escnn_harmonic", {}).get(key, "–")
        fields = f"{words.get(fields_in, fields_in)} → {words.get(fields_out, fields_out)}"
        lines.append(f"| {group_name} | {k} | {fields} | {ours} | {theirs} |")
    return "\n".join(lines)


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

        data: dict = {"escnn": escnn_counts(), "escnn_harmonic": escnn_harmonic_counts(), "versions": {"escnn": escnn.__version__}}
    elif args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        import torch

        data = {"gaugecnn": gaugecnn_counts(), "gaugecnn_harmonic": gaugecnn_harmonic_counts(), "versions": {"torch": torch.__version__}}
        if args.escnn is not None:
            peer = json.loads(args.escnn.read_text())
            data["escnn"], data["versions"]["escnn"] = peer["escnn"], peer["versions"]["escnn"]
            if "escnn_harmonic" in peer:
                data["escnn_harmonic"] = peer["escnn_harmonic"]
    if args.out is not None:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    if "gaugecnn" in data:
        print(table(data) + "\n\n" + harmonic_table(data))
    else:
        print(json.dumps(data, indent=1))
    if args.update_docs:
        from ._docs import write_blocks

        blocks = {"kernel-counts": table(data), "kernel-counts-harmonic": harmonic_table(data)}
        print(f"updated {write_blocks(DOC, blocks, COMMAND)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
