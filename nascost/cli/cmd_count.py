"""nascost count: the number of distinct canonical candidates within a budget."""

from __future__ import annotations

from nascost.cli.args import add_space_arg, count_arg, load
from nascost.cli.budget_args import (
    add_budget,
    add_convention,
    add_latency,
    budget_of,
    describe_latency,
    latency_of,
)
from nascost.cli.results_args import one_line_errors


def register(sub) -> None:
    p = sub.add_parser("count", help="how many distinct valid candidates fit a budget (exact, "
                                     "or certified bounds), without enumerating them")
    one_line_errors(p, "count")
    add_space_arg(p)
    add_budget(p)
    add_latency(p)
    add_convention(p)
    p.add_argument("--tol", type=float, default=1e-3,
                   help="bounded counts: refine until (high - low) <= tol * low (default 1e-3)")
    p.add_argument("--work", type=count_arg("--work"), default=None, metavar="N",
                   help="bounded counts: the refinement's work budget in grid cells per DP "
                        "state over all passes (default 1.573M): the same command gives "
                        "the same interval on any machine")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="bounded counts: also stop refining S seconds after the command "
                        "started, kernel loading included (default: no time limit; the "
                        "interval then depends on the machine's speed and load)")
    p.add_argument("--samples", type=count_arg("--samples"), default=None, metavar="N",
                   help="bounds wider than --tol: also estimate the count from N uniform "
                        "draws within the budget (default 262,144; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="the draws' seed (default 0)")
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from nascost.budget import SAMPLES
    from nascost.budget.budget import describe_budget, parse_budget
    from nascost.budget.counting import STOPS
    from nascost.units import format_count

    t0 = time.perf_counter()
    if args.time_limit is not None and not args.time_limit >= 0:
        raise ValueError(f"--time-limit must be a number of seconds >= 0. "
                         f"Got {args.time_limit}.")
    if args.work is not None and args.work < 1:
        raise ValueError(f"--work must be at least 1. Got {args.work}.")
    if not args.tol > 0:
        raise ValueError(f"--tol must be > 0. Got {args.tol}.")
    space = load(args.space)
    budget = budget_of(args)
    lat = latency_of(args)
    samples = SAMPLES if args.samples is None else args.samples
    c = space.count(**budget, **lat, convention=args.convention, tol=args.tol,
                    time_limit=args.time_limit, work=args.work, samples=samples,
                    seed=args.seed, t0=t0)
    what = describe_budget(parse_budget(budget))
    if describe_latency(lat):
        what = describe_latency(lat) if what == "no budget" else f"{what}, {describe_latency(lat)}"
    print(f"{space.name}  budget: {what}  (convention {args.convention}, per sample)")
    lo, hi = c.fraction
    if c.exact:
        print(f"count: {c.low:,}  (exact, {c.method}; {lo:.4g} of the {c.total:,} valid "
              f"canonical candidates)")
    else:
        sm = c.sampled if c.sampled is not None and c.sampled.draws else None
        mid = "" if sm else f"about {format_count(c.estimate)}, "
        if c.low == 0:
            gap = "no certified lower bound yet"
        elif c.gap > 10:
            gap = f"high is {c.high / c.low:.3g} times low"
        else:
            gap = f"gap {c.gap:.3%}"
        print(f"count: {c.low:,} .. {c.high:,}  (certified bounds, {gap}; {mid}"
              f"{lo:.4g} .. {hi:.4g} of the {c.total:,} valid canonical candidates)")
        if sm:
            how = ("only the band between the bounds" if sm.control
                   else "the whole budget")
            print(f"estimate: {format_count(c.estimate)} +- {c.stderr / max(c.estimate, 1):.3%} "
                  f"(1 s.e., statistical, not certified: {sm.draws:,} uniform draws within "
                  f"the {sm.primary} budget measured {how}; {sm.accepted / sm.draws:.1%} "
                  f"met the budget)")
    if c.stopped_by is not None:
        spent = format_count(c.detail.get("work", 0))
        print(f"refinement: {len(c.detail.get('passes', []))} passes, {spent} cells of work; "
              f"stopped because {STOPS.get(c.stopped_by, c.stopped_by)}")
    print(f"time: {c.seconds:.3f} s")
    return 0
