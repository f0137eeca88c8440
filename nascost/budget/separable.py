"""Spaces whose costs add up over independent groups of genes, as a chain of one state.

A DARTS space is not a chain of small blocks: its 20 cells all read the same 32 genes. But
its costs are *additively separable*: every op of an edge keeps the cell's channels and its
spatial size (or halves it, on a reduction cell's inputs), so the shape of every state of a
cell is fixed, and an edge's cost depends on its own input and op genes only, not on the
other edges' choices. Then a candidate's cost is a fixed part plus one term per group of
genes, and the space is a chain with a single state at every boundary: one segment per
group, one row per (valid, canonical) combination of the group's genes. Every budget
analytic (bounds, count, histogram, sample_within) runs on it unchanged.

The groups are found, and the separability proved, from the compiled program by a walk over
its instructions that tracks, for every register, whether its shape is fixed or which group
of genes it depends on:

* an instruction depends on the genes it reads (fields, predicates) and on the groups of
  its input registers' shapes (and of its destination's, when a predicate may leave it
  unchanged); genes read by one instruction start in one group;
* an instruction that depends on one group is run (by the interpreter, with liveness) for
  every combination of that group's genes: its costs, status and the genes it reads are
  added to the group's table; its output shape is *fixed* if every valid combination gives
  the same shape, else it depends on the group;
* an instruction that depends on two groups or more merges them, and the walk starts over.

The walk ends with every instruction's cost a function of one group (or of nothing), which
is the separability: the total is the sum over instructions. A group whose combinations
pass ``SEPARABLE_COMBOS`` means the space is not separable into small groups (ChainError).
A combination whose run fails (status other than 0) makes every candidate with it invalid;
a gene that no instruction of its group reads for a combination is dead there, and only the
combinations with their dead genes at 0 are kept (canonical), as in the chain.
"""

from __future__ import annotations

import math

import numpy as np

from nascost.budget.chain import Chain, ChainError, NoValidCandidate, _assemble, _combos
from nascost.kernels.budget import tabulate_live, tabulate_live_serial
from nascost.kernels.separable import FAIL_CODES
from nascost.program import program as P
from nascost.program.program import Program
from nascost.program.segments import instr_io
from nascost.rules import status as S
from nascost.rules.conventions import Convention

SEPARABLE_COMBOS = 1 << 12  # gene combinations of one group at most


def _tabulate(*args) -> None:
    """tabulate_live, on the calling thread when the rows are few (most calls of the walk:
    a parallel launch per instruction costs more than the work, much more on a busy machine)."""
    res = args[13]
    (tabulate_live_serial if res.shape[0] <= 4096 else tabulate_live)(*args)


