"""Histograms of one metric over the whole space: exact counts per bin where the exact DP
fits, else certified bounds from the bucketed DP's cumulative grids (nascost.budget.counting),
refined within a deterministic work budget."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from nascost.budget.chain import METRIC_NAMES, Chain
from nascost.budget.counting import (
    GROWTH,
    HIST_WORK,
    choose_width,
    extremes_for,
    grid_cells_allowed,
    grid_pair,
    sparse_distribution,
    warm,
)


@dataclass(frozen=True)
class Histogram:
    """Counts of valid canonical candidates per bin [edges[i], edges[i+1]) (the last bin
    includes its right edge): exact (low == high) or certified bounds."""

    metric: str
    edges: np.ndarray  # (bins + 1,) int64
    low: np.ndarray  # (bins,) Python ints (object) or int64
    high: np.ndarray
    exact: bool
    total: int
    seconds: float = 0.0  # after the kernels are loaded (warm())

    @property
    def counts(self) -> np.ndarray:
        """The counts (the midpoint of the bounds where they are not exact)."""
        if self.exact:
            return self.low
        return (self.low.astype(float) + self.high.astype(float)) / 2

    @property
    def gap(self) -> float:
        """Sum of the bins' bound widths over the total."""
        return float(sum(int(h) - int(l_) for l_, h in zip(self.low, self.high, strict=True))
                     / max(self.total, 1))


def _edges(lo: int, hi: int, bins) -> np.ndarray:
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        if bins < 1:
            raise ValueError(f"bins must be >= 1. Got {bins} instead.")
        span = hi + 1 - lo
        return np.array([lo + (span * i) // int(bins) for i in range(int(bins) + 1)],
                        dtype=np.int64)
    e = np.asarray(bins, dtype=np.int64)
    if e.ndim != 1 or e.shape[0] < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("bins must be a count or an increasing list of integer edges")
    return e


def histogram(chain: Chain, metric: int, bins=50, tol: float = 1e-3,
              time_limit: float | None = None, work: int = HIST_WORK) -> Histogram:
    """Counts per bin of one metric over the whole space; bounded counts refined within the
    work budget ``work`` (cells per state over the passes: deterministic) and, when given,
    ``time_limit`` seconds."""
    t0 = time.perf_counter()
    warm()
    ext = extremes_for(chain)
    mn, mx = int(ext.lo[metric]), int(ext.hi[metric])
    edges = _edges(mn, mx, bins)
    if isinstance(bins, (int, np.integer)):
        edges[-1] = mx + 1  # the last bin includes the maximum
    nb = edges.shape[0] - 1
    # CDF(x) = #{cost <= x}; bin i = CDF(e[i+1] - 1) - CDF(e[i] - 1)
    res = sparse_distribution(chain, ext, [metric], {})
    if res is not None:
        c, n = res
        vals = c[:, 0] + mn
        pos = np.searchsorted(edges, vals, side="right") - 1
        ok = (pos >= 0) & (pos < nb)
        out = np.zeros(nb, dtype=object)
        for p, k in zip(pos[ok], n[ok], strict=True):
            out[p] += int(k)
        return Histogram(METRIC_NAMES[metric], edges, out, out.copy(), True, chain.total,
                         time.perf_counter() - t0)
    red_cost = ext.reduced
    top = mx - mn
    per = 1 << 14
    allowed = grid_cells_allowed(chain)
    done = 0
    while True:
        t_pass = time.perf_counter()
        w = choose_width(red_cost[:, metric], top, per)
        done += top // w + 1
        g_lo, g_hi, same = grid_pair(chain, red_cost, [metric], [w], [top])
        cum_lo = np.concatenate([[0.0], np.cumsum(g_lo.cells)])
        cum_hi = np.concatenate([[0.0], np.cumsum(g_hi.cells)])

        def cdf(cum, x, margin, w=w):
            if x < 0:
                return 0.0
            b = min(x // w + 1, cum.shape[0] - 1)
            return cum[b] * margin

        low = np.zeros(nb, dtype=object)
        high = np.zeros(nb, dtype=object)
        for i in range(nb):
            a, z = int(edges[i]) - 1 - mn, int(edges[i + 1]) - 1 - mn
            lo_v = cdf(cum_lo, z, 1 - g_lo.margin) - cdf(cum_hi, a, 1 + g_hi.margin)
            hi_v = cdf(cum_hi, z, 1 + g_hi.margin) - cdf(cum_lo, a, 1 - g_lo.margin)
            low[i] = max(0, math.floor(lo_v))
            high[i] = min(chain.total, math.ceil(hi_v))
        exact = same and g_lo.margin == 0.0
        h = Histogram(METRIC_NAMES[metric], edges, low, high, exact, chain.total,
                      time.perf_counter() - t0)
        dt = time.perf_counter() - t_pass
        if exact or h.gap <= tol or per >= allowed:
            return h
        factor = min(h.gap / tol * 1.25, GROWTH, (work - done) / max(per, 1))
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            factor = min(factor, left / (1.5 * max(dt, 1e-4)))
        if factor < 1.25:
            return h
        per = int(min(per * factor, allowed))
