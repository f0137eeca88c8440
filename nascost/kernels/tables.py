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

from nascost.kernels.interpreter import LIMIT, run_one
from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.program.program import Program
from nascost.program.segments import Segment, planned_groups, segment, segment_arrays
from nascost.rules import ops as O
from nascost.rules import status as S
from nascost.rules.conventions import Convention

MAX_ROWS = 1 << 22  # table rows over all segments; past this the interpreter is used

# columns of a table row
T_NEXT, T_STATUS, T_PARAMS, T_MACS, T_FLOPS, T_ACTS = range(6)


@dataclass(frozen=True, eq=False)
class Tables:
    segs: tuple[Segment, ...]
    gstride: np.ndarray  # (gene, stride) pairs of all segments, concatenated
    meta: np.ndarray  # (n_segs, 4): pair ptr, pair count, first row, rows per state
    rows: np.ndarray  # (n_rows, 6) int32 where every entry fits, else int64
    safe: bool  # no sum of one row per segment can pass 2**62: no overflow checks needed
    n_states: np.ndarray  # states at the boundary before each segment

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])


@jit
def _tabulate(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, states, carried_in,
              state_genes, seg_genes, cards, cross_out, carried_out, res, out_shapes,
              out_genes):
    """Run segment [i0, i1) for every (state, combination of its genes); the last gene
    varies fastest. A state is the shapes of the registers cross_in and the values of the
    genes carried_in."""
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
        for j in range(carried_in.shape[0]):
            genes[carried_in[j]] = np.uint8(state_genes[s, j])
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
            for j in range(carried_out.shape[0]):
                out_genes[row, j] = genes[carried_out[j]]


