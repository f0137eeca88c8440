"""nascost bounds: exact min and max of each metric over a space, with a candidate each."""

from __future__ import annotations

from nascost.cli.args import add_space_arg, load
from nascost.cli.budget_args import add_convention, add_latency, latency_of
from nascost.cli.results_args import one_line_errors


def register(sub) -> None:
    p = sub.add_parser("bounds", help="exact min and max of params, MACs, FLOPs over a space, "
                                      "with a candidate attaining each")
    one_line_errors(p, "bounds")
    add_space_arg(p)
    add_convention(p)
    add_latency(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from nascost.cli.table import render
    from nascost.units import format_count

    space = load(args.space)
    t0 = time.perf_counter()
    b = space.bounds(convention=args.convention, latency=latency_of(args).get("latency"))
    dt = time.perf_counter() - t0
    print(f"{space.name}  (convention {args.convention}, per sample; valid candidates; "
          f"{dt:.3f} s)")
    rows = []
    for metric, v in b.items():
        if metric == "latency":  # nanoseconds, approximate (the table's sums)
            from nascost.units import format_time_ns

            rows.append(["latency (approx)", format_time_ns(v["min"]), f"{v['min']:,} ns",
                         format_time_ns(v["max"]), f"{v['max']:,} ns"])
            continue
        rows.append([metric, format_count(v["min"]), f"{v['min']:,}", format_count(v["max"]),
                     f"{v['max']:,}"])
    print(render(["metric", "min", "exact", "max", "exact"], rows, align="lrrrr"))
    print()
    print("candidates attaining them (nascost show SPACE --genes ...):")
    for metric, v in b.items():
        for side in ("min", "max"):
            genes = ",".join(str(int(x)) for x in v[f"{side}_genes"])
            print(f"  {side} {metric}: {genes}")
    return 0
