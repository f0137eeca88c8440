"""Options shared by the budget analytics commands (bounds, count, histogram, sample)."""

from __future__ import annotations

import argparse

from nascost.cli.args import count_arg

# nascost.budget.BUDGET_KEYS, written out: importing nascost.budget loads numba (start-up)
BUDGET_KEYS = tuple(f"{side}_{m}" for m in ("params", "macs", "flops", "activations")
                    for side in ("max", "min"))


def add_budget(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("budget (inclusive, per sample; counts with units: 400M, 5.3e6, "
                             "1.2G; M = 1e6)")
    for key in BUDGET_KEYS:
        side, metric = key.split("_", 1)
        g.add_argument("--" + key.replace("_", "-"), dest=key, metavar="N",
                       type=count_arg("--" + key.replace("_", "-")),
                       help=f"{metric} {'<=' if side == 'max' else '>='} N")


def budget_of(args) -> dict:
    return {k: getattr(args, k) for k in BUDGET_KEYS if getattr(args, k, None) is not None}


def add_convention(p: argparse.ArgumentParser) -> None:
    p.add_argument("--convention", default="seed",
                   help="counting convention for flops (default: seed)")
