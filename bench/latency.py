"""NAS-loop latency: microseconds per call of space.scorer() on small batches.

    python bench/latency.py [--space mbv2-style] [--calls 5000]

An evolutionary or RL search scores a batch of candidates per step from Python, so the cost
that matters is the whole call: checking the genes, dispatching, scoring. Each row is the
median over --calls calls (each timed alone) of the scorer with and without preallocated
outputs, and of the interpreter engine's scorer, next to a baseline measured in the same run:
one small numpy call (np.add into an out array), the floor of any call from Python.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def per_call(fn, calls: int) -> float:
    for _ in range(50):
        fn()
    ts = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        fn()
        ts.append(time.perf_counter_ns() - t)
    return statistics.median(ts) / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", action="append", help="space name (repeatable)")
    ap.add_argument("--calls", type=int, default=5000)
    args = ap.parse_args()

    import nascost

    a = np.zeros(100)
    b = np.zeros(100)
    floor = per_call(lambda: np.add(a, 1.0, out=b), args.calls)
    print(f"baseline: np.add on 100 floats into out: {floor:.2f} us per call")
    for name in args.space or ["mbv2-style", "ofa-mbv3-w1.0"]:
        space = nascost.load_space(name)
        fast = space.scorer(convention="seed", batch=1)
        slow = space.scorer(convention="seed", batch=1, engine="interpreter")
        print(f"\n{name}")
        print(f"  {'batch':>6} {'scorer, out':>12} {'scorer':>10} {'interpreter':>12}"
              f" {'x baseline':>11}")
        for n in (1, 10, 100, 1000):
            genes = space.sample(n, seed=n)
            out = {k: np.empty(n, v.dtype) for k, v in fast(genes).items()}
            t_out = per_call(lambda g=genes, o=out, f=fast: f(g, out=o), args.calls)
            t_new = per_call(lambda g=genes, f=fast: f(g), args.calls)
            t_int = per_call(lambda g=genes, o=out, f=slow: f(g, out=o), max(50, args.calls // 10))
            print(f"  {n:>6} {t_out:>10.1f}us {t_new:>8.1f}us {t_int:>10.1f}us"
                  f" {t_out / floor:>10.1f}x")


if __name__ == "__main__":
    main()
