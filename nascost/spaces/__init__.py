"""The built-in spaces: a registry of their build functions, cached loading, JSON export.

    >>> from nascost.spaces import list_spaces, load_builtin
    >>> space = load_builtin("nb201-cifar10")

Every module of this package that defines ``SPACES = {name: build_function}`` contributes
its spaces (a name defined twice is an error). Each built-in's canonical JSON is also stored
in data/spaces/<name>.json (``python -m nascost.spaces.export_json``); a test checks that
it matches the builder.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nascost.space.space import Space

__all__ = ["BUILTINS", "list_spaces", "load_builtin"]


def _discover() -> dict[str, Callable[[], Space]]:
    found: dict[str, Callable[[], Space]] = {}
    where: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in ("codecs", "export_json", "catalog"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, build in getattr(module, "SPACES", {}).items():
            if name in found:
                raise RuntimeError(f"built-in space {name!r} is defined in both "
                                   f"{where[name]} and {info.name}")
            found[name] = build
            where[name] = info.name
    return found


BUILTINS: dict[str, Callable[[], Space]] = _discover()


def list_spaces() -> list[str]:
    """The names of the built-in spaces, sorted."""
    return sorted(BUILTINS)


@cache
def load_builtin(name: str) -> Space:
    """The built-in space ``name`` (built once, then cached; a Space is immutable)."""
    try:
        build = BUILTINS[name]
    except KeyError:
        raise KeyError(f"unknown built-in space {name!r}; known spaces: {list_spaces()}") from None
    return build()
