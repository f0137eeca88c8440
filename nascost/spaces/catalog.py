"""The catalog of built-in spaces: genes, size and exact cost range of each (nascost spaces,
the README table). Stored in catalog.json beside this file, since exact bounds take a
moment per space; ``python -m nascost.spaces.catalog`` rewrites it and a test checks it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CATALOG = Path(__file__).with_name("catalog.json")


def entry(name: str) -> dict:
    """One space's row, computed: sizes, and exact bounds where the space is a chain."""
    from nascost.budget.chain import ChainError
    from nascost.spaces import load_builtin

    space = load_builtin(name)
    row = {"name": name, "genes": space.n_genes, "size": str(space.size),
           "description": space.spec.get("description", "")}
    try:
        b = space.bounds()
    except ChainError:
        row["bounds"] = None  # not a chain of small blocks, too large to enumerate
    else:
        row["bounds"] = {m: [int(b[m]["min"]), int(b[m]["max"])]
                         for m in ("params", "macs", "flops")}
    return row


def compute() -> list[dict]:
    from nascost.spaces import list_spaces

    return [entry(n) for n in list_spaces()]


def load() -> list[dict]:
    return json.loads(CATALOG.read_text())


def markdown(rows: list[dict]) -> str:
    from nascost.units import format_count

    out = ["| space | genes | size | params | MACs | FLOPs (seed) |",
           "|---|---:|---:|---|---|---|"]
    for r in rows:
        size = int(r["size"])
        size_text = f"{size:,}" if size < 10**7 else f"{size:.2e}"
        if r["bounds"] is None:
            cells = ["not a chain: see docs/budget.md"] + ["", ""]
        else:
            cells = []
            for m in ("params", "macs", "flops"):
                lo, hi = r["bounds"][m]
                cells.append(format_count(lo) if lo == hi
                             else f"{format_count(lo)} – {format_count(hi)}")
        out.append(f"| `{r['name']}` | {r['genes']} | {size_text} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nascost.spaces.catalog",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    ap.add_argument("--markdown", action="store_true", help="print the README table")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown(load()))
        return 0
    rows = compute()
    text = json.dumps(rows, indent=1) + "\n"
    if args.check:
        if not CATALOG.is_file() or CATALOG.read_text() != text:
            print("stale: run python -m nascost.spaces.catalog", file=sys.stderr)
            return 1
        return 0
    CATALOG.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
