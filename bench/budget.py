"""Budget analytics on large spaces: count, bounds, histogram and 1M-sample draws.

    python bench/budget.py [--space ofa-mbv3-w1.0 --space mbv2-style] [--n 1000000]
                           [--check-n 10000000] [--repeats 3]

For each space: the one-off costs (numba compile or cache load, building the chain) apart
from the steady state (median of repeats); bounds; counts under one and two bounded metrics
with the certified gap; a 50-bin histogram; n uniform samples within a budget with their
acceptance rate; and the acceptance rate a plain rejection sampler would have had at the
same budgets (drawing raw gene arrays uniformly, as Once-for-All and NNI do: computed
exactly, as bounds, by the same DP weighted by the raw arrays per candidate). Last, the
counts' certified intervals (one and two bounded metrics) against independent estimates
from check-n raw uniform samples weighted to be uniform over canonical candidates.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np

CPU = {}  # the median CPU seconds (all threads) of the last timed call, by label


def timed(fn, repeats, label=None):
    """(result, median wall seconds) over repeats after one warm-up call; the median CPU
    seconds go to CPU[label] (on a shared machine, wall time includes waiting for a core)."""
    out = fn()
    ts = []
    cs = []
    for _ in range(repeats):
        t = time.perf_counter()
        c = time.process_time()
        out = fn()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    if label is not None:
        CPU[label] = statistics.median(cs)
    return out, statistics.median(ts)


def raw_acceptance(space, chain, metric, x):
    """Certified bounds on P(a raw uniform gene array is valid and has metric <= x)."""
    from nascost.budget import counting as C
    from nascost.budget.expectation import _Np, row_weights

    ext = C.extremes_for(chain)
    top = x - int(ext.lo[metric])
    if top < 0:
        return 0.0, 0.0
    probs = [np.full((1, int(c)), 1.0 / int(c)) for c in space.cardinalities]
    wts = row_weights(chain, probs, _Np)[0]
    w = C.choose_width(ext.reduced[:, metric], top, 1 << 15)
    lo = C.run_grid(chain, ext.reduced, [metric], [w], [top], True, wts)
    hi = C.run_grid(chain, ext.reduced, [metric], [w], [top], False, wts)
    return (float(lo.cells.sum()) * (1 - lo.margin), float(hi.cells.sum()) * (1 + hi.margin))


def quantile_budget(chain, metric, share):
    """A budget x with about ``share`` of the valid canonical candidates at or below it."""
    from nascost.budget import counting as C

    ext = C.extremes_for(chain)
    top = int(ext.hi[metric] - ext.lo[metric])
    w = C.choose_width(ext.reduced[:, metric], top, 1 << 15)
    g = C.run_grid(chain, ext.reduced, [metric], [w], [top], False)
    cum = np.cumsum(g.cells)
    b = int(np.searchsorted(cum, share * cum[-1]))
    return int(ext.lo[metric]) + w * b


def canonical_estimate(space, budgets, n, seed=0):
    """[(share, se)] per budget (a dict of max_/min_ bounds): the share of valid canonical
    candidates within it, estimated from n raw uniform gene arrays each weighted by 1 / (the
    raw arrays of its canonical candidate), +- 1 se. One pass over the samples."""
    num = np.zeros(len(budgets))
    den = 0.0
    parts = []
    cards = np.log(space.cardinalities.astype(np.float64))
    chunk = 1_000_000
    for i in range(0, n, chunk):
        g = space.sample(min(chunk, n - i), seed=seed + i)
        out = space.score_arrays(g)
        live = space.live_genes(g)
        logm = (~live * cards[None, :]).sum(axis=1)
        w = np.exp(-logm) * (out["status"] == 0)
        ins = []
        for bud in budgets:
            ok = np.ones(g.shape[0], dtype=bool)
            for k, v in bud.items():
                side, m = k.split("_", 1)
                ok &= (out[m] <= v) if side == "max" else (out[m] >= v)
            ins.append(w * ok)
        num += [a.sum() for a in ins]
        den += w.sum()
        parts.append((np.stack(ins), w))
    r = num / den
    ins = np.concatenate([a for a, _ in parts], axis=1)
    w = np.concatenate([b for _, b in parts])
    return [(float(r[j]), math.sqrt(((ins[j] - r[j] * w) ** 2).sum()) / den)
            for j in range(len(budgets))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", action="append", help="space name (repeatable)")
    ap.add_argument("--n", type=int, default=1_000_000, help="samples per draw")
    ap.add_argument("--check-n", type=int, default=10_000_000,
                    help="raw samples for the independent check of a count (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    import nascost
    from nascost.budget import chain_of
    from nascost.budget.chain import _CACHE
    from nascost.kernels.jit import max_threads
    from nascost.units import format_count

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numba threads {max_threads()}, load average {os.getloadavg()[0]:.1f}; "
          f"python {platform.python_version()}; import {time.perf_counter() - t0:.2f} s")
    names = args.space or [n for n in ("ofa-mbv3-w1.0", "mbv2-style")
                           if n in nascost.list_spaces()]
    if "ofa-mbv3-w1.0" not in nascost.list_spaces():
        print("ofa-mbv3-w1.0 is not a built-in space here: mbv2-style stands in for it")
    for name in names:
        space = nascost.load_space(name)
        t = time.perf_counter()
        chain = chain_of(space)
        t_first = time.perf_counter() - t
        def rebuild(s=space):  # chain_of from scratch (a chain, or a separable space's)
            _CACHE.pop(s.program, None)
            return chain_of(s)

        _, t_build = timed(rebuild, args.repeats)
        chain = chain_of(space)
        print(f"\n{name}: {space.n_genes} genes, {space.size:.3g} gene arrays, "
              f"{chain.total:,} valid canonical candidates ({chain.total:.3g})")
        print(f"  chain: {chain.n_seg} segments, {chain.n_states} states, {chain.n_rows} rows; "
              f"first build {t_first:.3f} s (incl. kernel compile or cache load), "
              f"steady {t_build:.3f} s")
        b, t_b = timed(lambda s=space: s.bounds(), args.repeats, "bounds")
        f_lo, f_hi = b["flops"]["min"], b["flops"]["max"]
        ok = all(int(space.score_arrays(b[m][f"{side}_genes"])[m][0]) == b[m][side]
                 for m in b for side in ("min", "max"))
        print(f"  bounds: {t_b * 1e3:.1f} ms; flops {format_count(f_lo)} .. "
              f"{format_count(f_hi)}, params {format_count(b['params']['min'])} .. "
              f"{format_count(b['params']['max'])}; witnesses attain them: {ok}")

        x_mid = quantile_budget(chain, 2, 0.5)
        x_tail = quantile_budget(chain, 2, 1e-6)
        p_mid = quantile_budget(chain, 0, 0.5)
        budgets = [("flops <= median", {"max_flops": x_mid}),
                   ("flops <= 1e-6 quantile", {"max_flops": x_tail}),
                   ("flops in [p10, p90]", {"min_flops": quantile_budget(chain, 2, 0.1),
                                            "max_flops": quantile_budget(chain, 2, 0.9)}),
                   ("flops, params <= medians", {"max_flops": x_mid, "max_params": p_mid})]
        if f_lo <= 400_000_000 and b["params"]["min"] <= 5_000_000:  # the usual mobile budget
            budgets.append(("flops <= 400M, params <= 5M",
                            {"max_flops": 400_000_000, "max_params": 5_000_000}))
        print("  count (tol 1e-3, time limit 1 s):")
        counts = {}
        for label, bud in budgets:
            c, t_c = timed(lambda s=space, bb=bud: s.count(**bb), args.repeats, "count")
            counts[label] = c
            what = ", ".join(f"{k}={format_count(v)}" for k, v in bud.items())
            share = c.low / c.total
            state = "exact" if c.exact else f"gap {c.gap:.3%}"
            print(f"    {label:<26} ({what}): {t_c:.3f} s (cpu {CPU['count']:.3f} s)  "
                  f"{state}  "
                  f"[{c.low:.6g}, {c.high:.6g}]  share {share:.3g}")
            if c.sampled is not None:
                sm = c.sampled
                print(f"      sampled estimate {sm.estimate:.6g} +- {sm.stderr / sm.estimate:.3%}"
                      f" (1 s.e.; {sm.draws:,} draws within {sm.primary}, "
                      f"{sm.accepted / sm.draws:.1%} in budget; included in the time above)")
        c2 = space.count(max_flops=x_mid, max_params=p_mid, time_limit=10.0)
        print(f"    two metrics with 10 s: gap {c2.gap:.3%} in {c2.seconds:.2f} s")
        h, t_h = timed(lambda s=space: s.histogram("flops", 50), args.repeats, "hist")
        print(f"  histogram (50 bins of flops): {t_h:.3f} s (cpu {CPU['hist']:.3f} s); "
              f"{'exact' if h.exact else f'bounds, total gap {h.gap:.3%}'}")
        print(f"  sample {args.n:,} (steady state, median of {args.repeats}):")
        for label, bud in budgets[:2] + budgets[3:]:
            (g, info), t_s = timed(lambda s=space, bb=bud: s.sample_within(
                args.n, seed=1, return_info=True, **bb), args.repeats, "sample")
            out = space.score_arrays(g)
            inside = bool((out["status"] == 0).all() and all(
                (out[k.split("_", 1)[1]] <= v).all() if k.startswith("max") else
                (out[k.split("_", 1)[1]] >= v).all() for k, v in bud.items()))
            lo, hi = raw_acceptance(space, chain, 2, bud["max_flops"])
            c = counts[label]
            print(f"    {label:<26}: {t_s:.3f} s (cpu {CPU['sample']:.3f} s; "
                  f"{args.n / t_s:,.0f}/s), acceptance {info.acceptance:.4f}, "
                  f"all in budget: {inside}")
            extra = " (flops bound only)" if len(bud) > 1 else ""
            print(f"      a plain rejection sampler would accept: raw gene arrays "
                  f"{lo:.3g} .. {hi:.3g}{extra}; uniform canonical {c.low / c.total:.3g}")
        if args.check_n:
            t = time.perf_counter()
            labels = ["flops <= median", "flops, params <= medians"]
            est = canonical_estimate(space, [dict(budgets)[lb] for lb in labels], args.check_n)
            dt = time.perf_counter() - t
            for lb, (r, se) in zip(labels, est, strict=True):
                c = counts[lb]
                lo, hi = c.low / c.total, c.high / c.total
                z = 0.0 if lo <= r <= hi else min(abs(r - lo), abs(r - hi)) / se
                print(f"  check ({lb}): share from {args.check_n:,} weighted raw samples "
                      f"{r:.6f} +- {se:.6f}; certified [{lo:.6f}, {hi:.6f}]; distance "
                      f"{z:.2f} se ({dt:.1f} s for both)")
                if c.sampled is not None:
                    e, e_se = c.sampled.estimate / c.total, c.sampled.stderr / c.total
                    print(f"    the count's sampled estimate {e:.6f} +- {e_se:.6f}: "
                          f"{(e - r) / math.hypot(se, e_se):+.2f} combined se from the check")

if __name__ == "__main__":
    main()
