"""Partial evaluation: per-segment cost tables, and the kernel that scores by table lookups.

For each segment, every (incoming state, combination of its genes) is run once through the
interpreter at build time; a candidate's cost is then the sum of one table row per segment,
and the next state's id comes from the same row. Tables are built per convention.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from nascost.kernels.interpreter import CHUNK, LIMIT, run_one
from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.program.program import Program
from nascost.program.segments import Segment, segment, segment_arrays
from nascost.rules import ops as O
from nascost.rules import status as S
from nascost.rules.conventions import Convention

MAX_ROWS = 1 << 22  # table rows over all segments; past this the interpreter is used

# columns of a table row
T_NEXT, T_STATUS, T_PARAMS, T_MACS, T_FLOPS, T_ACTS = range(6)


@dataclass(frozen=True, eq=False)
class Tables:
    segs: tuple[Segment, ...]
    glist: np.ndarray  # genes of all segments, concatenated
    meta: np.ndarray  # (n_segs, 4): gene ptr, gene count, first row, rows per state
    rows: np.ndarray  # (n_rows, 6) int64
    cards: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])


@jit
def _tabulate(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, states, seg_genes, cards,
              cross_out, res, out_shapes):
    """Run segment [i0, i1) for every (state, gene combination); the last gene varies
    fastest. states: (n_states, len(cross_in), 4) shapes of the registers crossing in."""
    n_states = states.shape[0]
    n_comb = res.shape[0] // max(n_states, 1)
    regC = np.zeros(n_regs, np.int64)
    regH = np.zeros(n_regs, np.int64)
    regW = np.zeros(n_regs, np.int64)
    regR = np.zeros(n_regs, np.int64)
    fv = np.zeros(O.N_SLOTS, np.int64)
    live = np.zeros(1, np.uint8)
    rec = np.zeros((1, 1), np.int64)
    genes = np.zeros(n_genes, np.uint8)
    q = seg_genes.shape[0]
    for s in range(n_states):
        for c in range(n_comb):
            for k in range(cross_in.shape[0]):
                r = cross_in[k]
                regC[r] = states[s, k, 0]
                regH[r] = states[s, k, 1]
                regW[r] = states[s, k, 2]
                regR[r] = states[s, k, 3]
            v = c
            for j in range(q - 1, -1, -1):
                genes[seg_genes[j]] = np.uint8(v % cards[j])
                v //= cards[j]
            st, p, m, f, a = run_one(ins, ex, aux, ow, genes, regC, regH, regW, regR, fv, live,
                                     False, rec, False, i0, i1)
            row = s * n_comb + c
            res[row, 0] = st
            res[row, 1] = p
            res[row, 2] = m
            res[row, 3] = f
            res[row, 4] = a
            for k in range(cross_out.shape[0]):
                r = cross_out[k]
                out_shapes[row, k, 0] = regC[r]
                out_shapes[row, k, 1] = regH[r]
                out_shapes[row, k, 2] = regW[r]
                out_shapes[row, k, 3] = regR[r]


def build_tables(program: Program, convention: Convention) -> Tables | None:
    """Tabulate every segment, or None when the tables would be too large."""
    segs = segment(program)
    cards = program.cards
    states = np.zeros((1, 0, 4), dtype=np.int64)  # boundary 0: nothing crosses
    meta = np.zeros((len(segs), 4), dtype=np.int64)
    glist, gmeta = segment_arrays(segs)
    meta[:, :2] = gmeta
    parts = []
    n_rows = 0
    for k, seg in enumerate(segs):
        n_comb = math.prod(int(cards[g]) for g in seg.genes)
        n_states = states.shape[0]
        if n_rows + n_states * n_comb > MAX_ROWS:
            return None
        res = np.zeros((n_states * n_comb, 5), dtype=np.int64)
        out_shapes = np.zeros((n_states * n_comb, len(seg.cross_out), 4), dtype=np.int64)
        preload = segs[k - 1].cross_out if k > 0 else ()
        _tabulate(program.ins, program.ex, program.aux, convention.op_weights, program.n_regs,
                  program.n_genes, seg.start, seg.end, np.array(preload, dtype=np.int64),
                  states, np.array(seg.genes, dtype=np.int64),
                  np.array([cards[g] for g in seg.genes], dtype=np.int64),
                  np.array(seg.cross_out, dtype=np.int64), res, out_shapes)
        # the next boundary's states: distinct out shapes of the rows that succeeded
        flat = out_shapes.reshape(out_shapes.shape[0], -1)
        ok = res[:, 0] == S.OK
        if ok.any():
            uniq, inv = np.unique(flat[ok], axis=0, return_inverse=True)
        else:
            uniq, inv = np.zeros((1, flat.shape[1]), dtype=np.int64), np.zeros(0, np.int64)
        nxt = np.zeros(res.shape[0], dtype=np.int64)
        nxt[ok] = inv.reshape(-1)
        # the registers crossing into segment k + 1 (read there or passed through)
        states = np.ascontiguousarray(uniq.reshape(uniq.shape[0], len(seg.cross_out), 4))
        table = np.empty((res.shape[0], 6), dtype=np.int64)
        table[:, T_NEXT] = nxt
        table[:, T_STATUS:] = res
        meta[k, 2] = n_rows
        meta[k, 3] = n_comb
        n_rows += res.shape[0]
        parts.append(table)
    rows = np.ascontiguousarray(np.concatenate(parts))
    for a in (rows, meta, glist):
        a.setflags(write=False)
    return Tables(tuple(segs), glist, meta, rows, cards)


@jit_parallel
def score_tables(glist, meta, rows, cards, genes, batch, o_params, o_macs, o_flops, o_acts,
                 o_status):
    """Score every row of genes by one table lookup per segment."""
    n = genes.shape[0]
    n_seg = meta.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    lim = LIMIT // batch
    for t in prange(n_chunks):
        stop = min(n, (t + 1) * CHUNK)
        for i in range(t * CHUNK, stop):
            state = np.int64(0)
            p = np.int64(0)
            m = np.int64(0)
            f = np.int64(0)
            a = np.int64(0)
            st = np.int64(0)
            for k in range(n_seg):
                gp = meta[k, 0]
                idx = np.int64(0)
                for q in range(meta[k, 1]):
                    g = glist[gp + q]
                    idx = idx * cards[g] + np.int64(genes[i, g])
                r = meta[k, 2] + state * meta[k, 3] + idx
                st = rows[r, T_STATUS]
                if st != S.OK:
                    break
                p += rows[r, T_PARAMS]
                m += rows[r, T_MACS]
                f += rows[r, T_FLOPS]
                a += rows[r, T_ACTS]
                if p > LIMIT or m > LIMIT or f > LIMIT or a > LIMIT:
                    st = S.OVERFLOW
                    break
                state = rows[r, T_NEXT]
            if st == S.OK and (m > lim or f > lim or a > lim):
                st = S.OVERFLOW
            if st != S.OK:
                p = 0
                m = 0
                f = 0
                a = 0
            o_params[i] = p
            o_macs[i] = m * batch
            o_flops[i] = f * batch
            o_acts[i] = a * batch
            o_status[i] = st


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tables_for(program: Program, convention: Convention) -> Tables | None:
    """The tables of (program, convention), built once and cached with the program."""
    per_program = _CACHE.setdefault(program, {})
    key = tuple(convention.op_weights.ravel().tolist())
    if key not in per_program:
        per_program[key] = build_tables(program, convention)
    return per_program[key]
