"""nascost spaces: the built-in spaces with their gene count, size and exact ranges of params,
MACs and FLOPs (the columns of README's table)."""

from __future__ import annotations

from nascost.cli.table import render
from nascost.units import format_count


def register(sub) -> None:
    p = sub.add_parser("spaces", help="list the built-in spaces with size and cost range")
    p.set_defaults(func=run)


def _range(bounds, metric: str) -> str:
    if bounds is None:
        return "-"
    lo, hi = bounds[metric]
    return format_count(lo) if lo == hi else f"{format_count(lo)}-{format_count(hi)}"


def run(args) -> int:
    from nascost import list_spaces
    from nascost.spaces.catalog import load

    catalog = {r["name"]: r for r in load()}
    rows = []
    for name in list_spaces():
        r = catalog.get(name)
        if r is None:  # a space added since the catalog was written
            from nascost.spaces.catalog import entry

            r = entry(name)
        size = int(r["size"])
        rows.append([name, r["genes"], f"{size:.3g}" if size >= 10**6 else str(size),
                     _range(r["bounds"], "params"), _range(r["bounds"], "macs"),
                     _range(r["bounds"], "flops")])
    print(render(["space", "genes", "size", "params", "MACs", "FLOPs (seed)"], rows,
                 align="lrrlll"))
    if any(row[3] == "-" for row in rows):
        print("\n'-': not a chain of small blocks nor separable; exact bounds are not computed "
              "(docs/budget.md)")
    return 0
