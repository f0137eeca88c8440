"""Kernels of the budget analytics (nascost.budget): tabulating segments with liveness,
extreme paths, bucketed dynamic programming over the chain, and sampling by the DP's
suffix counts.

Conventions shared by these kernels (the Chain of nascost.budget.chain):

* states have global ids; the rows (transitions) of segment k go from states of boundary k
  to states of boundary k + 1, sorted by their in-state: state s's rows are
  ``in_ptr[s] .. in_ptr[s + 1] - 1``; ``out_ptr``/``out_rows`` list the rows into each state;
* counts are float64 holding integers: exact while every partial sum stays below 2**53
  (nascost.budget adds a rigorous relative margin where it may not);
* costs are int64 and non-negative; a bucketed cost ``q`` is the row's reduced cost divided
  by the bucket width, rounded down (or up).
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.interpreter import CHUNK, get_shapes, run_one, set_combination, set_shapes
from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.rules import ops as O

BIG = np.int64(2**62)  # "no path": larger than any sum of costs the chain admits


# -- tabulation ------------------------------------------------------------------------------
@jit
def _tabulate_rows(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, shapes, read, rcards,
                   cross_out, res, out_shapes, out_live, r0, r1):
    """Rows r0 .. r1-1 of tabulate_live (scratch allocated once per call)."""
    n_comb = res.shape[0] // max(shapes.shape[0], 1)
    q = read.shape[0]
    regC = np.zeros(n_regs, np.int64)
    regH = np.zeros(n_regs, np.int64)
    regW = np.zeros(n_regs, np.int64)
    regR = np.zeros(n_regs, np.int64)
    fv = np.zeros(O.N_SLOTS, np.int64)
    live = np.zeros(n_genes, np.uint8)
    rec = np.zeros((1, 1), np.int64)
    genes = np.zeros(n_genes, np.uint8)
    for row in range(r0, r1):
        s = row // n_comb
        c = row - s * n_comb
        set_shapes(shapes, s, cross_in, regC, regH, regW, regR)
        set_combination(c, read, rcards, genes)
        for j in range(q):
            live[read[j]] = 0
        st, p, m, f, a = run_one(ins, ex, aux, ow, genes, regC, regH, regW, regR, fv, live,
                                 True, rec, False, i0, i1)
        res[row, 0] = st
        res[row, 1] = p
        res[row, 2] = m
        res[row, 3] = f
        res[row, 4] = a
        get_shapes(out_shapes, row, cross_out, regC, regH, regW, regR)
        for j in range(q):
            out_live[row, j] = live[read[j]]


@jit_parallel
def tabulate_live(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, shapes, read, rcards,
                  cross_out, res, out_shapes, out_live):
    """Run instructions [i0, i1) for every (incoming shape, combination of the genes
    ``read``; the last varies fastest), tracking the genes each run reads.

    shapes: (n_shapes, len(cross_in), 4) register shapes (C, H, W, rank). Writes per row:
    res (status, params, macs, flops, activations), the shapes of cross_out, and live[j] = 1
    where read[j] was read."""
    n_rows = res.shape[0]
    n_chunks = (n_rows + CHUNK - 1) // CHUNK
    for t in prange(n_chunks):
        _tabulate_rows(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, shapes, read,
                       rcards, cross_out, res, out_shapes, out_live, t * CHUNK,
                       min(n_rows, (t + 1) * CHUNK))


@jit
def tabulate_live_serial(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, shapes, read,
                         rcards, cross_out, res, out_shapes, out_live):
    """tabulate_live on the calling thread: a few rows, where a parallel launch costs more
    than the work (the separable walk runs one instruction at a time)."""
    _tabulate_rows(ins, ex, aux, ow, n_regs, n_genes, i0, i1, cross_in, shapes, read, rcards,
                   cross_out, res, out_shapes, out_live, 0, res.shape[0])


# -- extreme paths ---------------------------------------------------------------------------
@jit
def extreme_paths(n_states, r_in, r_out, cost, sign):
    """Forward and backward extreme path costs per state and metric, exact int64.

    sign = 1: minimum, -1: maximum (computed as the minimum of -cost). Rows must be sorted by
    segment. Returns (fwd, arg, bwd): fwd[s, m] the best cost of a path from the start to s,
    arg[s, m] the last row of such a path (-1 at the start), bwd[s, m] the best cost from s
    to the end."""
    n_rows, n_m = cost.shape
    fwd = np.full((n_states, n_m), BIG, np.int64)
    bwd = np.full((n_states, n_m), BIG, np.int64)
    arg = np.full((n_states, n_m), -1, np.int64)
    fwd[0, :] = 0
    bwd[n_states - 1, :] = 0
    for r in range(n_rows):
        a = r_in[r]
        b = r_out[r]
        for m in range(n_m):
            if fwd[a, m] < BIG:
                v = fwd[a, m] + sign * cost[r, m]
                if v < fwd[b, m]:
                    fwd[b, m] = v
                    arg[b, m] = r
    for r in range(n_rows - 1, -1, -1):
        a = r_in[r]
        b = r_out[r]
        for m in range(n_m):
            if bwd[b, m] < BIG:
                v = bwd[b, m] + sign * cost[r, m]
                if v < bwd[a, m]:
                    bwd[a, m] = v
    return fwd, arg, bwd


@jit
def extreme_offsets(n_states, r_in, r_out, q, sign):
    """extreme_paths for one column of bucket offsets q (int64): (fwd, bwd) per state."""
    n_rows = q.shape[0]
    fwd = np.full(n_states, BIG, np.int64)
    bwd = np.full(n_states, BIG, np.int64)
    fwd[0] = 0
    bwd[n_states - 1] = 0
    for r in range(n_rows):
        a = r_in[r]
        if fwd[a] < BIG:
            v = fwd[a] + sign * q[r]
            if v < fwd[r_out[r]]:
                fwd[r_out[r]] = v
    for r in range(n_rows - 1, -1, -1):
        b = r_out[r]
        if bwd[b] < BIG:
            v = bwd[b] + sign * q[r]
            if v < bwd[r_in[r]]:
                bwd[r_in[r]] = v
    return fwd, bwd


# -- bucketed counting -----------------------------------------------------------------------
@jit
def grid_dp(order, slot, n_slots, out_ptr, out_rows, r_in, q, wts, lim, G0, G1, G2):
    """The forward counting DP over a grid of up to three bucket dimensions; returns the end
    state's grid (G0, G1, G2): cell b counts the paths whose bucketed costs sum to b.

    grid(s2) = sum over the rows r into s2 of grid(r_in[r]) times wts[r], shifted by q[r]
    (wts: 1 to count paths; probabilities to weigh them); grid(start) is 1 at 0. Cells past
    lim[s2] (the largest bucket from which a path can still end within the grid) are not
    filled. States are computed in ``order`` (every state after its in-states), each into
    pool slot ``slot[s]``, reused once its successors are done: an order that follows one
    chain of states as deep as it goes keeps the grids in use in cache. The innermost loop
    runs over two slices that both start at 0 (numba vectorises that form best). Serial: the
    callers run the rounded-down and rounded-up DPs in two threads."""
    pool = np.empty((n_slots, G0, G1, G2), np.float64)
    z = pool[slot[0]]
    z[:, :, :] = 0.0
    if lim[0, 0] >= 0 and lim[0, 1] >= 0 and lim[0, 2] >= 0:
        z[0, 0, 0] = 1.0
    last = 0
    for oi in range(order.shape[0]):
        s2 = order[oi]
        last = s2
        dst_all = pool[slot[s2]]
        dst_all[:, :, :] = 0.0
        L0 = lim[s2, 0]
        L1 = lim[s2, 1]
        L2 = lim[s2, 2]
        if L0 < 0 or L1 < 0 or L2 < 0:
            continue
        for j in range(out_ptr[s2], out_ptr[s2 + 1]):
            r = out_rows[j]
            s = r_in[r]
            o0 = q[r, 0]
            o1 = q[r, 1]
            o2 = q[r, 2]
            h0 = min(lim[s, 0], L0 - o0)
            h1 = min(lim[s, 1], L1 - o1)
            n2 = min(lim[s, 2], L2 - o2) + 1
            if h0 < 0 or h1 < 0 or n2 <= 0:
                continue
            wr = wts[r]
            src_all = pool[slot[s]]
            for b0 in range(h0 + 1):
                for b1 in range(h1 + 1):
                    a = src_all[b0, b1, 0:n2]
                    d = dst_all[b0 + o0, b1 + o1, o2:o2 + n2]
                    if wr == 1.0:
                        for t in range(n2):
                            d[t] += a[t]
                    else:
                        for t in range(n2):
                            d[t] += a[t] * wr
    return pool[slot[last]].copy()


# -- sampling --------------------------------------------------------------------------------
@jit
def suffix_tables(bounds, in_ptr, r_out, q, wts, tab_off, tab_lo, tab_hi, tab):
    """Cumulative suffix counts, boundary by boundary from the end.

    S(s, c) is the weight of the completions from state s whose bucketed cost is at most c:
    the sum over the rows r of s of wts[r] * S(r_out[r], c - q[r]), with S(end, c) = 1 for
    c >= 0. The table keeps the running sums over s's rows, for c in [tab_lo[s], tab_hi[s]]:
    entry (c, j) = sum over the first j + 1 rows, at tab[tab_off[s] + (c - tab_lo[s]) *
    rows(s) + j]; the last is S(s, c). Below tab_lo, S is 0; above tab_hi, S(s, tab_hi).
    A sampler reads one contiguous run per step. Serial: one parallel region per boundary
    costs more than it saves on a loaded machine."""
    n_b = bounds.shape[0] - 1
    end = bounds[n_b] - 1
    for c in range(tab_hi[end] - tab_lo[end] + 1):
        tab[tab_off[end] + c] = 1.0
    for k in range(n_b - 2, -1, -1):
        for s in range(bounds[k], bounds[k + 1]):
            lo = tab_lo[s]
            hi = tab_hi[s]
            a = in_ptr[s]
            nr = in_ptr[s + 1] - a
            base = tab_off[s]
            for c in range(lo, hi + 1):
                acc = 0.0
                row0 = base + (c - lo) * nr
                for j in range(nr):
                    r = a + j
                    t = r_out[r]
                    cc = c - q[r]
                    if cc >= tab_lo[t]:
                        if cc > tab_hi[t]:
                            cc = tab_hi[t]
                        nt = in_ptr[t + 1] - in_ptr[t]
                        if t == end:
                            nt = 1
                        acc += wts[r] * tab[tab_off[t] + (cc - tab_lo[t]) * nt + nt - 1]
                    tab[row0 + j] = acc


@jit
def _mix64(z):
    z = np.uint64(z)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def stream_start(seed, index):
    """The RNG state of sample ``index`` of stream ``seed``: a pure function of both."""
    return _mix64(_mix64(np.uint64(seed) ^ np.uint64(0x6E6173636F737432))
                  ^ (np.uint64(index) * np.uint64(0x9E3779B97F4A7C15)))


@jit
def _next(state):
    state = state + np.uint64(0x9E3779B97F4A7C15)
    return state, _mix64(state)


@jit
def _mulhilo(x, n):
    """(high, low) 64-bit halves of the 128-bit product x * n (uint64)."""
    M = np.uint64(0xFFFFFFFF)
    S = np.uint64(32)
    xl = x & M
    xh = x >> S
    nl = n & M
    nh = n >> S
    ll = xl * nl
    lh = xl * nh
    hl = xh * nl
    hh = xh * nh
    mid = (ll >> S) + (lh & M) + (hl & M)
    return hh + (lh >> S) + (hl >> S) + (mid >> S), (mid << S) | (ll & M)


@jit
def _draw_below(state, total):
    """A draw in [0, total): an exactly uniform integer while total < 2**53 is an integer
    (Lemire's multiply-shift: 32-bit below 2**32, 64-bit above), else total times a
    uniform 53-bit fraction."""
    if total < 4294967296.0 and total == np.floor(total):
        n = np.uint64(total)
        state, x = _next(state)
        prod = (x >> np.uint64(32)) * n
        low = prod & np.uint64(0xFFFFFFFF)
        if low < n:  # rare: only then is the exact rejection threshold (2**32 mod n) needed
            thresh = (np.uint64(4294967296) - n) % n
            while low < thresh:
                state, x = _next(state)
                prod = (x >> np.uint64(32)) * n
                low = prod & np.uint64(0xFFFFFFFF)
        return state, float(prod >> np.uint64(32))
    if total < 9007199254740992.0 and total == np.floor(total):
        n = np.uint64(total)
        state, x = _next(state)
        hi, lo = _mulhilo(x, n)
        if lo < n:  # rare: only then is the exact threshold (2**64 mod n) needed
            thresh = (np.uint64(0) - n) % n
            while lo < thresh:
                state, x = _next(state)
                hi, lo = _mulhilo(x, n)
        return state, float(hi)
    state, x = _next(state)
    return state, float(x >> np.uint64(11)) * (1.0 / 9007199254740992.0) * total


SAMPLE_CHUNK = 4096  # samples per parallel task of one segment's step


@jit_parallel
def sample_paths(seed, index0, n_seg, in_ptr, r_out, q, cost, tab_off, tab_lo, tab_hi, tab,
                 lo_w, hi_w, set_genes, set_n, r_vals, chk, chk_lo, chk_hi, c_min, c_max,
                 out_genes, out_cost, alive):
    """Draw sample i (stream index index0 + i) with total bucketed cost in [lo_w[i],
    hi_w[i]], each path with probability proportional to the product of its rows' weights:
    at every state the next row is drawn by its weight times the suffix count of the budget
    it leaves, read as one run of the cumulative table (suffix_tables). Writes the path's
    genes and exact costs.

    Segment-major: every sample takes its step in segment k before any takes its step in
    k + 1, so the table reads of a step stay within segment k's part of the table (a few
    MB that stay in cache, where the whole table does not); the picks are decoded into
    genes and costs at the end, a chunk of samples at a time. Sample i's draws come from
    its own stream in the same order as one sample walked alone: the rows drawn do not
    depend on the thread count or the chunking.

    Early rejection: for the metrics chk[j] (exact costs, bounds chk_lo[j] .. chk_hi[j]), a
    sample whose prefix cost plus the cheapest completion c_min[state, j] passes the upper
    bound, or plus the dearest c_max[state, j] stays under the lower bound, can only be
    rejected: it stops there (alive[i] = 0; its genes and costs are not written)."""
    n = out_genes.shape[0]
    n_m = cost.shape[1]
    C = SAMPLE_CHUNK
    n_chunks = (n + C - 1) // C
    rng = np.empty(n, np.uint64)
    st = np.zeros(n, np.int64)
    hi = np.empty(n, np.int64)
    lo1 = np.empty(n, np.int64)
    picks = np.empty((n_seg, n), np.int32)
    n_chk = chk.shape[0]
    acc = np.zeros((n_chk, n), np.int64)
    for t in prange(n_chunks):
        for i in range(t * C, min(n, (t + 1) * C)):
            rng[i] = stream_start(seed, index0 + i)
            hi[i] = hi_w[i]
            lo1[i] = lo_w[i] - 1
            alive[i] = 1
    for k in range(n_seg):
        for t in prange(n_chunks):
            for i in range(t * C, min(n, (t + 1) * C)):
                s = st[i]
                if s < 0:  # rejected early
                    continue
                a = in_ptr[s]
                nr = in_ptr[s + 1] - a
                if nr == 1:  # one way on: no draw
                    pick = a
                else:
                    tl = tab_lo[s]
                    ha = tab_off[s] + (min(hi[i], tab_hi[s]) - tl) * nr
                    la = -1
                    if lo1[i] >= tl:
                        la = tab_off[s] + (min(lo1[i], tab_hi[s]) - tl) * nr
                    total = tab[ha + nr - 1]
                    if la >= 0:
                        total -= tab[la + nr - 1]
                    rng[i], u = _draw_below(rng[i], total)
                    # the first row whose running sum passes u (running sums never
                    # decrease): a scan for a few rows, a bisection for many
                    lo_r = 0
                    hi_r = nr - 1
                    if la < 0 and nr <= 32:  # branch-free: the running sums at or below u
                        cnt = 0
                        for j in range(nr - 1):
                            cnt += tab[ha + j] <= u
                        lo_r = cnt
                        hi_r = cnt
                    elif nr <= 16:
                        while lo_r < hi_r:
                            c = tab[ha + lo_r]
                            if la >= 0:
                                c -= tab[la + lo_r]
                            if c > u:
                                break
                            lo_r += 1
                    while lo_r < hi_r:
                        mid = (lo_r + hi_r) // 2
                        c = tab[ha + mid]
                        if la >= 0:
                            c -= tab[la + mid]
                        if c > u:
                            hi_r = mid
                        else:
                            lo_r = mid + 1
                    pick = a + lo_r
                picks[k, i] = pick
                hi[i] -= q[pick]
                lo1[i] -= q[pick]
                s2 = r_out[pick]
                st[i] = s2
                for j in range(n_chk):
                    v = acc[j, i] + cost[pick, chk[j]]
                    acc[j, i] = v
                    if v + c_min[s2, j] > chk_hi[j] or v + c_max[s2, j] < chk_lo[j]:
                        st[i] = -1
                        alive[i] = 0
    for t in prange(n_chunks):
        i0 = t * C
        i1 = min(n, i0 + C)
        for i in range(i0, i1):
            for m in range(n_m):
                out_cost[i, m] = 0
        for k in range(n_seg):
            ns = set_n[k]
            for i in range(i0, i1):
                if alive[i] == 0:
                    continue
                r = picks[k, i]
                for g in range(ns):
                    out_genes[i, set_genes[k, g]] = r_vals[r, g]
                for m in range(n_m):
                    out_cost[i, m] += cost[r, m]


# -- windowed counting (one budget point) ------------------------------------------------------
@jit
def window_dp1(order, slot, n_slots, cap, out_ptr, out_rows, r_in, q, wts, S, H):
    """The number (or weight) of paths whose bucketed cost is at most B, where the caller
    set S[s] = B - (the dearest completion of s) and H[s] = min(the dearest prefix to s,
    B - the cheapest completion of s), all in buckets.

    A prefix at bucket b <= S[s] fits whatever follows: it joins the state's single
    ``safe`` total. One with b > H[s] cannot fit (or does not occur): it is dropped. Only
    the window b in [max(0, S[s] + 1), H[s]] keeps a bucket array, so the work is the
    overlap of the prefixes' spread with the completions' spread, not the whole range.
    Layout of a pool slot: [safe, window...]. Order and slots as in grid_dp."""
    pool = np.zeros((n_slots, cap + 1), np.float64)
    z = pool[slot[0]]
    if S[0] >= 0:
        z[0] = 1.0
    elif H[0] >= 0:
        z[1] = 1.0
    last = 0
    for oi in range(order.shape[0]):
        s2 = order[oi]
        last = s2
        dst = pool[slot[s2]]
        ws2 = max(0, S[s2] + 1)
        n_dst = max(0, H[s2] - ws2 + 1)
        for t in range(n_dst + 1):
            dst[t] = 0.0
        for j in range(out_ptr[s2], out_ptr[s2 + 1]):
            r = out_rows[j]
            s = r_in[r]
            o = q[r]
            w = wts[r]
            src = pool[slot[s]]
            dst[0] += w * src[0]
            b0 = max(0, S[s] + 1)
            b1 = H[s]
            if b1 < b0:
                continue
            # joins safe: b <= S[s2] - o
            e = min(b1, S[s2] - o)
            if e >= b0:
                acc = 0.0
                for b in range(b0, e + 1):
                    acc += src[1 + b - b0]
                dst[0] += w * acc
            # stays in the window: b + o in [ws2, H[s2]]
            c0 = max(b0, S[s2] - o + 1)
            c1 = min(b1, H[s2] - o)
            if c1 >= c0:
                n = c1 - c0 + 1
                a = src[1 + c0 - b0:1 + c0 - b0 + n]
                d = dst[1 + c0 + o - ws2:1 + c0 + o - ws2 + n]
                if w == 1.0:
                    for t in range(n):
                        d[t] += a[t]
                else:
                    for t in range(n):
                        d[t] += a[t] * w
    return pool[slot[last], 0]


@jit
def window_dp2(order, slot, n_slots, capf, capp, out_ptr, out_rows, r_in, qf, qp, wts, Sf,
               Hf, Sp, Hp):
    """window_dp1 over two bucketed metrics f and p at once: a prefix is safe in a metric
    when every completion fits it, dropped when none does. A state keeps one safe total, a
    window over f for prefixes safe in p, a window over p for prefixes safe in f, and a grid
    over both windows. Layout of a pool slot: [safe, f window (capf), p window (capp), grid
    (capf x capp, p fastest)]."""
    size = 1 + capf + capp + capf * capp
    pool = np.zeros((n_slots, size), np.float64)
    z = pool[slot[0]]
    fs = Sf[0] >= 0
    ps = Sp[0] >= 0
    fin = fs or Hf[0] >= 0
    pin = ps or Hp[0] >= 0
    if fin and pin:
        if fs and ps:
            z[0] = 1.0
        elif ps:
            z[1] = 1.0
        elif fs:
            z[1 + capf] = 1.0
        else:
            z[1 + capf + capp] = 1.0
    FW = 1
    PW = 1 + capf
    GR = 1 + capf + capp
    last = 0
    for oi in range(order.shape[0]):
        s2 = order[oi]
        last = s2
        dst = pool[slot[s2]]
        dst[:] = 0.0
        wf2 = max(0, Sf[s2] + 1)
        wp2 = max(0, Sp[s2] + 1)
        for j in range(out_ptr[s2], out_ptr[s2 + 1]):
            r = out_rows[j]
            s = r_in[r]
            of = qf[r]
            op = qp[r]
            w = wts[r]
            src = pool[slot[s]]
            dst[0] += w * src[0]
            f0 = max(0, Sf[s] + 1)
            f1 = Hf[s]
            p0 = max(0, Sp[s] + 1)
            p1 = Hp[s]
            # the f window (safe in p): moves within f
            if f1 >= f0:
                e = min(f1, Sf[s2] - of)
                for b in range(f0, e + 1):
                    dst[0] += w * src[FW + b - f0]
                for b in range(max(f0, Sf[s2] - of + 1), min(f1, Hf[s2] - of) + 1):
                    dst[FW + b + of - wf2] += w * src[FW + b - f0]
            # the p window (safe in f)
            if p1 >= p0:
                e = min(p1, Sp[s2] - op)
                for b in range(p0, e + 1):
                    dst[0] += w * src[PW + b - p0]
                for b in range(max(p0, Sp[s2] - op + 1), min(p1, Hp[s2] - op) + 1):
                    dst[PW + b + op - wp2] += w * src[PW + b - p0]
            # the grid
            if f1 < f0 or p1 < p0:
                continue
            np_ = p1 - p0 + 1
            ps_end = min(p1, Sp[s2] - op)  # p becomes safe up to here
            pc0 = max(p0, Sp[s2] - op + 1)  # p stays in the window from here ...
            pc1 = min(p1, Hp[s2] - op)  # ... to here
            for bf in range(f0, min(f1, Hf[s2] - of) + 1):
                tf = bf + of
                row = src[GR + (bf - f0) * capp:GR + (bf - f0) * capp + np_]
                f_safe = tf <= Sf[s2]
                if ps_end >= p0:
                    acc = 0.0
                    for b in range(p0, ps_end + 1):
                        acc += row[b - p0]
                    if f_safe:
                        dst[0] += w * acc
                    else:
                        dst[FW + tf - wf2] += w * acc
                if pc1 >= pc0:
                    n = pc1 - pc0 + 1
                    a = row[pc0 - p0:pc0 - p0 + n]
                    if f_safe:
                        d = dst[PW + pc0 + op - wp2:PW + pc0 + op - wp2 + n]
                    else:
                        base = GR + (tf - wf2) * capp + pc0 + op - wp2
                        d = dst[base:base + n]
                    if w == 1.0:
                        for t in range(n):
                            d[t] += a[t]
                    else:
                        for t in range(n):
                            d[t] += a[t] * w
    return pool[slot[last], 0]
