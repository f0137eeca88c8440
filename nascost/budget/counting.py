"""Counting the valid canonical candidates within a budget, and their histograms.

Two exact methods and one bounded one, tried in this order:

1. no budget: the number of paths of the chain, in Python integers;
2. an exact DP over the distinct cost vectors of the partial paths (numpy; entries that can
   no longer meet the budget are dropped), while their number stays small;
3. a bucketed DP: each row's reduced cost (its cost minus the potential difference of its
   states, so that costs start at 0 and a path sums to its cost minus the minimum) is divided
   by a bucket width and rounded down for an upper bound, up for a lower bound. A candidate
   whose rounded-up costs fit is in budget; one whose rounded-down costs do not is out. The
   width shrinks until the gap is at most ``tol`` of the count, or the time is up. Counts
   are float64 holding integers: exact while they stay below 2**53, otherwise widened by a
   rigorous margin for rounding (the number of additions along the longest dependency times
   2**-53, doubled). Several bounded metrics use a grid of buckets (at most 3).

The DPs run state by state, depth first, in a small pool of reused grids (kernels.budget):
a state's grid is computed right after the grids it is made of, so the work stays in cache.
For one budget point (a max, or one corner of a min/max box), the windowed DP keeps per state
only the buckets whose fate the rest of the chain can still change: prefixes that fit
whatever follows collapse into one total, prefixes that cannot fit are dropped.
"""

from __future__ import annotations

import math
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nascost.budget.budget import Extremes, extremes
from nascost.budget.chain import METRIC_NAMES, METRICS, Chain
from nascost.kernels.budget import extreme_offsets, extreme_paths, grid_dp, window_dp1, window_dp2

U = 2.0**-53
EXACT_FLOAT = 2**53
SPARSE_LIMIT = 1 << 17  # entries of the exact DP per boundary before it gives up ...
SMALL_SPACE = 1 << 21  # ... unless the space has at most this many candidates (always exact)
MAX_CELLS = 1 << 24  # grid cells per state
MAX_BYTES = 3 << 29  # bytes of the pools of grids of two DPs at once
FIRST_BUCKETS = {1: 4096, 2: 256, 3: 40}  # buckets per metric of a first pass, by metrics
GROWTH = 8.0  # the most a refining pass multiplies the work of the previous one
# The default work budget of a count's refinement, in grid cells per DP state summed over its
# passes: the same command refines the same way, so it gives the same interval on any
# machine, at any load (a time limit made the interval depend on the load). Three passes and
# a 12% certified gap for OFA MobileNetV3 within 400M FLOPs and 5M params (about 1.5 s on a
# quiet 2-core machine, 6 s at load 12); the sampled estimate then gives 0.02-0.06%.
WORK = 3 << 19  # 1,572,864
HIST_WORK = 1 << 20  # the same for histograms (bins' cells per state over the passes)
# why the refinement stopped (Count.stopped_by)
STOPS = {"exact": "the count is exact", "tolerance": "the bounds met --tol",
         "work": "the work budget (--work) ended it",
         "time": "the time limit (--time-limit) ended it",
         "memory": "the grids reached the memory limit",
         "growth": "the next pass would not be finer", "finest": "the grids are as fine as the "
         "costs allow"}

_EXT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WARM: list[bool] = []


def warm() -> None:
    """Load (or compile, the first time) the counting kernels on a one-row chain, so that a
    count's or histogram's time limit measures its passes, not the kernels' first load."""
    if _WARM:
        return

    def chain_field(a):  # a Chain's arrays are read-only: the kernels see that type
        a.setflags(write=False)
        return a

    r_in = chain_field(np.zeros(1, dtype=np.int64))
    r_out = chain_field(np.ones(1, dtype=np.int64))
    ptr = chain_field(np.array([0, 0, 1], dtype=np.int64))
    rows = chain_field(np.zeros(1, dtype=np.int64))
    cost = chain_field(np.zeros((1, 4), dtype=np.int64))
    order = np.ones(1, dtype=np.int64)
    slot = np.array([0, 1], dtype=np.int64)
    q = np.zeros(1, dtype=np.int64)
    two = np.zeros(2, dtype=np.int64)
    wts = np.ones(1, dtype=np.float64)
    extreme_paths(2, r_in, r_out, cost, 1)
    extreme_offsets(2, r_in, r_out, q, 1)
    window_dp1(order, slot, 2, 1, ptr, rows, r_in, q, wts, two, two)
    window_dp2(order, slot, 2, 1, 1, ptr, rows, r_in, q, q, wts, two, two, two, two)
    grid_dp(order, slot, 2, ptr, rows, r_in, np.zeros((1, 3), dtype=np.int64), wts,
            np.zeros((2, 3), dtype=np.int64), 1, 1, 1)
    _WARM.append(True)


