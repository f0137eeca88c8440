"""Latency tables on this CPU: build time, accuracy against end-to-end timings, and the cost
of the latency column when scoring.

    python bench/latency_lut.py                       # the issue's settings (quiet machine)
    python bench/latency_lut.py --repeats 5 --warmup 2 --n 60 --spaces mbv2-style

For each space: build the table (blocks timed in context), validate it on N random
candidates timed end to end in the same session, print the error table; then score 1M
candidates with and without the latency column (best of 3). Figures, never assertions.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def overhead(space, table, n: int = 1 << 20) -> tuple[float, float]:
    """(candidates per second without, with latency), best of 3, after a warm-up call."""
    genes = space.sample(n, seed=7)
    space.score_arrays(genes[:1000])
    space.score_arrays(genes[:1000], latency=table)
    best = [float("inf"), float("inf")]
    for _ in range(3):
        for k, lat in enumerate((None, table)):
            t = time.perf_counter()
            space.score_arrays(genes, latency=lat)
            best[k] = min(best[k], time.perf_counter() - t)
    return n / best[0], n / best[1]


def main() -> None:
    from nascost.cli.cmd_lut import format_validation
    from nascost.latency.build import build_table
    from nascost.latency.validate import validate
    from nascost.spaces import load_builtin

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", default="ofa-mbv3-w1.0,mbv2-style")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="keep the tables in this folder")
    args = ap.parse_args()
    folder = args.out or tempfile.mkdtemp(prefix="nascost-lut-")
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
    for name in args.spaces.split(","):
        space = load_builtin(name)
        path = os.path.join(folder, f"{name}.parquet")
        t = time.perf_counter()
        table = build_table(space, path, threads=args.threads, repeats=args.repeats,
                            warmup=args.warmup, progress=True)
        build_s = time.perf_counter() - t
        print(f"\n{name}: {len(table)} distinct blocks timed in context in "
              f"{table.meta['candidates_timed']} candidates: build {build_s:.0f} s "
              f"(repeats {args.repeats}, warmup {args.warmup}, {args.threads} thread(s); "
              f"load {os.getloadavg()[0]:.2f})")
        v = validate(space, table, args.n, threads=args.threads, repeats=args.repeats,
                     warmup=args.warmup, progress=True)
        print(format_validation(name, v))
        print(f"load after validation: {os.getloadavg()[0]:.2f}")
        plain, with_lat = overhead(space, table)
        print(f"scoring 1M candidates: {plain / 1e6:.2f}M/s without latency, "
              f"{with_lat / 1e6:.2f}M/s with latency_us ({plain / with_lat - 1:+.1%} time)\n")
    np.set_printoptions()


if __name__ == "__main__":
    main()
