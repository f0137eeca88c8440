"""Optuna adapter: suggest a candidate, a ready ``constraints_func``, cost as objectives.

    space = nascost.load_space("mbv2-style")
    budget = constraints(space, max_flops="300M")

    def objective(trial):
        genes = suggest(trial, space)
        budget.set(trial)                  # trial.set_constraint("flops <= 300M", ...)
        return my_score(genes)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.NSGAIISampler())

``suggest`` makes one ``suggest_categorical`` per gene, named by the gene, whose choices are
the gene's values; ``constraints`` reads those values back from the trial's params and
scores the candidate with the space's fast scorer. The same object is also a
``constraints_func`` for samplers that take one (deprecated since Optuna 5, still read).
Needs ``pip install 'nascost[optuna]'``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nascost.integrations.budget import BudgetCheck
from nascost.integrations.extras import require
from nascost.integrations.genes import options, row_from_values

__all__ = ["constraints", "cost_objective", "genes_of", "suggest"]


def suggest(trial: Any, space) -> np.ndarray:
    """The genes row (uint8 choice indices) of the candidate this trial suggests."""
    for name, opts in options(space).items():
        trial.suggest_categorical(name, opts)
    return genes_of(trial, space)


def genes_of(trial: Any, space) -> np.ndarray:
    """The genes row of a trial (Trial or FrozenTrial) whose params came from ``suggest``."""
    number = getattr(trial, "number", "?")
    return row_from_values(space, trial.params, where=f"trial {number}'s params")


class Constraints:
    """``constraints_func`` for Optuna samplers: the trial's constraint values (<= 0 feasible),
    one per bound and one for validity (see nascost.integrations.budget)."""

    def __init__(self, check: BudgetCheck):
        self.check = check

    @property
    def names(self) -> list[str]:
        return self.check.names

    def __call__(self, trial: Any) -> list[float]:
        return self.check.margins(genes_of(trial, self.check.space)).tolist()

    def set(self, trial: Any) -> list[float]:
        """Record the constraint values on a running trial, each under its name (Optuna 5's
        ``trial.set_constraint``; every constrained sampler reads them): call it in the
        objective after ``suggest``. Returns the values."""
        values = self(trial)
        for name, v in zip(self.names, values, strict=True):
            trial.set_constraint(name, v)
        return values

    def __repr__(self) -> str:
        return f"constraints({self.check.space.name!r}: {', '.join(self.names)})"


def constraints(space, *, max_flops: Any = None, max_params: Any = None,
                max_macs: Any = None, max_activations: Any = None, min_flops: Any = None,
                min_params: Any = None, min_macs: Any = None, min_activations: Any = None,
                convention: Any = "seed", relative: bool = False) -> Constraints:
    """A ``constraints_func(FrozenTrial) -> list[float]`` for NSGAIISampler, NSGAIIISampler,
    TPESampler, GPSampler...: ``metric - max`` per max bound, ``min - metric`` per min bound
    (divided by the bound when ``relative``: use it with several bounds, so that one metric's
    units do not drown the others), then 1.0 for a candidate that cannot be built, else 0.0.
    Bounds are ints or counts with units ("300M"), per sample, under ``convention``."""
    require("optuna", "nascost.integrations.optuna")
    return Constraints(BudgetCheck(
        space, convention=convention, relative=relative, max_flops=max_flops,
        max_params=max_params, max_macs=max_macs, max_activations=max_activations,
        min_flops=min_flops, min_params=min_params, min_macs=min_macs,
        min_activations=min_activations))


def cost_objective(space, objective: Callable[[np.ndarray], float] | None = None,
                   metrics: Sequence[str] = ("flops",), *, convention: Any = "seed"
                   ) -> Callable[[Any], tuple[float, ...]]:
    """An objective for a multi-objective study: ``f(trial)`` suggests the candidate and
    returns ``(objective(genes), *costs)`` (or only the costs without ``objective``); create
    the study with ``directions=[<objective's>, "minimize", ...]``. A candidate that cannot be
    built costs inf."""
    require("optuna", "nascost.integrations.optuna")
    check = BudgetCheck(space, convention=convention)
    metrics = tuple(metrics)
    check.costs(np.zeros(space.n_genes, np.uint8), metrics)  # checks the metric names

    def f(trial: Any) -> tuple[float, ...]:
        genes = suggest(trial, space)
        costs = check.costs(genes, metrics)
        return costs if objective is None else (float(objective(genes)), *costs)

    return f
