"""A budget as constraint values for search frameworks: c <= 0 is feasible.

One value per bound, in the order of nascost.budget.BUDGET_KEYS: ``metric - max`` for a
``max_*`` bound, ``min - metric`` for a ``min_*`` bound (divided by the bound when
``relative``), then one for validity: 0.0 for a valid candidate, 1.0 for one that cannot be
built (its counts are 0, so only this value flags it). Metrics are per sample (batch 1)
under the convention, scored by the space's fast scorer (``space.scorer()``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nascost.budget.budget import BUDGET_KEYS, parse_budget
from nascost.budget.chain import METRICS
from nascost.units import format_count

COST_METRICS = METRICS  # params, macs, flops, activations


class BudgetCheck:
    """Scores genes with the space's fast scorer and turns the budget into margins."""

    def __init__(self, space, *, convention: Any = "seed", relative: bool = False,
                 **budget: Any):
        cons = parse_budget(budget)
        self.space = space
        self.convention = convention
        self.relative = bool(relative)
        self.bounds: list[tuple[str, str, int]] = []  # (metric, "max" | "min", bound)
        for key in BUDGET_KEYS:
            side, metric = key.split("_", 1)
            pair = cons.get(METRICS.index(metric))
            if pair is not None and pair[0 if side == "min" else 1] is not None:
                self.bounds.append((metric, side, int(pair[0 if side == "min" else 1])))
        self.names: list[str] = [
            f"{m} {'<=' if side == 'max' else '>='} {format_count(v)}"
            for m, side, v in self.bounds] + ["valid"]
        self.scorer = space.scorer(convention)

    def __repr__(self) -> str:
        return f"BudgetCheck({self.space.name!r}, {', '.join(self.names)})"

    def score(self, genes: Any) -> dict[str, np.ndarray]:
        """params, macs, flops, activations (int64) and status (int8) of a genes batch."""
        g = np.asarray(genes)
        return self.scorer(g[None, :] if g.ndim == 1 else g)

    def margins_of(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        """(n, len(names)) float64 constraint values of scored candidates."""
        n = scores["status"].shape[0]
        out = np.empty((n, len(self.names)), dtype=np.float64)
        for k, (metric, side, bound) in enumerate(self.bounds):
            v = scores[metric].astype(np.float64)
            m = v - bound if side == "max" else bound - v
            out[:, k] = m / max(bound, 1) if self.relative else m
        out[:, -1] = (scores["status"] != 0).astype(np.float64)
        return out

    def margins(self, genes: Any) -> np.ndarray:
        """Constraint values: (len(names),) for one genes row, (n, len(names)) for a batch."""
        out = self.margins_of(self.score(genes))
        return out[0] if np.asarray(genes).ndim == 1 else out

    def feasible(self, genes: Any) -> np.ndarray | bool:
        """Whether each candidate is valid and within the budget."""
        ok = (self.margins(genes) <= 0).all(axis=-1)
        return bool(ok) if np.ndim(ok) == 0 else ok

    def costs(self, genes_row: Any, metrics: tuple[str, ...] = ("flops",)) -> tuple[float, ...]:
        """The metrics of one candidate as floats (inf for a candidate that cannot be built:
        as an objective to minimise, it is never preferred)."""
        for m in metrics:
            if m not in COST_METRICS:
                raise ValueError(f"metrics must be among {COST_METRICS}. Got {m!r} instead.")
        s = self.score(genes_row)
        if int(s["status"][0]) != 0:
            return tuple(float("inf") for _ in metrics)
        return tuple(float(s[m][0]) for m in metrics)
