"""The API reference is complete: every public name and member has a docstring, every parameter is named.

The reference itself is rendered from the docstrings by the docs build (``mkdocs build
--strict``, run by CI), whose hook (``docs/hooks.py``) logs these same gaps as warnings. The
tests here run the hook's checks without building the site, so a gap fails the test suite too,
with the name to fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs", reason="the docs extra is not installed")


def load_hooks() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOKS = load_hooks()


@pytest.mark.parametrize("package", HOOKS.PACKAGES)
def test_every_public_name_and_member_has_a_docstring(package):
    missing = HOOKS.undocumented(importlib.import_module(package))
    assert not missing, f"no docstring: {missing}"


@pytest.mark.parametrize("package", HOOKS.PACKAGES)
def test_every_parameter_of_a_public_callable_is_named_in_its_docstring(package):
    missing = HOOKS.unnamed_parameters(importlib.import_module(package))
    assert not missing, f"parameters no docstring names: {missing}"


def test_the_checks_find_what_they_look_for():
    """Undocumented functions and methods, and parameters no docstring names, are found and named."""
    fake = types.ModuleType("fake")

    def quiet(x):
        return x

    def half(x, y):
        """Uses ``x`` only."""
        return x

    class Thing:
        """A thing."""

        def act(self, how):
            """Acts ``how`` it is told."""
            return None

        def rest(self, when):
            """Rests."""
            return None

    fake.quiet, fake.half, fake.Thing, fake.__all__ = quiet, half, Thing, ["quiet", "half", "Thing"]
    assert HOOKS.undocumented(fake) == ["fake.quiet"]
    assert HOOKS.unnamed_parameters(fake) == ["fake.quiet(x)", "fake.half(y)", "fake.Thing.rest(when)"]
    del Thing.act.__doc__
    assert HOOKS.undocumented(fake) == ["fake.quiet", "fake.Thing.act"]


@pytest.mark.parametrize("package", HOOKS.PACKAGES)
def test_the_api_page_renders_every_public_name(package):
    page = HOOKS.api_page(package)
    names = importlib.import_module(package).__all__
    assert all(f"::: {package}.{name}\n" in page for name in names)


def test_the_site_lists_every_api_page():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert all(f"api/{package}.md" in nav for package in HOOKS.PACKAGES)


def test_narrative_pages_link_public_names_to_the_reference():
    index = HOOKS.api_index()
    assert index["GaugeConv"] == "gaugecnn.nn.GaugeConv" and index["check_manifold"] == "gaugecnn.testing.check_manifold"
    assert index["export"] == "gaugecnn.nn.export"  # the function, not a module of that name
    text = "Use `GaugeConv` and `gaugecnn.testing.check_manifold`; not `atlas.shape`.\n```python\nx = `GaugeConv`\n```\n<!-- `Atlas` -->"
    linked = HOOKS.link_api_names(text, index)
    assert "[`GaugeConv`][gaugecnn.nn.GaugeConv] and [`gaugecnn.testing.check_manifold`][gaugecnn.testing.check_manifold]" in linked
    assert "`atlas.shape`." in linked and "x = `GaugeConv`" in linked and "<!-- `Atlas` -->" in linked  # code and comments untouched
    assert HOOKS.link_api_names(linked, index) == linked  # links are not linked again


def test_no_public_name_is_shadowed_by_a_submodule_of_the_same_name():
    """``gaugecnn.nn.export`` used to be both a submodule and a function; the reference rendered the module."""
    for package_name in HOOKS.PACKAGES:
        package = importlib.import_module(package_name)
        if not hasattr(package, "__path__"):
            continue  # a module: no submodules
        for name in package.__all__:
            submodule = importlib.util.find_spec(f"{package_name}.{name}") is not None
            assert not submodule or isinstance(getattr(package, name), types.ModuleType), f"{package_name}.{name}"