def extremes_for(chain: Chain) -> Extremes:
    if chain not in _EXT:
        _EXT[chain] = extremes(chain)
    return _EXT[chain]


@dataclass(frozen=True)
class Count:
    """The number of valid canonical candidates within a budget: exactly (low == high,
    exact) or certified bounds low <= count <= high."""

    low: int
    high: int
    exact: bool
    total: int  # valid canonical candidates in the whole space
    method: str  # "paths", "exact-dp", "bucketed-dp" or "empty"
    seconds: float = 0.0  # wall time of the count, after the kernels are loaded (warm())
    detail: dict = field(default_factory=dict, compare=False)
    sampled: Any = None  # budget.sampling.Sampled: a statistical estimate, where bounded
    stopped_by: str | None = None  # bucketed counts: what ended the refinement (STOPS)

    @property
    def estimate(self) -> float:
        """The count where exact; else the sampled estimate (kept within the certified
        bounds) where there is one, else the middle of the bounds."""
        if self.exact:
            return float(self.low)
        if self.sampled is not None and self.sampled.draws:
            return min(max(self.sampled.estimate, float(self.low)), float(self.high))
        return (self.low + self.high) / 2

    @property
    def stderr(self) -> float | None:
        """The sampled estimate's standard error (None without one; 0 when exact)."""
        if self.exact:
            return 0.0
        return None if self.sampled is None else self.sampled.stderr

    @property
    def gap(self) -> float:
        """(high - low) / low: the relative width of the interval (0 when exact)."""
        if self.high == self.low:
            return 0.0
        return (self.high - self.low) / max(self.low, 1)

    @property
    def fraction(self) -> tuple[float, float]:
        """(low, high) as fractions of the whole space's valid canonical candidates."""
        t = max(self.total, 1)
        return self.low / t, self.high / t

    def __int__(self) -> int:
        if not self.exact:
            raise ValueError(f"the count is only bounded: {self.low} .. {self.high}")
        return self.low


# -- constraints -------------------------------------------------------------------------------
def _reduce(cons: dict, ext: Extremes) -> dict[int, tuple[int | None, int | None]] | None:
    """Constraints in reduced units (cost - min), vacuous bounds dropped; None if empty."""
    out = {}
    for m, (lo, hi) in cons.items():
        mn, mx = int(ext.lo[m]), int(ext.hi[m])
        if hi is not None and hi < mn or lo is not None and lo > mx:
            return None
        rlo = lo - mn if lo is not None and lo > mn else None
        rhi = hi - mn if hi is not None and hi < mx else None
        if rlo is not None or rhi is not None:
            out[m] = (rlo, rhi)
    return out


def _corners(red: dict) -> list[tuple[int, dict[int, int]]]:
    """Inclusion-exclusion: count(lo <= c <= hi) = sum of sign * CDF(point), each point a
    dict {metric: bound} (metrics absent are unbounded): CDF(p) = #{c_m <= p_m for all m}."""
    terms = [(1, {})]
    for m, (lo, hi) in red.items():
        new = []
        for sign, pt in terms:
            if hi is not None:
                new.append((sign, {**pt, m: hi}))
            else:
                new.append((sign, dict(pt)))
            if lo is not None:
                new.append((-sign, {**pt, m: lo - 1}))
        terms = new
    return terms


