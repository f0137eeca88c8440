"""Regularized evolution under a FLOPs budget, batched: every generation mutates a batch of
tournament winners with ``space.mutate(..., max_flops=...)`` (children are always within the
budget: no rejection loop) and scores the whole batch with the fast scorer.

    python examples/evolution.py --space ofa-mbv3-w1.0 --max-flops 300M --generations 50

Prints the best candidate, the candidates evaluated per second (scoring alone, and the whole
loop with mutation), and checks every member of the final population against the budget by
re-scoring it. The fitness is a STAND-IN (examples/stand_in.py), never accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from stand_in import LABEL, stand_in

import nascost
from nascost.units import format_count, parse_count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="ofa-mbv3-w1.0")
    ap.add_argument("--max-flops", default="300M")
    ap.add_argument("--population", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=1024, help="children per generation")
    ap.add_argument("--tournament", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.1, help="per-gene mutation probability")
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    space = nascost.load_space(args.space)
    max_flops = parse_count(args.max_flops, "--max-flops")
    rng = np.random.default_rng(args.seed)
    scorer = space.scorer()  # tables and kernels ready before the loop

    # the initial population: exactly uniform over the candidates within the budget
    pop = space.sample_within(args.population, seed=args.seed, max_flops=max_flops)
    fit = stand_in(scorer(pop))
    best_g, best_f = pop[np.argmax(fit)].copy(), float(fit.max())
    out = nascost.kernels.api.empty_outputs(args.batch)
    scored, score_s = args.population, 0.0
    t0 = time.perf_counter()
    for gen in range(args.generations):
        # tournaments: the fittest of `tournament` random members, batch times over
        idx = rng.integers(0, len(pop), size=(args.batch, args.tournament))
        parents = pop[idx[np.arange(args.batch), np.argmax(fit[idx], axis=1)]]
        children = space.mutate(parents, args.rate, seed=args.seed * 1_000_003 + gen,
                                max_flops=max_flops)
        t = time.perf_counter()
        f = stand_in(scorer(children, out))
        score_s += time.perf_counter() - t
        scored += len(children)
        # regularized (aging) evolution: the children replace the oldest members
        pop = np.concatenate([pop[args.batch:], children])
        fit = np.concatenate([fit[args.batch:], f])
        if f.max() > best_f:
            best_g, best_f = children[np.argmax(f)].copy(), float(f.max())
    loop_s = time.perf_counter() - t0
    evolved = scored - args.population

    print(f"space {space.name}, flops <= {format_count(max_flops)}: {args.generations} "
          f"generations x {args.batch} children")
    print(f"candidates evaluated: {evolved:,} in {loop_s:.2f} s -> "
          f"{format_count(evolved / loop_s)}/s with mutation; scoring alone "
          f"{format_count(evolved / max(score_s, 1e-9))}/s")
    final = space.score(np.concatenate([pop, best_g[None, :]]))
    flops = final.column("flops").to_numpy()
    status = final.column("status").to_numpy()
    b = space.score(best_g)
    print(f"best {LABEL}: {best_f:.4f}; params {format_count(b['params'][0].as_py())}, "
          f"flops {format_count(b['flops'][0].as_py())}; genes {best_g.tolist()}")
    bad = int(np.count_nonzero((flops > max_flops) | (status != 0)))
    if bad:
        print(f"BUDGET BROKEN by {bad} of {len(flops)} reported candidates")
        return 1
    print(f"budget held: all {len(flops)} candidates of the final population (and the best) "
          f"have flops <= {format_count(max_flops)} (max {format_count(int(flops.max()))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
