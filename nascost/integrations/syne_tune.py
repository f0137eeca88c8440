"""Syne Tune adapter: a nascost space as a config space, and cost metrics in Syne Tune's
conventions.

    from nascost.integrations.syne_tune import config_space, evaluator

    cs = config_space(space)                           # {gene: choice(values)}
    cost = evaluator(space, max_flops="300M")          # f(config) -> {"flops", "params", ...,
                                                       #   "constraint": c <= 0 feasible}
    scheduler = RandomSearch(cs, metrics=["stand_in", "flops"], ...)

``config_space`` gives one ``choice`` per gene, named by the gene, over the gene's values
(a gene with a single choice is a constant, as Syne Tune expects). ``evaluator`` reads the
genes back from a config and returns the metrics to report: the cost metrics (objectives of
a multi-objective scheduler, ``metrics=[...]``) and one constraint value under
``constraint_attr`` with Syne Tune's sign convention (c(x) <= 0 feasible: the largest of the
budget's margins, nascost.integrations.budget). Syne Tune 0.16 (the release that installs
with numpy 2) has no constrained searcher; the value is what its earlier constrained
Bayesian optimisation (``constraint_attr``) reads, and a filter for any loop.
Needs ``pip install 'nascost[syne-tune]'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nascost.integrations.budget import COST_METRICS, BudgetCheck
from nascost.integrations.extras import require
from nascost.integrations.genes import options, row_from_values

__all__ = ["Evaluator", "config_space", "evaluator", "genes_of"]


def config_space(space) -> dict[str, Any]:
    """{gene name: syne_tune.config_space.choice(values)} (constants for one-choice genes)."""
    cs = require("syne_tune.config_space", "nascost.integrations.syne_tune")
    return {name: (cs.choice(opts) if len(opts) > 1 else opts[0])
            for name, opts in options(space).items()}


def genes_of(config: Mapping[str, Any], space) -> np.ndarray:
    """The genes row of a config drawn from ``config_space(space)`` (other keys ignored)."""
    return row_from_values(space, config, where="config")


class Evaluator:
    """``f(config) -> {metric: value}``: cost metrics and the budget's constraint value."""

    def __init__(self, check: BudgetCheck, metrics: tuple[str, ...], constraint_attr: str):
        self.check = check
        self.metrics = metrics
        self.constraint_attr = constraint_attr

    def margins(self, config: Mapping[str, Any]) -> np.ndarray:
        """Every constraint value (names: ``self.check.names``) of a config."""
        return self.check.margins(genes_of(config, self.check.space))

    def __call__(self, config: Mapping[str, Any]) -> dict[str, float]:
        genes = genes_of(config, self.check.space)
        scores = self.check.score(genes)
        out = {m: (float(scores[m][0]) if scores["status"][0] == 0 else float("inf"))
               for m in self.metrics}
        out[self.constraint_attr] = constraint_value(self.check.margins_of(scores)[0])
        return out


def constraint_value(margins: np.ndarray) -> float:
    """One c(x) from a candidate's margins (the last one is validity): the largest budget
    margin, and at least 1.0 for a candidate that cannot be built."""
    c = float(margins[:-1].max()) if margins.shape[0] > 1 else 0.0
    return max(c, 1.0) if margins[-1] > 0 else c


def evaluator(space, metrics: Sequence[str] = ("flops", "params"), *,
              constraint_attr: str = "constraint", max_flops: Any = None,
              max_params: Any = None, max_macs: Any = None, max_activations: Any = None,
              min_flops: Any = None, min_params: Any = None, min_macs: Any = None,
              min_activations: Any = None, convention: Any = "seed",
              relative: bool = True) -> Evaluator:
    """Metrics of a config in Syne Tune's conventions: each of ``metrics`` (inf for a
    candidate that cannot be built) and ``constraint_attr``: the largest constraint margin
    (<= 0 iff valid and within every bound; relative to each bound by default, so that
    several bounds compare). Report them with ``report(**metrics)`` or
    ``AskTellScheduler.tell``."""
    require("syne_tune", "nascost.integrations.syne_tune")
    metrics = tuple(metrics)
    bad = [m for m in metrics if m not in COST_METRICS]
    if bad:
        raise ValueError(f"metrics must be among {COST_METRICS}. Got {bad} instead.")
    if constraint_attr in metrics:
        raise ValueError(f"constraint_attr {constraint_attr!r} is also a metric name")
    check = BudgetCheck(space, convention=convention, relative=relative, max_flops=max_flops,
                        max_params=max_params, max_macs=max_macs,
                        max_activations=max_activations, min_flops=min_flops,
                        min_params=min_params, min_macs=min_macs,
                        min_activations=min_activations)
    return Evaluator(check, metrics, constraint_attr)
