"""nascost histogram: the distribution of a metric over a whole space, without enumerating."""

from __future__ import annotations

from nascost.cli.args import add_space_arg, count_arg, load
from nascost.cli.budget_args import add_convention
from nascost.cli.results_args import one_line_errors


def register(sub) -> None:
    p = sub.add_parser("histogram", help="candidates per bin of a metric over the whole space "
                                         "(exact counts or certified bounds)")
    one_line_errors(p, "histogram")
    add_space_arg(p)
    p.add_argument("--metric", default="flops",
                   choices=("params", "macs", "flops", "activations"))
    p.add_argument("--bins", type=int, default=50, help="equal-width bins (default 50)")
    add_convention(p)
    p.add_argument("-o", "--out", metavar="FILE",
                   help="also draw it (.png, .svg, .pdf; needs matplotlib: nascost[plot])")
    p.add_argument("--tol", type=float, default=1e-3,
                   help="bounded counts: refine until the bins' bounds sum to tol of the space")
    p.add_argument("--work", type=count_arg("--work"), default=None, metavar="N",
                   help="bounded counts: the refinement's work budget in grid cells per DP "
                        "state (default 1.049M; the same command gives the same counts on "
                        "any machine)")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="bounded counts: also stop refining after S seconds (default: none)")
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.cli.main import UsageError
    from nascost.cli.table import render
    from nascost.units import format_count

    if args.bins < 1:
        raise UsageError(f"--bins must be >= 1. Got {args.bins}.")
    space = load(args.space)
    if args.time_limit is not None and not args.time_limit >= 0:
        raise UsageError(f"--time-limit must be a number of seconds >= 0. Got {args.time_limit}.")
    if args.work is not None and args.work < 1:
        raise UsageError(f"--work must be at least 1. Got {args.work}.")
    if args.out:
        from pathlib import Path

        from nascost.analytics.plot import FORMATS
        from nascost.cli.output import check_out_file

        if Path(args.out).suffix.lower() not in FORMATS:
            raise UsageError(f"-o must end in {', '.join(FORMATS)}. Got {args.out!r}.")
        check_out_file(Path(args.out), option="-o")
    h = space.histogram(args.metric, args.bins, convention=args.convention, tol=args.tol,
                        time_limit=args.time_limit, work=args.work)
    kind = "exact" if h.exact else f"certified bounds, total gap {h.gap:.3%}"
    print(f"{space.name}: {args.metric} over {h.total:,} valid canonical candidates ({kind}; "
          f"{h.seconds:.3f} s)")
    counts = [float(x) for x in h.counts]
    top = max(counts) or 1.0
    rows = []
    for i in range(len(counts)):
        lo, hi = int(h.edges[i]), int(h.edges[i + 1]) - 1
        n = f"{int(h.low[i]):,}" if h.exact else f"{int(h.low[i]):,} .. {int(h.high[i]):,}"
        bar = "#" * int(round(40 * counts[i] / top))
        rows.append([format_count(lo), format_count(hi), n, f"{counts[i] / h.total:.2%}", bar])
    print(render([f"{args.metric} from", "to", "candidates", "share", ""], rows,
                 align="rrrrl"))
    if args.out:
        from pathlib import Path

        from nascost.cli.output import write_atomically

        out = Path(args.out)
        write_atomically(out, lambda tmp: draw(h, space.name, tmp))
        print(f"wrote {out}")
    return 0


def draw(h, name: str, out):
    from pathlib import Path

    try:
        import matplotlib
    except ImportError:
        raise ImportError("drawing a histogram needs matplotlib: pip install "
                          "'nascost[plot]'") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from nascost.units import format_count

    edges = h.edges.astype(float)
    counts = [float(x) for x in h.counts]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    ax.bar(edges[:-1], counts, width=edges[1:] - edges[:-1], align="edge",
           edgecolor="white", linewidth=0.4)
    if not h.exact:
        mid = (edges[:-1] + edges[1:]) / 2
        lo = [c - float(x) for c, x in zip(counts, h.low, strict=True)]
        hi = [float(x) - c for c, x in zip(counts, h.high, strict=True)]
        ax.errorbar(mid, counts, yerr=[lo, hi], fmt="none", ecolor="black", lw=0.8)
    from nascost.analytics.plot import axis_label, count_formatter

    ax.xaxis.set_major_formatter(count_formatter(plt))
    ax.yaxis.set_major_formatter(count_formatter(plt))  # counts up to 1e23: no bare offset
    ax.set_xlabel(axis_label(h.metric))
    ax.set_ylabel("candidates")
    ax.set_title(f"{name}: {axis_label(h.metric)} over {format_count(h.total)} candidates "
                 f"({'exact' if h.exact else 'bounds'})", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
