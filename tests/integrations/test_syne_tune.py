"""nascost.integrations.syne_tune with real Syne Tune schedulers (ask/tell): configs map onto
genes, the reported metrics and constraint value come from space.score, and Syne Tune's
multi-objective searcher runs on them. Syne Tune 0.16 has no constrained searcher: the
constraint value follows its earlier c(x) <= 0 convention and is checked here directly."""

from __future__ import annotations

import numpy as np
import pytest
from syne_tune.config_space import Categorical
from syne_tune.optimizer.baselines import REA, RandomSearch
from syne_tune.optimizer.schedulers.ask_tell_scheduler import AskTellScheduler
from syne_tune.optimizer.schedulers.multiobjective.multi_objective_regularized_evolution import (  # noqa: E501
    MultiObjectiveRegularizedEvolution,
)
from syne_tune.optimizer.schedulers.single_fidelity_scheduler import SingleFidelityScheduler
from tiny_spaces import grouped_space  # tests/integrations is on sys.path

import nascost
from nascost.integrations.syne_tune import config_space, evaluator, genes_of


def _run(scheduler, ev, n):
    ask_tell = AskTellScheduler(scheduler)
    configs, results = [], []
    for _ in range(n):
        trial = ask_tell.ask()
        r = ev(trial.config)
        ask_tell.tell(trial, r)
        configs.append(dict(trial.config))
        results.append(r)
    return configs, results


def test_config_space_is_one_choice_per_gene():
    space = nascost.load_space("ofa-mbv3-w1.0")
    cs = config_space(space)
    assert list(cs) == space.gene_names
    for j, name in enumerate(space.gene_names):
        assert isinstance(cs[name], Categorical)
        assert list(cs[name].categories) == space.choices[j]


def test_random_search_round_trip_metrics_and_constraint():
    space = grouped_space()  # some candidates cannot be built
    ev = evaluator(space, ("flops", "params"), max_flops=500_000, min_params=800)
    configs, results = _run(RandomSearch(config_space(space), metrics=["flops"],
                                         random_seed=0), ev, 30)
    genes = np.array([space.genes_from_values({k: c[k] for k in space.gene_names})
                      for c in configs], dtype=np.uint8)
    t = space.score(genes)
    flops, params, st = (t.column(k).to_numpy() for k in ("flops", "params", "status"))
    for i, (c, r) in enumerate(zip(configs, results, strict=True)):
        assert np.array_equal(genes_of(c, space), genes[i])
        if st[i] != 0:
            assert r["flops"] == r["params"] == float("inf") and r["constraint"] >= 1.0
            continue
        assert (r["flops"], r["params"]) == (float(flops[i]), float(params[i]))
        # relative margins by default; the largest one is the constraint value
        expect = max(flops[i] / 500_000 - 1, (800 - params[i]) / 800)
        assert r["constraint"] == pytest.approx(expect, rel=1e-12, abs=1e-15)
        assert (r["constraint"] <= 0) == (flops[i] <= 500_000 and params[i] >= 800)
    assert (st != 0).any() and (st == 0).any()
    assert any(r["constraint"] <= 0 for r in results)
    assert any(0 < r["constraint"] < 1 for r in results)


def test_rea_and_multi_objective_evolution_run_on_the_metrics():
    space = nascost.load_space("mbv2-style")
    cs = config_space(space)
    ev = evaluator(space, ("flops",), max_flops="300M", relative=False)
    configs, results = _run(REA(cs, metric="flops", random_seed=0, population_size=6,
                                sample_size=3), ev, 20)
    t = space.score(np.array([genes_of(c, space) for c in configs]))
    assert [r["flops"] for r in results] == t.column("flops").to_numpy().astype(float).tolist()
    assert all(r["constraint"] == r["flops"] - 300e6 for r in results)

    def evaluate(config):  # two objectives: a stand-in (not accuracy) and FLOPs
        r = ev(config)
        return {"stand_in": -float(genes_of(config, space).sum()), **r}

    mo = SingleFidelityScheduler(cs, metrics=["stand_in", "flops"], searcher=(
        MultiObjectiveRegularizedEvolution(cs, population_size=6, sample_size=3,
                                           random_seed=0)), random_seed=0)
    configs, results = _run(mo, evaluate, 20)
    for c, r in zip(configs, results, strict=True):
        assert r["flops"] == float(space.score(genes_of(c, space))["flops"][0].as_py())


def test_evaluator_rejects_bad_arguments():
    space = grouped_space()
    with pytest.raises(ValueError, match="metrics must be among"):
        evaluator(space, ("latency",))
    with pytest.raises(ValueError, match="also a metric"):
        evaluator(space, ("flops",), constraint_attr="flops")
    with pytest.raises(KeyError, match="'groups'"):
        genes_of({"kernel": "3", "width": 8, "mult": 0.5}, space)
