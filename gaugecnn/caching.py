"""Caches keyed on values: what is built from equal inputs is built once per process.

Atlases, groups and representations compare and hash by value, so the functions that derive
things from them -- transitions, padding maps, cone masks, derived atlases, kernel bases,
isometry field maps -- cache their results on the value (``value_cache``), the way
torch-harmonics caches its precomputation: a second ``IcoSphere(4)`` or a layer rebound to an
equal atlas costs a dictionary lookup. ``clear_caches()`` empties them all, to free memory or to
time building from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

__all__ = ["value_cache", "clear_caches"]

F = TypeVar("F", bound=Callable[..., Any])
_CACHED: list[Any] = []


def value_cache(maxsize: int | None = 512) -> Callable[[F], F]:
    """``functools.lru_cache(maxsize)``, registered so that ``clear_caches`` empties it.

    Args:
        maxsize: the largest number of results kept (least recently used go first); None: no limit.
    """

    def decorate(function: F) -> F:
        cached = lru_cache(maxsize=maxsize)(function)
        _CACHED.append(cached)
        return cached  # type: ignore[return-value]

    return decorate


def clear_caches() -> None:
    """Empty every value cache of gaugecnn (results built afterwards are built anew).

    Examples:
        >>> from gaugecnn import cyclic_group
        >>> from gaugecnn.atlas import Atlas
        >>> a = Atlas(cyclic_group(4), (3, 3), 1)
        >>> a.padding_map(1) is a.padding_map(1)
        True
        >>> first = a.padding_map(1); clear_caches(); first is a.padding_map(1)
        False
    """
    for cached in _CACHED:
        cached.cache_clear()
