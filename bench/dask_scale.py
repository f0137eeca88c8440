"""Throughput of nascost score on a Dask LocalCluster (1 and 2 worker processes) against the
in-process run, measured in the same run on this machine.

    python bench/dask_scale.py [--n 4000000] [--chunk-size 500000] [--repeats 3]
                               [--max-flops 400M] [--workers 1,2]

Each setup writes the same run (N sampled candidates of mbv2-style, seed 0, a budget, one
part per chunk) to a fresh temporary directory:

- in-process: write_dataset in this process (numba on all cores, writer threads);
- dask local:W: a LocalCluster of W worker processes, one thread each, numba on
  cores / W threads in each (what `nascost score --dask local:W` starts).

Cluster start-up and a warm-up run (worker processes load the cached kernels and build
their tables) are timed apart; then each setup is run ``--repeats`` times and the table
shows medians: wall seconds, candidates/s, and the ratio of candidates/s to the
in-process run's. Every setup's dataset holds the same number of rows (checked).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPACE = "mbv2-style"


def timed_runs(write, options: dict, repeats: int, tmp: Path, tag: str):
    """A warm-up run, then ``repeats`` timed runs; returns (warm-up s, walls, rows)."""
    t0 = time.perf_counter()
    warm = dict(options, sample=min(options["sample"], 2 * options["chunk_size"]))
    write(tmp / f"{tag}-warm", warm)
    warmup = time.perf_counter() - t0
    walls, rows = [], set()
    for i in range(repeats):
        out = tmp / f"{tag}-{i}"
        t0 = time.perf_counter()
        res = write(out, options)
        walls.append(time.perf_counter() - t0)
        rows.add(res.rows)
        shutil.rmtree(out)
    return warmup, walls, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4_000_000)
    ap.add_argument("--chunk-size", type=int, default=500_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-flops", default="400M")
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()

    import nascost
    from nascost.io.distributed import connect
    from nascost.kernels.jit import max_threads

    options = dict(sample=args.n, seed=0, max_flops=args.max_flops,
                   chunk_size=args.chunk_size)
    results = []
    with tempfile.TemporaryDirectory(prefix="nascost-dask-bench-") as d:
        tmp = Path(d)

        def local(out, opts):
            return nascost.write_dataset(SPACE, out, **opts)

        warm, walls, rows = timed_runs(local, options, args.repeats, tmp, "local")
        results.append(("in-process", 1, max_threads(), 0.0, warm, walls, rows))
        for w in (int(x) for x in args.workers.split(",")):
            t0 = time.perf_counter()
            with connect(f"local:{w}") as client:
                start = time.perf_counter() - t0
                threads = sorted(set(client.run(
                    lambda: __import__("numba").get_num_threads()).values()))

                def on_dask(out, opts, client=client):
                    return nascost.write_dataset(SPACE, out, client=client, **opts)

                warm, walls, rows = timed_runs(on_dask, options, args.repeats, tmp,
                                               f"dask{w}")
            results.append((f"dask local:{w}", w, threads[0], start, warm, walls, rows))

    all_rows = set().union(*(r[6] for r in results))
    assert len(all_rows) == 1, f"the setups kept different row counts: {all_rows}"
    base = args.n / statistics.median(results[0][5])
    print(f"{SPACE}: {args.n:,} sampled candidates, seed 0, max_flops {args.max_flops}, "
          f"chunk {args.chunk_size:,} positions, {all_rows.pop():,} rows kept; "
          f"{os.cpu_count()} cores; medians of {args.repeats} runs")
    print()
    print("| setup | workers | numba threads/worker | cluster start s | warm-up s "
          "| median s | candidates/s | vs in-process |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, w, threads, start, warm, walls, _ in results:
        med = statistics.median(walls)
        rate = args.n / med
        print(f"| {name} | {w} | {threads} | {start:.2f} | {warm:.2f} | {med:.3f} "
              f"| {rate / 1e6:.2f}M | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
