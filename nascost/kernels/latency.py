"""Latency as a column of the cost tables: block signatures, and the table kernel that adds a
per-row latency to the counts.

A block (a top-level node of the spec) is identified by what it computes: for each active
layer, its opcode, input and output shapes, parameters, MACs and the quantities of its two
cost terms. ``node_hashes`` hashes that signature for many gene rows at once (64 bits, the
same function as ``nascost.latency.keys.hash_values``); the latency table maps signatures to
times, and each table row's latency is the sum over the blocks it runs.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.interpreter import LIMIT, run_one
from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.kernels.tables import (
    BLOCK,
    F_ACTS,
    F_FAIL,
    F_FLOPS,
    F_MACS,
    F_NEXT,
    F_PARAMS,
    SPAN,
    T_ACTS,
    T_FLOPS,
    T_MACS,
    T_NEXT,
    T_PARAMS,
    T_STATUS,
    _field,
    _first_status,
    _put,
    _rows_of,
    _transpose,
)
from nascost.program import program as P
from nascost.rules import ops as O
from nascost.rules import status as S

# record columns that make a layer's signature (after its opcode)
SIG_COLS = (P.R_IN_C, P.R_IN_H, P.R_IN_W, P.R_IN_RANK, P.R_OUT_C, P.R_OUT_H, P.R_OUT_W,
            P.R_OUT_RANK, P.R_PARAMS, P.R_MACS, P.R_Q0, P.R_Q1)
_SIG = np.array(SIG_COLS, dtype=np.int64)
SEED = 0x6C6174656E637931  # "latency1"
EMPTY = 1  # the hash of a block with no active layer (it takes no time); 0: a failing block


@jit
def mix(h, v):
    """One step of the signature hash (splitmix64 finaliser over h + v * golden)."""
    z = h + np.uint64(v) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def _node_hash(ins, rec, a, b, sig):
    """The signature hash of instructions a..b-1 from their records; 0 if one failed."""
    h = np.uint64(SEED)
    n = 0
    for i in range(a, b):
        if rec[i, P.R_ACTIVE] == 0 or ins[i, P.C_OP] == O.OP_MOVE:
            continue
        if rec[i, P.R_STATUS] != S.OK:
            return np.uint64(0)
        h = mix(h, ins[i, P.C_OP])
        for q in range(sig.shape[0]):
            h = mix(h, rec[i, sig[q]])
        n += 1
    if n == 0:
        return np.uint64(EMPTY)
    h = mix(h, n)
    return h if h > EMPTY else h + np.uint64(2)


@jit
def _hash_rows(ins, ex, aux, ow, n_regs, genes, i1, nodes, out, r0, r1):
    regC = np.zeros(n_regs, np.int64)
    regH = np.zeros(n_regs, np.int64)
    regW = np.zeros(n_regs, np.int64)
    regR = np.zeros(n_regs, np.int64)
    fv = np.zeros(O.N_SLOTS, np.int64)
    live = np.zeros(1, np.uint8)
    rec = np.zeros((max(i1, 1), P.N_REC), np.int64)
    sig = _SIG
    for r in range(r0, r1):
        rec[:, :] = 0
        regC[:] = 0  # an input layer's record reads register 0: start as record_one does
        regH[:] = 0
        regW[:] = 0
        regR[:] = 0
        run_one(ins, ex, aux, ow, genes[r], regC, regH, regW, regR, fv, live, False, rec,
                True, 0, i1)
        for j in range(nodes.shape[0]):
            out[r, j] = _node_hash(ins, rec, nodes[j, 0], nodes[j, 1], sig)


@jit_parallel
def node_hashes(ins, ex, aux, ow, n_regs, genes, i1, nodes, out):
    """out[r, j] = the signature hash of node j (instructions nodes[j, 0]..nodes[j, 1]-1) when
    gene row r runs instructions 0..i1-1; 0 where a layer fails before or in the node."""
    n = genes.shape[0]
    for t in prange((n + 255) // 256):
        _hash_rows(ins, ex, aux, ow, n_regs, genes, i1, nodes, out, t * 256,
                   min(n, t * 256 + 256))


@jit
def node_hashes_serial(ins, ex, aux, ow, n_regs, genes, i1, nodes, out):
    """node_hashes on the calling thread (a few rows)."""
    _hash_rows(ins, ex, aux, ow, n_regs, genes, i1, nodes, out, 0, genes.shape[0])


@jit
def _score_span_lat(gstride, meta, rows, words, layout, lat, genes, batch, start, stop,
                    o_params, o_macs, o_flops, o_acts, o_status, o_lat):
    """The table kernel's span loop (packed rows when words has rows) plus a latency sum:
    one more load per segment from the same row index."""
    n_genes = genes.shape[1]
    n_seg = meta.shape[0]
    packed = words.shape[0] > 0
    gt = np.empty((n_genes, BLOCK), np.int64)
    r = np.empty(BLOCK, np.int64)
    state = np.empty(BLOCK, np.int64)
    a0 = np.empty(BLOCK, np.uint64)
    a1 = np.empty(BLOCK, np.uint64)
    st = np.empty(BLOCK, np.int64)
    p = np.empty(BLOCK, np.int64)
    mc = np.empty(BLOCK, np.int64)
    f = np.empty(BLOCK, np.int64)
    a = np.empty(BLOCK, np.int64)
    tl = np.empty(BLOCK, np.int64)
    s_next = np.uint64(layout[F_NEXT, 1])
    lim = LIMIT // batch
    for i0 in range(start, stop, BLOCK):
        m_ = min(BLOCK, stop - i0)
        _transpose(genes, i0, m_, gt)
        state[:] = 0
        a0[:] = 0
        a1[:] = 0
        st[:] = 0
        p[:] = 0
        mc[:] = 0
        f[:] = 0
        a[:] = 0
        tl[:] = 0
        for k in range(n_seg):
            _rows_of(gstride, meta, k, state, gt, m_, r)
            if packed:
                for j in range(m_):
                    row = r[j]
                    w1 = words[row, 1]
                    a0[j] += words[row, 0]
                    a1[j] += w1
                    tl[j] += lat[row]
                    state[j] = np.int64(w1 >> s_next)
            else:
                for j in range(m_):
                    row = r[j]
                    code = rows[row, T_STATUS]
                    st[j] = st[j] if st[j] != 0 else code
                    p[j] += rows[row, T_PARAMS]
                    mc[j] += rows[row, T_MACS]
                    f[j] += rows[row, T_FLOPS]
                    a[j] += rows[row, T_ACTS]
                    tl[j] += lat[row]
                    state[j] = rows[row, T_NEXT]
                for j in range(m_):
                    if st[j] == 0 and (p[j] > LIMIT or mc[j] > LIMIT or f[j] > LIMIT
                                       or a[j] > LIMIT):
                        st[j] = S.OVERFLOW
        for j in range(m_):
            i = i0 + j
            if packed:
                s_ = S.OK
                if _field(a0[j], a1[j], layout, F_FAIL) != 0:
                    s_ = _first_status(gstride, meta, rows, gt, j)
                _put(i, s_, _field(a0[j], a1[j], layout, F_PARAMS),
                     _field(a0[j], a1[j], layout, F_MACS), _field(a0[j], a1[j], layout, F_FLOPS),
                     _field(a0[j], a1[j], layout, F_ACTS), batch, lim, o_params, o_macs,
                     o_flops, o_acts, o_status)
            else:
                _put(i, st[j], p[j], mc[j], f[j], a[j], batch, lim, o_params, o_macs, o_flops,
                     o_acts, o_status)
            o_lat[i] = tl[j] if o_status[i] == S.OK else 0


@jit
def _score_span_lat_packed(gstride, meta, words3, layout, rows, genes, batch, start, stop,
                           o_params, o_macs, o_flops, o_acts, o_status, o_lat):
    """The packed span loop over rows of three words (the two packed words, then the row's
    latency): the latency shares the row's cache line; int32 index arithmetic."""
    n_genes = genes.shape[1]
    n_seg = meta.shape[0]
    gt = np.empty((n_genes, BLOCK), np.int32)
    r = np.empty(BLOCK, np.int32)
    state = np.empty(BLOCK, np.int32)
    a0 = np.empty(BLOCK, np.uint64)
    a1 = np.empty(BLOCK, np.uint64)
    tl = np.empty(BLOCK, np.uint64)
    s_next = np.uint64(layout[F_NEXT, 1])
    lim = LIMIT // batch
    for i0 in range(start, stop, BLOCK):
        m_ = min(BLOCK, stop - i0)
        _transpose(genes, i0, m_, gt)
        state[:] = 0
        a0[:] = 0
        a1[:] = 0
        tl[:] = 0
        for k in range(n_seg):
            _rows_of(gstride, meta, k, state, gt, m_, r)
            for j in range(m_):
                row = r[j]
                w1 = words3[row, 1]
                a0[j] += words3[row, 0]
                a1[j] += w1
                tl[j] += words3[row, 2]
                state[j] = np.int32(w1 >> s_next)
        for j in range(m_):
            i = i0 + j
            s_ = S.OK
            if _field(a0[j], a1[j], layout, F_FAIL) != 0:
                s_ = _first_status(gstride, meta, rows, gt, j)
            _put(i, s_, _field(a0[j], a1[j], layout, F_PARAMS),
                 _field(a0[j], a1[j], layout, F_MACS), _field(a0[j], a1[j], layout, F_FLOPS),
                 _field(a0[j], a1[j], layout, F_ACTS), batch, lim, o_params, o_macs,
                 o_flops, o_acts, o_status)
            o_lat[i] = np.int64(tl[j]) if o_status[i] == S.OK else 0


@jit_parallel
def score_tables_latency(gstride, meta, rows, words, layout, lat, words3, genes, batch,
                         o_params, o_macs, o_flops, o_acts, o_status, o_lat):
    """score_tables plus o_lat[i] = the sum of lat over candidate i's rows (0 if invalid);
    over words3 (packed words and latency side by side) when it has rows."""
    n = genes.shape[0]
    for t in prange((n + SPAN - 1) // SPAN):
        a = t * SPAN
        b = min(n, a + SPAN)
        if words3.shape[0] > 0:
            _score_span_lat_packed(gstride, meta, words3, layout, rows, genes, batch, a, b,
                                   o_params, o_macs, o_flops, o_acts, o_status, o_lat)
        else:
            _score_span_lat(gstride, meta, rows, words, layout, lat, genes, batch, a, b,
                            o_params, o_macs, o_flops, o_acts, o_status, o_lat)
