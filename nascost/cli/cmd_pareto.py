"""nascost pareto: the Pareto front of a result dataset."""

from __future__ import annotations

from nascost.cli.cmd_verify import add_force_arg, dataset_warnings
from nascost.cli.results_args import add_budget_args, budget_kwargs, one_line_errors


def register(sub) -> None:
    p = sub.add_parser("pareto", help="the Pareto front of a result dataset")
    one_line_errors(p, "pareto")
    p.add_argument("dir", metavar="DIR", help="a directory written by nascost score")
    p.add_argument("--minimize", default="flops,params", metavar="COLS",
                   help="columns to minimise, comma-separated (default flops,params)")
    p.add_argument("--maximize", metavar="COLS", help="columns to maximise")
    add_budget_args(p)
    p.add_argument("--where", action="append", metavar="'NAME OP VALUE'",
                   help="restrict the rows first (as in nascost query)")
    p.add_argument("--out", metavar="FILE",
                   help="write the front to FILE (.parquet with the metadata, or .csv)")
    p.add_argument("--format", default="table", choices=("table", "csv", "json"),
                   help="how to print the front when there is no --out")
    add_force_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.analytics.pareto import pareto
    from nascost.cli.cmd_query import print_table, write_csv, write_json
    from nascost.io.reader import results_info

    if args.out:
        from pathlib import Path

        from nascost.cli.output import check_out_file

        if Path(args.out).suffix.lower() not in (".parquet", ".csv"):
            raise ValueError(f"--out must end in .parquet or .csv. Got {args.out!r}.")
        check_out_file(Path(args.out))
    with dataset_warnings("pareto"):
        front = pareto(args.dir, minimize=args.minimize, maximize=args.maximize,
                       where=args.where, style="cli", force=args.force, **budget_kwargs(args))
    if args.out:
        from nascost.analytics.pareto import write_table
        from nascost.cli.output import write_atomically

        write_atomically(Path(args.out), lambda tmp: write_table(front, tmp))
        print(f"{front.num_rows:,} rows on the Pareto front -> {args.out}")
    elif args.format == "csv":
        write_csv(front)
    elif args.format == "json":
        write_json(front)
    else:
        print_table(front, results_info(args.dir)["space"], limit=None)
    return 0
