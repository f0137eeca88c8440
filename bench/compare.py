"""nascost side by side with the tools users use today, on the same candidates, in one run.

    python bench/compare.py [--n 1000000] [--seconds 4] [--out bench/RESULTS.md]

For the OFA MobileNetV3 and NAS-Bench-201 spaces: nascost (tables and interpreter), a
straightforward numpy implementation of the same rules (bench/numpy_baseline.py), and
thop, torch.utils.flop_counter.FlopCounterMode, fvcore and ptflops run on the torch model
of each candidate (built with nascost.export.to_torch, as a user of those tools must build
it). Each row: candidates/s (median of repeats; the slow tools run for a few seconds on a
sample), the ratio to nascost, and whether every count agrees with nascost's flops under
the tool's preset (a benchmark that counts wrongly does not count).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy_baseline  # noqa: E402

import nascost  # noqa: E402
from nascost.kernels.jit import max_threads  # noqa: E402

SPACES = ("ofa-mbv3-w1.0", "nb201-cifar10")
TOOLS = (("thop", "thop"), ("FlopCounterMode", "torch"), ("fvcore", "fvcore"),
         ("ptflops (pytorch)", "ptflops"), ("ptflops (aten)", "ptflops_aten"))


def median_rate(fn, n, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return n / statistics.median(ts)


def tool_rate(space, genes, preset, seconds):
    """Candidates/s of build-model-then-count, and whether every count matched nascost."""
    from nascost.export import to_torch
    from nascost.export.peers import count

    expected = space.score_arrays(genes, convention=preset)["flops"]
    done, ok = 0, True
    t0 = time.perf_counter()
    for i, row in enumerate(genes):
        model = to_torch(space, row)
        got = count(preset, model, model.example_input(1))
        ok &= int(got) == int(expected[i]) and float(got) == float(expected[i])
        done += 1
        if time.perf_counter() - t0 > seconds and done >= 3:
            break
    return done / (time.perf_counter() - t0), ok, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="candidates for nascost")
    ap.add_argument("--n-numpy", type=int, default=50_000)
    ap.add_argument("--seconds", type=float, default=4.0, help="time per slow tool")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="also write the tables as markdown to this file")
    args = ap.parse_args()

    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores "
             f"(numba threads {max_threads()}), python {platform.python_version()}",
             f"command: python bench/compare.py --n {args.n} --seconds {args.seconds}", ""]
    for name in SPACES:
        space = nascost.load_space(name)
        genes = space.canonical(space.sample(args.n, seed=0))
        valid = space.score_arrays(genes[:2000])["status"] == 0
        few = genes[:2000][valid][:200]
        rows = []
        space.score_arrays(genes[:100])
        space.score_arrays(genes[:100], engine="interpreter")
        fast = median_rate(lambda s=space, g=genes: s.score_arrays(g), args.n, args.repeats)
        ref = space.score_arrays(genes[: args.n_numpy], engine="interpreter")
        rows.append(("nascost (tables)", fast, True, args.n))
        n_int = min(args.n, 200_000)
        head = genes[:n_int]
        interp = median_rate(lambda s=space, g=head: s.score_arrays(g, engine="interpreter"),
                             n_int, args.repeats)
        rows.append(("nascost (interpreter)", interp, True, n_int))
        sub = genes[: args.n_numpy]
        got = numpy_baseline.score(space, sub)
        agree = all(np.array_equal(got[k], ref[k]) for k in ref)
        rate = median_rate(lambda s=space, g=sub: numpy_baseline.score(s, g), len(sub), 3)
        rows.append(("numpy, vectorised", rate, agree, len(sub)))
        for label, preset in TOOLS:
            try:
                rate, agree, done = tool_rate(space, few, preset, args.seconds)
            except ImportError as e:
                rows.append((f"{label} (not installed: {e})", float("nan"), False, 0))
                continue
            rows.append((label, rate, agree, done))
        lines.append(f"### {name} ({space.size:.3g} gene arrays)")
        lines.append("")
        lines.append("| implementation | candidates | candidates/s | nascost is x faster "
                     "| counts agree |")
        lines.append("|---|---:|---:|---:|---|")
        for label, rate, agree, done in rows:
            ratio = fast / rate if rate == rate and rate > 0 else float("nan")
            lines.append(f"| {label} | {done:,} | {rate:,.1f} | {ratio:,.0f} | "
                         f"{'yes' if agree else 'NO'} |")
        lines.append("")
        print("\n".join(lines[-(len(rows) + 4):]), flush=True)
    text = "\n".join(lines)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
