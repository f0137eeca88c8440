"""The ``ofa`` codec: OFA's own architecture dicts <-> genes rows.

MobileNetV3 / ProxylessNAS spaces (nascost.spaces.ofa) use the dicts of OFA's
``sample_active_subnet`` and of its search tutorial's ``ArchManager``::

    {"ks": [k per block], "e": [expand ratio per block], "d": [depth per stage], "r": [224]}

``ks`` and ``e`` list every block of the supernet (20 for MobileNetV3, 21 for ProxylessNAS, in
OFA's flat block order); ``d`` lists every stage (a fixed single-block stage, ProxylessNAS's
last, takes any depth >= 1: OFA clips it to 1). ``r`` is an int or a one-element list;
``"wid": None`` is accepted and ignored.

``ofa-resnet50`` (nascost.spaces.ofa_resnet) uses ``OFAResNets.sample_active_subnet``'s dict::

    {"d": [stem, stage 1..4], "e": [expand ratio per block (18)], "w": [6 width indices],
     "r": [224]}

``d[0]`` is the input stem's depth: 2 keeps the stem's residual conv, 0 or 1 skips it (OFA
skips it whenever ``d[0] != max(depth_list)``); ``w`` holds indices into the width multipliers
(0.65, 0.8, 1.0) for the stem's first two convs, the stem's last conv and the four stages.

``encode`` returns the canonical genes row: entries of blocks that the depths switch off are
ignored (any value is accepted there) and their genes set to choice 0. ``decode`` returns the
dict with every slot filled from the row, so decode(encode(arch)) is arch with its dead slots
set to the smallest choice, and encode(decode(row)) == row for a canonical row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from nascost.spaces.codecs import Codec, register_codec

__all__ = ["mbconv_values", "resnet_values", "encode", "decode"]

_BLOCK = re.compile(r"^s(\d+)_b(\d+)_(kernel|expand)$")
_DEPTH = re.compile(r"^s(\d+)_depth$")
_WIDTH = re.compile(r"^s(\d+)_width$")
_DEAD = object()  # a value that is not a choice: allowed only in a dead slot


def _names_choices(genes: Any) -> tuple[list[str], dict[str, list]]:
    """Gene names and choices of a Space or of a spec's gene list."""
    if isinstance(genes, list):
        return [g["name"] for g in genes], {g["name"]: list(g["choices"]) for g in genes}
    return list(genes.gene_names), dict(zip(genes.gene_names, genes.choices, strict=True))


def _is_resnet(names: Sequence[str]) -> bool:
    return "stem_depth" in names


def _mbconv_layout(names: Sequence[str]) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """[(depth gene or None, [(kernel gene, expand gene) per block]) per stage]."""
    blocks: dict[int, dict[int, dict[str, str]]] = {}
    depths: dict[int, str] = {}
    for n in names:
        if m := _BLOCK.match(n):
            blocks.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[m[3]] = n
        elif m := _DEPTH.match(n):
            depths[int(m[1])] = n
    return [(depths.get(i), [(blocks[i][j]["kernel"], blocks[i][j]["expand"])
                             for j in sorted(blocks[i])]) for i in sorted(blocks)]


def _resnet_layout(names: Sequence[str]) -> list[tuple[str, str, list[str]]]:
    """[(depth gene, width gene, [expand gene per block]) per stage]."""
    blocks: dict[int, dict[int, str]] = {}
    for n in names:
        if (m := _BLOCK.match(n)) and m[3] == "expand":
            blocks.setdefault(int(m[1]), {})[int(m[2])] = n
    return [(f"s{i}_depth", f"s{i}_width", [blocks[i][j] for j in sorted(blocks[i])])
            for i in sorted(blocks)]


def _list(arch: dict, key: str, n: int) -> list:
    v = arch.get(key)
    if not isinstance(v, (list, tuple)) or len(v) != n:
        raise ValueError(f"The '{key}' entry of an OFA arch dict must be a list of {n} values. "
                         f"Got {v!r} instead.")
    return list(v)


def _resolution(arch: dict, choices: list) -> int:
    r = arch.get("r")
    if isinstance(r, (list, tuple)):
        if len(r) != 1:
            raise ValueError(f"The 'r' entry of an OFA arch dict must be an int or a list of "
                             f"one int. Got {r!r} instead.")
        r = r[0]
    if r not in choices:
        raise ValueError(f"The 'r' entry of an OFA arch dict must be one of {choices}. "
                         f"Got {r!r} instead.")
    return int(r)


def _check_keys(arch: Any, allowed: set[str]) -> None:
    if not isinstance(arch, dict):
        raise TypeError(f"an OFA architecture is a dict. Got {type(arch).__name__}.")
    unknown = sorted(set(arch) - allowed - {"wid"})
    if unknown:
        raise ValueError(f"unknown keys {unknown} in an OFA arch dict; it takes "
                         f"{sorted(allowed)}")


def _choice(choices: dict, gene: str, value: Any) -> Any:
    """The value if it is a choice of the gene, else _DEAD (checked against liveness later)."""
    try:
        return value if value in choices[gene] else _DEAD
    except TypeError:  # unhashable / incomparable
        return _DEAD


