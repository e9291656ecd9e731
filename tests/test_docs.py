"""Every ```python block in README.md and docs/*.md runs, so that the docs cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FILES = [path for path in DOCS if "```python" in path.read_text()]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_doc_code_blocks_run(path, doc_namespace):
    """The blocks of one file run in order in one namespace, as a reader would run them (once per session)."""
    assert doc_namespace(path)


def test_readme_has_the_setup_commands():
    text = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[dev]"' in text and "python -m pytest -q" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[dev]"' in ci and "python -m pytest -q" in ci
