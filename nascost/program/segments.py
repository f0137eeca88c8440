"""Cut a program into segments whose cost depends only on their own genes and on the state
that crosses into them: the block structure that partial evaluation tabulates.

A segment is a run of top-level nodes. The state at a boundary is the shapes of the
registers written before it and read after it, plus the values of the genes read on both
sides of it (a width multiplier read by every layer is *carried* in the state instead of
being a gene of every segment). A segment's table is indexed by (state, combination of the
genes it reads first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nascost.program import program as P
from nascost.program.program import Program

MAX_COMBOS = 729  # combinations of a segment's own genes when merging top-level nodes
WHOLE_SPACE = 1 << 16  # spaces at most this large become one table indexed by all genes


@dataclass(frozen=True)
class Segment:
    start: int  # first instruction
    end: int  # one past the last instruction
    genes: tuple[int, ...]  # genes read here first: the table's combination index
    cross_in: tuple[int, ...]  # registers in the incoming state
    cross_out: tuple[int, ...]  # registers in the outgoing state
    carried_in: tuple[int, ...]  # genes in the incoming state
    carried_out: tuple[int, ...]  # genes in the outgoing state


def instr_io(program: Program, i: int) -> tuple[set[int], set[int], set[int]]:
    """(registers read, registers written, genes read) by instruction i."""
    ins, ex, aux = program.ins, program.ex, program.aux
    row = ins[i]
    reads = {int(aux[row[P.C_IN_PTR] + k]) for k in range(row[P.C_IN_LEN])}
    if row[P.C_ELSE] >= 0:
        reads.add(int(row[P.C_ELSE]))
    for s in range(12):
        e = row[P.C_F0 + s]
        if e >= 0 and ex[e, 0] == P.EX_CHAN:
            reads.add(int(ex[e, 1]))
    genes = {int(aux[row[P.C_LG_PTR] + k]) for k in range(row[P.C_LG_LEN])}
    genes |= {int(aux[row[P.C_G_PTR] + 2 * k]) for k in range(row[P.C_G_LEN])}
    return reads, {int(row[P.C_DST])}, genes


def _range_io(program: Program, start: int, end: int):
    reads: set[int] = set()
    writes: set[int] = set()
    genes: set[int] = set()
    for i in range(start, end):
        r, w, g = instr_io(program, i)
        reads |= r - writes
        writes |= w
        genes |= g
    return reads, writes, genes


def greedy_groups(program: Program) -> list[tuple[int, int]]:
    """Group the top-level nodes greedily: merge while the combinations of the genes first
    read in the segment stay small; a small space is one group."""
    cards = [int(c) for c in program.cards]

    def combos(gs):
        return math.prod(cards[g] for g in gs)

    if math.prod(cards) <= WHOLE_SPACE:
        return [(0, program.n_instr)]
    groups: list[tuple[int, int]] = []
    seen: set[int] = set()  # genes first read in earlier segments
    cur: tuple[int, int] | None = None
    new: set[int] = set()
    for start, end in program.top:
        _, _, g = _range_io(program, start, end)
        if cur is None:
            cur, new = (start, end), set(g)
            continue
        union = new | (g - seen)
        if union == new or combos(union) <= MAX_COMBOS:
            cur, new = (cur[0], end), union
        else:
            groups.append(cur)
            seen |= new
            cur, new = (start, end), set(g) - seen
    groups.append(cur)
    return groups


def planned_groups(program: Program, states: list[int], lookup_rows: int = 4096,
                   max_rows: int = 1 << 16) -> list[tuple[int, int]]:
    """Group the top-level nodes to minimise (table rows + lookup_rows per segment).

    ``states[i]`` is the number of distinct states at the boundary before top-level node i
    (it does not depend on the grouping); a group of nodes i..j-1 has states[i] times the
    combinations of the genes first read in it rows. Dynamic programming over boundaries.
    """
    cards = [int(c) for c in program.cards]
    if math.prod(cards) <= WHOLE_SPACE:
        return [(0, program.n_instr)]
    top = list(program.top)
    n = len(top)
    node_genes = [_range_io(program, s, e)[2] for s, e in top]
    before: list[set[int]] = [set()]
    for g in node_genes:
        before.append(before[-1] | g)
    inf = float("inf")
    best = [0.0] + [inf] * n
    choice = [0] * (n + 1)
    for i in range(n):
        if best[i] == inf:
            continue
        new: set[int] = set()
        for j in range(i + 1, n + 1):
            new |= node_genes[j - 1] - before[i]
            rows = states[i] * math.prod(cards[g] for g in new)
            if rows > max_rows and j > i + 1:
                break
            cost = best[i] + rows + lookup_rows
            if cost < best[j]:
                best[j], choice[j] = cost, i
    cuts = []
    j = n
    while j > 0:
        cuts.append((choice[j], j))
        j = choice[j]
    return [(top[a][0], top[b - 1][1]) for a, b in reversed(cuts)]


def segment(program: Program, groups: list[tuple[int, int]] | None = None) -> list[Segment]:
    """The segments of instruction ranges ``groups`` (default: greedy_groups), with the
    registers and genes crossing each boundary."""
    if groups is None:
        groups = greedy_groups(program)
    io = [_range_io(program, s, e) for s, e in groups]
    out = []
    written_before: set[int] = set()
    genes_before: set[int] = set()
    for k, (start, end) in enumerate(groups):
        reads, writes, genes = io[k]
        later_reads: set[int] = set()
        later_genes: set[int] = set()
        for r2, _, g2 in io[k + 1:]:
            later_reads |= r2
            later_genes |= g2
        cross_in = set(out[-1].cross_out) if out else set()
        carried_in = set(out[-1].carried_out) if out else set()
        first = genes - genes_before
        written_before |= writes
        genes_before |= genes
        out.append(Segment(
            start, end, tuple(sorted(first)), tuple(sorted(cross_in)),
            tuple(sorted(later_reads & written_before)), tuple(sorted(carried_in)),
            tuple(sorted(later_genes & genes_before))))
    return out


def segment_arrays(segs: list[Segment], cards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(genes with their strides, per-segment (ptr, count)) for the lookup kernel: a
    segment's combination index is sum(genes[g] * stride) over its own genes."""
    pairs: list[tuple[int, int]] = []
    meta = np.zeros((len(segs), 2), dtype=np.int64)
    for k, s in enumerate(segs):
        meta[k] = len(pairs), len(s.genes)
        stride = 1
        for g in reversed(s.genes):  # the last gene varies fastest
            pairs.append((g, stride))
            stride *= int(cards[g])
    arr = np.array(pairs or [(0, 0)], dtype=np.int64)
    return arr, meta
