"""Generated blocks in Markdown docs: content between markers, rewritten from data by a command.

A block looks like

    <!-- begin generated: NAME (COMMAND) -->
    ...content...
    <!-- end generated: NAME -->

``COMMAND`` tells the reader how to regenerate it. Tests compare each committed block with
what its command would write, so numbers in the docs cannot drift from the data.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._files import atomic_write_text

__all__ = ["marker", "read_blocks", "replace_blocks", "write_blocks"]


def marker(name: str, command: str) -> tuple[str, str]:
    """The begin and end lines of block ``name``."""
    return f"<!-- begin generated: {name} ({command}) -->", f"<!-- end generated: {name} -->"


def read_blocks(text: str) -> dict[str, str]:
    """The generated blocks present in ``text``, by name."""
    found = re.finditer(r"<!-- begin generated: ([\w-]+) .*?-->\n(?:(.*?)\n)?<!-- end generated: \1 -->", text, re.S)
    return {m.group(1): m.group(2) or "" for m in found}


def replace_blocks(text: str, blocks: dict[str, str], command: str) -> str:
    """``text`` with the content of each block present replaced (its begin line rewritten with ``command``)."""
    for name, content in blocks.items():
        begin, end = marker(name, command)
        pattern = re.compile(rf"<!-- begin generated: {re.escape(name)} .*?-->\n(?:.*?\n)?{re.escape(end)}", re.S)
        block = f"{begin}\n{content}\n{end}"
        text = pattern.sub(lambda _, block=block: block, text)
    return text


def write_blocks(doc: Path, blocks: dict[str, str], command: str) -> Path:
    """Rewrite the blocks of ``doc`` that it has markers for (atomically, only if changed).

    A document with markers for none of ``blocks`` is an error: the generator would silently
    leave it stale.
    """
    text = doc.read_text()
    if not set(blocks) & set(read_blocks(text)):
        raise ValueError(f"{doc} has no markers for any of the generated blocks {sorted(blocks)}; add them (see benchmarks/_docs.py)")
    new = replace_blocks(text, blocks, command)
    if new != text:
        atomic_write_text(doc, new)
    return doc
