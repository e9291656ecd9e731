"""The layering of the code: every import points down, and the benchmarks import no circle.

gaugecnn: lattices -> groups -> representations -> kernels, fieldmap -> atlas -> geometry ->
isometry -> manifold -> nn -> testing, viz (helpers with no gaugecnn imports at the bottom).
Imports under ``if TYPE_CHECKING:`` are annotations only and run nothing; all others count,
function-local ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]

# the rank of every module (a package's modules share its rank); an import may only go to a lower or equal rank
RANKS = {
    "gaugecnn.caching": 0,
    "gaugecnn._constants": 0,
    "gaugecnn.lattices": 1,
    "gaugecnn.groups": 2,
    "gaugecnn.representations": 3,
    "gaugecnn.kernels": 4,
    "gaugecnn.fieldmap": 4,
    "gaugecnn.atlas": 5,
    "gaugecnn.geometry": 6,
    "gaugecnn.isometry": 7,
    "gaugecnn.manifold": 8,
    "gaugecnn.nn": 9,
    "gaugecnn.testing": 10,
    "gaugecnn.viz": 10,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules imported at run time (not under ``if TYPE_CHECKING:``), absolute names."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}
    return found


def _rank(module: str) -> int | None:
    matches = [key for key in RANKS if module == key or module.startswith(key + ".")]
    return RANKS[max(matches, key=len)] if matches else None


def test_every_import_in_the_core_points_down():
    upward = []
    for path in sorted((ROOT / "gaugecnn").rglob("*.py")):
        module = _module_name(path)
        if module == "gaugecnn":
            continue  # the package's own namespace gathers everything
        rank = _rank(module)
        assert rank is not None, f"{module} has no place in RANKS: add it"
        for target in _imports(path):
            target_rank = _rank(target) if target.startswith("gaugecnn.") else None
            if target_rank is not None and target_rank > rank:
                upward.append(f"{module} (rank {rank}) imports {target} (rank {target_rank})")
    assert not upward, "\n".join(upward)


def test_the_benchmarks_import_no_circle():
    graph = nx.DiGraph()
    modules = {_module_name(p): p for p in (ROOT / "benchmarks").rglob("*.py")}
    for module, path in modules.items():
        graph.add_node(module)
        for target in _imports(path):
            if target in modules and target != module and not module.startswith(target + "."):
                graph.add_edge(module, target)
    cycles = [c for c in nx.simple_cycles(graph) if not all(m.endswith("__init__") for m in c)]
    assert not cycles, cycles
