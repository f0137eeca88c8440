"""nascost: parameters and FLOPs of every candidate in a NAS search space, at millions of
candidates per second."""

from __future__ import annotations

from pathlib import Path

from nascost.rules.conventions import PRESETS as CONVENTIONS
from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.space.spec import SpaceError

__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS", "Space", "SpaceBuilder", "SpaceError", "list_spaces", "load_space",
    "__version__",
    "stream", "write_dataset", "open_results", "results_info",
    "query", "summary", "pareto", "plot",
]

# results: streamed scans, Parquet datasets, analytics (imported on first use)
_LAZY = {
    "stream": "nascost.io.scan", "write_dataset": "nascost.io.writer",
    "open_results": "nascost.io.reader", "results_info": "nascost.io.reader",
    "query": "nascost.analytics.query", "summary": "nascost.analytics.summary",
    "pareto": "nascost.analytics.pareto", "plot": "nascost.analytics.plot",
}


# subpackages, importable as attributes (nascost.export.to_torch after `import nascost`)
_SUBPACKAGES = {"analytics", "budget", "export", "io", "kernels", "program", "reference",
                "rules", "space", "spaces", "units"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"nascost.{name}")
    raise AttributeError(f"module 'nascost' has no attribute {name!r}")


def list_spaces() -> list[str]:
    """The names of the built-in spaces."""
    from nascost.spaces import list_spaces as _list

    return _list()


def load_space(name_or_path: str | Path) -> Space:
    """A built-in space by name, or a space JSON file by path."""
    text = str(name_or_path)
    from nascost.spaces import BUILTINS, load_builtin

    if text in BUILTINS:
        return load_builtin(text)
    path = Path(text)
    if path.is_file():
        return Space.from_file(path)
    if path.suffix.lower() == ".json" or "/" in text or "\\" in text:
        raise FileNotFoundError(f"space file not found: {text}")
    raise KeyError(
        f"unknown space {text!r}: not a built-in space ({', '.join(sorted(BUILTINS))}) "
        "and not a JSON file"
    )
