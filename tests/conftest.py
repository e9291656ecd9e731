"""Shared fixtures: fixture atlases and the collector of equivariance errors.

The collector keeps the worst relative error each equivariance helper returned, per dtype,
and ``pytest_terminal_summary`` prints it at the end of the run.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import torch

from gaugecnn import Atlas, dihedral_group

# worst error returned by gaugecnn.testing helpers, per dtype (module global: shared by fixture and hook)
_WORST: dict[torch.dtype, float] = {}


@pytest.fixture
def single_thread():
    """Run a test with one intra-op thread, restoring the setting afterwards.

    The fields in the equivariance tests are tiny, and intra-op threading only adds
    synchronisation overhead (measured on 2 cores: max_pool2d on a (2, 24, 7, 7) tensor
    takes ~8 ms with 2 threads and ~13 µs with 1).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def record_error():
    """``record_error(err, dtype)``: remember an error returned by an equivariance helper; returns it."""

    def record(err: float, dtype: torch.dtype = torch.float64) -> float:
        assert err == err, "equivariance helper returned NaN"
        _WORST[dtype] = max(_WORST.get(dtype, 0.0), float(err))
        return err

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _WORST:
        return
    order = (torch.float64, torch.float32, torch.float16, torch.bfloat16)
    parts = [f"{str(dtype).replace('torch.', '')} {_WORST[dtype]:.3e}" for dtype in order if dtype in _WORST]
    terminalreporter.write_sep("-", "equivariance")
    terminalreporter.write_line("worst equivariance error: " + ", ".join(parts))


def three_chart_d4(shape: tuple[int, int] = (4, 4)) -> Atlas:
    """Three square charts over D4, glued with a reflection, a rotation, the identity and a reflection."""
    return Atlas(
        dihedral_group(4),
        shape,
        ["a", "b", "c"],
        [
            ("a", "right", "b", "top", False),
            ("a", "bottom", "b", "left", True),
            ("b", "right", "c", "left", False),
            ("c", "bottom", "a", "top", True),
        ],
    )


@pytest.fixture(scope="session")
def d4_atlas_factory():
    """Builds (and caches, so padding maps are shared) the three-chart D4 fixture atlas for a chart shape."""
    cache: dict[tuple[int, int], Atlas] = {}

    def make(shape: tuple[int, int] = (4, 4)) -> Atlas:
        if shape not in cache:
            cache[shape] = three_chart_d4(shape)
        return cache[shape]

    return make


_DOC_NAMESPACES: dict[Path, dict] = {}


@pytest.fixture(scope="session")
def doc_namespace():
    """``doc_namespace(path)``: run the ```python blocks of a Markdown file in order, in one namespace,
    once per session (printing silenced); later calls return the same namespace."""

    def run(path: Path) -> dict:
        path = Path(path).resolve()
        if path not in _DOC_NAMESPACES:
            namespace = {"__name__": "__doc_example__"}
            with contextlib.redirect_stdout(io.StringIO()):
                for n, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), re.S)):
                    exec(compile(code, f"{path.name}, block {n + 1}", "exec"), namespace)
            _DOC_NAMESPACES[path] = namespace
        return _DOC_NAMESPACES[path]

    return run
