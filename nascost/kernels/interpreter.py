"""The interpreter: runs a compiled Program for one candidate; parallel maps over a batch.

Kernels never raise on a candidate: a failing layer sets the status and zeroes the counts.
All arithmetic is int64; a quantity or running total above 2**62 gives status OVERFLOW.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.kernels.token_ops import counts_activations, token_layer
from nascost.program import program as P
from nascost.rules import ops as O
from nascost.rules import status as S
from nascost.rules.formulas import conv_out_size, pool_out_size, scale_channels

LIMIT = 2**62
_FLIMIT = float(2**62)
# a float product at most this is safe to compute exactly in int64 (then compared with LIMIT
# exactly, as the reference does); above it the exact value is surely past LIMIT
_FGUARD = 1.5 * float(2**62)
CHUNK = 256  # candidates per scratch allocation in the parallel loop


@jit
def run_one(ins, ex, aux, ow, genes, regC, regH, regW, regR, fv, live, track, rec, record,
            i0, i1):
    """Interpret instructions i0..i1-1 of the program for one candidate.

    Returns (status, params, macs, flops, activations), per input sample. ``fv`` is scratch
    for the field values; ``live`` marks the genes read (when ``track``); ``rec`` receives
    one row per instruction (when ``record``). Helpers are written inline: a call that passes
    arrays pays reference counting per call, more than the work done here.
    """
    params = np.int64(0)
    macs = np.int64(0)
    flops = np.int64(0)
    acts = np.int64(0)
    for i in range(i0, i1):
        op = ins[i, P.C_OP]
        dst = ins[i, P.C_DST]
        active = True
        gp = ins[i, P.C_G_PTR]
        for k in range(ins[i, P.C_G_LEN]):
            g = aux[gp + 2 * k]
            if track:
                live[g] = 1
            if (aux[gp + 2 * k + 1] >> np.int64(genes[g])) & 1 == 0:
                active = False
                break
        if not active:
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
        q2 = np.int64(0)  # q2 .. q7: the further terms of token ops (attention)
        q3 = np.int64(0)
        q4 = np.int64(0)
        q5 = np.int64(0)
        q6 = np.int64(0)
        q7 = np.int64(0)
        st = S.OK
        f0 = P.C_F0
        for sl in range(O.N_SLOTS):
            e = ins[i, f0 + sl]
            v = np.int64(0)
            if e >= 0:
                kind = ex[e, 0]
                if kind == P.EX_LIT:
                    v = ex[e, 1]
                elif kind == P.EX_TAB:
                    v = aux[ex[e, 2] + np.int64(genes[ex[e, 1]])]
                else:
                    gg = ex[e, 2]
                    if gg < 0:
                        num = ex[e, 3]
                        den = ex[e, 4]
                    else:
                        idx = np.int64(genes[gg])
                        num = aux[ex[e, 3] + idx]
                        den = aux[ex[e, 4] + idx]
                    v = scale_channels(regC[ex[e, 1]], num, den, ex[e, 5], ex[e, 6], ex[e, 7])
            fv[sl] = v
        if op == O.OP_MOVE:
            regC[dst] = c
            regH[dst] = h
            regW[dst] = w
            regR[dst] = r
            continue
        elif op == O.OP_INPUT:
            oc = fv[O.SLOT_OUT]
            oh = fv[O.SLOT_KH]
            ow_ = fv[O.SLOT_KW]
            orank = 4
            if oc < 1 or oh < 1 or ow_ < 1:
                st = S.BAD_FIELD
        elif op == O.OP_CONV2D:
            cout = fv[O.SLOT_OUT]
            kh = fv[O.SLOT_KH]
            kw = fv[O.SLOT_KW]
            sh = fv[O.SLOT_SH]
            sw = fv[O.SLOT_SW]
            ph = fv[O.SLOT_PH]
            pw = fv[O.SLOT_PW]
            dh = fv[O.SLOT_DH]
            dw = fv[O.SLOT_DW]
            g = fv[O.SLOT_GROUPS]
            bias = fv[O.SLOT_BIAS]
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
                    # the float product first: kh * kw * (c // g) alone may pass 2**63
                    if (float(kh) * float(kw) * float(c // g) * float(cout) * float(oh)
                            * float(ow_) > _FGUARD):
                        st = S.OVERFLOW
                    else:
                        per = kh * kw * (c // g)
                        p = per * cout
                        m = p * oh * ow_
                        q0 = m
                        if bias != 0:
                            p += cout
                            q1 = cout * oh * ow_
                        if m > LIMIT or p > LIMIT:
                            st = S.OVERFLOW
        elif op == O.OP_LINEAR:
            nout = fv[O.SLOT_OUT]
            bias = fv[O.SLOT_BIAS]
            if r != 2 and r != O.RANK_TOKENS:
                st = S.BAD_RANK
            elif nout < 1:
                st = S.BAD_FIELD
            elif (float(c) * float(nout) * float(h) * float(w) > _FGUARD or c * nout > LIMIT
                  or (bias != 0 and c * nout + nout > LIMIT)):
                st = S.OVERFLOW
            else:  # a flat value has h = w = 1; tokens: N = h * w rows
                oc = nout
                p = c * nout
                m = p * h * w
                q0 = m
                if bias != 0:
                    p += nout
                    q1 = nout * h * w
        elif op == O.OP_BATCHNORM2D:
            if r != 4:
                st = S.BAD_RANK
            else:
                q0 = c * h * w
                if fv[O.SLOT_BIAS] != 0:
                    p = 2 * c
                    q1 = q0
                    if c > LIMIT // 2:  # C may be up to 2**62: 2 * C would wrap
                        st = S.OVERFLOW
        elif op == O.OP_MAXPOOL2D or op == O.OP_AVGPOOL2D:
            kh = fv[O.SLOT_KH]
            kw = fv[O.SLOT_KW]
            sh = fv[O.SLOT_SH]
            sw = fv[O.SLOT_SW]
            ph = fv[O.SLOT_PH]
            pw = fv[O.SLOT_PW]
            ceil = fv[O.SLOT_BIAS]
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
                else:
                    q0 = c * oh * ow_
                    q1 = c * h * w
        elif op == O.OP_GLOBAL_AVGPOOL:
            if r != 4:
                st = S.BAD_RANK
            else:
                oh = 1
                ow_ = 1
                q0 = c
                q1 = c * h * w
        elif op == O.OP_FLATTEN:
            if r != 2:
                oc = c * h * w
                oh = 1
                ow_ = 1
                orank = 2
        elif op == O.OP_ADD:
            for k in range(1, nin):
                b = aux[ip + k]
                if regR[b] != r or regC[b] != c or regH[b] != h or regW[b] != w:
                    st = S.SHAPE_MISMATCH
            q0 = c * h * w
            q0 = q0 * (nin - 1) if q0 <= LIMIT // (nin - 1) else LIMIT + 1  # no wrap
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
                if total > LIMIT:
                    total = LIMIT + 1  # too many channels; the shape check below says so
            if st == S.OK:
                for k in range(1, nin):
                    b = aux[ip + k]
                    if regH[b] != h or regW[b] != w:
                        st = S.SHAPE_MISMATCH
            oc = total
        elif op == O.OP_CHANNEL_SPLIT:
            chunks = fv[O.SLOT_OUT]
            if r != 4:
                st = S.BAD_RANK
            elif chunks < 1 or fv[O.SLOT_AUX] < 0 or fv[O.SLOT_AUX] >= chunks:
                st = S.BAD_FIELD
            elif c % chunks != 0:
                st = S.GROUPS
            else:
                oc = c // chunks
        elif op == O.OP_CHANNEL_SHUFFLE:
            if r != 4:
                st = S.BAD_RANK
            elif fv[O.SLOT_GROUPS] < 1:
                st = S.BAD_FIELD
            elif c % fv[O.SLOT_GROUPS] != 0:
                st = S.GROUPS
        elif op == O.OP_CROP:
            if r != 4:
                st = S.BAD_RANK
            elif fv[O.SLOT_PH] < 0 or fv[O.SLOT_PW] < 0:
                st = S.BAD_FIELD
            else:
                oh = h - fv[O.SLOT_PH]
                ow_ = w - fv[O.SLOT_PW]
                if oh < 1 or ow_ < 1:
                    st = S.COLLAPSED
        elif op == O.OP_ZERO:
            q0 = c * h * w
        elif op == O.OP_IDENTITY:
            pass
        elif op >= O.FIRST_TOKEN_OPCODE:
            c2 = np.int64(0)
            h2 = np.int64(0)
            w2 = np.int64(0)
            r2 = np.int64(0)
            if nin > 1:
                b = aux[ip + 1]
                c2 = regC[b]
                h2 = regH[b]
                w2 = regW[b]
                r2 = regR[b]
            (st, oc, oh, ow_, orank, p, m, q0, q1, q2, q3, q4, q5, q6,
             q7) = token_layer(op, fv, nin, c, h, w, r, c2, h2, w2, r2)
        else:  # activations: same shape, one term of output elements
            q0 = c * h * w
        if st == S.OK and (float(oc) * float(oh) * float(ow_) > _FGUARD
                           or oc * oh * ow_ > LIMIT):
            st = S.OVERFLOW
        elems = np.int64(0)
        if op >= O.FIRST_TOKEN_OPCODE:
            if counts_activations(op):
                elems = oc * oh * ow_
        elif not (op == O.OP_IDENTITY or op == O.OP_FLATTEN or op == O.OP_INPUT
                  or op == O.OP_CHANNEL_SPLIT or op == O.OP_CROP):
            elems = oc * oh * ow_
        fl = np.int64(0)
        if st == S.OK:
            w0 = ow[op, 0]
            w1 = ow[op, 1]
            est = float(w0) * float(q0) + float(w1) * float(q1)
            if op >= O.FIRST_TOKEN_OPCODE:
                est += (float(ow[op, 2]) * float(q2) + float(ow[op, 3]) * float(q3)
                        + float(ow[op, 4]) * float(q4) + float(ow[op, 5]) * float(q5)
                        + float(ow[op, 6]) * float(q6) + float(ow[op, 7]) * float(q7))
            if est > _FGUARD:
                st = S.OVERFLOW
            else:
                fl = w0 * q0 + w1 * q1
                if op >= O.FIRST_TOKEN_OPCODE:
                    fl += (ow[op, 2] * q2 + ow[op, 3] * q3 + ow[op, 4] * q4 + ow[op, 5] * q5
                           + ow[op, 6] * q6 + ow[op, 7] * q7)
                if fl > LIMIT:
                    st = S.OVERFLOW
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
            rec[i, P.R_Q1 + 1] = q2
            rec[i, P.R_Q1 + 2] = q3
            rec[i, P.R_Q1 + 3] = q4
            rec[i, P.R_Q1 + 4] = q5
            rec[i, P.R_Q1 + 5] = q6
            rec[i, P.R_Q1 + 6] = q7
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
def set_shapes(shapes, s, cross, regC, regH, regW, regR):
    """Registers cross[k] take the shape shapes[s, k] (C, H, W, rank): a segment's input."""
    for k in range(cross.shape[0]):
        r = cross[k]
        regC[r] = shapes[s, k, 0]
        regH[r] = shapes[s, k, 1]
        regW[r] = shapes[s, k, 2]
        regR[r] = shapes[s, k, 3]


