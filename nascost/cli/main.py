"""The nascost command line: a thin layer over the library; the only place that prints."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# one module per command, nascost/cli/cmd_<name>.py, each with register(subparsers) that
# sets func(args) -> exit code on its parser
COMMANDS = (
    "show", "spaces", "score", "query", "summary", "pareto", "plot", "explain", "bounds",
    "count", "histogram", "sample", "import", "lut", "verify",
)


class UsageError(ValueError):
    """A bad command line: printed as one line, exit code 2."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's (start-up: each command module may
    import numba and its kernels, which a different command does not need)."""
    from nascost import __version__

    parser = argparse.ArgumentParser(
        prog="nascost",
        description="Parameters and FLOPs of every candidate in a NAS search space.",
    )
    parser.add_argument("--version", action="version", version=f"nascost {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            continue
        modname = f"nascost.cli.cmd_{name}"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


# options whose value may start with '-' (`--sort -params`): argparse would read it as an
# option, so the pair is joined into `--sort=-params` before parsing
DASH_VALUES = ("--sort",)


def _join_dash_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if (a in DASH_VALUES and i + 1 < len(argv) and argv[i + 1].startswith("-")
                and not argv[i + 1].startswith("--") and len(argv[i + 1]) > 1):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = _join_dash_values(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from nascost.space.spec import SpaceError

    try:
        return int(args.func(args) or 0)
    except SpaceError as e:
        print(f"nascost: error: {e}", file=sys.stderr)
        return 2
    except (UsageError, ValueError, KeyError, FileNotFoundError, FileExistsError,
            ImportError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"nascost {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, permissions, I/O errors: one line, exit code 1
        print(f"nascost {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nascost: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
