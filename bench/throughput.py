"""Scoring throughput: candidates/s of space.score on random candidates (genes in memory).

    python bench/throughput.py [--space mbv2-style] [--n 1000000] [--repeats 5]

Prints the one-off costs (numba compile or cache load, table build) apart from the steady
state, then the median over repeated runs for each engine and thread count, with the ratio
to the interpreter on one thread measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", action="append", help="space name (repeatable)")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    spaces = args.space or ["mbv2-style"]

    t0 = time.perf_counter()
    import nascost
    from nascost.kernels.jit import max_threads
    from nascost.kernels.tables import tables_for
    from nascost.rules.conventions import resolve

    t_import = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {max_threads()}; python {platform.python_version()}")
    print(f"import nascost: {t_import * 1e3:.0f} ms")
    for name in spaces:
        space = nascost.load_space(name)
        genes = space.sample(args.n, seed=0)
        t = time.perf_counter()
        space.score_arrays(genes[:10], engine="interpreter")
        t_jit = time.perf_counter() - t
        t = time.perf_counter()
        tables = tables_for(space.program, resolve("seed"))
        t_tables = time.perf_counter() - t
        t = time.perf_counter()
        space.score_arrays(genes[:10], engine="tables")
        t_jit2 = time.perf_counter() - t
        print(f"\n{name}: {space.n_genes} genes, {space.size:.3g} gene arrays, "
              f"{space.program.n_instr} instructions")
        print(f"  first interpreter call (compile or cache load): {t_jit * 1e3:.0f} ms; "
              f"table build: {t_tables * 1e3:.1f} ms "
              f"({0 if tables is None else tables.n_rows} rows, "
              f"{0 if tables is None else len(tables.segs)} segments); "
              f"first table-kernel call: {t_jit2 * 1e3:.0f} ms")
        rows = []
        base = None
        for engine in ("interpreter", "tables"):
            for threads in sorted({1, max_threads()}):
                ts = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    space.score_arrays(genes, engine=engine, threads=threads)
                    ts.append(time.perf_counter() - t)
                rate = args.n / statistics.median(ts)
                if base is None:
                    base = rate
                rows.append((engine, threads, rate, rate / base))
        print(f"  {'engine':<12} {'threads':>7} {'candidates/s':>14} {'vs interp/1':>12}")
        for engine, threads, rate, ratio in rows:
            print(f"  {engine:<12} {threads:>7} {rate:>14,.0f} {ratio:>11.1f}x")
        a = space.score_arrays(genes[:200_000], engine="interpreter")
        b = space.score_arrays(genes[:200_000], engine="tables")
        same = all(np.array_equal(a[k], b[k]) for k in a)
        print(f"  engines agree on 200,000 candidates: {same}")


if __name__ == "__main__":
    main()
