"""nascost show: the per-layer table of one candidate and its totals."""

from __future__ import annotations

from nascost.cli.args import add_genes_args, add_space_arg, genes_from_args, load
from nascost.cli.table import render
from nascost.units import format_count


def register(sub) -> None:
    p = sub.add_parser("show", help="per-layer table and totals of one candidate")
    add_space_arg(p)
    add_genes_args(p)
    p.add_argument("--convention", default="seed", help="counting convention (default: seed)")
    p.add_argument("--batch", type=int, default=1, help="input batch size (default: 1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.kernels.api import status_name

    space = load(args.space)
    genes = genes_from_args(space, args)
    table = space.layers(genes, convention=args.convention, batch=args.batch)
    totals = space.score_arrays(genes, convention=args.convention, batch=args.batch)
    cols = table.to_pydict()
    rows = [
        [cols["layer"][i], cols["op"][i], cols["in_shape"][i], cols["out_shape"][i] or "-",
         format_count(cols["params"][i]), format_count(cols["macs"][i]),
         format_count(cols["flops"][i])]
        for i in range(table.num_rows)
    ]
    print(f"{space.name}  ({space.n_genes} genes, {space.size:,} gene arrays)")
    if space.n_genes:
        values = space.genes_to_values(genes)
        print("genes: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    c, h, w = space.input_shape(genes)
    print(f"input: {args.batch}x{c}x{h}x{w}    convention: {args.convention}")
    print()
    print(render(["layer", "op", "input", "output", "params", "MACs", "FLOPs"], rows,
                 align="lllrrrr"))
    st = int(totals["status"][0])
    print()
    if st != 0:
        failed = cols["layer"][-1] if table.num_rows else "?"
        print(f"status: {st} ({status_name(st)}) at layer {failed}")
        return 1
    print(f"total: {format_count(totals['params'][0])} params, "
          f"{format_count(totals['macs'][0])} MACs, {format_count(totals['flops'][0])} FLOPs, "
          f"{format_count(totals['activations'][0])} activations  "
          f"(params {int(totals['params'][0]):,}; MACs {int(totals['macs'][0]):,}; "
          f"FLOPs {int(totals['flops'][0]):,})")
    return 0
