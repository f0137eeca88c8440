"""nascost.integrations.optuna with real Optuna studies: suggested genes round-trip, the
constraint values are space.score margins, and Optuna's own feasibility logic (the trial's
constraints, study.best_trials) flags exactly the candidates over the budget or invalid."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.study._constrained_optimization import _CONSTRAINTS_KEY, _get_feasible_trials
from tiny_spaces import grouped_space  # tests/integrations is on sys.path

import nascost
from nascost.integrations.optuna import constraints, cost_objective, genes_of, suggest

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _scored(space, trials):
    genes = np.array([space.genes_from_values(t.params) for t in trials], dtype=np.uint8)
    t = space.score(genes)
    return genes, {k: t.column(k).to_numpy() for k in ("params", "flops", "status")}


def test_suggest_one_categorical_per_gene_named_by_the_gene():
    space = nascost.load_space("mbv2-style")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    rows = []

    def objective(trial):
        rows.append(suggest(trial, space))
        return 0.0

    study.optimize(objective, n_trials=20)
    for trial, row in zip(study.trials, rows, strict=True):
        assert list(trial.distributions) == space.gene_names
        for j, name in enumerate(space.gene_names):
            assert trial.distributions[name].choices == tuple(space.choices[j])
        # round trip: the returned row, the trial's params and genes_of agree
        assert np.array_equal(space.genes_from_values(trial.params), row)
        assert np.array_equal(genes_of(trial, space), row)


def test_constraints_set_on_the_trial_match_score_margins_and_feasibility():
    space = grouped_space()  # some candidates cannot be built
    budget = constraints(space, max_flops=500_000, min_params=800)

    def objective(trial):
        genes = suggest(trial, space)
        budget.set(trial)
        return float(genes.sum())

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=8))
    study.optimize(objective, n_trials=40)
    genes, s = _scored(space, study.trials)
    assert budget.names == ["params >= 800", "flops <= 500k", "valid"]
    for i, trial in enumerate(study.trials):
        assert trial.constraints == {
            "params >= 800": float(800 - s["params"][i]),
            "flops <= 500k": float(s["flops"][i] - 500_000),
            "valid": float(s["status"][i] != 0)}
        assert f"{_CONSTRAINTS_KEY}:valid" in trial.system_attrs
    ours = (s["flops"] <= 500_000) & (s["params"] >= 800) & (s["status"] == 0)
    theirs = {t.number for t in _get_feasible_trials(study.trials)}
    assert theirs == {t.number for t, ok in zip(study.trials, ours, strict=True) if ok}
    assert (s["status"] != 0).any() and (~ours).any() and ours.any()
    # the best trial Optuna reports is feasible
    assert ours[study.best_trial.number]


@pytest.mark.filterwarnings("ignore:`constraints_func` has been deprecated")
def test_nsga2_constraints_func_and_cost_objective():
    space = nascost.load_space("mbv2-style")
    cfunc = constraints(space, max_flops="250M")

    def stand_in(genes):  # a stand-in objective, not accuracy
        return float(genes.astype(np.int64).sum())

    sampler = optuna.samplers.NSGAIISampler(constraints_func=cfunc, population_size=10,
                                            seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(cost_objective(space, stand_in, ("flops",)), n_trials=40)
    genes, s = _scored(space, study.trials)
    for i, trial in enumerate(study.trials):
        assert trial.values == [stand_in(genes[i]), float(s["flops"][i])]
        assert trial.system_attrs[_CONSTRAINTS_KEY] == (float(s["flops"][i] - 250_000_000),
                                                        0.0)
    feasible = s["flops"] <= 250_000_000
    assert feasible.any() and (~feasible).any()
    front = study.best_trials
    assert front and all(feasible[t.number] for t in front)


def test_cost_objective_of_an_invalid_candidate_is_inf():
    space = grouped_space()
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.enqueue_trial({"kernel": "3", "width": 6, "groups": 4, "mult": 0.5})
    study.optimize(cost_objective(space, metrics=("flops", "params")), n_trials=1)
    assert study.trials[0].values == [float("inf"), float("inf")]
    with pytest.raises(ValueError, match="metrics must be among"):
        cost_objective(space, metrics=("latency",))
