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


def segment(program: Program) -> list[Segment]:
    """Group the top-level nodes into segments (greedy: merge while the combinations of the
    genes first read in the segment stay small); a small space is one segment."""
    cards = [int(c) for c in program.cards]

    def combos(gs):
        return math.prod(cards[g] for g in gs)

    if math.prod(cards) <= WHOLE_SPACE:
        groups = [(0, program.n_instr)]
    else:
        groups = []
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
