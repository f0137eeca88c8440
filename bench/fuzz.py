"""Fuzz the space loader and the kernels with mutated built-in spaces; print counts by outcome.

    PYTHONPATH=$PWD python bench/fuzz.py --n 5000 [--start 0] [--workers 1]

Each case (seeded, so any one can be replayed with --start S --n 1 --verbose) mutates a
built-in space's JSON (deleted keys, wrong types, extreme integers, unknown ops, dangling
references, deep nesting, invalid bytes; tests/fuzz_spaces.py) and checks it: loading raises
nothing but SpaceError; a loaded space scores without raising; the interpreter and the table
engine equal the slow reference, status included. Cases run in child processes, so a crash
(a signal) is counted, not fatal. Outcomes that should be 0: exception, crash, mismatch.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

BAD = ("exception", "crash", "mismatch")


def worker(start: int, stop: int) -> None:
    """Run cases start..stop-1, one JSON line each on stdout (flushed: a crash loses none)."""
    import traceback

    from fuzz_spaces import check_case, make_case

    for seed in range(start, stop):
        space, kinds, data = make_case(seed)
        rec = {"seed": seed, "space": space, "kinds": kinds}
        try:
            rec["outcome"] = check_case(seed, data)
        except AssertionError as e:
            rec.update(outcome="mismatch", detail=str(e)[:500])
        except Exception as e:  # noqa: BLE001 - counting every other exception is the point
            rec.update(outcome="exception", detail=f"{type(e).__name__}: {str(e)[:300]}",
                       where=traceback.format_exc(limit=-3)[-600:])
        print(json.dumps(rec), flush=True)


def run_span(start: int, stop: int, progress, records: list[dict]) -> list[dict]:
    """Cases start..stop-1 in child processes; a child killed by a signal is a crash of the
    case after its last reported one, and a new child goes on from the next."""
    nxt = start
    while nxt < stop:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(nxt), str(stop)],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                rec = json.loads(line)
                records.append(rec)
                nxt = rec["seed"] + 1
                progress(rec)
        finally:
            if proc.poll() is None and nxt < stop:  # interrupted: stop the child too
                proc.kill()
        rc = proc.wait()
        if nxt < stop and rc != 0:
            from fuzz_spaces import make_case

            space, kinds, _ = make_case(nxt)
            rec = {"seed": nxt, "space": space, "kinds": kinds, "outcome": "crash",
                   "detail": f"exit code {rc}"}
            records.append(rec)
            progress(rec)
            nxt += 1
    return records


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="cases (default 5000)")
    ap.add_argument("--start", type=int, default=0, help="first case seed (default 0)")
    ap.add_argument("--workers", type=int, default=1, help="child processes (default 1)")
    ap.add_argument("--verbose", action="store_true", help="print every case")
    ap.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    t0 = time.perf_counter()
    bar = tqdm(total=args.n, unit="case", file=sys.stderr)

    def progress(rec: dict) -> None:
        bar.update(1)
        if args.verbose or rec["outcome"] in BAD:
            tqdm.write(json.dumps(rec), file=sys.stderr)

    w = max(1, args.workers)
    edges = [args.start + args.n * k // w for k in range(w + 1)]
    spans: list[list[dict]] = [[] for _ in range(w)]
    stopped = ""
    try:
        if w == 1:
            run_span(edges[0], edges[1], progress, spans[0])
        else:
            with ThreadPoolExecutor(w) as pool:
                list(pool.map(lambda k: run_span(edges[k], edges[k + 1], progress, spans[k]),
                              range(w)))
    except KeyboardInterrupt:  # Ctrl-C: the counts of the cases done so far
        stopped = " (interrupted)"
    bar.close()
    records = [r for span in spans for r in span]
    elapsed = time.perf_counter() - t0
    by_outcome = collections.Counter(r["outcome"] for r in records)
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in records:
        for kind in set(r["kinds"].split("+")):
            by_kind[kind][r["outcome"]] += 1
    seeds = sorted(r["seed"] for r in records)
    span = f"seeds {seeds[0]}..{seeds[-1]}" if seeds else "none"
    print(f"fuzz: {len(records)} cases ({span}) in {elapsed:.0f} s{stopped}")
    print(f"{'outcome':<14}{'cases':>8}")
    for outcome in ("space_error", "ok", *BAD):
        print(f"{outcome:<14}{by_outcome.get(outcome, 0):>8}")
    print(f"\n{'mutation':<12}" + "".join(f"{o:>13}" for o in ("space_error", "ok", *BAD)))
    for kind in sorted(by_kind):
        print(f"{kind:<12}" + "".join(f"{by_kind[kind].get(o, 0):>13}"
                                      for o in ("space_error", "ok", *BAD)))
    bad = sum(by_outcome.get(o, 0) for o in BAD)
    print(f"\nnon-SpaceError exceptions: {by_outcome.get('exception', 0)}, crashes: "
          f"{by_outcome.get('crash', 0)}, kernel/reference mismatches: "
          f"{by_outcome.get('mismatch', 0)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
