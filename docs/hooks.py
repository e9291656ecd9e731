"""mkdocs hooks: the API reference pages, written from the public names, and a check of their docstrings.

Each public module (``PACKAGES``) gets a page ``api/<module>.md`` that renders every name of its
``__all__`` with mkdocstrings, grouped by the submodule that defines it. The pages are generated
at build time, so a name added to ``__all__`` appears without editing any page. Logged as
warnings, which fail the strict build (``mkdocs build --strict``):

- a public name, or a public method or property of a public class, without a docstring of its own;
- a parameter of a public function, class or method that its docstring never names.

The narrative pages name the API in backticks (`` `GaugeConv` ``, `` `gaugecnn.testing.check_manifold` ``);
``on_page_markdown`` turns every such public name, outside code blocks, into a cross-reference to
its entry in the reference (mkdocs-autorefs resolves them; an unresolved one fails the build).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Callable
from types import ModuleType

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.gaugecnn")

PACKAGES = ("gaugecnn", "gaugecnn.nn", "gaugecnn.testing", "gaugecnn.viz", "manifolds")

# section titles, in reading order (the layering of the code); a submodule not listed here comes
# last, titled by the first line of its docstring
SECTIONS = {
    "gaugecnn.lattices": "Lattices",
    "gaugecnn.groups": "Structure groups",
    "gaugecnn.representations": "Representations and field types",
    "gaugecnn.kernels": "Steerable kernels",
    "gaugecnn.fieldmap": "FieldMap",
    "gaugecnn.atlas.gluings": "Gluings and transitions",
    "gaugecnn.atlas.value": "Atlases",
    "gaugecnn.isometry": "Isometries",
    "gaugecnn.manifold": "Manifolds: an atlas with its geometry",
    "gaugecnn.caching": "Caches keyed on values",
    "gaugecnn.nn.padding": "Atlas modules and transport padding",
    "gaugecnn.nn.conv": "Convolutions",
    "gaugecnn.nn.separable": "Separable convolutions",
    "gaugecnn.nn.nonlinearities": "Nonlinearities",
    "gaugecnn.nn.gated": "Gated nonlinearities",
    "gaugecnn.nn.batchnorm": "Batch normalization",
    "gaugecnn.nn.dropout": "Dropout",
    "gaugecnn.nn.pooling": "Pooling",
    "gaugecnn.nn.readout": "Invariant readouts",
    "gaugecnn.nn.upsampling": "Upsampling",
    "gaugecnn.nn.restriction": "Restriction to a subgroup",
    "gaugecnn.nn.frozen": "Export for inference",
    "gaugecnn.testing.equivariance": "Equivariance checks",
    "gaugecnn.testing.suite": "The generic layer suite",
    "gaugecnn.testing.manifold_check": "Checking a manifold",
    "manifolds.plane": "The plane",
    "manifolds.flat": "Cylinder, torus, Klein bottle",
    "manifolds.mobius": "The Möbius strip",
    "manifolds.cube_sphere": "The cube sphere",
    "manifolds.icosphere": "The icosahedral sphere",
}
HIDDEN_MEMBERS = {"forward", "extra_repr"}  # nn.Module's protocol; each layer's docstring gives its shapes


def _own_doc(obj: object) -> str:
    """The object's own docstring (not one inherited), or ''; dataclasses' generated signature counts as none."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    name = getattr(obj, "__name__", "")
    return "" if inspect.isclass(obj) and doc.startswith(f"{name}(") else doc


def undocumented(package: ModuleType) -> list[str]:
    """Public names of ``package`` and public members of its public classes that have no docstring."""
    missing = []
    for name in package.__all__:
        obj = getattr(package, name)
        if not _own_doc(obj):
            missing.append(f"{package.__name__}.{name}")
        if not inspect.isclass(obj):
            continue
        for member, value in vars(obj).items():
            if member.startswith("_") or member in HIDDEN_MEMBERS:
                continue
            target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
            if (callable(target) or isinstance(value, property)) and not _own_doc(target):
                missing.append(f"{package.__name__}.{name}.{member}")
    return missing


