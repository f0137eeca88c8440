"""nascost explain: why counting conventions disagree on one candidate, op class by op class."""

from __future__ import annotations

import json

from nascost.cli.args import add_genes_args, add_space_arg, genes_from_args, load, which_candidate
from nascost.cli.table import render
from nascost.units import format_count


def register(sub) -> None:
    from nascost.analytics.explain import DEFAULT_CONVENTIONS

    p = sub.add_parser(
        "explain",
        help="each cost term of one candidate under several counting conventions",
        description="One row per op class and cost term of the candidate: its quantity and "
                    "what each convention counts for it (FLOPs = weight x quantity), then "
                    "the totals and the terms that make them differ.")
    add_space_arg(p)
    add_genes_args(p)
    p.add_argument("--conventions", default=",".join(DEFAULT_CONVENTIONS),
                   help="comma-separated presets or .json weight files "
                        f"(default: {','.join(DEFAULT_CONVENTIONS)}; see docs/conventions.md)")
    p.add_argument("--batch", type=int, default=1, help="input batch size (default: 1)")
    p.add_argument("--json", action="store_true", help="print the explanation as JSON")
    p.set_defaults(func=run)


def _cell(flops: int, weight: int) -> str:
    return "." if weight == 0 else f"{format_count(flops)} ({weight}x)"


def _signed(n: int) -> str:
    return ("+" if n > 0 else "-") + format_count(abs(n))


def run(args) -> int:
    from nascost.analytics.explain import explain
    from nascost.cli.main import UsageError
    from nascost.kernels.api import status_name

    names = [c.strip() for c in args.conventions.split(",") if c.strip()]
    if not names:
        raise UsageError("--conventions needs at least one convention, e.g. thop,fvcore,torch")
    space = load(args.space)
    genes = genes_from_args(space, args)
    e = explain(space, genes, names, batch=args.batch)
    if args.json:
        print(json.dumps(e.to_dict(), indent=1))
        return 0 if e.status == 0 else 1

    print(f"{space.name}  ({space.n_genes} gene{'' if space.n_genes == 1 else 's'}, "
          f"{space.size:,} gene array{'' if space.size == 1 else 's'})")
    print(which_candidate(args, space))
    if space.n_genes:
        values = space.genes_to_values(genes)
        print("genes: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    c, h, w = e.input_shape
    print(f"input: {e.batch}x{c}x{h}x{w}")
    if e.status != 0:
        print(f"status: {e.status} ({status_name(e.status)}) at layer {e.failed_layer}")
        return 1
    print(f"params {format_count(e.params)}, MACs {format_count(e.macs)}")
    print()
    print("FLOPs per op class and cost term; a cell is weight x quantity, '.' = not counted;")
    print("* marks rows where the conventions differ.")
    print()
    cols = list(e.names)
    rows = []
    for op, op_rows in e.by_op().items():
        for k, r in enumerate(op_rows):
            rows.append([op if k == 0 else "", r.term, str(r.layers), format_count(r.quantity),
                         *(_cell(r.flops[n], r.weights[n]) for n in cols),
                         "*" if r.differs else ""])
        if len(op_rows) > 1:
            sub = {n: sum(r.flops[n] for r in op_rows) for n in cols}
            rows.append(["", "  (op class)", "", "", *(format_count(sub[n]) for n in cols),
                         "*" if len(set(sub.values())) > 1 else ""])
    differs = len(set(e.totals.values())) > 1
    rows.append(["total", "", "", "", *(format_count(e.totals[n]) for n in cols),
                 "*" if differs else ""])
    headers = ["op class", "term", "layers", "quantity", *cols, ""]
    print(render(headers, rows, align="llrr" + "r" * len(cols) + "l"))
    print()
    print("totals: " + ", ".join(f"{n} {e.totals[n]:,}" for n in cols))
    notes = e.notes()
    if notes:
        print("known tool shortcomings (reproduced by their presets):")
        for n, terms, note in notes:
            print(f"  {n} ({', '.join(terms)}): {note}")
    if not differs:
        print("all conventions agree on this candidate")
        return 0
    base = cols[0]
    print(f"where they differ from {base}:")
    for n in cols[1:]:
        delta = e.totals[n] - e.totals[base]
        if delta == 0 and not e.differences(n, base):
            print(f"  {n}: same as {base}")
            continue
        pct = f" ({100 * delta / e.totals[base]:+.1f}%)" if e.totals[base] else ""
        parts = [f"{r.op}.{r.term} {_signed(d)}" for r, d in e.differences(n, base)]
        print(f"  {n} - {base} = {_signed(delta) if delta else '0'}{pct}: " + ", ".join(parts))
    return 0
