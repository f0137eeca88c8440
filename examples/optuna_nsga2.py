"""A budgeted search with Optuna's NSGA-II: maximise a stand-in score, minimise parameters,
subject to a FLOPs budget (nascost.integrations.optuna).

    python examples/optuna_nsga2.py --space mbv2-style --max-flops 300M --trials 300

Prints the feasible Pareto front (study.best_trials: Optuna keeps only trials whose
constraints are all <= 0) and checks every reported candidate against the budget by
re-scoring it. The objective is a STAND-IN (examples/stand_in.py), never accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna
from stand_in import LABEL, stand_in

import nascost
from nascost.integrations.optuna import constraints, genes_of, suggest
from nascost.units import format_count, parse_count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="mbv2-style")
    ap.add_argument("--max-flops", default="300M")
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--population", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    space = nascost.load_space(args.space)
    max_flops = parse_count(args.max_flops, "--max-flops")
    budget = constraints(space, max_flops=max_flops)
    scorer = space.scorer()

    def objective(trial):
        genes = suggest(trial, space)
        budget.set(trial)  # trial.set_constraint("flops <= 300M", ...); NSGA-II reads them
        s = scorer(genes[None, :])
        return float(stand_in(s)[0]), float(s["params"][0])

    sampler = optuna.samplers.NSGAIISampler(population_size=args.population, seed=args.seed)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    t = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    seconds = time.perf_counter() - t

    front = sorted(study.best_trials, key=lambda tr: tr.values[1])
    feasible = sum(all(v <= 0 for v in tr.constraints.values()) for tr in study.trials)
    print(f"space {space.name}: {args.trials} trials in {seconds:.1f} s, {feasible} within "
          f"flops <= {format_count(max_flops)}; feasible Pareto front: {len(front)} candidates")
    print(f"{'trial':>6} {LABEL:>42} {'params':>9} {'flops':>9}")
    genes = np.array([genes_of(tr, space) for tr in front], dtype=np.uint8).reshape(
        -1, space.n_genes)
    table = space.score(genes)  # re-scored: the budget must hold for every reported candidate
    flops = table.column("flops").to_numpy()
    status = table.column("status").to_numpy()
    for tr, f in zip(front, flops, strict=True):
        print(f"{tr.number:>6} {tr.values[0]:>42.4f} {format_count(tr.values[1]):>9} "
              f"{format_count(int(f)):>9}")
    over = [tr.number for tr, f, st in zip(front, flops, status, strict=True)
            if f > max_flops or st != 0]
    if over:
        print(f"BUDGET BROKEN by trials {over}")
        return 1
    print(f"budget held: every reported candidate has flops <= {format_count(max_flops)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