def _i64(values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def build_tables(program: Program, convention: Convention) -> Tables | None:
    """Tabulate every segment, or None when the tables would be too large.

    The grouping of top-level nodes into segments is planned from the number of states at
    each boundary, read off a first tabulation with one segment per top-level node."""
    fine = [(s, e) for s, e in program.top]
    if len(fine) > 1:
        first = _build(program, convention, segment(program, fine))
        if first is not None:
            states = [int(n) for n in first.n_states]
            return _build(program, convention, segment(program, planned_groups(program, states)))
    return _build(program, convention, segment(program))


def _build(program: Program, convention: Convention, segs: list[Segment]) -> Tables | None:
    cards = program.cards
    states = np.zeros((1, 0, 4), dtype=np.int64)  # boundary 0: nothing crosses
    state_genes = np.zeros((1, 0), dtype=np.int64)
    meta = np.zeros((len(segs), 4), dtype=np.int64)
    gstride, gmeta = segment_arrays(segs, cards)
    meta[:, :2] = gmeta
    parts = []
    states_seen: list[int] = []
    n_rows = 0
    worst = np.zeros(4, dtype=np.float64)  # the largest row of each segment, summed
    for k, seg in enumerate(segs):
        n_comb = math.prod(int(cards[g]) for g in seg.genes)
        n_states = states.shape[0]
        if n_rows + n_states * n_comb > MAX_ROWS:
            return None
        res = np.zeros((n_states * n_comb, 5), dtype=np.int64)
        out_shapes = np.zeros((n_states * n_comb, len(seg.cross_out), 4), dtype=np.int64)
        out_genes = np.zeros((n_states * n_comb, len(seg.carried_out)), dtype=np.int64)
        _tabulate(program.ins, program.ex, program.aux, convention.op_weights, program.n_regs,
                  program.n_genes, seg.start, seg.end, _i64(seg.cross_in), states,
                  _i64(seg.carried_in), state_genes, _i64(seg.genes),
                  _i64([cards[g] for g in seg.genes]), _i64(seg.cross_out),
                  _i64(seg.carried_out), res, out_shapes, out_genes)
        # the next boundary's states: the distinct outgoing states of the rows that succeeded
        flat = np.concatenate([out_shapes.reshape(out_shapes.shape[0], -1), out_genes], axis=1)
        ok = res[:, 0] == S.OK
        nxt = np.zeros(res.shape[0], dtype=np.int64)
        if ok.any():
            uniq, inv = np.unique(flat[ok], axis=0, return_inverse=True)
            nxt[ok] = inv.reshape(-1)
        else:
            uniq = np.zeros((1, flat.shape[1]), dtype=np.int64)
        n_shape = 4 * len(seg.cross_out)
        states = np.ascontiguousarray(
            uniq[:, :n_shape].reshape(uniq.shape[0], len(seg.cross_out), 4))
        state_genes = np.ascontiguousarray(uniq[:, n_shape:])
        states_seen.append(int(uniq.shape[0]))
        table = np.empty((res.shape[0], 6), dtype=np.int64)
        table[:, T_NEXT] = nxt
        table[:, T_STATUS:] = res
        worst += res[:, 1:].max(axis=0).astype(np.float64) if res.shape[0] else 0
        meta[k, 2] = n_rows
        meta[k, 3] = n_comb
        n_rows += res.shape[0]
        parts.append(table)
    rows = np.ascontiguousarray(np.concatenate(parts))
    if rows.size and rows.max() < 2**31:
        rows = rows.astype(np.int32)  # half the cache footprint: the lookups are memory-bound
    for a in (rows, meta, gstride):
        a.setflags(write=False)
    n_states = np.array([1] + states_seen[:-1], dtype=np.int64)
    return Tables(tuple(segs), gstride, meta, rows, bool(worst.max() < float(LIMIT) / 2),
                  n_states)


BLOCK = 64  # candidates advanced together, segment by segment (independent lookups overlap)


SPAN = 16 * BLOCK  # candidates per parallel task (scratch is allocated once per task)


@jit
def _score_span(gstride, meta, rows, safe, genes, batch, start, stop, o_params, o_macs,
                o_flops, o_acts, o_status):
    """Score candidates start .. stop-1, BLOCK at a time, segment by segment.

    Per block, the genes are first transposed (gene-major) so that the table indices of all
    candidates are computed by vectorisable loops; then one row per candidate is read. The
    lookups of different candidates are independent, so their memory accesses overlap."""
    n_genes = genes.shape[1]
    n_seg = meta.shape[0]
    gt = np.empty((n_genes, BLOCK), np.int64)
    r = np.empty(BLOCK, np.int64)
    state = np.empty(BLOCK, np.int64)
    st = np.empty(BLOCK, np.int64)
    p = np.empty(BLOCK, np.int64)
    mc = np.empty(BLOCK, np.int64)
    f = np.empty(BLOCK, np.int64)
    a = np.empty(BLOCK, np.int64)
    lim = LIMIT // batch
    for i0 in range(start, stop, BLOCK):
        m_ = min(BLOCK, stop - i0)
        for j in range(m_):
            for g in range(n_genes):
                gt[g, j] = genes[i0 + j, g]
        state[:] = 0
        st[:] = 0
        p[:] = 0
        mc[:] = 0
        f[:] = 0
        a[:] = 0
        for k in range(n_seg):
            gp = meta[k, 0]
            base = meta[k, 2]
            per = meta[k, 3]
            for j in range(m_):
                r[j] = base + state[j] * per
            for q in range(meta[k, 1]):
                g = gstride[gp + q, 0]
                stride = gstride[gp + q, 1]
                for j in range(m_):
                    r[j] += gt[g, j] * stride
            for j in range(m_):
                row = r[j]
                code = rows[row, T_STATUS]
                st[j] = st[j] if st[j] != 0 else code
                p[j] += rows[row, T_PARAMS]
                mc[j] += rows[row, T_MACS]
                f[j] += rows[row, T_FLOPS]
                a[j] += rows[row, T_ACTS]
                state[j] = rows[row, T_NEXT]
            if not safe:
                for j in range(m_):
                    if st[j] == 0 and (p[j] > LIMIT or mc[j] > LIMIT or f[j] > LIMIT
                                       or a[j] > LIMIT):
                        st[j] = S.OVERFLOW
        for j in range(m_):
            s_ = st[j]
            if s_ == S.OK and (mc[j] > lim or f[j] > lim or a[j] > lim):
                s_ = S.OVERFLOW
            i = i0 + j
            if s_ != S.OK:
                o_params[i] = 0
                o_macs[i] = 0
                o_flops[i] = 0
                o_acts[i] = 0
            else:
                o_params[i] = p[j]
                o_macs[i] = mc[j] * batch
                o_flops[i] = f[j] * batch
                o_acts[i] = a[j] * batch
            o_status[i] = s_


@jit_parallel
def score_tables(gstride, meta, rows, safe, genes, batch, o_params, o_macs, o_flops, o_acts,
                 o_status):
    """Score every row of genes by one table lookup per segment, spans in parallel."""
    n = genes.shape[0]
    for t in prange((n + SPAN - 1) // SPAN):
        _score_span(gstride, meta, rows, safe, genes, batch, t * SPAN, min(n, (t + 1) * SPAN),
                    o_params, o_macs, o_flops, o_acts, o_status)


@jit
def score_tables_serial(gstride, meta, rows, safe, genes, batch, o_params, o_macs, o_flops,
                        o_acts, o_status):
    """score_tables on the calling thread: small batches, where a parallel launch costs more
    than the work (NAS-loop scorers)."""
    _score_span(gstride, meta, rows, safe, genes, batch, 0, genes.shape[0], o_params, o_macs,
                o_flops, o_acts, o_status)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tables_for(program: Program, convention: Convention) -> Tables | None:
    """The tables of (program, convention), built once and cached with the program."""
    per_program = _CACHE.setdefault(program, {})
    key = tuple(convention.op_weights.ravel().tolist())
    if key not in per_program:
        per_program[key] = build_tables(program, convention)
    return per_program[key]
