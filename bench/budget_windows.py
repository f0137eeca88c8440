"""How much work a certified two-metric count needs: the windowed DP's cells, measured.

    python bench/budget_windows.py [--space ofa-mbv3-w1.0] [--max-flops 400M]
                                   [--max-params 5M] [--time-limit 1 10]

The windowed DP of nascost.budget.counting keeps, per state, a grid over the buckets whose
fate the rest of the chain can still change in both metrics; its work is the sum over rows
of its in-state's window cells. The certified gap shrinks about linearly with the bucket
widths. This script runs the count at the given time limits (the widths its last pass
reached and the gap), then, from the last widths, the widths a 0.1% gap would need (scaled
by gap / 0.1%) and the work of the windowed DP at those widths, from the exact window
sizes per state, beside the work it did at the reached widths and the seconds that took.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nascost
from nascost.budget import chain_of
from nascost.budget.budget import parse_budget
from nascost.budget.counting import _offsets, _reduce, extremes_for
from nascost.kernels.budget import extreme_offsets


def window_cells(chain, ext, metric: int, width: int, point: int) -> np.ndarray:
    """Per state: the number of buckets of the metric whose fate is still open."""
    q = np.ascontiguousarray(_offsets(ext.reduced[:, metric], width, True))
    f_max, b_max = extreme_offsets(chain.n_states, chain.r_in, chain.r_out, q, -1)
    _, b_min = extreme_offsets(chain.n_states, chain.r_in, chain.r_out, q, 1)
    B = point // width
    S = B + b_max
    H = np.minimum(-f_max, B - b_min)
    return np.maximum(H - np.maximum(S + 1, 0) + 1, 0).astype(np.float64)


def work(chain, ext, red, widths) -> tuple[float, float]:
    """(row-cells of one windowed DP, the largest window of a state) at widths (p, f)."""
    cells = np.ones(chain.n_states)
    for m, w in widths.items():
        cells *= window_cells(chain, ext, m, w, red[m][1])
    return float(cells[chain.r_in].sum()), float(cells.max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--space", default="ofa-mbv3-w1.0")
    ap.add_argument("--max-flops", default="400M")
    ap.add_argument("--max-params", default="5M")
    ap.add_argument("--time-limit", type=float, nargs="+", default=[1.0, 10.0])
    args = ap.parse_args()
    space = nascost.load_space(args.space)
    budget = {"max_flops": args.max_flops, "max_params": args.max_params}
    chain = chain_of(space)
    ext = extremes_for(chain)
    red = _reduce(parse_budget(budget), ext)
    space.count(**budget, time_limit=0.2, samples=0)  # warm-up
    print(f"{args.space}: flops <= {args.max_flops}, params <= {args.max_params}; "
          f"{chain.n_seg} segments, {chain.n_states} states, {chain.n_rows} rows")
    print(f"{'time limit':>10} {'widths (params, flops)':>24} {'gap':>8} {'seconds':>8} "
          f"{'row-cells':>10} {'max cells':>10}")
    last = None
    for tl in args.time_limit:
        t = time.perf_counter()
        c = space.count(**budget, time_limit=tl, samples=0)
        dt = time.perf_counter() - t
        wp, wf = c.detail["passes"][-1]["widths"][("params", "flops")]
        rc, mx = work(chain, ext, red, {0: wp, 2: wf})
        print(f"{tl:>10g} {f'{wp:,}, {wf:,}':>24} {c.gap:>8.3%} {dt:>8.2f} {rc:>10.3g} "
              f"{mx:>10.3g}")
        last = (wp, wf, c.gap, rc, dt)
    wp, wf, gap, rc, dt = last
    s = gap / 1e-3
    need = {0: max(8, int(wp / s)), 2: max(1, int(wf / s))}
    rc2, mx2 = work(chain, ext, red, need)
    print(f"for a 0.1% gap: widths about {need[0]:,} params and {need[2]:,} flops; the "
          f"windowed DP would do {rc2:.3g} row-cells (largest state window {mx2:.3g} cells), "
          f"{rc2 / rc:,.0f} times the {rc:.3g} of the last pass above ({dt:.2f} s in all)")


if __name__ == "__main__":
    main()
