"""Genes <-> the values a framework sees: one categorical decision per gene, named by the
gene, whose options are the gene's choice values (ints, floats or strings, as in the spec).

A row of genes is a candidate's choice indices (uint8, one per gene). Frameworks hand back
a mapping {decision name: chosen value}; ``row_from_values`` turns it into genes, strictly:
a missing decision or a value that is not one of the gene's choices raises, naming the gene.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

PRIMITIVE = (bool, int, float, str, type(None))


def option(value: Any) -> Any:
    """A choice value as a framework option: primitives as they are, anything else (a list
    in a spec) as its JSON text."""
    return value if isinstance(value, PRIMITIVE) else json.dumps(value, sort_keys=True)


def options(space) -> dict[str, list]:
    """{gene name: its choices as framework options}, in gene order."""
    return {name: [option(v) for v in space.choices[j]]
            for j, name in enumerate(space.gene_names)}


def _index(space, j: int, value: Any, where: str) -> int:
    choices = space.choices[j]
    for i, c in enumerate(choices):
        # exact type match first: 1, 1.0 and True are equal in Python but not the same choice
        if type(option(c)) is type(value) and option(c) == value:
            return i
    for i, c in enumerate(choices):
        if option(c) == value or (isinstance(value, np.generic) and c == value.item()):
            return i
    raise ValueError(f"{where}: {value!r} is not one of the choices of gene "
                     f"{space.gene_names[j]!r} ({choices})")


def row_from_values(space, values: Mapping[str, Any], labels: Mapping[str, str] | None = None,
                    where: str = "values") -> np.ndarray:
    """The genes row (uint8) of {decision name: value}; ``labels`` renames decisions
    ({gene name: decision name}); decisions that are not genes are ignored."""
    labels = labels or {}
    row = np.zeros(space.n_genes, dtype=np.uint8)
    missing = []
    for j, name in enumerate(space.gene_names):
        key = labels.get(name, name)
        if key not in values:
            missing.append(key)
            continue
        row[j] = _index(space, j, values[key], f"{where}[{key!r}]")
    if missing:
        shown = ", ".join(repr(m) for m in missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise KeyError(f"{where} lacks {len(missing)} of the {space.n_genes} genes of space "
                       f"{space.name!r}: {shown}")
    return row


def values_from_row(space, row: Any) -> dict[str, Any]:
    """{gene name: option} of a genes row (the inverse of row_from_values)."""
    g = space.check_genes(row)
    if g.shape[0] != 1:
        raise ValueError("values_from_row takes one candidate (a single genes row)")
    return {name: option(space.choices[j][int(g[0, j])])
            for j, name in enumerate(space.gene_names)}
