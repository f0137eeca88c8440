"""Shared helpers for the result-dataset tests: a small space with invalid candidates, and
the slow reference for a scan (score everything with Space.score_arrays, filter in numpy)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import nascost
from nascost import SpaceBuilder
from nascost.io.scan import sample_genes
from nascost.io.schema import genes_of
from nascost.kernels.encoding import ids_to_genes


def fragile_space() -> nascost.Space:
    """4.8M candidates in several table segments; some collapse (stride 2 on a tiny input,
    kernel 5 without padding), some have groups that do not divide their channels."""
    b = SpaceBuilder("fragile")
    r = b.gene("resolution", [8, 32, 64])
    b.input(3, r, r)
    for i in range(6):
        k = b.gene(f"k{i}", [1, 3, 5])
        c = b.gene(f"c{i}", [8, 12, 16])
        b.conv2d(f"conv{i}", c, k, stride=2 if i % 2 == 0 else 1)
        b.op("relu", f"relu{i}")
    g = b.gene("groups", [1, 3, 4])
    b.conv2d("grouped", 24, 1, groups=g)
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


def reference(space, *, sample=None, seed=0, ids=None, budget=None, include_invalid=False,
              batch=1, convention="seed", scored=None) -> dict[str, np.ndarray]:
    """The rows a scan must give, from Space.score_arrays and a numpy filter (pass the
    unfiltered rows from an earlier call as ``scored`` to filter them again)."""
    if scored is None:
        if sample is not None:
            index = np.arange(sample, dtype=np.uint64)
            genes = sample_genes(space, seed, index)
        else:
            a, b = ids
            index = np.arange(a, b, dtype=np.uint64)
            genes = ids_to_genes(index, space.cardinalities)
        scored = space.score_arrays(genes, convention=convention, batch=batch)
        scored = dict(scored, index=index, genes=genes)
    keep = np.ones(scored["index"].shape[0], dtype=bool) if include_invalid \
        else scored["status"] == 0
    for key, v in (budget or {}).items():
        side, col = key.split("_")
        keep &= (scored[col] <= v) if side == "max" else (scored[col] >= v)
    return {k: a[keep] for k, a in scored.items()}


def unfiltered(space, **kw) -> dict[str, np.ndarray]:
    return reference(space, include_invalid=True, **kw)


def table_of(batches) -> pa.Table:
    batches = list(batches)
    if not batches:
        return None
    return pa.Table.from_batches(batches)


def assert_rows(table: pa.Table, ref: dict, space, index: str) -> None:
    """Exact equality of a result table (any row order) with the reference rows."""
    n = 0 if table is None else table.num_rows
    assert n == ref["index"].shape[0]
    if n == 0:
        return
    order = np.argsort(table.column(index).to_numpy(), kind="stable")
    np.testing.assert_array_equal(table.column(index).to_numpy()[order], ref["index"])
    for k in ("params", "macs", "flops", "activations", "status"):
        np.testing.assert_array_equal(table.column(k).to_numpy()[order], ref[k], err_msg=k)
    genes = genes_of(table, space)[order]  # the columns hold choice values
    np.testing.assert_array_equal(genes, ref["genes"])
