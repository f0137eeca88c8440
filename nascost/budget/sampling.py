"""Drawing candidates within a budget: uniformly over the valid canonical candidates (or per
cost bin), and mutations of given candidates conditioned on the budget.

The proposal is exact, not a rejection loop over the space: the reduced costs of one
metric (the *primary*, the most selective bounded one) are bucketed by a width w, rounded
down; suffix tables count, for every state and remaining budget in buckets, the weight of
the completions that fit; a path is then drawn segment by segment, each row with
probability proportional to its weight times the suffix count of the budget it leaves.
Every candidate within the budget has rounded-down costs within the bucketed window, so
the proposal covers the budget; candidates it draws whose exact costs miss the budget
(only those in the window's edge buckets, or outside another bounded metric) are rejected.
Rejecting draws from a distribution that is uniform (or proportional to the mutation
probabilities) over a superset leaves it exactly uniform (proportional) over the budget.
Weights are float64 integers, exact while the counts stay below 2**53; draws are exact
integers there (larger counts are drawn as a 53-bit fraction of the total).
"""

from __future__ import annotations

import logging
import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from nascost.budget.budget import describe_budget
from nascost.budget.chain import METRIC_NAMES, METRICS, Chain
from nascost.budget.counting import _reduce, choose_width, extremes_for, run_grid
from nascost.kernels.budget import extreme_offsets, sample_paths, suffix_tables
from nascost.units import format_count

log = logging.getLogger(__name__)

TABLE_CELLS = 1 << 23  # cumulative suffix table entries (float64) of one proposal
TARGET_BUCKETS = 1 << 12  # buckets of the primary metric's budget range
MIN_ACCEPTANCE = 1e-3  # below this (after MIN_TRIES proposals) sampling gives up
MIN_TRIES = 10_000
ROUND = 1 << 16  # proposals per round are at most this many times ...
MAX_ROUNDS = 64
DRAW_BATCH = 1 << 20  # draws per kernel call


class BudgetError(ValueError):
    """The budget admits no candidate, or too few for the sampler to find them."""


@dataclass
class SampleInfo:
    """How a sample was drawn: proposals, acceptance, the primary metric and its buckets."""

    n: int
    proposed: int
    accepted: int
    primary: str
    width: int
    budget: str
    strata: list = field(default_factory=list)  # (low, high, n drawn) per bin

    @property
    def acceptance(self) -> float:
        return self.accepted / max(self.proposed, 1)


