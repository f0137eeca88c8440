"""Native encodings: each converts a space's own description of an architecture (an NB201
arch string, a DARTS genotype, OFA's ks/e/d dict) to a genes row and back.

A space names its codec in its spec ("codec": "nb201"); modules register codecs here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Codec:
    name: str
    encode: Callable[[Any, Any], np.ndarray]  # (space, native) -> genes row (uint8)
    decode: Callable[[Any, np.ndarray], Any]  # (space, genes row) -> native


_CODECS: dict[str, Codec] = {}


def register_codec(codec: Codec) -> Codec:
    if codec.name in _CODECS:
        raise ValueError(f"codec {codec.name!r} is registered twice")
    _CODECS[codec.name] = codec
    return codec


def get_codec(name: str) -> Codec:
    if name not in _CODECS:
        import nascost.spaces  # noqa: F401  (registers the built-in codecs)
    try:
        return _CODECS[name]
    except KeyError:
        raise KeyError(f"unknown codec {name!r}; known: {sorted(_CODECS)}") from None
