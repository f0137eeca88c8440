"""Scoring throughput: candidates/s of scoring random candidates (genes in memory).

    python bench/throughput.py [--space ofa-mbv3-w1.0] [--n 1000000] [--repeats 7]

Prints the one-off costs (numba compile or cache load, table build) apart from the steady
state, then the median over repeated runs for each way of scoring and thread count, with the
ratio to the interpreter on one thread measured in the same run:

- interpreter: the per-layer kernel (on --n-interp candidates: it is slow);
- tables, plain rows: the table engine over unpacked rows (the layout before packing);
- tables: the table engine as shipped (packed rows when they fit), two ways:
  ``space.score_arrays(genes)`` (checks the genes, allocates the outputs: the first touch of
  fresh output pages is part of the time) and ``space.scorer()(genes, out=...)`` (checks the
  genes, writes into preallocated arrays: how NAS loops and the streaming writer call it).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", action="append", help="space name (repeatable)")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--n-interp", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    spaces = args.space or ["mbv2-style"]

    t0 = time.perf_counter()
    import nascost
    from nascost.kernels.jit import max_threads

    t_import = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {max_threads()}; python {platform.python_version()}")
    print(f"import nascost: {t_import * 1e3:.0f} ms")
    for name in spaces:
        run_space(nascost, name, args)


def run_space(nascost, name: str, args) -> None:
    from nascost.kernels.jit import max_threads
    from nascost.kernels.tables import tables_for
    from nascost.rules.conventions import resolve

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
    from nascost.kernels import api
    from nascost.kernels.jit import set_threads
    from nascost.kernels.tables import NO_WORDS

    c = resolve("seed")
    plain = None if tables is None else dataclasses.replace(tables, words=NO_WORDS)
    scorer = space.scorer()
    out = api.empty_outputs(args.n)
    gi = genes[:args.n_interp]
    ways = [
        ("interpreter", args.n_interp,
         lambda: space.score_arrays(gi, engine="interpreter")),
        ("tables, plain rows, into out", args.n,
         lambda: api.score_into(space.program, genes, c, 1, out, plain)),
        ("tables, score_arrays", args.n, lambda: space.score_arrays(genes)),
        ("tables, scorer into out", args.n, lambda: scorer(genes, out=out)),
    ]
    if tables is None:
        ways = ways[:1]
    elif tables.words.shape[0] == 0:
        print("  (rows do not pack into two words here: the engine uses plain rows)")
    rows = []
    base = None
    for label, n, fn in ways:
        for threads in sorted({1, max_threads()}):
            previous = set_threads(threads)
            fn()
            ts = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
            set_threads(previous)
            rate = n / statistics.median(ts)
            if base is None:
                base = rate
            rows.append((label, threads, rate, rate / base))
    print(f"  {'way':<30} {'threads':>7} {'candidates/s':>14} {'vs interp/1':>12}")
    for label, threads, rate, ratio in rows:
        print(f"  {label:<30} {threads:>7} {rate:>14,.0f} {ratio:>11.1f}x")
    a = space.score_arrays(genes[:200_000], engine="interpreter")
    b = space.score_arrays(genes[:200_000], engine="auto")
    same = all(np.array_equal(a[k], b[k]) for k in a)
    print(f"  engines agree on 200,000 candidates: {same}")


if __name__ == "__main__":
    main()