class Proposal:
    """Cumulative suffix tables of one chain for one metric's bucketed reduced costs, up to
    the reduced budget hi_red, with optional row weights (default 1: uniform)."""

    def __init__(self, chain: Chain, metric: int, hi_red: int,
                 wts: np.ndarray | None = None, target: int = TARGET_BUCKETS):
        ext = extremes_for(chain)
        red = ext.reduced[:, metric]
        top = max(int(hi_red), 0)
        self.chain = chain
        self.metric = metric
        n_st = chain.n_states
        rows = np.diff(chain.in_ptr)
        rows[chain.end] = 1
        for _ in range(8):
            w = choose_width(red, top, target)
            q = np.ascontiguousarray(red // w)
            B = top // w
            _, b_min = extreme_offsets(n_st, chain.r_in, chain.r_out, q, 1)
            _, b_maxneg = extreme_offsets(n_st, chain.r_in, chain.r_out, q, -1)
            tab_lo = b_min
            tab_hi = np.maximum(tab_lo, np.minimum(B, -b_maxneg))
            size = int(((tab_hi - tab_lo + 1) * rows).sum())
            if size <= TABLE_CELLS or target <= 64:
                break
            target = max(64, int(target * TABLE_CELLS / size / 1.1))
        self.width = int(w)
        self.q = q
        self.B = int(B)
        resid = np.ascontiguousarray(red - q * w)
        fr, _ = extreme_offsets(n_st, chain.r_in, chain.r_out, resid, -1)
        self.rmax = int(-fr[chain.end])  # the most a path's rounding can hide
        self.tab_lo = np.ascontiguousarray(tab_lo)
        self.tab_hi = np.ascontiguousarray(tab_hi)
        self.rows0 = int(rows[0])
        self.tab_off = np.zeros(n_st, dtype=np.int64)
        np.cumsum(((tab_hi - tab_lo + 1) * rows)[:-1], out=self.tab_off[1:])
        self.tab = np.zeros(size, dtype=np.float64)
        self.reweight(wts)

    def reweight(self, wts: np.ndarray | None) -> Proposal:
        """Recompute the tables for other row weights (the layout stays)."""
        c = self.chain
        wts = (np.ones(c.n_rows, dtype=np.float64) if wts is None
               else np.ascontiguousarray(wts, dtype=np.float64))
        suffix_tables(c.bounds, c.in_ptr, c.r_out, self.q, wts, self.tab_off, self.tab_lo,
                      self.tab_hi, self.tab)
        return self

    def window(self, lo_red: int | None, hi_red: int) -> tuple[int, int]:
        """The bucket window [lo, hi] that every path with reduced cost in [lo_red, hi_red]
        falls in (its bucketed sum is at most hi_red // w, and at least
        (lo_red - rmax) / w rounded up)."""
        hi = min(int(hi_red) // self.width, self.B)
        lo = 0 if lo_red is None else max(0, -(-(int(lo_red) - self.rmax) // self.width))
        return lo, hi

    def sure_share(self, lo_red: int | None, hi_red: int) -> float:
        """The share of the window's weight in buckets whose paths all have reduced cost
        in [lo_red, hi_red] (a bucket sum b means a cost in [b w, b w + rmax]): a lower
        bound on the acceptance when this metric alone is bounded."""
        lo, hi = self.window(lo_red, hi_red)
        total = self.weight(lo, hi)
        if total <= 0:
            return 0.0
        s_lo = 0 if lo_red is None else -(-int(lo_red) // self.width)
        s_hi = (int(hi_red) - self.rmax) // self.width
        return self.weight(s_lo, s_hi) / total if s_hi >= s_lo else 0.0

    def weight(self, lo: int, hi: int) -> float:
        """The total weight of the paths whose bucketed cost is in [lo, hi]."""
        def at(c):
            if c < self.tab_lo[0]:
                return 0.0
            c = min(c, int(self.tab_hi[0]))
            return float(self.tab[self.tab_off[0] + (c - self.tab_lo[0] + 1) * self.rows0 - 1])

        return at(hi) - at(lo - 1)

    def draw(self, seed: int, index0: int, lo_w: np.ndarray, hi_w: np.ndarray,
             cons: dict | None = None, cost: np.ndarray | None = None):
        """(genes (n, n_genes), exact costs (n, 4), alive (n,) bool) of draws index0 ..
        index0 + n - 1 with bucketed cost in [lo_w[i], hi_w[i]]. With ``cons`` (the exact
        budget, {metric: (min, max)}), a draw stops as soon as its prefix cannot meet the
        bounds of the other metrics than this proposal's (alive False: it would be rejected;
        its genes and costs are not filled). The kernel
        runs DRAW_BATCH at a time: its scratch, the rows picked per segment, stays bounded.
        ``cost`` replaces the chain's row costs summed into the returned costs (columns of
        the bounded metrics must stay those of the chain: the early checks read them)."""
        c = self.chain
        row_cost = c.cost if cost is None else cost
        n = lo_w.shape[0]
        genes = np.zeros((n, c.n_genes), dtype=np.uint8)
        cost = np.empty((n, row_cost.shape[1]), dtype=np.int64)
        alive = np.empty(n, dtype=np.uint8)
        lo_w = np.ascontiguousarray(lo_w, dtype=np.int64)
        hi_w = np.ascontiguousarray(hi_w, dtype=np.int64)
        # the primary metric's misses are only in the window's edge buckets: not checked
        early = {m: v for m, v in (cons or {}).items() if m != self.metric}
        chk, c_lo, c_hi, c_min, c_max = _early_checks(c, early)
        for a in range(0, n, DRAW_BATCH):
            z = min(n, a + DRAW_BATCH)
            sample_paths(np.uint64(seed), np.int64(index0 + a), c.n_seg, c.in_ptr, c.r_out,
                         self.q, row_cost, self.tab_off, self.tab_lo, self.tab_hi, self.tab,
                         lo_w[a:z], hi_w[a:z], c.set_genes, c.set_n, c.r_vals, chk, c_lo,
                         c_hi, c_min, c_max, genes[a:z], cost[a:z], alive[a:z])
        return genes, cost, alive.astype(bool)


def _early_checks(chain: Chain, cons: dict):
    """The kernel's early-rejection arrays for the bounded metrics of cons: indices, lower
    and upper bounds, and the cheapest and dearest completion of every state."""
    ext = extremes_for(chain)
    ms = sorted(cons)
    lo = np.array([-1 if cons[m][0] is None else cons[m][0] for m in ms], dtype=np.int64)
    hi = np.array([2**62 if cons[m][1] is None else cons[m][1] for m in ms], dtype=np.int64)
    c_min = np.ascontiguousarray(ext.bmin[:, ms], dtype=np.int64)
    c_max = np.ascontiguousarray(ext.bmax[:, ms], dtype=np.int64)
    return np.array(ms, dtype=np.int64), lo, hi, c_min, c_max


_PROPOSALS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
KEEP_PROPOSALS = 4  # uniform proposals kept per chain (a repeated budget reuses its tables)
# and at most this many bytes of them over all chains: a proposal of OFA or mbv2-style holds
# about 40 MiB, and built-in spaces (with their chains) live for the whole process, so
# without a global bound a process that samples many spaces (the test suite) kept GiBs
KEEP_BYTES = 256 << 20
_RECENT: OrderedDict = OrderedDict()  # (weakref to chain, key) -> bytes, oldest first


def _nbytes(prop: Proposal) -> int:
    return sum(v.nbytes for v in vars(prop).values() if isinstance(v, np.ndarray))


def uniform_proposal(chain: Chain, metric: int, top: int) -> Proposal:
    """The uniform Proposal of (chain, metric, top), built once and kept (a few per chain,
    KEEP_BYTES in all, the least recently used dropped first)."""
    per = _PROPOSALS.setdefault(chain, OrderedDict())
    key = (metric, int(top), TARGET_BUCKETS)
    ref = weakref.ref(chain)
    if key in per:
        per.move_to_end(key)
        if (ref, key) in _RECENT:
            _RECENT.move_to_end((ref, key))
        return per[key]
    prop = Proposal(chain, metric, top)
    per[key] = prop
    _RECENT[(ref, key)] = _nbytes(prop)
    while len(per) > KEEP_PROPOSALS:
        old, _ = per.popitem(last=False)
        _RECENT.pop((ref, old), None)
    total = sum(_RECENT.values())
    while total > KEEP_BYTES and len(_RECENT) > 1:
        (r, k), nb = _RECENT.popitem(last=False)
        total -= nb
        owner = r()
        if owner is not None and owner in _PROPOSALS:
            _PROPOSALS[owner].pop(k, None)
    return prop


def _in_budget(cost: np.ndarray, cons: dict) -> np.ndarray:
    ok = np.ones(cost.shape[0], dtype=bool)
    for m, (lo, hi) in cons.items():
        if lo is not None:
            ok &= cost[:, m] >= lo
        if hi is not None:
            ok &= cost[:, m] <= hi
    return ok


def infeasible(chain: Chain, cons: dict) -> BudgetError:
    ext = extremes_for(chain)
    ranges = "; ".join(f"{METRIC_NAMES[m]} {format_count(int(ext.lo[m]))} .. "
                       f"{format_count(int(ext.hi[m]))} ({int(ext.lo[m]):,} .. "
                       f"{int(ext.hi[m]):,})" for m in sorted(cons) or range(4))
    return BudgetError(f"no valid candidate meets the budget ({describe_budget(cons)}): the "
                       f"space spans {ranges}")


def _primary(chain: Chain, red: dict) -> int:
    """The bounded metric that keeps the smallest share of the space (by a coarse count)."""
    if len(red) == 1:
        return next(iter(red))
    ext = extremes_for(chain)
    best, best_share = None, math.inf
    for m, (lo, hi) in red.items():
        top = hi if hi is not None else int(ext.hi[m] - ext.lo[m])
        w = choose_width(ext.reduced[:, m], top, 512)
        g = run_grid(chain, ext.reduced, [m], [w], [top], up=False)
        cum = np.cumsum(g.cells)
        share = cum[-1] - (cum[(lo - 1) // w - 1] if lo is not None and (lo - 1) // w >= 1
                           else 0.0)
        if share < best_share:
            best, best_share = m, share
    return best


def draw_until(prop: Proposal, n: int, seed: int, index0: int, lo_w: int, hi_w: int,
               cons: dict, expect: float = 1.0):
    """n accepted draws in window [lo_w, hi_w] (buckets), exact costs within cons; the first
    n accepted in proposal order. Returns (genes, costs, proposed, next index)."""
    got_g = [np.zeros((0, prop.chain.n_genes), dtype=np.uint8)]
    got_c = [np.zeros((0, prop.chain.cost.shape[1]), dtype=np.int64)]
    have = 0
    proposed = 0
    idx = index0
    for _ in range(MAX_ROUNDS):
        if have >= n:
            break
        if proposed == 0:  # the expected acceptance: a little over the need
            acc = max(expect, MIN_ACCEPTANCE)
            m = math.ceil((n - have) / acc * 1.002) + 64
        else:
            acc = max(have / proposed, MIN_ACCEPTANCE)
            m = math.ceil((n - have) / acc * 1.05) + 16
        m = int(min(m, max(ROUND, 2 * (n - have))))
        lo = np.full(m, lo_w, dtype=np.int64)
        hi = np.full(m, hi_w, dtype=np.int64)
        genes, cost, alive = prop.draw(seed, idx, lo, hi, cons)
        ok = np.flatnonzero(alive & _in_budget(cost, cons))
        take = ok[:n - have]
        if take.shape[0] and take.shape[0] == n - have:
            used = int(take[-1]) + 1  # proposals up to the last one kept
        else:
            used = m
        proposed += used
        idx += used
        got_g.append(genes[take])
        got_c.append(cost[take])
        have += take.shape[0]
        if proposed >= MIN_TRIES and have < MIN_ACCEPTANCE * proposed:
            break
    if have < n:
        raise BudgetError(f"only {have} of {proposed} proposals met the budget (acceptance "
                          f"{have / max(proposed, 1):.2e}); the budget is too narrow for "
                          "the proposal of its primary metric")
    return np.concatenate(got_g), np.concatenate(got_c), proposed, idx


def parse_stratify(stratify) -> tuple[int, int] | None:
    if stratify is None:
        return None
    if isinstance(stratify, str):
        name, _, bins = stratify.partition(":")
        try:
            nb = int(bins)
        except ValueError:
            raise ValueError(f"stratify must look like 'flops:10'. Got {stratify!r} instead.") \
                from None
    else:
        name, nb = stratify
    if name not in METRICS:
        raise ValueError(f"stratify's metric must be one of {set(METRICS)}. Got {name!r}.")
    if int(nb) < 1:
        raise ValueError(f"stratify needs at least 1 bin. Got {nb}.")
    return METRICS.index(name), int(nb)


def sample_within(chain: Chain, n: int, cons: dict, seed: int = 0, stratify=None):
    """(genes (n, n_genes) uint8, SampleInfo): canonical candidates drawn uniformly from the
    valid ones within the budget, or uniformly within each of ``stratify``'s bins."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0. Got {n!r} instead.")
    n = int(n)
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in 0 .. 2**64 - 1. Got {seed}.")
    ext = extremes_for(chain)
    red = _reduce(cons, ext)
    if red is None:
        raise infeasible(chain, cons)
    strat = parse_stratify(stratify)
    if strat is not None:
        primary = strat[0]
    elif red:
        primary = _primary(chain, red)
    else:
        primary = 2
    lo_red, hi_red = red.get(primary, (None, None))
    span = int(ext.hi[primary] - ext.lo[primary])
    top = span if hi_red is None else hi_red
    prop = uniform_proposal(chain, primary, top)
    mn = int(ext.lo[primary])
    if strat is None:
        lo_w, hi_w = prop.window(lo_red, top)
        if prop.weight(lo_w, hi_w) <= 0:
            raise infeasible(chain, cons)
        # the acceptance lies between the sure share and 1 (one bounded metric): the
        # midpoint sizes the first round (a short second round makes up for a shortfall)
        expect = (1 + prop.sure_share(lo_red, top)) / 2 if len(red) <= 1 else 1.0
        genes, _, proposed, _ = draw_until(prop, n, seed, 0, lo_w, hi_w, cons, expect=expect)
        info = SampleInfo(n, proposed, n, METRIC_NAMES[primary], prop.width,
                          describe_budget(cons))
        return genes, info
    # strata: equal-width bins of the primary metric over its range within the budget
    nb = strat[1]
    a = (lo_red or 0)
    z = top
    edges = [a + ((z + 1 - a) * i) // nb for i in range(nb + 1)]
    bins = []
    for i in range(nb):
        lo_b, hi_b = edges[i], edges[i + 1] - 1
        if hi_b < lo_b:
            continue
        lw, hw = prop.window(lo_b if lo_b > 0 else None, hi_b)
        if prop.weight(lw, hw) > 0:
            bins.append((lo_b, hi_b, lw, hw))
    if not bins:
        raise infeasible(chain, cons)
    per = [n // len(bins) + (1 if i < n % len(bins) else 0) for i in range(len(bins))]
    parts = []
    proposed = 0
    idx = 0
    strata = []
    for (lo_b, hi_b, lw, hw), nn in zip(bins, per, strict=True):
        bc = dict(cons)
        old = bc.get(primary, (None, None))
        blo = lo_b + mn
        bhi = hi_b + mn
        bc[primary] = (blo if old[0] is None else max(old[0], blo),
                       bhi if old[1] is None else min(old[1], bhi))
        g, _, p, idx = draw_until(prop, nn, seed, idx, lw, hw, bc)
        parts.append(g)
        proposed += p
        strata.append((blo, bhi, nn))
    genes = np.concatenate(parts) if parts else np.zeros((0, chain.n_genes), np.uint8)
    info = SampleInfo(n, proposed, n, METRIC_NAMES[primary], prop.width, describe_budget(cons),
                      strata)
    return genes, info


@dataclass(frozen=True)
class Sampled:
    """An unbiased estimate of a count from uniform draws, and its standard error."""

    estimate: float
    stderr: float
    draws: int
    accepted: int
    primary: str
    control: bool = False  # the draws estimated only the count beyond the DP's lower set


def estimate_count(chain: Chain, cons: dict, n: int, seed: int = 0,
                   lower: dict | None = None) -> Sampled | None:
    """The count within the budget estimated from n draws of the exact uniform proposal of
    sample_within: the proposal's total weight W (exact DP) times the share of draws that
    meet the budget, unbiased, with the binomial standard error. None when the budget is
    empty or unbounded. Not certified: it complements the certified bounds where they are
    wide (several bounded metrics).

    ``lower`` (Count.detail["lower_set"], max bounds only) is the set a certified lower bound
    counted: the L paths whose reduced costs, bucketed and rounded up, fit. It lies within the
    budget, so the count is L plus the in-budget draws outside it, times W / n: the draws
    then only estimate the band between the bounds, a far smaller variance."""
    n = int(n)
    if n <= 0:
        raise ValueError(f"the number of draws must be >= 1. Got {n}.")
    ext = extremes_for(chain)
    red = _reduce(cons, ext)
    if not red:
        return None
    primary = _primary(chain, red)
    lo_red, hi_red = red[primary]
    top = int(ext.hi[primary] - ext.lo[primary]) if hi_red is None else hi_red
    prop = uniform_proposal(chain, primary, top)
    lo_w, hi_w = prop.window(lo_red, top)
    total = prop.weight(lo_w, hi_w)
    if total <= 0:
        return Sampled(0.0, 0.0, 0, 0, METRIC_NAMES[primary])
    free = [m for m in range(4) if m not in cons]
    use = lower is not None and len(lower["dims"]) <= len(free)
    cost = None
    if use:  # the rounded-up bucket sums ride in the columns of metrics the budget leaves free
        cost = chain.cost.copy()
        for j, (m, w) in enumerate(zip(lower["dims"], lower["widths"], strict=True)):
            cost[:, free[j]] = -(-ext.reduced[:, m] // w)
        cost = np.ascontiguousarray(cost)
        cost.setflags(write=False)  # the chain's costs are read-only: one kernel signature
    accepted = 0
    beyond = 0
    for a in range(0, n, DRAW_BATCH):
        m_ = min(n, a + DRAW_BATCH) - a
        _, c, alive = prop.draw(int(seed), a, np.full(m_, lo_w, dtype=np.int64),
                                np.full(m_, hi_w, dtype=np.int64), cons, cost=cost)
        ok = alive & _in_budget(c, cons)
        accepted += int(np.count_nonzero(ok))
        if use:
            inside = ok.copy()
            for j, (w, pt) in enumerate(zip(lower["widths"], lower["point"], strict=True)):
                inside &= c[:, free[j]] <= pt // w
            beyond += int(np.count_nonzero(ok & ~inside))
    if use:
        share = beyond / n
        est = lower["count"] + total * share
    else:
        share = accepted / n
        est = total * share
    return Sampled(est, total * math.sqrt(share * (1 - share) / n), n, accepted,
                   METRIC_NAMES[primary], use)


def mutate(chain: Chain, genes: np.ndarray, rate: float, seed: int, cons: dict,
           score, canonical, tries: int = 8) -> tuple[np.ndarray, dict]:
    """One neighbour per parent: every gene is redrawn with probability ``rate`` uniformly
    among its choices, the result canonicalised, conditioned on being valid and within the
    budget. A few direct proposals per parent first (scored by ``score(genes) -> dict``);
    parents still without an accepted neighbour get one drawn exactly from the conditional
    distribution (the budget DP weighted by the mutation probabilities), so no parent ever
    loops. Returns (neighbours, info)."""
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"rate must be in [0, 1]. Got {rate!r} instead.")
    rate = float(rate)
    ext = extremes_for(chain)
    red = _reduce(cons, ext)
    if red is None:
        raise infeasible(chain, cons)
    rng = np.random.default_rng(int(seed))
    parents = canonical(genes)
    n = parents.shape[0]
    cards = chain.cards
    out = np.zeros_like(parents)
    done = np.zeros(n, dtype=bool)
    proposed = 0
    for _ in range(tries):
        idx = np.flatnonzero(~done)
        if not idx.size:
            break
        p = parents[idx]
        flip = rng.random(p.shape) < rate
        new = np.floor(rng.random(p.shape) * cards[None, :]).astype(np.int64)
        x = canonical(np.where(flip, new, p).astype(np.uint8))
        sc = score(x)
        cost = np.stack([sc[m] for m in METRICS], axis=1)
        ok = (sc["status"] == 0) & _in_budget(cost, cons)
        proposed += idx.size
        out[idx[ok]] = x[ok]
        done[idx[ok]] = True
    left = np.flatnonzero(~done)
    if left.size:
        from nascost.budget.expectation import _Np, row_weights

        primary = _primary(chain, red) if red else 2
        lo_red, hi_red = red.get(primary, (None, None))
        span = int(ext.hi[primary] - ext.lo[primary])
        top = span if hi_red is None else hi_red
        prop = Proposal(chain, primary, top, target=1024)
        lo_w, hi_w = prop.window(lo_red, top)
        # one table per distinct parent, its weights the mutation probabilities
        uniq, inv = np.unique(parents[left], axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        for u in range(uniq.shape[0]):
            probs = []
            for g in range(chain.n_genes):
                v = np.full((1, int(cards[g])), rate / int(cards[g]))
                v[0, int(uniq[u, g])] += 1.0 - rate
                probs.append(v)
            prop.reweight(row_weights(chain, probs, _Np)[0])
            if prop.weight(lo_w, hi_w) <= 0:
                raise BudgetError(f"candidate {int(left[inv == u][0])} has no neighbour within "
                                  f"the budget ({describe_budget(cons)}) at rate {rate}")
            who = left[inv == u]
            g, _, p, _ = draw_until(prop, who.size, int(rng.integers(0, 2**63)), 0, lo_w,
                                    hi_w, cons)
            out[who] = g
            proposed += p
    return out, {"proposed": int(proposed), "direct": int(n - left.size),
                 "conditioned": int(left.size)}
