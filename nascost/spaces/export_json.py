"""Write every built-in space's canonical JSON to data/spaces/<name>.json.

    python -m nascost.spaces.export_json [--out DIR] [--check]

``--check`` writes nothing and exits 1 if a stored file differs from the builder's output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nascost.spaces import BUILTINS, load_builtin

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "spaces"


def json_text(name: str) -> str:
    return load_builtin(name).to_json(indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nascost.spaces.export_json",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR, help="output folder")
    ap.add_argument("--check", action="store_true",
                    help="compare with the stored files instead of writing them")
    args = ap.parse_args(argv)
    stale = []
    for name in sorted(BUILTINS):
        path = args.out / f"{name}.json"
        text = json_text(name)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path))
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        space = load_builtin(name)
        print(f"{path}: {space.n_genes} genes, {space.size:.4g} candidates, hash {space.hash}")
    if stale:
        print("stale (run python -m nascost.spaces.export_json):\n  " + "\n  ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
