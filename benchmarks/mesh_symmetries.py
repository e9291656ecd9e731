"""``python -m benchmarks.mesh_symmetries``: how long MeshSurface takes to build and to find a mesh's symmetries.

Meshes of a few hundred to a few thousand faces, with many symmetries (a cube whose faces are
cut ``k x k``: the 24 rotations) and with none but the identity (the convex hull of random
points on the sphere, as triangles). Each round builds every mesh from scratch and runs the
symmetry search (``MeshSurface.automorphisms``, which the first ``isometries()`` call runs);
the figures are medians of interleaved rounds in one process.

    python -m benchmarks.mesh_symmetries [--rounds 3] [--out FILE]
    python -m benchmarks.mesh_symmetries --table FILE --update-docs
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gaugecnn import clear_caches
from manifolds import CubeSphere, MeshSurface

from ._docs import write_blocks
from ._files import atomic_write_text

__all__ = ["MESHES", "main", "random_sphere_mesh", "subdivided_cube_mesh"]

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
COMMAND = "python -m benchmarks.mesh_symmetries --table FILE --update-docs"


def subdivided_cube_mesh(k: int) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """The cube with every face cut into ``k x k`` quads (``6 k²`` faces), corners counterclockwise from outside."""
    vertices: list[np.ndarray] = []
    index: dict[tuple, int] = {}

    def vertex(p: np.ndarray) -> int:
        key = tuple(np.round(p, 9))
        if key not in index:
            index[key] = len(vertices)
            vertices.append(p)
        return index[key]

    faces = []
    step = 2 / k
    for normal, r, c in CubeSphere.face_frames().values():
        for i in range(k):
            for j in range(k):
                a, b = -1 + i * step, -1 + j * step
                corners = ((a, b), (a, b + step), (a + step, b + step), (a + step, b))
                faces.append(tuple(vertex(normal + u * r + v * c) for u, v in corners))
    return np.array(vertices), faces


def random_sphere_mesh(points: int, seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The convex hull of ``points`` random points on the unit sphere: ``2 points - 4`` triangles, no symmetry."""
    from scipy.spatial import ConvexHull

    xyz = np.random.default_rng(seed).normal(size=(points, 3))
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    triangles = []
    for a, b, c in ConvexHull(xyz).simplices:
        if np.linalg.det(xyz[[a, b, c]]) < 0:
            b, c = c, b
        triangles.append((int(a), int(b), int(c)))
    return xyz, triangles


MESHES: dict[str, Callable[[], tuple[np.ndarray, list]]] = {
    "cube cut 10 x 10": lambda: subdivided_cube_mesh(10),
    "cube cut 18 x 18": lambda: subdivided_cube_mesh(18),
    "cube cut 25 x 25": lambda: subdivided_cube_mesh(25),
    "random sphere, 500 points": lambda: random_sphere_mesh(500),
    "random sphere, 1000 points": lambda: random_sphere_mesh(1000),
}


def measure(rounds: int) -> dict:
    meshes = {name: make() for name, make in MESHES.items()}
    times: dict[str, dict[str, list[float]]] = {name: {"build": [], "search": []} for name in meshes}
    facts: dict[str, dict] = {}
    for _ in range(rounds):
        for name, (vertices, faces) in meshes.items():
            clear_caches()
            start = time.perf_counter()
            surface = MeshSurface(vertices, faces, 2, sphere=True)
            built = time.perf_counter()
            found = surface.automorphisms()
            searched = time.perf_counter()
            times[name]["build"].append(built - start)
            times[name]["search"].append(searched - built)
            facts[name] = {"faces": len(faces), "charts": surface.num_charts, "symmetries": len(found)}
    rows = {name: facts[name] | {f"{step}_s": statistics.median(values) for step, values in times[name].items()} for name in meshes}
    return {"rounds": rounds, "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(), "meshes": rows}


def table(data: dict) -> str:
    lines = [
        "| mesh | faces | charts | automorphisms found (with reflections) | build (s) | symmetry search (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in data["meshes"].items():
        lines.append(f"| {name} | {row['faces']} | {row['charts']} | {row['symmetries']} | {row['build_s']:.2f} | {row['search_s']:.2f} |")
    return "\n".join(lines) + f"\n\nMedians of {data['rounds']} interleaved rounds, one process, {data['threads']} thread(s)."


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mesh_symmetries", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    p.add_argument("--out", type=Path, default=None, help="write the measurement as JSON")
    p.add_argument("--table", type=Path, default=None, metavar="FILE", help="measure nothing: the table of a JSON file")
    p.add_argument("--update-docs", action="store_true", help="with --table FILE: rewrite the table in docs/performance.md")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.threads < 1:
        raise SystemExit("error: --rounds and --threads must be at least 1")
    if args.update_docs and args.table is None:
        raise SystemExit("error: --update-docs needs the file to generate from: --table FILE --update-docs")
    if args.table is not None:
        data = json.loads(args.table.read_text())
    else:
        torch.set_num_threads(args.threads)
        data = measure(args.rounds)
        if args.out:
            atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    print(table(data))
    if args.update_docs:
        print(f"updated {write_blocks(DOC, {'mesh-symmetries': table(data)}, COMMAND)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