@jit
def get_shapes(out, row, cross, regC, regH, regW, regR):
    """out[row, k] takes the shape of register cross[k]: a segment's output."""
    for k in range(cross.shape[0]):
        r = cross[k]
        out[row, k, 0] = regC[r]
        out[row, k, 1] = regH[r]
        out[row, k, 2] = regW[r]
        out[row, k, 3] = regR[r]


@jit
def set_combination(c, which, cards, genes):
    """Genes which[j] take combination c of their cards (the last varies fastest)."""
    v = c
    for j in range(which.shape[0] - 1, -1, -1):
        genes[which[j]] = np.uint8(v % cards[j])
        v //= cards[j]


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
        fv = np.zeros(O.N_SLOTS, np.int64)
        n_ins = ins.shape[0]
        stop = min(n, (t + 1) * CHUNK)
        for i in range(t * CHUNK, stop):
            st, p, m, f, a = run_one(ins, ex, aux, ow, genes[i], regC, regH, regW, regR,
                                     fv, live, False, rec, False, 0, n_ins)
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
        fv = np.zeros(O.N_SLOTS, np.int64)
        n_ins = ins.shape[0]
        stop = min(n, (t + 1) * CHUNK)
        for i in range(t * CHUNK, stop):
            live[:] = 0
            run_one(ins, ex, aux, ow, genes[i], regC, regH, regW, regR, fv, live, True, rec,
                    False, 0, n_ins)
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
    fv = np.zeros(O.N_SLOTS, np.int64)
    return run_one(ins, ex, aux, ow, genes_row, regC, regH, regW, regR, fv, live, False, rec,
                   True, 0, ins.shape[0])
