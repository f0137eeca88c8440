"""nascost plot: a picture of a result dataset (needs the 'plot' extra: matplotlib)."""

from __future__ import annotations

from nascost.cli.cmd_verify import add_force_arg, dataset_warnings
from nascost.cli.results_args import one_line_errors


def register(sub) -> None:
    p = sub.add_parser("plot", help="plot a result dataset (hexbin/scatter, budget, front)")
    one_line_errors(p, "plot")
    p.add_argument("dir", metavar="DIR", help="a directory written by nascost score")
    p.add_argument("-o", "--out", required=True, metavar="FILE",
                   help="the image (.png, .svg or .pdf)")
    p.add_argument("--x", default="flops", help="column on the x axis (default flops)")
    p.add_argument("--y", default="params", help="column on the y axis (default params)")
    p.add_argument("--budget", metavar="N", help="a vertical budget line on x (e.g. 400M)")
    p.add_argument("--y-budget", metavar="N", help="a horizontal budget line on y")
    p.add_argument("--no-front", action="store_true", help="leave out the Pareto front")
    p.add_argument("--log", action="store_true", help="log scales")
    add_force_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.analytics.plot import plot

    with dataset_warnings("plot"):
        out = plot(args.dir, args.out, x=args.x, y=args.y, budget=args.budget,
                   y_budget=args.y_budget, front=not args.no_front, log=args.log,
                   style="cli", force=args.force)
    print(f"wrote {out}")
    return 0
