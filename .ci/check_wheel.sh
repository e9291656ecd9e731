#!/usr/bin/env bash
# The built wheel installs and imports in a fresh virtual environment: packages, package data
# (py.typed) and the benchmark modules are in it. The venv sees the CI environment's torch and
# numpy (--system-site-packages) but gaugecnn only from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# build from a copy of the tracked files: a stale build/ folder must not leak into the wheel
mkdir "$work/src"
git ls-files -z | xargs -0 cp --parents -t "$work/src"
python -m pip wheel --no-deps --quiet --wheel-dir "$work/dist" "$work/src"
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$work"/dist/gaugecnn-*.whl
cd "$work"
"$work/venv/bin/python" - "$work/venv" <<'PY'
import pathlib
import sys

import benchmarks.mobius_mnist
import gaugecnn
import manifolds
from gaugecnn import nn as gnn

venv = pathlib.Path(sys.argv[1]).resolve()
for module in (gaugecnn, manifolds, benchmarks.mobius_mnist):
    assert venv in pathlib.Path(module.__file__).resolve().parents, f"{module.__name__} not from the wheel: {module.__file__}"
for package in (gaugecnn, manifolds):
    assert (pathlib.Path(package.__file__).parent / "py.typed").is_file(), f"{package.__name__} lacks py.typed"
atlas = manifolds.MobiusStrip(4, 6)
t = gaugecnn.FieldType(atlas.group, "1 regular")
assert gnn.GaugeConv(atlas, t, t, 3)(__import__("torch").randn(1, 2, 4, 6)).shape == (1, 2, 4, 6)
print(f"wheel OK: gaugecnn {gaugecnn.__version__} from {pathlib.Path(gaugecnn.__file__).parent}")
PY
