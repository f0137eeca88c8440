"""nascost lut: build a latency table (LUT) for a space on this machine, or validate one
against end-to-end timings."""

from __future__ import annotations

from nascost.cli.args import add_space_arg, load
from nascost.cli.results_args import one_line_errors


def _int(text: str, what: str, lo: int) -> int:
    from nascost.cli.main import UsageError

    try:
        v = int(text)
    except ValueError:
        raise UsageError(f"{what} must be an integer >= {lo}. Got {text!r} instead.") from None
    if v < lo:
        raise UsageError(f"{what} must be an integer >= {lo}. Got {v} instead.")
    return v


def _timing_args(p, repeats: str, warmup: str) -> None:
    p.add_argument("--threads", default="1", metavar="N", help="pinned threads (default 1)")
    p.add_argument("--batch", default="1", metavar="B", help="input batch (default 1)")
    p.add_argument("--repeats", default=repeats, metavar="R",
                   help=f"timed runs per candidate (default {repeats})")
    p.add_argument("--warmup", default=warmup, metavar="W",
                   help=f"discarded runs first (default {warmup})")
    p.add_argument("--clock", choices=("cpu", "wall"), default=None,
                   help="cpu: the process's CPU time (default; robust on a shared machine); "
                        "wall: elapsed time (a dedicated device)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(sub) -> None:
    p = sub.add_parser("lut", help="latency tables: build one on this machine, validate one",
                       description="Per-block latency tables (docs/latency.md).")
    one_line_errors(p, "lut")
    lsub = p.add_subparsers(dest="lut_command", metavar="{build,validate}")
    b = lsub.add_parser("build", help="time every distinct block of a space in context",
                        description="Time every distinct block of SPACE inside real forward "
                                    "passes (torch modules, values freed after last use) and "
                                    "write the table to FILE. An interrupted build resumes.")
    one_line_errors(b, "lut build")
    add_space_arg(b)
    b.add_argument("--out", required=True, metavar="FILE", help="the table (.parquet)")
    b.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"),
                   help="timing backend (default torch)")
    b.add_argument("--max-entries", default="20000", metavar="N",
                   help="refuse spaces with more distinct blocks (default 20000)")
    b.add_argument("--seed", default="0", metavar="S", help="seed of the covering candidates")
    _timing_args(b, "20", "5")
    b.set_defaults(func=run_build)
    v = lsub.add_parser("validate", help="compare a table with end-to-end timings",
                        description="Time N random valid candidates end to end and print "
                                    "the table's prediction error and rank correlations "
                                    "(and FLOPs' as the baseline).")
    one_line_errors(v, "lut validate")
    add_space_arg(v)
    v.add_argument("table", metavar="FILE", help="the latency table (.parquet)")
    v.add_argument("--n", default="200", metavar="N", help="candidates (default 200)")
    v.add_argument("--seed", default="1", metavar="S", help="seed of the candidates")
    _timing_args(v, "20", "5")
    v.set_defaults(func=run_validate)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args) -> int:
    import time

    from nascost.latency.build import build_table

    space = load(args.space)
    t = time.perf_counter()
    table = build_table(space, args.out, backend=args.backend,
                        threads=_int(args.threads, "--threads", 1),
                        batch=_int(args.batch, "--batch", 1),
                        repeats=_int(args.repeats, "--repeats", 1),
                        warmup=_int(args.warmup, "--warmup", 0),
                        seed=_int(args.seed, "--seed", 0),
                        max_entries=_int(args.max_entries, "--max-entries", 1),
                        progress=not args.no_progress, clock=args.clock or "cpu")
    dt = time.perf_counter() - t
    print(f"{args.out}: {len(table)} blocks of {space.name} timed in context in "
          f"{table.meta['candidates_timed']} candidates, {dt:.1f} s "
          f"({table.meta['device']['cpu']}, {table.meta['device']['threads']} thread(s))")
    return 0


def run_validate(args) -> int:
    from nascost.latency.validate import validate

    space = load(args.space)
    v = validate(space, args.table, _int(args.n, "--n", 4),
                 threads=_int(args.threads, "--threads", 1),
                 batch=_int(args.batch, "--batch", 1),
                 repeats=_int(args.repeats, "--repeats", 1),
                 warmup=_int(args.warmup, "--warmup", 0), seed=_int(args.seed, "--seed", 0),
                 progress=not args.no_progress, clock=args.clock)
    print(format_validation(space.name, v))
    return 0


def format_validation(name: str, v) -> str:
    out = [f"{name}: {v.n} candidates timed end to end (median "
           f"{float(__import__('numpy').median(v.measured_us)) / 1e3:.2f} ms)", "",
           "| predictor | median abs. error | p95 abs. error | within +-10% | Kendall tau | "
           "Spearman rho |", "|---|---:|---:|---:|---:|---:|"]
    for k, r in v.rows.items():
        if "median_ape" in r:
            out.append(f"| {k} | {r['median_ape']:.1f}% | {r['p95_ape']:.1f}% | "
                       f"{100 * r['within_10']:.0f}% | {r['kendall_tau']:.3f} | "
                       f"{r['spearman_rho']:.3f} |")
        else:
            out.append(f"| {k} | | | | {r['kendall_tau']:.3f} | {r['spearman_rho']:.3f} |")
    out += ["", "where the raw table errs (median signed error, predicted vs measured):"]
    out += [f"  resolution {r}: {e:+.1f}% ({n} candidates)" for r, n, e in v.by_resolution]
    out += ["", "per block type, the fitted correction (us per block; fit on half):"]
    out += [f"  {t}: {b:+.1f} us x {n} blocks" for t, n, b in v.by_block_type[:8]]
    return "\n".join(out)
