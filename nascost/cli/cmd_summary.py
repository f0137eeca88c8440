"""nascost summary: counts, quantiles, status counts and a histogram of a result dataset."""

from __future__ import annotations

from nascost.cli.cmd_verify import add_force_arg, dataset_warnings
from nascost.cli.results_args import one_line_errors


def register(sub) -> None:
    p = sub.add_parser("summary", help="counts, quantiles and a histogram of a result dataset")
    one_line_errors(p, "summary")
    p.add_argument("dir", metavar="DIR", help="a directory written by nascost score")
    p.add_argument("--bins", type=int, default=20, help="histogram bins (default 20)")
    add_force_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.analytics.summary import summary
    from nascost.cli.table import render
    from nascost.units import format_count

    if args.bins < 1:
        from nascost.cli.main import UsageError

        raise UsageError(f"--bins must be >= 1. Got {args.bins}.")
    with dataset_warnings("summary"):
        s = summary(args.dir, bins=args.bins, force=args.force)
    info = s["info"]
    run_ = info["run"]
    what = describe_run(run_)
    budget = ", ".join(f"{k}={format_count(v)}" for k, v in run_["budget"].items()) or "none"
    print(f"{info['space'].name} ({info['space'].hash})  {what}")
    print(f"convention {info['convention'].name}, batch {info['batch']}, budget {budget}, "
          f"nascost {info['version']}")
    complete = "" if info.get("complete") in (True, None) else "  (run incomplete)"
    scanned = f" of {info['scanned']:,} scanned" if info.get("scanned") else ""
    print(f"rows {s['rows']:,}{scanned}, valid {s['valid']:,}{complete}")
    print("status: " + ", ".join(f"{k} {v:,}" for k, v in s["status"].items()))
    print()
    keys = ["min", "p1", "p10", "p25", "p50", "p75", "p90", "p99", "max", "mean"]
    rows = []
    for col, m in s["metrics"].items():
        rows.append([col] + ([format_count(m[k]) for k in keys] if m else ["-"] * len(keys)))
    print(render(["metric"] + keys, rows, align="l" + "r" * len(keys)))
    h = s["histogram"]
    if h["counts"]:
        print()
        print("flops histogram (valid rows)")
        top = max(h["counts"]) or 1
        for k, c in enumerate(h["counts"]):
            lo, hi = h["edges"][k], h["edges"][k + 1] - 1
            bar = "#" * round(40 * c / top)
            print(f"{format_count(lo):>8} - {format_count(hi):<8} {c:>12,}  {bar}")
    return 0


def describe_run(run_: dict) -> str:
    """What produced the rows: a sample, an id range, or candidates drawn within a budget."""
    if run_["mode"] == "sample":
        return f"sample of {run_['n']:,} (seed {run_['seed']})"
    if run_["mode"] == "sample_within":
        strat = f", stratified by {run_['stratify']}" if run_.get("stratify") else ""
        return (f"{run_['n']:,} drawn uniformly within the budget (seed {run_['seed']}"
                f"{strat}; nascost sample)")
    return f"ids {run_['start']:,}:{run_['stop']:,}"