def _distinct(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, index of each row's distinct row), in order of first appearance (a
    dict over the rows' bytes: np.unique(axis=0) costs ~1 ms a call on a few rows)."""
    if (rows == rows[:1]).all():
        return rows[:1], np.zeros(rows.shape[0], dtype=np.int64)
    rows = np.ascontiguousarray(rows)
    seen: dict[bytes, int] = {}
    idx = np.fromiter((seen.setdefault(r.tobytes(), len(seen)) for r in rows), np.int64,
                      count=rows.shape[0])
    first = np.zeros(len(seen), dtype=np.int64)
    first[idx[::-1]] = np.arange(rows.shape[0] - 1, -1, -1)
    return rows[first], idx


class _Merge(Exception):
    def __init__(self, roots):
        super().__init__()
        self.roots = roots


def _io(program: Program) -> list[tuple[list[int], int, list[int]]]:
    """(registers read, destination, genes) per instruction; a predicated instruction also
    reads its destination (skipped, it leaves it as it was or copies its else register)."""
    out = []
    for i in range(program.n_instr):
        reads, writes, genes = instr_io(program, i)
        dst = next(iter(writes))
        if program.ins[i, P.C_G_LEN] > 0:
            reads = reads | {dst}
        out.append((sorted(reads), dst, sorted(genes)))
    return out


class _Groups:
    """Union-find over genes."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def union(self, gs) -> None:
        gs = [self.find(g) for g in gs]
        for g in gs[1:]:
            self.parent[self.find(g)] = self.find(gs[0])

    def members(self, n: int) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for g in range(n):
            out.setdefault(self.find(g), []).append(g)
        return out


def _walk(program: Program, convention: Convention, io, groups: _Groups):
    """One pass over the instructions; raises _Merge when an instruction reads two groups."""
    n_genes = program.n_genes
    cards = np.asarray(program.cards, dtype=np.int64)
    members = groups.members(n_genes)
    tables = {}
    for root, gs in members.items():
        V = _combos(cards[gs])
        tables[root] = {"genes": gs, "V": V, "cost": np.zeros((V.shape[0], 4), np.int64),
                        "ok": np.ones(V.shape[0], bool),
                        "fail": np.zeros(V.shape[0], np.int64),
                        "fcost": np.zeros((V.shape[0], 4), np.float64),
                        "live": np.zeros((V.shape[0], len(gs)), bool), "used": False}
    fixed = np.zeros(4, dtype=np.int64)
    const = np.zeros((program.n_regs, 4), dtype=np.int64)  # fixed shapes (C, H, W, rank)
    dep = np.full(program.n_regs, -1, dtype=np.int64)  # the group a shape depends on, or -1
    varying: dict[int, np.ndarray] = {}  # register -> (combos, 4) shapes by its group
    ow = convention.op_weights
    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731
    for i, (reads, dst, genes) in enumerate(io):
        roots = {groups.find(g) for g in genes} | {int(dep[r]) for r in reads if dep[r] >= 0}
        if len(roots) > 1:
            raise _Merge(roots)
        if not roots:
            shapes = const[reads][None, :, :].copy()
            res = np.zeros((1, 5), np.int64)
            out_shapes = np.zeros((1, 1, 4), np.int64)
            out_live = np.zeros((1, 0), np.uint8)
            _tabulate(program.ins, program.ex, program.aux, ow, program.n_regs, n_genes,
                      i, i + 1, i64(reads), shapes, i64([]), i64([]), i64([dst]), res,
                      out_shapes, out_live)
            if res[0, 0] != S.OK:
                raise NoValidCandidate(f"instruction {i} fails whatever the genes: the space "
                                       "has no valid candidate")
            fixed += res[0, 1:5]
            const[dst] = out_shapes[0, 0]
            dep[dst] = -1
            varying.pop(dst, None)
            continue
        root = roots.pop()
        t = tables[root]
        t["used"] = True
        V = t["V"]
        n_c = V.shape[0]
        inp = np.empty((n_c, len(reads), 4), dtype=np.int64)
        for j, r in enumerate(reads):
            inp[:, j] = varying[r] if dep[r] >= 0 else const[r]
        if any(dep[r] >= 0 for r in reads):
            uniq, idx = _distinct(inp.reshape(n_c, -1))
        else:  # fixed inputs: one incoming shape
            uniq, idx = inp[:1].reshape(1, -1), np.zeros(n_c, dtype=np.int64)
        n_u = uniq.shape[0]
        res = np.zeros((n_u * n_c, 5), np.int64)
        out_shapes = np.zeros((n_u * n_c, 1, 4), np.int64)
        out_live = np.zeros((n_u * n_c, len(t["genes"])), np.uint8)
        _tabulate(program.ins, program.ex, program.aux, ow, program.n_regs, n_genes, i,
                  i + 1, i64(reads), np.ascontiguousarray(uniq.reshape(n_u, len(reads), 4)),
                  i64(t["genes"]), cards[t["genes"]], i64([dst]), res, out_shapes, out_live)
        row = idx * n_c + np.arange(n_c)
        code = res[row, 0]
        first = t["ok"] & (code != S.OK)
        t["fail"][first] = (i + 1) * FAIL_CODES + code[first]
        t["ok"] &= code == S.OK
        t["cost"] += res[row, 1:5]
        t["fcost"] += res[row, 1:5]
        t["live"] |= out_live[row].astype(bool)
        outs = out_shapes[row, 0]
        ok = t["ok"]
        if ok.any() and (outs[ok] == outs[ok][0]).all():
            const[dst] = outs[ok][0]
            dep[dst] = -1
            varying.pop(dst, None)
        else:
            varying[dst] = outs
            dep[dst] = root
    return fixed, [t for t in tables.values() if t["used"]]


def separable_groups(program: Program, convention: Convention):
    """(fixed cost (4,), [group tables]) where the program's cost is a fixed part plus one
    term per group of genes; ChainError where it is not separable into small groups."""
    io = _io(program)
    cards = [int(c) for c in program.cards]
    groups = _Groups(program.n_genes)
    for _, _, genes in io:
        if len(genes) > 1:
            groups.union(genes)
    while True:
        for gs in groups.members(program.n_genes).values():
            if math.prod(cards[g] for g in gs) > SEPARABLE_COMBOS:
                raise ChainError(f"genes {gs} interact: their {math.prod(cards[g] for g in gs)} "
                                 "combinations are too many for a separable space")
        try:
            return _walk(program, convention, io, groups)
        except _Merge as m:
            groups.union(sorted(m.roots))


def separable_chain(program: Program, convention: Convention) -> Chain:
    """The chain of an additively separable program: one segment per group of genes, one
    state per boundary, one row per valid canonical combination of the group's genes (the
    fixed cost is carried by the first segment's rows)."""
    fixed, tables = separable_groups(program, convention)
    if not tables:
        raise ChainError("no gene changes the cost: nothing to separate")
    read = {g for t in tables for g in t["genes"]}
    unread = tuple(g for g in range(program.n_genes) if g not in read)
    seg_data = []
    for k, t in enumerate(tables):
        V, live = t["V"], t["live"]
        keep = t["ok"] & np.all(live | (V == 0), axis=1)
        if not keep.any():
            raise NoValidCandidate(f"no combination of genes {t['genes']} is valid: the space "
                                   "has no valid candidate")
        cost = t["cost"][keep] + (fixed if k == 0 else 0)
        n = int(keep.sum())
        seg_data.append(dict(
            r_in=np.zeros(n, np.int64), r_out=np.zeros(n, np.int64), cost=cost,
            r_vals=V[keep].astype(np.uint8), setg=list(t["genes"]),
            r_end=np.where(live[keep], V[keep], -1).astype(np.int16), endg=list(t["genes"])))
    return _assemble(program, [1] * (len(tables) + 1), seg_data, unread)
