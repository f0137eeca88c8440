"""nascost show: the per-layer table of one candidate and its totals."""

from __future__ import annotations

from nascost.cli.args import add_genes_args, add_space_arg, genes_from_args, load, which_candidate
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
    from nascost.kernels.api import breakdown, status_name

    space = load(args.space)
    genes = genes_from_args(space, args)
    cols, totals = breakdown(space.program, genes, args.convention, args.batch)
    n_rows = len(cols["layer"])
    rows = [
        [cols["layer"][i], cols["op"][i], cols["in_shape"][i], cols["out_shape"][i] or "-",
         format_count(cols["params"][i]), format_count(cols["macs"][i]),
         format_count(cols["flops"][i])]
        for i in range(n_rows)
    ]
    print(f"{space.name}  ({space.n_genes} gene{'' if space.n_genes == 1 else 's'}, "
          f"{space.size:,} gene array{'' if space.size == 1 else 's'})")
    print(which_candidate(args, space))
    if space.n_genes:
        values = space.genes_to_values(genes)
        print("genes: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    c, h, w = space.input_shape(genes)
    print(f"input: {args.batch}x{c}x{h}x{w}    convention: {args.convention}")
    print()
    print(render(["layer", "op", "input", "output", "params", "MACs", "FLOPs"], rows,
                 align="lllrrrr"))
    st = totals["status"]
    print()
    if st != 0:
        failed = cols["layer"][-1] if n_rows else "?"
        print(f"status: {st} ({status_name(st)}) at layer {failed}")
        return 1
    print(f"total: {format_count(totals['params'])} params, "
          f"{format_count(totals['macs'])} MACs, {format_count(totals['flops'])} FLOPs, "
          f"{format_count(totals['activations'])} activations  "
          f"(params {totals['params']:,}; MACs {totals['macs']:,}; FLOPs {totals['flops']:,})")
    return 0
