"""The cost of checking scorer(genes, out=...)'s arrays (issue 14): microseconds per call.

    PYTHONPATH=$PWD python bench/scorer_out_check.py [--space mbv2-style] [--calls 20000]

Rows, each the median over --calls calls timed alone, measured in the same run: check_out
alone; the whole NAS-loop call scorer(genes, out=out) (genes check, out check, scoring); and
the unchecked score_into the call ends in. The 100-candidate call should stay within 20 us.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def per_call(fn, calls: int) -> float:
    for _ in range(200):
        fn()
    ts = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        fn()
        ts.append(time.perf_counter_ns() - t)
    return statistics.median(ts) / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="mbv2-style")
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()

    import nascost
    from nascost.kernels.api import check_out, empty_outputs, score_into

    a, b = np.zeros(100), np.zeros(100)
    floor = per_call(lambda: np.add(a, 1.0, out=b), args.calls)
    space = nascost.load_space(args.space)
    f = space.scorer()
    print(f"{args.space}: median us per call over {args.calls} calls; baseline in the same "
          f"run: np.add on 100 floats into out, {floor:.2f} us")
    print(f"{'batch':>6} {'check_out':>10} {'scorer(out=)':>13} {'score_into':>11}")
    for n in (1, 100, 1000):
        genes = space.sample(n, seed=n)
        out = empty_outputs(n)
        t_check = per_call(lambda o=out, n=n: check_out(o, n), args.calls)
        t_call = per_call(lambda g=genes, o=out: f(g, out=o), args.calls)
        t_raw = per_call(lambda g=genes, o=out: score_into(
            f.program, g, f.convention, f.batch, o, f.tables), args.calls)
        print(f"{n:>6} {t_check:>8.2f}us {t_call:>11.2f}us {t_raw:>9.2f}us")


if __name__ == "__main__":
    main()
