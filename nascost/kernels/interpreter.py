"""The interpreter: runs a compiled Program for one candidate; parallel maps over a batch.

Kernels never raise on a candidate: a failing layer sets the status and zeroes the counts.
All arithmetic is int64; a quantity or running total above 2**62 gives status OVERFLOW.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.program import program as P
from nascost.rules import ops as O
from nascost.rules import status as S
from nascost.rules.formulas import conv_out_size, pool_out_size, scale_channels

LIMIT = 2**62
_FLIMIT = float(2**62)
CHUNK = 256  # candidates per scratch allocation in the parallel loop


@jit
def field(ex, aux, e, genes, regC):
    """Evaluate expression e for this candidate (-1: an absent field, 0)."""
    if e < 0:
        return np.int64(0)
    kind = ex[e, 0]
    if kind == P.EX_LIT:
        return ex[e, 1]
    if kind == P.EX_TAB:
        return aux[ex[e, 2] + np.int64(genes[ex[e, 1]])]
    c = regC[ex[e, 1]]
    g = ex[e, 2]
    if g < 0:
        num = ex[e, 3]
        den = ex[e, 4]
    else:
        idx = np.int64(genes[g])
        num = aux[ex[e, 3] + idx]
        den = aux[ex[e, 4] + idx]
    return scale_channels(c, num, den, ex[e, 5], ex[e, 6], ex[e, 7])


@jit
def guard_ok(ins, aux, i, genes, live, track):
    """Whether instruction i runs; conditions are evaluated in order and short-circuit, and
    the genes of evaluated conditions are marked live when tracking."""
    gp = ins[i, P.C_G_PTR]
    for k in range(ins[i, P.C_G_LEN]):
        g = aux[gp + 2 * k]
        if track:
            live[g] = 1
        if (aux[gp + 2 * k + 1] >> np.int64(genes[g])) & 1 == 0:
            return False
    return True


@jit
def run_one(ins, ex, aux, ow, genes, regC, regH, regW, regR, live, track, rec, record):
    """Interpret the program for one candidate.

    Returns (status, params, macs, flops, activations), per input sample. ``live`` marks the
    genes read (when ``track``); ``rec`` receives one row per instruction (when ``record``).
    """
    params = np.int64(0)
    macs = np.int64(0)
    flops = np.int64(0)
    acts = np.int64(0)
    n = ins.shape[0]
    for i in range(n):
        op = ins[i, P.C_OP]
        dst = ins[i, P.C_DST]
        if not guard_ok(ins, aux, i, genes, live, track):
            src = ins[i, P.C_ELSE]
            if src >= 0:
                regC[dst] = regC[src]
                regH[dst] = regH[src]
                regW[dst] = regW[src]
                regR[dst] = regR[src]
            continue
        if track:
            lp = ins[i, P.C_LG_PTR]
            for k in range(ins[i, P.C_LG_LEN]):
                live[aux[lp + k]] = 1
        ip = ins[i, P.C_IN_PTR]
        nin = ins[i, P.C_IN_LEN]
        a = aux[ip] if nin > 0 else np.int64(0)
        c = regC[a]
        h = regH[a]
        w = regW[a]
        r = regR[a]
        oc = c
        oh = h
        ow_ = w
        orank = r
        p = np.int64(0)
        m = np.int64(0)
        q0 = np.int64(0)
        q1 = np.int64(0)
        st = S.OK
        f0 = P.C_F0
        if op == O.OP_MOVE:
            regC[dst] = c
            regH[dst] = h
            regW[dst] = w
            regR[dst] = r
            continue
        elif op == O.OP_INPUT:
            oc = field(ex, aux, ins[i, f0 + O.SLOT_OUT], genes, regC)
            oh = field(ex, aux, ins[i, f0 + O.SLOT_KH], genes, regC)
            ow_ = field(ex, aux, ins[i, f0 + O.SLOT_KW], genes, regC)
            orank = 4
            if oc < 1 or oh < 1 or ow_ < 1:
                st = S.BAD_FIELD
        elif op == O.OP_CONV2D:
            cout = field(ex, aux, ins[i, f0 + O.SLOT_OUT], genes, regC)
            kh = field(ex, aux, ins[i, f0 + O.SLOT_KH], genes, regC)
            kw = field(ex, aux, ins[i, f0 + O.SLOT_KW], genes, regC)
            sh = field(ex, aux, ins[i, f0 + O.SLOT_SH], genes, regC)
            sw = field(ex, aux, ins[i, f0 + O.SLOT_SW], genes, regC)
            ph = field(ex, aux, ins[i, f0 + O.SLOT_PH], genes, regC)
            pw = field(ex, aux, ins[i, f0 + O.SLOT_PW], genes, regC)
            dh = field(ex, aux, ins[i, f0 + O.SLOT_DH], genes, regC)
            dw = field(ex, aux, ins[i, f0 + O.SLOT_DW], genes, regC)
            g = field(ex, aux, ins[i, f0 + O.SLOT_GROUPS], genes, regC)
            bias = field(ex, aux, ins[i, f0 + O.SLOT_BIAS], genes, regC)
            if r != 4:
                st = S.BAD_RANK
            elif (cout < 1 or kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0
                  or dh < 1 or dw < 1 or g < 1):
                st = S.BAD_FIELD
            elif c % g != 0 or cout % g != 0:
                st = S.GROUPS
            else:
                oh = conv_out_size(h, kh, sh, ph, dh)
                ow_ = conv_out_size(w, kw, sw, pw, dw)
                oc = cout
                if oh < 1 or ow_ < 1:
                    st = S.COLLAPSED
                else:
                    per = kh * kw * (c // g)
                    if float(per) * float(cout) * float(oh) * float(ow_) > _FLIMIT:
                        st = S.OVERFLOW
                    else:
                        p = per * cout
                        m = p * oh * ow_
                        q0 = m
                        if bias != 0:
                            p += cout
                            q1 = cout * oh * ow_
        elif op == O.OP_LINEAR:
            nout = field(ex, aux, ins[i, f0 + O.SLOT_OUT], genes, regC)
            bias = field(ex, aux, ins[i, f0 + O.SLOT_BIAS], genes, regC)
            if r != 2:
                st = S.BAD_RANK
            elif nout < 1:
                st = S.BAD_FIELD
            elif float(c) * float(nout) > _FLIMIT:
                st = S.OVERFLOW
            else:
                oc = nout
                oh = 1
                ow_ = 1
                m = c * nout
                p = m
                q0 = m
                if bias != 0:
                    p += nout
                    q1 = nout
        elif op == O.OP_BATCHNORM2D:
            if r != 4:
                st = S.BAD_RANK
            else:
                if field(ex, aux, ins[i, f0 + O.SLOT_BIAS], genes, regC) != 0:
                    p = 2 * c
                q0 = c * h * w
        elif op == O.OP_MAXPOOL2D or op == O.OP_AVGPOOL2D:
            kh = field(ex, aux, ins[i, f0 + O.SLOT_KH], genes, regC)
            kw = field(ex, aux, ins[i, f0 + O.SLOT_KW], genes, regC)
            sh = field(ex, aux, ins[i, f0 + O.SLOT_SH], genes, regC)
            sw = field(ex, aux, ins[i, f0 + O.SLOT_SW], genes, regC)
            ph = field(ex, aux, ins[i, f0 + O.SLOT_PH], genes, regC)
            pw = field(ex, aux, ins[i, f0 + O.SLOT_PW], genes, regC)
            ceil = field(ex, aux, ins[i, f0 + O.SLOT_BIAS], genes, regC)
            if r != 4:
                st = S.BAD_RANK
            elif kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
                st = S.BAD_FIELD
            elif 2 * ph > kh or 2 * pw > kw:
                st = S.POOL_PADDING
            else:
                oh = pool_out_size(h, kh, sh, ph, ceil)
                ow_ = pool_out_size(w, kw, sw, pw, ceil)
                if oh < 1 or ow_ < 1:
                    st = S.COLLAPSED
                elif float(c) * float(oh) * float(ow_) * float(kh) * float(kw) > _FLIMIT:
                    st = S.OVERFLOW
                else:
                    q0 = c * oh * ow_
                    q1 = q0 * kh * kw
        elif op == O.OP_GLOBAL_AVGPOOL:
            if r != 4:
                st = S.BAD_RANK
            else:
                oh = 1
                ow_ = 1
                q0 = c
                q1 = c * h * w
        elif op == O.OP_FLATTEN:
            if r == 4:
                oc = c * h * w
                oh = 1
                ow_ = 1
                orank = 2
        elif op == O.OP_ADD:
            for k in range(1, nin):
                b = aux[ip + k]
                if regR[b] != r or regC[b] != c or regH[b] != h or regW[b] != w:
                    st = S.SHAPE_MISMATCH
            q0 = c * h * w * (nin - 1)
        elif op == O.OP_MUL:
            b = aux[ip + 1]
            if regR[b] != r:
                st = S.SHAPE_MISMATCH
            else:
                oc, ok1 = _bcast(c, regC[b])
                oh, ok2 = _bcast(h, regH[b])
                ow_, ok3 = _bcast(w, regW[b])
                if not (ok1 and ok2 and ok3):
                    st = S.SHAPE_MISMATCH
                else:
                    q0 = oc * oh * ow_
        elif op == O.OP_CONCAT:
            total = np.int64(0)
            for k in range(nin):
                b = aux[ip + k]
                if regR[b] != 4:
                    st = S.BAD_RANK
                    break
                total += regC[b]
            if st == S.OK:
                for k in range(1, nin):
                    b = aux[ip + k]
                    if regH[b] != h or regW[b] != w:
                        st = S.SHAPE_MISMATCH
            oc = total
        elif op == O.OP_ZERO:
            q0 = c * h * w
        elif op == O.OP_IDENTITY:
            pass
        else:  # activations: same shape, one term of output elements
            q0 = c * h * w
        if st == S.OK and float(oc) * float(oh) * float(ow_) > _FLIMIT:
            st = S.OVERFLOW
        elems = np.int64(0)
        if op != O.OP_IDENTITY and op != O.OP_FLATTEN and op != O.OP_INPUT:
            elems = oc * oh * ow_
        fl = np.int64(0)
        if st == S.OK:
            w0 = ow[op, 0]
            w1 = ow[op, 1]
            if float(w0) * float(q0) + float(w1) * float(q1) > _FLIMIT:
                st = S.OVERFLOW
            else:
                fl = w0 * q0 + w1 * q1
        if record:
            rec[i, P.R_ACTIVE] = 1
            rec[i, P.R_IN_C] = c
            rec[i, P.R_IN_H] = h
            rec[i, P.R_IN_W] = w
            rec[i, P.R_IN_RANK] = r
            rec[i, P.R_OUT_C] = oc
            rec[i, P.R_OUT_H] = oh
            rec[i, P.R_OUT_W] = ow_
            rec[i, P.R_OUT_RANK] = orank
            rec[i, P.R_PARAMS] = p
            rec[i, P.R_MACS] = m
            rec[i, P.R_FLOPS] = fl
            rec[i, P.R_ELEMS] = elems
            rec[i, P.R_STATUS] = st
            rec[i, P.R_Q0] = q0
            rec[i, P.R_Q1] = q1
        if st != S.OK:
            return st, np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        params += p
        macs += m
        flops += fl
        acts += elems
        if params > LIMIT or macs > LIMIT or flops > LIMIT or acts > LIMIT:
            return S.OVERFLOW, np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        regC[dst] = oc
        regH[dst] = oh
        regW[dst] = ow_
        regR[dst] = orank
    return S.OK, params, macs, flops, acts


@jit
def _bcast(x, y):
    if x == y:
        return x, True
    if x == 1:
        return y, True
    if y == 1:
        return x, True
    return x, False


@jit_parallel
def score_batch(ins, ex, aux, ow, n_regs, genes, batch, o_params, o_macs, o_flops, o_acts,
                o_status):
    """Score every row of genes (n x n_genes uint8) in parallel; counts scale with batch."""
    n = genes.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    lim = LIMIT // batch
    for t in prange(n_chunks):
        regC = np.empty(n_regs, np.int64)
        regH = np.empty(n_regs, np.int64)
        regW = np.empty(n_regs, np.int64)
        regR = np.empty(n_regs, np.int64)
        live = np.zeros(1, np.uint8)
        rec = np.zeros((1, 1), np.int64)
        stop = min(n, (t + 1) * CHUNK)
        for i in range(t * CHUNK, stop):
            st, p, m, f, a = run_one(ins, ex, aux, ow, genes[i], regC, regH, regW, regR,
                                     live, False, rec, False)
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


@jit_parallel
def live_batch(ins, ex, aux, ow, n_regs, genes, out_live):
    """Mark, for every row, the genes that its active layers and evaluated conditions read."""
    n, g = genes.shape
    n_chunks = (n + CHUNK - 1) // CHUNK
    for t in prange(n_chunks):
        regC = np.empty(n_regs, np.int64)
        regH = np.empty(n_regs, np.int64)
        regW = np.empty(n_regs, np.int64)
        regR = np.empty(n_regs, np.int64)
        live = np.zeros(g, np.uint8)
        rec = np.zeros((1, 1), np.int64)
        stop = min(n, (t + 1) * CHUNK)
        for i in range(t * CHUNK, stop):
            live[:] = 0
            run_one(ins, ex, aux, ow, genes[i], regC, regH, regW, regR, live, True, rec, False)
            for j in range(g):
                out_live[i, j] = live[j]


@jit
def record_one(ins, ex, aux, ow, n_regs, genes_row, rec):
    """Run one candidate, writing one record per instruction; returns the totals."""
    regC = np.zeros(n_regs, np.int64)
    regH = np.zeros(n_regs, np.int64)
    regW = np.zeros(n_regs, np.int64)
    regR = np.zeros(n_regs, np.int64)
    live = np.zeros(1, np.uint8)
    return run_one(ins, ex, aux, ow, genes_row, regC, regH, regW, regR, live, False, rec, True)
