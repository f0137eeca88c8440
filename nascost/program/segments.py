"""Cut a program into segments whose cost depends only on their own genes and on the shapes
that cross into them: the block structure that partial evaluation tabulates.

A segment is a run of top-level nodes. The registers that cross boundary k are those written
before it and read after it; their shapes form the boundary's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nascost.program import program as P
from nascost.program.program import Program

MAX_COMBOS = 512  # gene combinations per segment when merging top-level nodes
WHOLE_SPACE = 1 << 20  # spaces at most this large become one table indexed by all genes


@dataclass(frozen=True)
class Segment:
    start: int  # first instruction
    end: int  # one past the last instruction
    genes: tuple[int, ...]  # genes it reads (fields and conditions), in index order
    cross_in: tuple[int, ...]  # registers read from earlier segments
    cross_out: tuple[int, ...]  # registers later segments read (written here or before)


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
    """Group the top-level nodes into segments (greedy: merge while the gene combinations
    stay small); a small space is one segment over all its genes."""
    cards = [int(c) for c in program.cards]
    combos = lambda gs: math.prod(cards[g] for g in gs)  # noqa: E731
    if math.prod(cards) <= WHOLE_SPACE:
        groups = [(0, program.n_instr)]
    else:
        groups = []
        cur_start, cur_end, cur_genes = None, None, set()
        for start, end in program.top:
            _, _, g = _range_io(program, start, end)
            if cur_start is None:
                cur_start, cur_end, cur_genes = start, end, set(g)
                continue
            union = cur_genes | g
            if union == cur_genes or combos(union) <= MAX_COMBOS:
                cur_end, cur_genes = end, union
            else:
                groups.append((cur_start, cur_end))
                cur_start, cur_end, cur_genes = start, end, set(g)
        groups.append((cur_start, cur_end))
    io = [_range_io(program, s, e) for s, e in groups]
    out = []
    written_before: set[int] = set()
    for k, (start, end) in enumerate(groups):
        reads, writes, genes = io[k]
        later_reads: set[int] = set()
        for r2, _, _ in io[k + 1:]:
            later_reads |= r2
        cross_in = reads & written_before
        written_before |= writes
        cross_out = later_reads & written_before
        out.append(Segment(start, end, tuple(sorted(genes)), tuple(sorted(cross_in)),
                           tuple(sorted(cross_out))))
    return out


def segment_arrays(segs: list[Segment]) -> tuple[np.ndarray, np.ndarray]:
    """(genes list, per-segment (gene ptr, gene count)) for the kernels."""
    glist: list[int] = []
    meta = np.zeros((len(segs), 2), dtype=np.int64)
    for k, s in enumerate(segs):
        meta[k] = len(glist), len(s.genes)
        glist.extend(s.genes)
    return np.array(glist or [0], dtype=np.int64), meta
