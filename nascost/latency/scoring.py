"""Latency on the cost tables: each table row's latency (the sum of its blocks' entries),
computed once per (tables, latency table), and scoring with a ``latency_us`` column."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from nascost.kernels.latency import EMPTY
from nascost.latency import keys as K
from nascost.latency.table import LatencyTable, resolve_table

_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


MISSING = 1 << 52  # the latency of a row with a block the table lacks (scoring checks it)


def _entry_values(program, table: LatencyTable, hashes: np.ndarray, genes: np.ndarray,
                  node_ids: np.ndarray, ok: np.ndarray, mark: bool = False) -> np.ndarray:
    """(n, m) nanoseconds of each (row, node) block; a block missing from the table raises
    naming its key and node (with ``mark``, it is worth MISSING instead)."""
    flat = hashes.reshape(-1)
    uniq, inv = np.unique(flat, return_inverse=True)
    by_hash = table.by_hash
    vals = np.zeros(uniq.shape[0], dtype=np.int64)
    for u, h in enumerate(uniq.tolist()):
        if h <= EMPTY:  # 0: a failing block (its row has a status); 1: no active layer
            continue
        i = by_hash.get(int(h))
        if i is None and mark:
            vals[u] = MISSING
            continue
        if i is None:
            r, j = divmod(int(np.flatnonzero(flat == h)[0]), hashes.shape[1])
            if not ok[r]:
                continue
            node = int(node_ids[j])
            key = K.node_key(program, genes[r], node)
            raise KeyError(f"the latency table has no entry for block {key!r} (top-level node "
                           f"{node}, layer {_node_name(program, node)!r}); rebuild the table "
                           "for this space with `nascost lut build`")
        vals[u] = table.median_ns[i]
    return vals[inv.reshape(-1)].reshape(hashes.shape)


def _node_name(program, node: int) -> str:
    from nascost.program import program as P

    a, b = program.top[node]
    for i in range(a, b):
        li = int(program.ins[i, P.C_LAYER])
        if li >= 0:
            return program.layer_names[li]
    return f"node {node}"


def row_latencies(program, tables, table: LatencyTable) -> tuple[np.ndarray, np.ndarray]:
    """(n_rows,) int64 nanoseconds per row of the cost tables (0 for failing rows), and the
    packed rows with the latency as a third word (no rows where the tables are unpacked)."""
    per = _ROWS.setdefault(tables, {})
    if id(table) in per and per[id(table)][0] is table:
        return per[id(table)][1]
    lat = np.zeros(tables.n_rows, dtype=np.int64)
    for k, first, genes, ok in K.table_row_genes(program, tables):
        seg = tables.segs[k]
        ids, nodes = K.nodes_array(program, seg.start, seg.end)
        h = K.hashes_of(program, genes, seg.end, nodes)
        v = _entry_values(program, table, h, genes, ids, ok, mark=True)
        lat[first:first + genes.shape[0]] = np.where(ok, np.minimum(v.sum(axis=1), MISSING), 0)
    lat.setflags(write=False)
    words3 = np.zeros((0, 3), dtype=np.uint64)
    if tables.words.shape[0]:
        words3 = np.ascontiguousarray(np.concatenate(
            [tables.words, lat.astype(np.uint64)[:, None]], axis=1))
    words3.setflags(write=False)
    per[id(table)] = (table, (lat, words3))
    return lat, words3


def score_latency(space, genes: np.ndarray, latency: Any, convention: Any = "seed",
                  batch: int = 1, threads: int | None = None) -> dict[str, np.ndarray]:
    """The counts plus ``latency_us`` (float64, the sum of the table's entries; 0 where the
    status is not 0), by the table engine."""
    from nascost.kernels import api
    from nascost.kernels.jit import set_threads
    from nascost.kernels.latency import score_tables_latency
    from nascost.rules import conventions as conv

    table = resolve_table(space, latency)
    c = conv.resolve(convention)
    batch = api.check_batch(batch)
    from nascost.kernels import tables as T

    tables = T.tables_for(space.program, c)  # chain tables only: rows are whole blocks
    if tables is None:
        raise ValueError(f"space {space.name!r} does not factor into cost tables: latency "
                         "needs the table engine")
    lat, words3 = row_latencies(space.program, tables, table)
    n = genes.shape[0]
    out = api.empty_outputs(n)
    o_lat = np.empty(n, np.int64)
    previous = set_threads(threads) if threads is not None else None
    try:
        score_tables_latency(tables.gstride, tables.meta, tables.rows, tables.words,
                             tables.layout, lat, words3, genes, batch, out["params"], out["macs"],
                             out["flops"], out["activations"], out["status"], o_lat)
    finally:
        if previous is not None:
            set_threads(previous)
    bad = np.flatnonzero(o_lat >= MISSING)
    if bad.size:  # a candidate runs a block the table lacks: name it
        _raise_missing(space, genes[bad[0]], table)
    out["latency_us"] = o_lat / 1e3
    return out


def _raise_missing(space, genes_row: np.ndarray, table: LatencyTable) -> None:
    program = space.program
    for j in range(len(program.top)):
        key = K.node_key(program, genes_row, j)
        if key and K.key_hash(key) not in table.by_hash:
            raise KeyError(f"the latency table has no entry for block {key!r} (top-level node "
                           f"{j}, layer {_node_name(program, j)!r}) of candidate "
                           f"{genes_row.tolist()}; rebuild the table for this space with "
                           "`nascost lut build`")


def walk_latency(space, genes_row: np.ndarray, table: LatencyTable) -> int | None:
    """The slow per-candidate latency: the candidate's blocks, each looked up by its key
    (nanoseconds; None when the candidate is invalid). The reference the kernel is tested
    against."""
    from nascost.kernels.api import records
    from nascost.rules import status as S

    program = space.program
    g = space.check_genes(genes_row)[0]
    rec, totals = records(program, g, "macs")
    if int(totals[0]) != S.OK:
        return None
    total = 0
    for a, b in program.top:
        layers = K.records_layers(program, rec, a, b)
        if layers:
            total += table.value_of(K.format_key(layers))
    return total
