"""The built-in spaces: a registry of their build functions, cached loading, JSON export.

    >>> from nascost.spaces import list_spaces, load_builtin
    >>> space = load_builtin("nb201-cifar10")

Each built-in's canonical JSON is also stored in data/spaces/<name>.json (written by
``python -m nascost.spaces.export_json``); a test checks that it matches the builder.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from nascost.spaces import mbv2_style, nb201, resnet_style, torchvision_models

if TYPE_CHECKING:
    from nascost.space.space import Space

__all__ = ["BUILTINS", "list_spaces", "load_builtin"]

BUILTINS: dict[str, Callable[[], Space]] = {
    "mbv2-style": mbv2_style.build,
    "resnet-style": resnet_style.build,
    "nb201-cifar10": nb201.build,
    "resnet18": torchvision_models.resnet18,
    "mobilenet_v2": torchvision_models.mobilenet_v2,
}


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
