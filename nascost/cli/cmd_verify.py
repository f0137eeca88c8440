"""nascost verify: check a result dataset against its manifest (parts present, sizes,
checksums, row counts); also the --force option that summary, query, pareto and plot share."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings

from nascost.cli.results_args import one_line_errors


def register(sub) -> None:
    p = sub.add_parser("verify", help="check a result dataset against its manifest")
    one_line_errors(p, "verify")
    p.add_argument("dir", metavar="DIR", help="a directory written by nascost score")
    p.add_argument("--quick", action="store_true",
                   help="sizes and row counts only, no checksums (what summary/query check)")
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.io.verify import verify

    r = verify(args.dir, checksums=not args.quick)
    what = "sizes, checksums and rows" if r.checksums else "sizes and rows"
    if r.ok:
        state = "complete" if r.complete else "incomplete (resume it to finish)" \
            if r.complete is False else "a single file"
        print(f"ok: {r.parts:,} part files, {r.rows:,} rows, {r.scanned:,} candidates "
              f"scanned; {what} match the manifest; run {state}")
        return 0
    for line in r.problems:
        print(f"damaged: {line}")
    print(f"{len(r.problems)} problem(s) in {args.dir}: `nascost score ... --resume` rescans "
          "the ranges of missing or damaged parts", file=sys.stderr)
    return 1


def add_force_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="read a dataset that does not match its manifest (warns)")


@contextlib.contextmanager
def dataset_warnings(command: str):
    """Print the library's DatasetWarnings (a forced read of a damaged dataset) as one
    loud line each on stderr."""
    from nascost.io.verify import DatasetWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DatasetWarning)
        yield
    for w in caught:
        if issubclass(w.category, DatasetWarning):
            print(f"nascost {command}: WARNING: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
