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
    p.add_argument("--dpi", type=int, default=200, help="dots per inch of a .png (default 200)")
    p.add_argument("--size", default="6x4", metavar="WxH",
                   help="figure size in inches (default 6x4: a column of a two-column paper "
                        "is about 3.3 wide)")
    p.add_argument("--title", help="the title (default: space, convention and batch; "
                                   "'' for none)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from nascost.analytics.plot import FORMATS, plot
    from nascost.cli.output import check_out_file, write_atomically

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"--out must end in {', '.join(FORMATS)}. Got {args.out!r}.")
    check_out_file(out)
    with dataset_warnings("plot"):
        write_atomically(out, lambda tmp: plot(
            args.dir, tmp, x=args.x, y=args.y, budget=args.budget, y_budget=args.y_budget,
            front=not args.no_front, log=args.log, dpi=args.dpi, size=args.size,
            title=args.title, style="cli", force=args.force))
    print(f"wrote {out}")
    return 0
