"""docs/api.md lists every public name, under its module, and every public name has a docstring.

The names are read from the modules' ``__all__`` at test time, so a name added later fails
here until it is documented.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.md"
MODULES = ("gaugecnn", "gaugecnn.nn", "gaugecnn.testing", "gaugecnn.viz", "manifolds")
PUBLIC = [(module, name) for module in MODULES for name in importlib.import_module(module).__all__]


def module_sections(text: str) -> dict[str, str]:
    """The text under each ``## `module` `` heading, up to the next level-2 heading."""
    parts = re.split(r"^## ", text, flags=re.M)
    sections = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        match = re.fullmatch(r"`([\w.]+)`\s*", heading)
        if match:
            sections[match.group(1)] = body
    return sections


def is_documented(section: str, name: str) -> bool:
    """A heading ``### `name` `` (any level 3-6) or a bold entry ``**`name`**`` / ``**name**``."""
    heading = re.search(rf"^#{{3,6}} `{re.escape(name)}`\s*$", section, re.M)
    return bool(heading) or f"**`{name}`**" in section or f"**{name}**" in section


def test_every_module_has_a_section():
    sections = module_sections(API.read_text())
    assert set(MODULES) <= set(sections), f"docs/api.md lacks sections for {sorted(set(MODULES) - set(sections))}"


@pytest.mark.parametrize("module, name", PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_is_in_the_api_reference(module, name):
    section = module_sections(API.read_text()).get(module, "")
    assert is_documented(section, name), (
        f"{module}.{name} is in {module}.__all__ but not in docs/api.md: add a heading '### `{name}`' "
        f"under '## `{module}`' with its signature and a paragraph"
    )


@pytest.mark.parametrize("module, name", PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_name_has_a_docstring(module, name):
    obj = getattr(importlib.import_module(module), name)
    doc = (obj.__doc__ or "").strip()  # its own docstring, not one inherited through inspect.getdoc
    if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
        doc = ""  # the signature dataclasses write when there is no docstring
    assert doc, f"{module}.{name} has no docstring"
