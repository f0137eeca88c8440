"""Options shared by the commands that write and read result datasets."""

from __future__ import annotations

import argparse
import sys

BUDGET_FLAGS = ("max_flops", "min_flops", "max_params", "min_params", "max_macs", "min_macs")


def one_line_errors(p: argparse.ArgumentParser, command: str) -> None:
    """argparse's errors as one line naming the option (exit code 2), without the usage."""

    def error(message: str):
        sys.stderr.write(f"nascost {command}: error: {message} (see nascost {command} -h)\n")
        sys.exit(2)

    p.error = error  # type: ignore[method-assign]


def add_budget_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("budget (counts with units: 400M, 5.3e6, 1.2G; M = 1e6)")
    for key in BUDGET_FLAGS:
        side, metric = key.split("_")
        g.add_argument("--" + key.replace("_", "-"), dest=key, metavar="N",
                       help=f"keep rows with {metric} {'<=' if side == 'max' else '>='} N")


def budget_kwargs(args) -> dict:
    return {k: getattr(args, k) for k in BUDGET_FLAGS if getattr(args, k) is not None}