# -- exact DP over distinct costs --------------------------------------------------------------
def sparse_distribution(chain: Chain, ext: Extremes, dims: list[int], red: dict,
                        limit: int | None = None):
    """The exact distribution of the reduced costs ``dims`` over the paths meeting ``red``
    (entries that cannot meet it are dropped; above a min-only bound, costs are clamped):
    (costs (n, d) int64, counts (n,) int64 or object) or None past ``limit`` entries."""
    if limit is None:
        limit = SMALL_SPACE if chain.total <= SMALL_SPACE else SPARSE_LIMIT
    big = chain.total >= 2**62
    cdt = object if big else np.int64
    rc = ext.reduced[:, dims]
    d = len(dims)
    hi = np.array([red.get(m, (None, None))[1] if red.get(m, (None, None))[1] is not None
                   else -1 for m in dims], dtype=np.int64)
    lo = np.array([red.get(m, (None, None))[0] if red.get(m, (None, None))[0] is not None
                   else -1 for m in dims], dtype=np.int64)
    # reduced suffix extremes: the cheapest / dearest completion of each state
    smin = (ext.fmin + ext.bmin - ext.lo)[:, dims]
    smax = (ext.fmin + ext.bmax - ext.lo)[:, dims]
    st = np.zeros(1, dtype=np.int64)
    c = np.zeros((1, d), dtype=np.int64)
    n = np.ones(1, dtype=cdt)
    for _k in range(chain.n_seg):
        lens = chain.in_ptr[st + 1] - chain.in_ptr[st]
        if int(lens.sum()) > 4 * limit:
            return None
        idx = np.repeat(np.arange(st.shape[0], dtype=np.int64), lens)
        offs = np.cumsum(lens) - lens
        r = chain.in_ptr[st][idx] + np.arange(idx.shape[0], dtype=np.int64) - offs[idx]
        ns = chain.r_out[r]
        nc = c[idx] + rc[r]
        nn = n[idx]
        keep = np.ones(ns.shape[0], dtype=bool)
        for j in range(d):
            if hi[j] >= 0:
                keep &= nc[:, j] + smin[ns, j] <= hi[j]
            if lo[j] >= 0:
                keep &= nc[:, j] + smax[ns, j] >= lo[j]
        ns, nc, nn = ns[keep], nc[keep], nn[keep]
        for j in range(d):
            if lo[j] >= 0 and hi[j] < 0:
                np.minimum(nc[:, j], lo[j], out=nc[:, j])
        if ns.shape[0] == 0:
            return np.zeros((0, d), dtype=np.int64), np.zeros(0, dtype=cdt)
        order = np.lexsort(tuple(nc[:, j] for j in range(d - 1, -1, -1)) + (ns,))
        ns, nc, nn = ns[order], nc[order], nn[order]
        diff = ns[1:] != ns[:-1]
        for j in range(d):
            diff |= nc[1:, j] != nc[:-1, j]
        starts = np.flatnonzero(np.r_[True, diff])
        if starts.shape[0] > limit:
            return None
        st, c, n = ns[starts], nc[starts], np.add.reduceat(nn, starts)
    return c, n


def _count_exact(chain, ext, red) -> int | None:
    dims = sorted(red)
    res = sparse_distribution(chain, ext, dims, red)
    if res is None:
        return None
    c, n = res
    keep = np.ones(c.shape[0], dtype=bool)
    for j, m in enumerate(dims):
        lo, hi = red[m]
        if lo is not None:
            keep &= c[:, j] >= lo
        if hi is not None:
            keep &= c[:, j] <= hi
    return int(sum(int(x) for x in n[keep])) if chain.total >= 2**62 else int(n[keep].sum())


# -- bucketed DP -------------------------------------------------------------------------------
@dataclass
class Grid:
    """The bucketed distribution of the reduced costs of ``dims`` at the end of the chain:
    cells[b0, b1, b2] counts the paths whose rounded costs are (b0, b1, b2)."""

    dims: list[int]
    widths: list[int]
    cells: np.ndarray
    margin: float  # relative rounding margin of the float counts (0 when exact)

    def cdf(self, point: dict[int, int]) -> float:
        """Sum of the cells with bucket <= floor(point / width) in every dim of point."""
        sl = []
        for j, m in enumerate(self.dims):
            if m in point:
                b = point[m] // self.widths[j]
                if b < 0:
                    return 0.0
                sl.append(slice(0, b + 1))
            else:
                sl.append(slice(None))
        return float(self.cells[tuple(sl)].sum())


