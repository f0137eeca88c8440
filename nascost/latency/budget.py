"""Latency budgets: the budget chain with a fifth cost column, each row's latency in integer
nanoseconds (the sum of its blocks' entries), so that bounds, counts, histograms and exact
uniform sampling work for latency as they do for FLOPs."""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import numpy as np

from nascost.latency import keys as K
from nascost.latency.table import LatencyTable, resolve_table

LATENCY = 4  # the latency column of a latency chain (nascost.budget.chain.METRIC_NAMES)
LATENCY_KEYS = ("latency", "max_latency", "min_latency")

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def chain_row_latencies(space, chain, table: LatencyTable) -> np.ndarray:
    """(n_rows,) int64 nanoseconds per row of the chain: for each state one path into it
    gives its genes; a row's blocks are then run from the start and looked up."""
    from nascost.budget.chain import ChainError, _segments
    from nascost.latency.scoring import _entry_values

    program = space.program
    segs = _segments(program)
    if len(segs) != chain.n_seg:
        raise ChainError(f"space {space.name!r}: latency budgets need the chain of blocks")
    lat = np.zeros(chain.n_rows, dtype=np.int64)
    prefix = np.zeros((1, program.n_genes), dtype=np.uint8)
    placed = 0
    for k, sg in enumerate(segs):
        a, b = int(chain.seg_rows[k]), int(chain.seg_rows[k + 1])
        s0, s1 = int(chain.bounds[k]), int(chain.bounds[k + 1])
        genes = prefix[chain.r_in[a:b] - s0].copy()
        n = int(chain.set_n[k])
        if n:
            genes[:, chain.set_genes[k, :n]] = chain.r_vals[a:b, :n]
        ids, nodes = K.nodes_array(program, sg[0], sg[1])
        placed += ids.shape[0]
        if ids.shape[0]:
            h = K.hashes_of(program, genes, sg[1], nodes)
            ok = np.ones(b - a, dtype=bool)
            lat[a:b] = _entry_values(program, table, h, genes, ids, ok).sum(axis=1)
        nxt = chain.r_out[a:b] - s1
        uniq, pick = np.unique(nxt, return_index=True)
        prefix = np.zeros((int(chain.bounds[k + 2]) - s1, program.n_genes), dtype=np.uint8)
        prefix[uniq] = genes[pick]
    if placed != len(program.top):
        raise ChainError(f"space {space.name!r}: a block of the space spans two segments of "
                         "the budget chain; latency budgets need whole blocks per segment")
    return lat


def latency_chain(space, table: LatencyTable, convention: Any = "seed"):
    """The budget chain of the space with latency (ns) as a fifth cost column."""
    from nascost.budget.chain import chain_for
    from nascost.rules.conventions import resolve

    c = resolve(convention)
    chain = chain_for(space.program, c)
    per = _CACHE.setdefault(chain, {})
    if id(table) not in per or per[id(table)][0] is not table:
        lat = chain_row_latencies(space, chain, table)
        cost = np.ascontiguousarray(np.concatenate([chain.cost, lat[:, None]], axis=1))
        cost.setflags(write=False)
        per[id(table)] = (table, dataclasses.replace(chain, cost=cost))
    return per[id(table)][1]


def split_budget(space, convention: Any, budget: dict):
    """(chain, constraints) for a budget that may hold latency=, max_latency=,
    min_latency= (times such as "15ms", "800us"; bare numbers are microseconds)."""
    from nascost.budget import chain_of
    from nascost.budget.budget import parse_budget
    from nascost.units import parse_time_ns

    rest = {k: v for k, v in budget.items() if k not in LATENCY_KEYS}
    table = budget.get("latency")
    lo, hi = budget.get("min_latency"), budget.get("max_latency")
    if table is None:
        if lo is not None or hi is not None:
            raise ValueError("max_latency/min_latency need a latency table: pass "
                             "latency=FILE (nascost lut build)")
        return chain_of(space, convention), parse_budget(rest)
    table = resolve_table(space, table)
    cons = parse_budget(rest)
    lo = None if lo is None else parse_time_ns(lo, "min_latency")
    hi = None if hi is None else parse_time_ns(hi, "max_latency")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"min_latency ({lo} ns) is above max_latency ({hi} ns): the budget "
                         "is empty")
    if lo is not None or hi is not None:
        cons[LATENCY] = (lo, hi)
    return latency_chain(space, table, convention), cons


def latency_bounds(space, latency: Any, convention: Any = "seed") -> dict:
    """{"min", "max" (nanoseconds), "min_genes", "max_genes"} of latency over the valid
    candidates, exact for the table."""
    from nascost.budget.counting import extremes_for

    ch = latency_chain(space, resolve_table(space, latency), convention)
    ext = extremes_for(ch)
    return {"min": int(ext.lo[LATENCY]), "max": int(ext.hi[LATENCY]),
            "min_genes": ext.witness(LATENCY, "min"), "max_genes": ext.witness(LATENCY, "max")}
