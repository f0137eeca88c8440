"""Budgets: which metrics are bounded, and how; the extreme costs of a chain (potentials).

A budget is keyword arguments ``max_flops``, ``min_flops``, ``max_params``, ``min_params``,
``max_macs``, ``min_macs``, ``max_activations``, ``min_activations`` (inclusive bounds,
per sample, batch 1, under the chosen convention), each an int or a count with units
("400M"). Bounds that every candidate meets are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nascost.budget.chain import METRIC_NAMES, METRICS, Chain
from nascost.kernels.budget import extreme_paths
from nascost.units import format_count, parse_count

BUDGET_KEYS = tuple(f"{side}_{m}" for m in METRICS for side in ("max", "min"))


def metric_index(metric: str) -> int:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {set(METRICS)}. Got {metric!r} instead.")
    return METRICS.index(metric)


def parse_budget(budget: dict) -> dict[int, tuple[int | None, int | None]]:
    """{metric index: (min or None, max or None)} from the keyword arguments."""
    unknown = sorted(k for k in budget if k not in BUDGET_KEYS)
    if unknown:
        raise TypeError(f"unknown budget argument(s) {unknown}; the budget takes "
                        f"{', '.join(BUDGET_KEYS)}")
    out: dict[int, list] = {}
    for key, value in budget.items():
        if value is None:
            continue
        side, metric = key.split("_", 1)
        v = parse_count(value, key) if not isinstance(value, (np.integer,)) else int(value)
        if v < 0:
            raise ValueError(f"{key} must be >= 0. Got {v} instead.")
        pair = out.setdefault(METRICS.index(metric), [None, None])
        pair[0 if side == "min" else 1] = v
    for m, (lo, hi) in out.items():
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_{METRICS[m]} ({format_count(lo)}) is above max_{METRICS[m]} "
                             f"({format_count(hi)}): the budget is empty")
    return {m: (lo, hi) for m, (lo, hi) in out.items()}


def _fmt(m: int, v: int) -> str:
    if m == len(METRICS):  # latency, in nanoseconds
        from nascost.units import format_time_ns

        return format_time_ns(v)
    return format_count(v)


def describe_budget(cons: dict[int, tuple[int | None, int | None]]) -> str:
    parts = []
    for m, (lo, hi) in sorted(cons.items()):
        if lo is not None and hi is not None:
            parts.append(f"{_fmt(m, lo)} <= {METRIC_NAMES[m]} <= {_fmt(m, hi)}")
        elif hi is not None:
            parts.append(f"{METRIC_NAMES[m]} <= {_fmt(m, hi)}")
        elif lo is not None:
            parts.append(f"{METRIC_NAMES[m]} >= {_fmt(m, lo)}")
    return ", ".join(parts) or "no budget"


@dataclass(frozen=True, eq=False)
class Extremes:
    """Exact extreme path costs of a chain, per state and metric."""

    chain: Chain
    fmin: np.ndarray  # (n_states, 4) cheapest prefix
    amin: np.ndarray  # its last row
    bmin: np.ndarray  # cheapest suffix
    fmax: np.ndarray
    amax: np.ndarray
    bmax: np.ndarray

    @property
    def lo(self) -> np.ndarray:
        """(4,) the cheapest candidate's cost per metric."""
        return self.fmin[self.chain.end]

    @property
    def hi(self) -> np.ndarray:
        return self.fmax[self.chain.end]

    @cached_property
    def reduced(self) -> np.ndarray:
        """(n_rows, 4) reduced costs c + fmin[in] - fmin[out] >= 0: along a path they sum to
        the path's cost minus the minimum."""
        c = self.chain
        return np.ascontiguousarray(c.cost + self.fmin[c.r_in] - self.fmin[c.r_out])

    def witness(self, metric: int, which: str) -> np.ndarray:
        """The genes of a candidate attaining the min or max of a metric."""
        from nascost.budget.chain import decode_rows

        arg = self.amin if which == "min" else self.amax
        c = self.chain
        rows = np.zeros((1, c.n_seg), dtype=np.int64)
        s = c.end
        for k in range(c.n_seg - 1, -1, -1):
            r = int(arg[s, metric])
            rows[0, k] = r
            s = int(c.r_in[r])
        return decode_rows(c, rows)[0]


def extremes(chain: Chain) -> Extremes:
    total_max = chain.cost.max(axis=0).astype(np.float64) * chain.n_seg
    if total_max.max() >= 2.0**62:
        raise ValueError("this space's costs can pass 2**62: the budget analytics need "
                         "smaller totals")
    fmin, amin, bmin = extreme_paths(chain.n_states, chain.r_in, chain.r_out, chain.cost, 1)
    fneg, amax, bneg = extreme_paths(chain.n_states, chain.r_in, chain.r_out, chain.cost, -1)
    return Extremes(chain, fmin, amin, bmin, -fneg, amax, -bneg)
