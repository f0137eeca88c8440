"""The interpreter's rules for token values and transformer ops (opcodes >= FIRST_TOKEN_OPCODE).

Kept apart from interpreter.run_one, which calls ``token_layer`` for these opcodes: the shapes
follow PyTorch exactly and every quantity is an int64 guarded against overflow by a float
estimate first (attention's heads*N*Nk*head_dim term included). The plain-Python twin of these
rules is nascost/reference/tokens.py (the oracle); they never share code.

A register holds (C, H, W, rank): a map (C, H, W) has rank 4; a token value, N = H*W tokens of
D = C features on an H x W grid, rank 3 (a sequence without a grid has W = 1); a flat value
(F, 1, 1) rank 2.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit
from nascost.rules import ops as O
from nascost.rules import status as S

_FLIMIT = float(2**62)


@jit
def counts_activations(op):
    """Whether an op's output elements count in the 'activations' metric (not a view, a
    parameter or an inference-time identity)."""
    return not (op == O.OP_TO_TOKENS or op == O.OP_TO_MAP or op == O.OP_TOKEN_SELECT
                or op == O.OP_DROPOUT or op == O.OP_DROP_PATH or op == O.OP_PARAM)


@jit
def _big(a, b, c, d):
    """Whether a*b*c*d (non-negative) may pass 2**62: checked in float before the int64."""
    return float(a) * float(b) * float(c) * float(d) > _FLIMIT


@jit
def token_layer(op, fv, nin, c, h, w, r, c2, h2, w2, r2):
    """One token-family layer: input (c, h, w, r), second input (c2, h2, w2, r2) when nin == 2.

    Returns (status, C, H, W, rank, params, macs, q0, .., q7): the output shape and the
    quantities of the op's cost terms (conventions._OP_TERMS)."""
    st = S.OK
    oc = c
    oh = h
    ow_ = w
    orank = r
    p = np.int64(0)
    m = np.int64(0)
    q0 = np.int64(0)
    q1 = np.int64(0)
    q2 = np.int64(0)
    q3 = np.int64(0)
    q4 = np.int64(0)
    q5 = np.int64(0)
    q6 = np.int64(0)
    q7 = np.int64(0)
    elems = c * h * w
    if op == O.OP_TO_TOKENS:
        if r != O.RANK_MAP:
            st = S.BAD_RANK
        orank = O.RANK_TOKENS
    elif op == O.OP_TO_MAP:
        hh = fv[O.SLOT_KH]
        ww = fv[O.SLOT_KW]
        if r != O.RANK_TOKENS:
            st = S.BAD_RANK
        elif hh < 0 or ww < 0 or (hh == 0) != (ww == 0):
            st = S.BAD_FIELD
        elif hh > 0 and hh * ww != h * w:
            st = S.SHAPE_MISMATCH
        elif hh > 0:
            oh = hh
            ow_ = ww
        orank = O.RANK_MAP
    elif op == O.OP_PATCH_MERGE:
        if r != O.RANK_TOKENS:
            st = S.BAD_RANK
        else:
            oc = 4 * c
            oh = (h + 1) // 2
            ow_ = (w + 1) // 2
    elif op == O.OP_CLASS_TOKEN:
        k = fv[O.SLOT_OUT]
        if r != O.RANK_TOKENS:
            st = S.BAD_RANK
        elif k < 1:
            st = S.BAD_FIELD
        else:
            oh = h * w + k
            ow_ = 1
            p = k * c
    elif op == O.OP_TOKEN_SELECT:
        idx = fv[O.SLOT_AUX]
        if r != O.RANK_TOKENS:
            st = S.BAD_RANK
        elif idx < 0 or idx >= h * w:
            st = S.BAD_FIELD
        else:
            oh = 1
            ow_ = 1
            orank = O.RANK_FLAT
    elif op == O.OP_MEAN:
        if r != O.RANK_MAP and r != O.RANK_TOKENS:
            st = S.BAD_RANK
        else:
            oh = 1
            ow_ = 1
            q0 = c
            q1 = elems
            if r == O.RANK_TOKENS:
                orank = O.RANK_FLAT
    elif op == O.OP_LAYERNORM:
        q0 = elems
        if fv[O.SLOT_BIAS] != 0:
            q1 = elems
            p = c * (2 if fv[O.SLOT_AUX] != 0 else 1)
    elif op == O.OP_GROUPNORM:
        g = fv[O.SLOT_GROUPS]
        if r != O.RANK_MAP:
            st = S.BAD_RANK
        elif g < 1:
            st = S.BAD_FIELD
        elif c % g != 0:
            st = S.GROUPS
        else:
            q0 = elems
            if fv[O.SLOT_BIAS] != 0:
                q1 = elems
                p = 2 * c
    elif op == O.OP_BATCHNORM1D:
        if r != O.RANK_TOKENS and r != O.RANK_FLAT:
            st = S.BAD_RANK
        else:
            q0 = elems
            if fv[O.SLOT_BIAS] != 0:
                q1 = elems
                p = 2 * c
    elif op == O.OP_SOFTMAX:  # over D of tokens (rows N), F of a flat value, C of a map
        q0 = elems
        if r == O.RANK_MAP:
            q1 = elems - h * w
        else:
            q1 = elems - h * w if r == O.RANK_TOKENS else elems - 1
    elif op == O.OP_DROPOUT or op == O.OP_DROP_PATH:
        pass
    elif op == O.OP_ATTENTION:
        heads = fv[O.SLOT_GROUPS]
        hd = fv[O.SLOT_DW]
        dout = fv[O.SLOT_OUT]
        proj = fv[O.SLOT_PH] != 0
        pph = fv[O.SLOT_KH]
        ppw = fv[O.SLOT_KW]
        n = h * w
        dk = c
        nk = n
        if nin > 1:
            dk = c2
            nk = h2 * w2
        keys = nk  # keys each query attends to
        if r != O.RANK_TOKENS or (nin > 1 and r2 != O.RANK_TOKENS):
            st = S.BAD_RANK
        elif (heads < 1 or hd < 0 or dout < 0 or pph < 0 or ppw < 0 or (pph == 0) != (ppw == 0)
              or (pph > 0 and nin > 1)):
            st = S.BAD_FIELD
        elif hd == 0 and c % heads != 0:
            st = S.GROUPS
        elif pph > 0 and (h % pph != 0 or w % ppw != 0):
            st = S.SHAPE_MISMATCH
        else:
            if pph > 0:
                keys = n // (pph * ppw)
            if hd == 0:
                hd = c // heads
            inner = heads * hd
            if not proj:
                if dout != 0 and dout != inner:
                    st = S.BAD_FIELD
                dout = inner
            elif dout == 0:
                dout = c
            est = (float(n) * float(c) * float(inner) + 2.0 * float(nk) * float(dk) * inner
                   + 2.0 * float(n) * float(keys) * float(inner + heads)
                   + float(n) * float(inner + 1) * float(dout))
            if st == S.OK and est > _FLIMIT:
                st = S.OVERFLOW
            elif st == S.OK:
                lin = n * c * inner + nk * dk * 2 * inner
                p = c * inner + dk * 2 * inner
                if fv[O.SLOT_BIAS] != 0:
                    p += 3 * inner
                    q1 = n * inner + nk * 2 * inner
                if proj:
                    lin += n * inner * dout
                    p += inner * dout
                    if fv[O.SLOT_AUX] != 0:
                        p += dout
                        q1 += n * dout
                q0 = lin
                q2 = n * inner
                q3 = n * keys * inner
                q5 = n * keys * heads
                q6 = q3
                q7 = q5 - n * heads
                m = lin + q3 + q6
                oc = dout
    elif op == O.OP_WINDOW_ATTENTION:
        heads = fv[O.SLOT_GROUPS]
        hd = fv[O.SLOT_DW]
        wh = fv[O.SLOT_KH]
        wwin = fv[O.SLOT_KW]
        sh = fv[O.SLOT_SH]
        sw = fv[O.SLOT_SW]
        if r != O.RANK_TOKENS:
            st = S.BAD_RANK
        elif heads < 1 or hd < 0 or wh < 1 or wwin < 1 or sh < 0 or sw < 0:
            st = S.BAD_FIELD
        elif hd == 0 and c % heads != 0:
            st = S.GROUPS
        else:
            if hd == 0:
                hd = c // heads
            inner = heads * hd
            ph = (h + wh - 1) // wh * wh
            pw = (w + wwin - 1) // wwin * wwin
            if wh >= ph:
                sh = 0
            if wwin >= pw:
                sw = 0
            t = wh * wwin
            npad = ph * pw
            est = (float(npad) * float(c + 1) * float(4 * inner + 1)
                   + float(npad) * float(t) * float(2 * inner + 3 * heads)
                   + float(heads) * float(2 * wh) * float(2 * wwin))
            if est > _FLIMIT:
                st = S.OVERFLOW
            else:
                p = c * 3 * inner + inner * c
                q0 = npad * c * 3 * inner + npad * inner * c
                if fv[O.SLOT_BIAS] != 0:
                    p += 3 * inner
                    q1 += npad * 3 * inner
                if fv[O.SLOT_AUX] != 0:
                    p += c
                    q1 += npad * c
                scores = npad * t * heads
                if fv[O.SLOT_DH] != 0:
                    p += (2 * wh - 1) * (2 * wwin - 1) * heads
                    q4 += scores
                if sh + sw > 0:
                    q4 += scores
                q2 = npad * inner
                q3 = npad * t * inner
                q5 = scores
                q6 = q3
                q7 = scores - npad * heads
                m = q0 + q3 + q6
    elif op == O.OP_MATMUL:
        na = h * w
        if r != O.RANK_TOKENS or r2 != O.RANK_TOKENS:
            st = S.BAD_RANK
        elif fv[O.SLOT_BIAS] != 0:
            if c != c2:
                st = S.SHAPE_MISMATCH
            else:
                oc = h2 * w2
        elif c != h2 * w2:
            st = S.SHAPE_MISMATCH
        else:
            oc = c2
        if st == S.OK:
            if _big(na, c, oc, 1):
                st = S.OVERFLOW
            else:
                m = na * c * oc
                q0 = m
    elif op == O.OP_PARAM:
        mode = fv[O.SLOT_AUX]
        if mode == 0:
            p = elems
        elif mode == 1:
            oh = 1
            ow_ = 1
            p = c
        elif mode == 2:
            oc = 1
            oh = 1
            ow_ = 1
            p = 1
        else:
            st = S.BAD_FIELD
    elif op == O.OP_UPSAMPLE:
        mode = fv[O.SLOT_AUX]
        fh = fv[O.SLOT_SH]
        fw = fv[O.SLOT_SW]
        zh = fv[O.SLOT_KH]
        zw = fv[O.SLOT_KW]
        if r != O.RANK_MAP:
            st = S.BAD_RANK
        elif mode < 0 or mode > 1 or min(fh, fw, zh, zw) < 0:
            st = S.BAD_FIELD
        elif fh > 0 and fw > 0 and zh == 0 and zw == 0:
            oh = h * fh
            ow_ = w * fw
        elif fh == 0 and fw == 0 and zh > 0 and zw > 0:
            oh = zh
            ow_ = zw
        else:
            st = S.BAD_FIELD
        if st == S.OK:
            if _big(c, oh, ow_, 1):
                st = S.OVERFLOW
            elif mode == 0:
                q0 = c * oh * ow_
            else:
                q1 = c * oh * ow_
    else:
        st = S.BAD_FIELD  # pragma: no cover - an opcode without a rule
    return st, oc, oh, ow_, orank, p, m, q0, q1, q2, q3, q4, q5, q6, q7
