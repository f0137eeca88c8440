"""nascost spaces: the built-in spaces with their size and gene count."""

from __future__ import annotations

from nascost.cli.table import render


def register(sub) -> None:
    p = sub.add_parser("spaces", help="list the built-in spaces")
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost import list_spaces, load_space

    rows = []
    for name in list_spaces():
        s = load_space(name)
        rows.append([name, s.n_genes, f"{s.size:.3g}" if s.size >= 1e6 else str(s.size),
                     s.spec.get("description", "")[:60]])
    print(render(["space", "genes", "size", "description"], rows, align="lrrl"))
    return 0
