"""Scoring throughput: candidates/s of scoring random candidates (genes in memory).

    python bench/throughput.py [--space ofa-mbv3-w1.0] [--n 1000000] [--repeats 7]
    python bench/throughput.py --all-spaces [--n 1000000] [--repeats 5]

Prints the one-off costs (numba compile or cache load, table build) apart from the steady
state, then the median over repeated runs for each way of scoring and thread count, with the
ratio to the interpreter on one thread measured in the same run:

- interpreter: the per-layer kernel (on --n-interp candidates: it is slow);
- tables, plain rows: the table engine over unpacked rows (the layout before packing);
- tables: the table engine as shipped (packed rows when they fit), two ways:
  ``space.score_arrays(genes)`` (checks the genes, allocates the outputs: the first touch of
  fresh output pages is part of the time) and ``space.scorer()(genes, out=...)`` (checks the
  genes, writes into preallocated arrays: how NAS loops and the streaming writer call it).

--all-spaces prints one row per built-in space: the engine ``auto`` picks (tables,
separable or interpreter), the one-off build, the median rate of ``scorer into out`` on 1
thread and on all threads, and the ratio to the baseline space (mbv2-style, measured first
in the same run), with the load average before and after; then the slowest space.
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
    ap.add_argument("--all-spaces", action="store_true",
                    help="one row per built-in space (the engine auto picks, its rate)")
    args = ap.parse_args()
    spaces = args.space or ["mbv2-style"]

    t0 = time.perf_counter()
    import nascost
    from nascost.kernels.jit import max_threads

    t_import = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {max_threads()}; python {platform.python_version()}")
    print(f"import nascost: {t_import * 1e3:.0f} ms")
    if args.all_spaces:
        all_spaces(nascost, args)
        return
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


BASELINE = "mbv2-style"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _rate(fn, n: int, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return n / statistics.median(ts)


def all_spaces(nascost, args) -> None:
    """One row per built-in space: engine, build, median rates, ratio to the baseline."""
    from tqdm import tqdm

    from nascost.kernels import api
    from nascost.kernels.jit import max_threads, set_threads

    names = [BASELINE] + [n for n in nascost.list_spaces() if n != BASELINE]
    top = max_threads()
    print(f"load average (1/5/15 min) before: {_load()}; {args.n:,} random candidates per "
          f"space ({args.n_interp:,} for the interpreter), median of {args.repeats}")
    rows = []
    base = None
    for name in tqdm(names, desc="spaces", unit="space"):
        space = nascost.load_space(name)
        t = time.perf_counter()
        scorer = space.scorer()
        build = time.perf_counter() - t
        engine = api.engine_name(scorer.tables)
        n = args.n if engine != "interpreter" else args.n_interp
        genes = space.sample(n, seed=0)
        out = api.empty_outputs(n)
        rates = []
        for threads in (1, top):
            previous = set_threads(threads)
            try:
                rates.append(_rate(lambda f=scorer, g=genes, o=out: f(g, out=o), n,
                                   args.repeats))
            finally:
                set_threads(previous)
        if base is None:
            base = rates[-1]
        segs = 0 if scorer.tables is None else scorer.tables.meta.shape[0]
        rows.append((name, space.size, engine, segs, build, rates[0], rates[-1],
                     rates[-1] / base))
    print(f"load average after: {_load()}")
    print(f"| space | candidates | engine | segments | build (s) | 1 thread | {top} threads "
          f"| vs {BASELINE} |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, size, engine, segs, build, r1, r2, ratio in rows:
        print(f"| {name} | {size:.3g} | {engine} | {segs} | {build:.2f} | {r1 / 1e6:.1f}M/s "
              f"| {r2 / 1e6:.1f}M/s | {ratio:.2f} |")
    multi = [r for r in rows if r[1] > 1]
    slow = min(multi, key=lambda r: r[6])
    print(f"slowest space with more than one candidate: {slow[0]} ({slow[2]}), "
          f"{slow[6] / 1e6:.1f}M candidates/s on {top} threads "
          f"({slow[7]:.2f}x {BASELINE} in the same run)")


if __name__ == "__main__":
    main()