def _signature(obj: Callable[..., object]) -> inspect.Signature | None:
    """The signature a user calls: a function's, or a class's constructor's."""
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _callables(package: ModuleType) -> list[tuple[str, Callable[..., object]]]:
    """Every public function and class of ``package``, and the public methods of its classes, by dotted name."""
    found: list[tuple[str, Callable[..., object]]] = []
    for name in package.__all__:
        obj = getattr(package, name)
        if not callable(obj):
            continue
        found.append((f"{package.__name__}.{name}", obj))
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                function = getattr(value, "__func__", value)
                if not member.startswith("_") and member not in HIDDEN_MEMBERS and inspect.isfunction(function):
                    found.append((f"{package.__name__}.{name}.{member}", function))
    return found


def unnamed_parameters(package: ModuleType) -> list[str]:
    """``name(parameter)`` for every parameter of a public callable (or method) that its docstring does not name."""
    missing = []
    for name, obj in _callables(package):
        signature = _signature(obj)
        if signature is None:
            continue
        doc = _own_doc(obj)
        for parameter in signature.parameters.values():
            if parameter.name in ("self", "cls", "args", "kwargs"):
                continue
            if not re.search(rf"\b{re.escape(parameter.name)}\b", doc):
                missing.append(f"{name}({parameter.name})")
    return missing


def _section_title(module: str) -> str:
    if module in SECTIONS:
        return SECTIONS[module]
    doc = (importlib.import_module(module).__doc__ or module).strip().splitlines()[0]
    return doc.rstrip(".")


def api_page(package_name: str) -> str:
    """The Markdown of one API page: the package's docstring, then its public names by submodule."""
    package = importlib.import_module(package_name)
    by_module: dict[str, list[str]] = {}
    for name in package.__all__:
        module = getattr(getattr(package, name), "__module__", package_name)
        by_module.setdefault(module, []).append(name)
    order = sorted(by_module, key=lambda m: list(SECTIONS).index(m) if m in SECTIONS else len(SECTIONS))
    lines = [f"# `{package_name}`", "", inspect.cleandoc(package.__doc__ or ""), ""]
    for module in order:
        if len(order) > 1:
            lines += [f"## {_section_title(module)}", ""]
        for name in by_module[module]:
            lines += [f"::: {package_name}.{name}", ""]
    return "\n".join(lines)


def on_files(files: Files, config) -> Files:
    for package_name in PACKAGES:
        for name in undocumented(importlib.import_module(package_name)):
            log.warning(f"{name} has no docstring: the API reference needs one")
        for name in unnamed_parameters(importlib.import_module(package_name)):
            log.warning(f"{name}: the docstring never names this parameter; say what it is (an Args: entry)")
        files.append(File.generated(config, f"api/{package_name}.md", content=api_page(package_name)))
    return files


def api_index() -> dict[str, str]:
    """Every public name, short (``GaugeConv``) and qualified (``gaugecnn.nn.GaugeConv``), to its identifier."""
    index: dict[str, str] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for name in package.__all__:
            identifier = f"{package_name}.{name}"
            index.setdefault(name, identifier)  # a short name taken twice links to the first package's
            index[identifier] = identifier
    return index


_CODE = re.compile(r"(```.*?```|<!--.*?-->)", re.S)
_NAME = re.compile(r"(?<![\[\w])`([A-Za-z_][\w.]*)`(?![\]\w])")


def link_api_names(markdown: str, index: dict[str, str]) -> str:
    """``markdown`` with each backticked public name outside fenced code turned into a reference link."""
    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # the even parts are outside code blocks and comments
        parts[i] = _NAME.sub(lambda m: f"[`{m.group(1)}`][{index[m.group(1)]}]" if m.group(1) in index else m.group(0), parts[i])
    return "".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri.startswith("api/"):
        return markdown  # the reference itself
    return link_api_names(markdown, api_index())
