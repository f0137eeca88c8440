"""Single output files of the CLI (sample, pareto, plot, histogram): checked before any work,
written under a temporary name and renamed, and failures reported by the file's own name."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


class OutputError(OSError):
    """Writing an output file failed (exit code 1): the message names the file, never the
    temporary name it was written under."""


def check_out_file(out: Path, *, force: bool = True, option: str = "--out",
                   force_flag: str | None = None) -> None:
    """Refuse, before any work, an output that cannot be written: an existing file without
    ``force``, a directory, a parent that is a file."""
    if out.is_dir():
        raise ValueError(f"{option}: {out} is a directory; give a file name")
    if out.exists() and not force:
        raise FileExistsError(f"{option}: {out} exists; pass {force_flag} to overwrite it")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{option}: cannot create {out}: {parent} is a file")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {out}: permission denied in {parent}")


def write_atomically(out: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` then rename tmp to ``out``: an interrupted run never leaves a truncated
    file; an OSError becomes an OutputError naming ``out``."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp{out.suffix}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, out)
    except OSError as e:
        reason = str(e.strerror or e).replace(str(tmp), str(out))
        raise OutputError(f"cannot write {out}: {reason}") from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
