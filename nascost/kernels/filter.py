"""Score a range of candidates and keep only those within budget, inside the kernel.

A scan covers ``count`` consecutive positions: ids ``start ..`` (genes by an odometer) or
sample indices ``start ..`` (genes from the counter-based sampler, kernels.rng). The range is
cut into tasks of ``TASK`` positions run in parallel; task ``t`` writes its kept rows from
row ``t * TASK`` of the outputs and its count to ``counts[t]``; ``compact`` then closes the
gaps. Rows stay in position order, and nothing depends on the thread count.

Budgets are bounds on the values written out: ``bounds[0]`` (low) and ``bounds[1]`` (high)
over (params, macs, flops, activations), with macs, flops and activations already multiplied
by ``batch``. A row is kept when its status is OK (or ``keep_invalid``; an invalid row's
counts are 0) and every value lies within its bounds, exactly the filter applied afterwards.

With cost tables (kernels.tables) every segment adds a non-negative cost, so a partial sum
over budget rejects the candidate early; for id ranges it rejects every id that shares the
genes read so far, and the odometer jumps past them. Consecutive ids differ mostly in the
last genes, so only the segments that read a changed gene are looked up again.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.interpreter import LIMIT, run_one
from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.kernels.rng import draw_genes
from nascost.kernels.tables import T_ACTS, T_FLOPS, T_MACS, T_NEXT, T_PARAMS, T_STATUS
from nascost.rules import ops as O
from nascost.rules import status as S

TASK = 1 << 14  # positions per parallel task
I64_MAX = np.iinfo(np.int64).max


def n_tasks(count: int) -> int:
    return max(1, -(-int(count) // TASK))


@jit
def _decode(v, cards, genes):
    for j in range(cards.shape[0] - 1, -1, -1):
        c = np.uint64(cards[j])
        genes[j] = np.uint8(v % c)
        v = v // c


@jit
def _increment(genes, cards, j):
    """Add one at digit j (carrying left); returns the lowest digit index that changed."""
    while j >= 0:
        x = np.int64(genes[j]) + 1
        if x >= cards[j]:
            genes[j] = 0
            j -= 1
        else:
            genes[j] = np.uint8(x)
            return j
    return 0


@jit_parallel
def scan_tables(mode, key, start, count, cards, strides, saturated, firstseg, pmaxgene,
                gstride, meta, rows, batch, bounds, keep_invalid, with_ids,
                o_index, o_ids, o_genes, o_metrics, o_status, counts):
    """Table engine. mode 0: ids start.. (odometer, incremental, jumps); mode 1: samples."""
    g = cards.shape[0]
    n_seg = meta.shape[0]
    lim = LIMIT // batch
    prune = not keep_invalid
    lp, lm, lf, la = bounds[0, 0], bounds[0, 1], bounds[0, 2], bounds[0, 3]
    hp, hm_, hf_, ha_ = bounds[1, 0], bounds[1, 1], bounds[1, 2], bounds[1, 3]
    # per-sample bounds for rejecting partial sums: m * batch > hm_ <=> m > hm_ // batch
    hm = hm_ // batch
    hf = hf_ // batch
    ha = ha_ // batch
    for t in prange(counts.shape[0]):
        genes = np.zeros(g, np.uint8)
        sS = np.zeros(n_seg + 1, np.int64)
        sP = np.zeros(n_seg + 1, np.int64)
        sM = np.zeros(n_seg + 1, np.int64)
        sF = np.zeros(n_seg + 1, np.int64)
        sA = np.zeros(n_seg + 1, np.int64)
        s = t * TASK
        e = min(count, s + TASK)
        cur = np.uint64(start) + np.uint64(s)
        if mode == 0:
            _decode(cur, cards, genes)
        kv = 0  # prefix entries 0..kv are valid for the current genes
        kfrom = 0  # first segment reading a gene changed since they were computed
        w = s
        i = s
        while i < e:
            if mode == 1:
                draw_genes(key, cur, cards, genes)
                kfrom = 0
            k = min(kv, kfrom)
            st = S.OK
            fail = -1
            while k < n_seg:
                gp = meta[k, 0]
                idx = np.int64(0)
                for q in range(gp, gp + meta[k, 1]):
                    idx += np.int64(genes[gstride[q, 0]]) * gstride[q, 1]
                r = meta[k, 2] + sS[k] * meta[k, 3] + idx
                st = rows[r, T_STATUS]
                if st != S.OK:
                    fail = k
                    break
                p = sP[k] + rows[r, T_PARAMS]
                m = sM[k] + rows[r, T_MACS]
                f = sF[k] + rows[r, T_FLOPS]
                a = sA[k] + rows[r, T_ACTS]
                if p > LIMIT or m > LIMIT or f > LIMIT or a > LIMIT:
                    st = S.OVERFLOW
                    fail = k
                    break
                sS[k + 1] = rows[r, T_NEXT]
                sP[k + 1] = p
                sM[k + 1] = m
                sF[k + 1] = f
                sA[k + 1] = a
                k += 1
                if prune and (p > hp or m > hm or f > hf or a > ha):
                    fail = k - 1
                    break
            kv = k
            if fail >= 0 and prune:
                # rejected by the genes of segments 0..fail alone
                if mode == 1:
                    i += 1
                    cur += np.uint64(1)
                    continue
                jj = pmaxgene[fail]
                if jj < 0 or saturated[jj]:
                    break
                stride = np.uint64(strides[jj])
                adv = stride - cur % stride
                if adv >= np.uint64(e - i):
                    break
                i += np.int64(adv)
                cur += adv
                for j in range(jj + 1, g):
                    genes[j] = 0
                kfrom = firstseg[_increment(genes, cards, jj)]
                continue
            p = np.int64(0)
            m = np.int64(0)
            f = np.int64(0)
            a = np.int64(0)
            if fail < 0:
                p = sP[n_seg]
                m = sM[n_seg]
                f = sF[n_seg]
                a = sA[n_seg]
                if m > lim or f > lim or a > lim:
                    st = S.OVERFLOW
                    p = 0
                    m = 0
                    f = 0
                    a = 0
            m *= batch
            f *= batch
            a *= batch
            if ((st == S.OK or keep_invalid) and lp <= p <= hp and lm <= m <= hm_
                    and lf <= f <= hf_ and la <= a <= ha_):
                # written out inline: a call passing the output arrays costs more than this
                o_index[w] = cur
                for j in range(g):
                    o_genes[w, j] = genes[j]
                if with_ids:
                    v = np.uint64(0)
                    for j in range(g):
                        v = v * np.uint64(cards[j]) + np.uint64(genes[j])
                    o_ids[w] = v
                o_metrics[w, 0] = p
                o_metrics[w, 1] = m
                o_metrics[w, 2] = f
                o_metrics[w, 3] = a
                o_status[w] = st
                w += 1
            i += 1
            cur += np.uint64(1)
            if mode == 0 and i < e:
                kfrom = firstseg[_increment(genes, cards, g - 1)]
        counts[t] = w - s


@jit_parallel
def scan_interpreter(mode, key, start, count, cards, ins, ex, aux, ow, n_regs, batch, bounds,
                     keep_invalid, with_ids, o_index, o_ids, o_genes, o_metrics, o_status,
                     counts):
    """The interpreter engine (spaces whose tables would be too large): each candidate is
    run through the whole program."""
    g = cards.shape[0]
    lim = LIMIT // batch
    n_ins = ins.shape[0]
    lp, lm, lf, la = bounds[0, 0], bounds[0, 1], bounds[0, 2], bounds[0, 3]
    hp, hm_, hf_, ha_ = bounds[1, 0], bounds[1, 1], bounds[1, 2], bounds[1, 3]
    for t in prange(counts.shape[0]):
        genes = np.zeros(g, np.uint8)
        regC = np.empty(n_regs, np.int64)
        regH = np.empty(n_regs, np.int64)
        regW = np.empty(n_regs, np.int64)
        regR = np.empty(n_regs, np.int64)
        live = np.zeros(1, np.uint8)
        rec = np.zeros((1, 1), np.int64)
        fv = np.zeros(O.N_SLOTS, np.int64)
        s = t * TASK
        e = min(count, s + TASK)
        cur = np.uint64(start) + np.uint64(s)
        if mode == 0:
            _decode(cur, cards, genes)
        w = s
        for i in range(s, e):
            if mode == 1:
                draw_genes(key, cur, cards, genes)
            elif i > s:
                _increment(genes, cards, g - 1)
            st, p, m, f, a = run_one(ins, ex, aux, ow, genes, regC, regH, regW, regR, fv,
                                     live, False, rec, False, 0, n_ins)
            if st == S.OK and (m > lim or f > lim or a > lim):
                st = S.OVERFLOW
            if st != S.OK:
                p = 0
                m = 0
                f = 0
                a = 0
            m *= batch
            f *= batch
            a *= batch
            if ((st == S.OK or keep_invalid) and lp <= p <= hp and lm <= m <= hm_
                    and lf <= f <= hf_ and la <= a <= ha_):
                # written out inline: a call passing the output arrays costs more than this
                o_index[w] = cur
                for j in range(g):
                    o_genes[w, j] = genes[j]
                if with_ids:
                    v = np.uint64(0)
                    for j in range(g):
                        v = v * np.uint64(cards[j]) + np.uint64(genes[j])
                    o_ids[w] = v
                o_metrics[w, 0] = p
                o_metrics[w, 1] = m
                o_metrics[w, 2] = f
                o_metrics[w, 3] = a
                o_status[w] = st
                w += 1
            cur += np.uint64(1)
        counts[t] = w - s


@jit_parallel
def compact(counts, task, s_index, s_ids, s_genes, s_metrics, s_status,
            d_index, d_ids, d_genes, d_metrics, d_status):
    """Move each task's kept rows (from row t * task) to follow one another. Genes and
    metrics are row-major (rows, n_genes) and (rows, 4): a row is one contiguous copy."""
    n = counts.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    for t in range(n):
        offsets[t + 1] = offsets[t] + counts[t]
    with_ids = d_ids.shape[0] > 0
    for t in prange(n):
        s = t * task
        d = offsets[t]
        c = counts[t]
        d_index[d:d + c] = s_index[s:s + c]
        if with_ids:
            d_ids[d:d + c] = s_ids[s:s + c]
        d_genes[d:d + c, :] = s_genes[s:s + c, :]
        d_metrics[d:d + c, :] = s_metrics[s:s + c, :]
        d_status[d:d + c] = s_status[s:s + c]


@jit
def gather_columns(order, use_order, s_index, s_ids, s_genes, s_metrics, s_status,
                   d_index, d_ids, d_genes, d_metrics, d_status):
    """Rows in the given order (or as they are), turned into columns: d_genes is
    (n_genes, m) and d_metrics (4, m), one contiguous column each, as Arrow wants them.
    Rows are read whole (one cache line for a row's genes) and written column by column
    through a tile of 64 rows. Serial on purpose: writer threads call it while the scanning
    thread runs the parallel kernels, and not every numba threading layer takes parallel
    launches from two threads at once."""
    m = d_index.shape[0]
    g = s_genes.shape[1]
    with_ids = d_ids.shape[0] > 0
    tile = np.empty((64, g), np.uint8)
    mt = np.empty((64, 4), np.int64)
    for b0 in range(0, m, 64):
        b1 = min(m, b0 + 64)
        for i in range(b0, b1):
            r = order[i] if use_order else i
            d_index[i] = s_index[r]
            if with_ids:
                d_ids[i] = s_ids[r]
            d_status[i] = s_status[r]
            for q in range(4):
                mt[i - b0, q] = s_metrics[r, q]
            for j in range(g):
                tile[i - b0, j] = s_genes[r, j]
        for q in range(4):
            for i in range(b0, b1):
                d_metrics[q, i] = mt[i - b0, q]
        for j in range(g):
            for i in range(b0, b1):
                d_genes[j, i] = tile[i - b0, j]


@jit
def argsort_stable(keys):
    """The stable ascending order of int64 keys: an LSD radix sort on 16-bit digits of
    key - min (two passes for a range below 2**32), several times faster than a comparison
    sort on the counts of one part."""
    n = keys.shape[0]
    order = np.arange(n)
    if n < 2:
        return order
    lo = keys.min()
    span = np.uint64(keys.max() - lo)
    if span == 0:
        return order
    k = np.empty(n, np.uint64)
    for i in range(n):
        k[i] = np.uint64(keys[i] - lo)
    k2 = np.empty(n, np.uint64)
    o2 = np.empty(n, np.int64)
    counts = np.empty(65537, np.int64)
    mask = np.uint64(0xFFFF)
    shift = np.uint64(0)
    while (span >> shift) > 0:
        counts[:] = 0
        for i in range(n):
            counts[np.int64((k[i] >> shift) & mask) + 1] += 1
        for d in range(65536):
            counts[d + 1] += counts[d]
        for i in range(n):
            d = np.int64((k[i] >> shift) & mask)
            j = counts[d]
            counts[d] = j + 1
            k2[j] = k[i]
            o2[j] = order[i]
        k, k2 = k2, k
        order, o2 = o2, order
        shift += np.uint64(16)
        if shift >= np.uint64(64):
            break
    return order
