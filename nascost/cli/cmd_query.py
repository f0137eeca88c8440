"""nascost query: the rows of a result dataset within budget."""

from __future__ import annotations

import sys

from nascost.cli.cmd_verify import add_force_arg, dataset_warnings
from nascost.cli.results_args import add_budget_args, budget_kwargs, one_line_errors

TABLE_ROWS = 20  # rows printed by --format table without --top


def register(sub) -> None:
    p = sub.add_parser("query", help="rows of a result dataset within budget",
                       description="Filter a result dataset by budget and gene values; "
                                   "budget filters skip the row groups out of budget.")
    one_line_errors(p, "query")
    p.add_argument("dir", metavar="DIR", help="a directory written by nascost score")
    add_budget_args(p)
    p.add_argument("--where", action="append", metavar="'NAME OP VALUE'",
                   help="a gene (with a choice value) or a column compared to a value, "
                        "e.g. 's1_depth==3', 'activations<20M' (repeat to AND)")
    p.add_argument("--sort", metavar="COLUMN",
                   help="order by a column ('-params' for descending; default: flops with "
                        "--top, else the position in the scan)")
    p.add_argument("--top", type=int, metavar="K", help="keep the first K rows of that order")
    p.add_argument("--include-invalid", action="store_true", help="also rows with status != 0")
    p.add_argument("--format", default="table", choices=("table", "csv", "json"),
                   help="table (for reading), csv or json (one object per row)")
    add_force_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.analytics.query import query
    from nascost.io.reader import results_info

    with dataset_warnings("query"):
        table = query(args.dir, where=args.where, sort=args.sort, top=args.top,
                      include_invalid=args.include_invalid, style="cli", force=args.force,
                      **budget_kwargs(args))
    try:
        if args.format == "csv":
            write_csv(table)
        elif args.format == "json":
            write_json(table)
        else:
            space = results_info(args.dir)["space"]
            print_table(table, space, limit=None if args.top else TABLE_ROWS)
    except BrokenPipeError:  # `nascost query ... | head`: the reader has what it wanted
        quiet_stdout()
    return 0


def quiet_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def write_csv(table) -> None:
    import pyarrow.csv as pcsv

    sink = sys.stdout.buffer
    pcsv.write_csv(table, sink)
    sink.flush()


def write_json(table) -> None:
    import json

    out = sys.stdout
    for row in table.to_pylist():
        out.write(json.dumps(row) + "\n")


def print_table(table, space, limit: int | None) -> None:
    """Positions and counts (readable units), then the genes as choice values."""
    from nascost.cli.table import render
    from nascost.units import format_count

    n = table.num_rows
    shown = table.slice(0, limit) if limit is not None else table
    cols = shown.to_pydict()
    idx = "sample_index" if "sample_index" in cols else "id"
    head = [idx] + (["id"] if idx == "sample_index" and "id" in cols else [])
    head += ["params", "macs", "flops", "activations"]
    genes = [g for g in space.gene_names if g in cols]
    # genes are choice values; files of format version 1 hold choice indices
    from nascost.io.schema import holds_indices

    old_format = {g: holds_indices(table.schema.field(g).type) for g in genes}
    rows = []
    for i in range(shown.num_rows):
        r = [cols[h][i] if h in (idx, "id") else format_count(cols[h][i]) for h in head]
        values = [str(space.choices[space.gene_names.index(g)][cols[g][i]]) if old_format[g]
                  else str(cols[g][i]) for g in genes]
        r.append(" ".join(values))
        rows.append(r)
    print(render(head + ["genes (" + ", ".join(genes[:3]) + (", ..." if len(genes) > 3 else "")
                         + ")"], rows, align="r" * len(head) + "l"))
    if limit is not None and n > limit:
        print(f"... {n - limit:,} more rows ({n:,} in all; --top K, or --format csv/json "
              "for every row)")
    else:
        print(f"{n:,} rows")
