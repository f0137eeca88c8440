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


def add_latency(p: argparse.ArgumentParser) -> None:
    """--latency FILE (a table from `nascost lut build`) and a latency budget."""
    g = p.add_argument_group("latency (approximate: a per-block table measured on a device; "
                             "times with units: 15ms, 800us, 1.5s)")
    g.add_argument("--latency", metavar="FILE", help="the latency table (.parquet)")
    g.add_argument("--max-latency", metavar="T", help="latency <= T (needs --latency)")
    g.add_argument("--min-latency", metavar="T", help="latency >= T (needs --latency)")


def latency_of(args) -> dict:
    """{latency, max_latency, min_latency} given on the command line (times checked)."""
    from nascost.units import parse_time_ns

    out = {}
    for k in ("max_latency", "min_latency"):
        v = getattr(args, k, None)
        if v is not None:
            parse_time_ns(v, "--" + k.replace("_", "-"))
            out[k] = v
    if getattr(args, "latency", None) is not None:
        out["latency"] = args.latency
    elif out:
        raise ValueError("--max-latency/--min-latency need --latency FILE (nascost lut build)")
    return out


def describe_latency(lat: dict) -> str:
    parts = []
    if lat.get("min_latency") is not None:
        parts.append(f"latency >= {lat['min_latency']}")
    if lat.get("max_latency") is not None:
        parts.append(f"latency <= {lat['max_latency']}")
    return ", ".join(parts)