def mbconv_values(genes: Any, arch: dict) -> dict[str, Any]:
    """{gene: value} for a MobileNetV3 / ProxylessNAS arch dict; kernel or expand entries that
    are not choices come back as a sentinel, allowed only where the block is dead."""
    names, choices = _names_choices(genes)
    layout = _mbconv_layout(names)
    _check_keys(arch, {"ks", "e", "d", "r"})
    n_blocks = sum(len(blocks) for _, blocks in layout)
    ks, es = _list(arch, "ks", n_blocks), _list(arch, "e", n_blocks)
    ds = _list(arch, "d", len(layout))
    values: dict[str, Any] = {"resolution": _resolution(arch, choices["resolution"])}
    flat = 0
    for i, (depth, blocks) in enumerate(layout):
        d = ds[i]
        if depth is None:
            if not (isinstance(d, (int, np.integer)) and d >= 1):
                raise ValueError(f"The 'd' entry {i} of an OFA arch dict (a fixed stage of "
                                 f"{len(blocks)} block) must be an int >= 1. Got {d!r} instead.")
        elif d not in choices[depth]:
            raise ValueError(f"The 'd' entry {i} of an OFA arch dict must be one of "
                             f"{choices[depth]}. Got {d!r} instead.")
        else:
            values[depth] = int(d)
        for kg, eg in blocks:
            values[kg] = _choice(choices, kg, ks[flat])
            values[eg] = _choice(choices, eg, es[flat])
            flat += 1
    return values


def resnet_values(genes: Any, arch: dict) -> dict[str, Any]:
    """{gene: value} for an OFAResNets arch dict (see the module docstring)."""
    names, choices = _names_choices(genes)
    layout = _resnet_layout(names)
    _check_keys(arch, {"d", "e", "w", "r"})
    n_blocks = sum(len(blocks) for _, _, blocks in layout)
    ds = _list(arch, "d", len(layout) + 1)
    es = _list(arch, "e", n_blocks)
    ws = _list(arch, "w", len(layout) + 2)
    widths = choices["stem_width"]
    values: dict[str, Any] = {"resolution": _resolution(arch, choices["resolution"])}
    if ds[0] not in (0, 1, 2):
        raise ValueError(f"The 'd' entry 0 of an OFA ResNet arch dict (the input stem) must be "
                         f"one of [0, 1, 2]. Got {ds[0]!r} instead.")
    values["stem_depth"] = 2 if ds[0] == 2 else 0
    for k, (gene, w) in enumerate(zip(["stem_mid_width", "stem_width"]
                                      + [wg for _, wg, _ in layout], ws, strict=True)):
        if not (isinstance(w, (int, np.integer)) and 0 <= w < len(widths)):
            raise ValueError(f"The 'w' entry {k} of an OFA ResNet arch dict must be an index in "
                             f"0..{len(widths) - 1} (width multipliers {widths}). "
                             f"Got {w!r} instead.")
        values[gene] = choices[gene][int(w)]
    flat = 0
    for i, (depth, _, blocks) in enumerate(layout, start=1):
        if ds[i] not in choices[depth]:
            raise ValueError(f"The 'd' entry {i} of an OFA ResNet arch dict must be one of "
                             f"{choices[depth]}. Got {ds[i]!r} instead.")
        values[depth] = int(ds[i])
        for eg in blocks:
            values[eg] = _choice(choices, eg, es[flat])
            flat += 1
    return values


def encode(space, arch: dict) -> np.ndarray:
    """The canonical genes row of an OFA arch dict."""
    names = space.gene_names
    values = (resnet_values if _is_resnet(names) else mbconv_values)(space, arch)
    row = np.zeros(space.n_genes, dtype=np.uint8)
    bad = []
    for j, n in enumerate(names):
        v = values[n]
        if v is _DEAD:
            bad.append(j)
        else:
            row[j] = space.choices[j].index(v)
    live = space.live_genes(row)
    for j in bad:
        if live[j]:
            raise ValueError(f"The '{names[j]}' block of this OFA arch is active, so its value "
                             f"must be one of {space.choices[j]}. Got "
                             f"{_raw(space, arch, names[j])!r} instead.")
    return space.canonical(row)


def _raw(space, arch: dict, gene: str) -> Any:
    """The arch dict entry behind a block gene (for error messages)."""
    names = space.gene_names
    blocks = [n for n in names if (m := _BLOCK.match(n)) and m[3] == gene.rsplit("_", 1)[1]]
    key = {"kernel": "ks", "expand": "e"}[gene.rsplit("_", 1)[1]]
    return list(arch[key])[blocks.index(gene)]


def decode(space, row: np.ndarray) -> dict[str, Any]:
    """OFA's arch dict of a genes row (every slot filled from the row)."""
    v = {n: space.choices[j][int(row[j])] for j, n in enumerate(space.gene_names)}
    if _is_resnet(space.gene_names):
        layout = _resnet_layout(space.gene_names)
        widths = space.choices[space.gene_names.index("stem_width")]
        return {
            "d": [v["stem_depth"]] + [v[d] for d, _, _ in layout],
            "e": [v[g] for _, _, blocks in layout for g in blocks],
            "w": [widths.index(v[g]) for g in ["stem_mid_width", "stem_width"]
                  + [wg for _, wg, _ in layout]],
            "r": [v["resolution"]],
        }
    layout = _mbconv_layout(space.gene_names)
    return {
        "ks": [v[k] for _, blocks in layout for k, _ in blocks],
        "e": [v[e] for _, blocks in layout for _, e in blocks],
        "d": [v[d] if d is not None else len(blocks) for d, blocks in layout],
        "r": [v["resolution"]],
    }


register_codec(Codec("ofa", encode, decode))