def _offsets(red_cost: np.ndarray, w: int, up: bool) -> np.ndarray:
    return -(-red_cost // w) if up else red_cost // w


def run_grid(chain: Chain, red_cost: np.ndarray, dims: list[int], widths: list[int],
             tops: list[int], up, wts: np.ndarray | None = None) -> Grid:
    """Forward DP over buckets: dims' reduced costs divided by widths, rounded up (up True,
    or up[j] per dim) or down; cells up to tops[j] // widths[j] (mass beyond is dropped).
    The d dims use the last d axes of the (G0, G1, G2) grid (the innermost loop is the
    longest). wts: row weights (default 1: the grid counts paths; with probabilities it
    holds probability mass, always with the rounding margin)."""
    n_st = chain.n_states
    d = len(dims)
    ups = [bool(up)] * d if isinstance(up, bool) else [bool(u) for u in up]
    q = np.zeros((chain.n_rows, 3), dtype=np.int64)
    G = [1, 1, 1]
    lim = np.zeros((n_st, 3), dtype=np.int64)
    for j, (m, w, top) in enumerate(zip(dims, widths, tops, strict=True)):
        a = 3 - d + j
        q[:, a] = _offsets(red_cost[:, m], w, ups[j])
        G[a] = top // w + 1
        col = np.ascontiguousarray(q[:, a])
        f_max, _ = extreme_offsets(n_st, chain.r_in, chain.r_out, col, -1)
        _, b_min = extreme_offsets(n_st, chain.r_in, chain.r_out, col, 1)
        lim[:, a] = np.minimum(-f_max, G[a] - 1 - b_min)
    b = chain.bounds
    ones = wts is None
    if ones:
        wts = np.ones(chain.n_rows, dtype=np.float64)
    wts = np.ascontiguousarray(wts, dtype=np.float64)
    order, slot, n_slots = dp_order(chain)
    cells = grid_dp(order, slot, n_slots, chain.out_ptr, chain.out_rows, chain.r_in, q, wts,
                    lim, G[0], G[1], G[2])
    deg = sum(int(np.diff(chain.out_ptr[b[k + 1]:b[k + 2] + 1]).max()) + 1
              for k in range(chain.n_seg))
    cells = cells.reshape(G[3 - d:])
    margin = 0.0 if ones and chain.total < EXACT_FLOAT else 2.0 * (deg + cells.size) * U
    return Grid(list(dims), list(widths), cells, margin)


_ORDER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def dp_order(chain: Chain) -> tuple[np.ndarray, np.ndarray, int]:
    """(order, slot, n_slots) for grid_dp: the states after the start, each after its
    in-states, depth first (the next state is one fed by the state done last, where one is
    ready), and a pool slot per state, freed once all its successors are done."""
    if chain in _ORDER:
        return _ORDER[chain]
    n = chain.n_states
    preds = [set() for _ in range(n)]
    succs = [set() for _ in range(n)]
    for a_, z_ in zip(chain.r_in.tolist(), chain.r_out.tolist(), strict=True):
        preds[z_].add(a_)
        succs[a_].add(z_)
    waiting = [len(p) for p in preds]
    left = [len(x) for x in succs]
    stack = []
    for t in sorted(succs[0], reverse=True):
        waiting[t] -= 1
        if waiting[t] == 0:
            stack.append(t)
    order = []
    slot = np.full(n, -1, dtype=np.int64)
    free: list[int] = []
    n_slots = 1
    slot[0] = 0
    while stack:
        s = stack.pop()
        order.append(s)
        if free:
            slot[s] = free.pop()
        else:
            slot[s] = n_slots
            n_slots += 1
        for p in preds[s]:
            left[p] -= 1
            if left[p] == 0:
                free.append(int(slot[p]))
        ready = []
        for t in succs[s]:
            waiting[t] -= 1
            if waiting[t] == 0:
                ready.append(t)
        stack.extend(sorted(ready, reverse=True))
    if len(order) != n - 1:
        raise RuntimeError("dp_order: the chain is not a DAG from its start")  # never
    out = (np.array(order, dtype=np.int64), slot, n_slots)
    _ORDER[chain] = out
    return out


def run_grids(chain: Chain, red_cost: np.ndarray, dims: list[int], widths: list[int],
              tops: list[int], roundings: list) -> list[Grid]:
    """Several DPs (one per rounding: a bool or one bool per dim), two threads at a time
    (the kernels release the GIL)."""
    if len(roundings) == 1:
        return [run_grid(chain, red_cost, dims, widths, tops, roundings[0])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futs = [pool.submit(run_grid, chain, red_cost, dims, widths, tops, r)
                for r in roundings]
        return [f.result() for f in futs]


def grid_pair(chain: Chain, red_cost: np.ndarray, dims: list[int], widths: list[int],
              tops: list[int]) -> tuple[Grid, Grid, bool]:
    """(rounded up, rounded down, exact): the two DPs, run side by side in two threads; when
    every width divides the reduced costs they are the same DP, run once."""
    same = all(not np.any(red_cost[:, m] % w) for m, w in zip(dims, widths, strict=True))
    if same:
        g = run_grid(chain, red_cost, dims, widths, tops, up=True)
        return g, g, True
    up, down = run_grids(chain, red_cost, dims, widths, tops, [True, False])
    return up, down, False


def window_count(chain: Chain, red_cost: np.ndarray, dims: list[int], widths: list[int],
                 point: list[int], up, wts: np.ndarray | None = None) -> tuple[float, float]:
    """(count, relative margin): the paths whose bucketed reduced costs (rounded up, or
    down) are at most point // width in each of one or two dims, by the windowed DP that
    only keeps buckets whose fate the rest of the chain can still change."""
    d = len(dims)
    ups = [bool(up)] * d if isinstance(up, bool) else [bool(u) for u in up]
    n_st = chain.n_states
    qs, Ss, Hs, caps = [], [], [], []
    for j, (m, w, pt) in enumerate(zip(dims, widths, point, strict=True)):
        q = np.ascontiguousarray(_offsets(red_cost[:, m], w, ups[j]))
        B = pt // w
        f_max, b_max = extreme_offsets(n_st, chain.r_in, chain.r_out, q, -1)
        _, b_min = extreme_offsets(n_st, chain.r_in, chain.r_out, q, 1)
        S = B + b_max  # b_max holds minus the dearest completion
        H = np.minimum(-f_max, B - b_min)
        qs.append(q)
        Ss.append(np.ascontiguousarray(S))
        Hs.append(np.ascontiguousarray(H))
        caps.append(max(1, int((H - np.maximum(S + 1, 0) + 1).max())))
    ones = wts is None
    wts = np.ones(chain.n_rows) if ones else np.ascontiguousarray(wts, dtype=np.float64)
    order, slot, n_slots = dp_order(chain)
    if d == 1:
        v = window_dp1(order, slot, n_slots, caps[0], chain.out_ptr, chain.out_rows,
                       chain.r_in, qs[0], wts, Ss[0], Hs[0])
    else:
        v = window_dp2(order, slot, n_slots, caps[0], caps[1], chain.out_ptr, chain.out_rows,
                       chain.r_in, qs[0], qs[1], wts, Ss[0], Hs[0], Ss[1], Hs[1])
    deg = int(np.diff(chain.out_ptr).max()) + 1
    margin = (0.0 if ones and chain.total < EXACT_FLOAT
              else 2.0 * chain.n_seg * deg * (math.prod(caps) + sum(caps) + 2) * U)
    return float(v), margin


def _evaluate(chain, red_cost, dims, widths, tops, roundings, gterms):
    """values[i][t]: the CDF of term t's point under rounding i, with its margin: windowed
    DPs (one per term and rounding) where the terms are few, else one grid per rounding
    (a grid serves every term; three dims always use grids)."""
    if (len(dims) == 2 and len(gterms) <= 2) or (len(dims) == 1 and len(gterms) == 1):
        jobs = [(i, t) for i in range(len(roundings)) for t in range(len(gterms))]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futs = {job: pool.submit(window_count, chain, red_cost, dims, widths,
                                     [max(gterms[job[1]][1][m], 0) for m in dims],
                                     roundings[job[0]])
                    for job in jobs}
            res = {job: f.result() for job, f in futs.items()}
        return [[res[(i, t)] for t in range(len(gterms))] for i in range(len(roundings))]
    grids = run_grids(chain, red_cost, dims, widths, tops, roundings)
    return [[(g.cdf(pt), g.margin) for _, pt in gterms] for g in grids]


def _gcd(a: np.ndarray) -> int:
    g = int(np.gcd.reduce(a)) if a.size else 0
    return max(g, 1)


def choose_width(red_col: np.ndarray, top: int, target: int) -> int:
    """A bucket width for costs up to top: the costs' gcd when that gives at most ``target``
    buckets (exact), else a multiple of it near top / target."""
    g = _gcd(red_col)
    if top // g + 1 <= target:
        return g
    w = -(-top // max(target - 1, 1))
    return -(-w // g) * g


def grid_cells_allowed(chain: Chain) -> int:
    """Grid cells per state that the DP's pool of grids (two DPs at once) may hold."""
    n_slots = dp_order(chain)[2]
    return int(min(MAX_CELLS, MAX_BYTES // (16 * max(n_slots, 1))))


def _bucketed(chain, ext, red, tol, time_limit, t0, work=WORK):
    """Certified bounds by bucketed DPs, refined pass after pass.

    Each group of inclusion-exclusion terms bounded in the same metrics shares one grid.
    With several metrics, the first pass also runs, per metric, the DP rounded up in that
    metric only: the difference to the rounded-down DP is the share of the gap that metric's
    buckets cause. Later passes shrink each metric's width in proportion to its share (a
    gap shrinks about linearly with the width), within the time left and the memory."""
    terms = _corners(red)
    groups: dict[frozenset, list] = {}
    for sign, pt in terms:
        groups.setdefault(frozenset(pt), []).append((sign, pt))
    if max((len(g) for g in groups), default=0) > 3:
        raise ValueError("at most three metrics can be bounded at once in a count")
    red_cost = ext.reduced
    allowed = grid_cells_allowed(chain)
    target = FIRST_BUCKETS
    plan = {}
    for key, gterms in groups.items():
        if key:
            dims = sorted(key)
            tops = [max(max(pt[m] for _, pt in gterms), 0) for m in dims]
            widths = [choose_width(red_cost[:, m], t, target[len(dims)])
                      for m, t in zip(dims, tops, strict=True)]
            plan[key] = {"dims": dims, "tops": tops, "widths": widths, "band": None}
    history = []
    first = True
    done = 0  # work spent: grid cells per state, summed over the passes
    while True:
        t_pass = time.perf_counter()
        lower = None
        low = 0.0
        high = 0.0
        exact = True
        cells_now = 0
        for key, gterms in groups.items():
            if not key:  # no bounded metric: the whole space
                low += sum(sign for sign, _ in gterms) * chain.total
                high += sum(sign for sign, _ in gterms) * chain.total
                continue
            pl = plan[key]
            dims, tops, widths = pl["dims"], pl["tops"], pl["widths"]
            d = len(dims)
            cells_now += math.prod(t // w + 1 for t, w in zip(tops, widths, strict=True))
            same = all(not np.any(red_cost[:, m] % w) for m, w in
                       zip(dims, widths, strict=True))
            mixed = first and d > 1 and not same
            roundings = [True] if same else [True, False]
            if mixed:
                roundings += [[i == j for i in range(d)] for j in range(d)]
            vals = _evaluate(chain, red_cost, dims, widths, tops, roundings, gterms)
            v_lo = vals[0]
            v_hi = vals[0] if same else vals[1]
            exact &= same and all(mg == 0.0 for _, mg in v_lo)
            if len(groups) == 1 and len(gterms) == 1 and gterms[0][0] > 0:
                # max bounds only: the lower bound counts one set, the paths whose rounded-up
                # costs fit (a control variate for a sampled estimate)
                lower = {"dims": list(dims), "widths": list(widths),
                         "point": [int(gterms[0][1][m]) for m in dims],
                         "count": v_lo[0][0], "margin": v_lo[0][1]}
            for t, (sign, _) in enumerate(gterms):
                # rounded up within the point: surely in; rounded down outside: surely out
                a = v_lo[t][0] * (1 - v_lo[t][1])
                z = v_hi[t][0] * (1 + v_hi[t][1])
                if sign > 0:
                    low += a
                    high += z
                else:
                    low -= z
                    high -= a
            if mixed:
                pl["band"] = [sum(abs(v_hi[t][0] - v[t][0]) for t in range(len(gterms)))
                              for v in vals[2:]]
            elif d == 1 and not same:
                pl["band"] = [sum(abs(v_hi[t][0] - v_lo[t][0]) for t in range(len(gterms)))]
        low_i = max(0, math.floor(low))
        high_i = min(chain.total, math.ceil(high))
        low_i = min(low_i, high_i)
        dt = time.perf_counter() - t_pass
        done += cells_now
        history.append({"widths": {tuple(METRIC_NAMES[m] for m in pl["dims"]): list(pl["widths"])
                                   for pl in plan.values()},
                        "cells": cells_now, "low": low_i, "high": high_i,
                        "seconds": round(dt, 4)})
        first = False
        best = (low_i, high_i, exact and low_i == high_i)
        best_lower = lower
        if best[2]:
            stop = "exact"
            break
        if high_i - low_i <= tol * max(low_i, 1):
            stop = "tolerance"
            break
        # the next widths: every metric's band down to an equal share of the allowed gap
        want = tol * max(low_i, 1) / 1.25
        n_bands = sum(len(pl["dims"]) for pl in plan.values())
        new = {}
        cells_new = 0
        for key, pl in plan.items():
            band = pl["band"] or [high_i - low_i] * len(pl["dims"])
            ws = []
            for m, w, bd in zip(pl["dims"], pl["widths"], band, strict=True):
                shrink = (want / n_bands) / bd if bd > 0 else 4.0
                g = _gcd(red_cost[:, m])
                w2 = max(g, int(w * min(shrink, 4.0)) // g * g)
                ws.append(w2)
            new[key] = ws
            cells_new += math.prod(t // w + 1 for t, w in zip(pl["tops"], ws, strict=True))
        # the work budget (deterministic), memory and an explicit time limit: a pass costs
        # about dt * growth**1.4 (the grids leave the caches)
        caps = {"work": float(work - done), "memory": float(allowed * max(len(plan), 1)),
                "growth": GROWTH * cells_now}
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            caps["time"] = (max(left, 0.0) / max(dt, 1e-4)) ** (1 / 1.4) * max(cells_now, 1)
        cap = min(caps.values())
        if cap < 1.25 * cells_now:
            stop = min(caps, key=caps.get)
            break
        cells_new_before = cells_new
        if cells_new > cap:
            s_ = (cells_new / cap) ** (1.0 / max(len(pl["dims"]) for pl in plan.values()))
            for key, pl in plan.items():
                new[key] = [max(_gcd(red_cost[:, m]), int(math.ceil(w * s_)))
                            for m, w in zip(pl["dims"], new[key], strict=True)]
            cells_new = sum(math.prod(t // w + 1 for t, w in zip(pl["tops"], new[k],
                                                                  strict=True))
                            for k, pl in plan.items())
        if cells_new < 1.25 * cells_now:
            stop = min(caps, key=caps.get) if cap < cells_new_before else "finest"
            break
        for key, pl in plan.items():
            old = pl["widths"]
            if pl["band"]:
                pl["band"] = [b_ * w2 / w for b_, w, w2 in zip(pl["band"], old, new[key],
                                                                 strict=True)]
            pl["widths"] = new[key]
    return best, history, best_lower, stop


# -- public entry points -----------------------------------------------------------------------
def count(chain: Chain, cons: dict, tol: float = 1e-3, time_limit: float | None = None,
          work: int = WORK, t0: float | None = None) -> Count:
    """Exact where a DP over distinct costs fits, else certified bounds refined within the
    work budget ``work`` (deterministic) and, when given, ``time_limit`` seconds counted from
    ``t0`` (default: now; the CLI passes its start, so that loading the kernels counts)."""
    t0 = time.perf_counter() if t0 is None else t0
    warm()
    ext = extremes_for(chain)
    red = _reduce(cons, ext)
    if red is None:
        return Count(0, 0, True, chain.total, "empty", time.perf_counter() - t0)
    if not red:
        return Count(chain.total, chain.total, True, chain.total, "paths",
                     time.perf_counter() - t0)
    if len(red) > 3:
        raise ValueError("at most three metrics can be bounded at once in a count")
    n = _count_exact(chain, ext, red)
    if n is not None:
        return Count(n, n, True, chain.total, "exact-dp", time.perf_counter() - t0)
    (low, high, exact), hist, lower, stop = _bucketed(chain, ext, red, tol, time_limit, t0,
                                                      work)
    return Count(low, high, exact, chain.total, "bucketed-dp", time.perf_counter() - t0,
                 {"passes": hist, "lower_set": lower, "work": sum(p["cells"] for p in hist)},
                 stopped_by=stop)


def bounds(chain: Chain) -> dict:
    ext = extremes_for(chain)
    out = {}
    for m, name in enumerate(METRICS):
        out[name] = {"min": int(ext.lo[m]), "max": int(ext.hi[m]),
                     "min_genes": ext.witness(m, "min"), "max_genes": ext.witness(m, "max")}
    return out
