"""On-disk cache of built cost tables, so that a command does not rebuild them on every start.

Building a space's tables runs the interpreter over every (state, block genes) pair: seconds for
NAS-Bench-201 (one table over all 15,625 candidates), on every command. The tables depend only
on the compiled program, the convention's weights and the code that builds them, so a file
named by a hash of those (and of the nascost version) can be reused by any later process.

- Location: ``NASCOST_CACHE_DIR`` (empty or ``off``: no disk cache), else
  ``$XDG_CACHE_HOME/nascost/tables``, else ``~/.cache/nascost/tables``.
- Concurrent processes: a file is written under a unique temporary name and renamed into
  place (atomic on POSIX and Windows), so a reader sees a whole file or none; a damaged or
  unreadable file counts as a miss and is rebuilt.
- Bounded size: after a write, the least recently used files go until the folder is under
  ``NASCOST_CACHE_MAX_MB`` (default 512).
- Any I/O problem (read-only home, full disk) only means no cache: never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ENV_DIR = "NASCOST_CACHE_DIR"
ENV_MAX_MB = "NASCOST_CACHE_MAX_MB"
DEFAULT_MAX_MB = 512
SUFFIX = ".npz"
_OFF = ("", "0", "off", "none", "false")

# what the last tables_for call did, for the CLI's start-up line: "hit", "miss" or "off"
last_event: dict[str, object] = {}


def cache_dir() -> Path | None:
    """The folder of cached tables, or None when the disk cache is off."""
    value = os.environ.get(ENV_DIR)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser() / "tables"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nascost" / "tables"


def max_bytes() -> int:
    try:
        mb = float(os.environ.get(ENV_MAX_MB, DEFAULT_MAX_MB))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(max(mb, 0.0) * 2**20)


def table_key(program, op_weights: np.ndarray, extra: str) -> str:
    """A hash of everything the tables depend on: the compiled program (the space), the
    convention's weights, the nascost version and ``extra`` (the builder's source stamp)."""
    from nascost import __version__

    h = hashlib.sha256()
    h.update(f"nascost {__version__} {extra}".encode())
    for a in (program.ins, program.ex, program.aux, program.cards, op_weights):
        a = np.ascontiguousarray(a, dtype=np.int64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(json.dumps([program.n_regs, program.n_genes, [list(t) for t in program.top]])
             .encode())
    return h.hexdigest()[:40]


def load(key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under key, or None (no cache, no file, or a damaged file)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / (key + SUFFIX)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        os.utime(path)  # recently used: the last to go when pruning
        return arrays
    except FileNotFoundError:
        return None
    except Exception:  # truncated or foreign file: rebuild (and overwrite it)
        return None


def store(key: str, arrays: dict[str, np.ndarray]) -> bool:
    """Write arrays under key atomically; False when there is no cache or it failed."""
    folder = cache_dir()
    if folder is None:
        return False
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, folder / (key + SUFFIX))
        tmp = None
        prune(folder, max_bytes())
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def prune(folder: Path, limit: int) -> None:
    """Remove the least recently used files until the folder holds at most limit bytes."""
    entries = []
    for p in folder.glob("*" + SUFFIX):
        try:
            st = p.stat()
        except OSError:
            continue  # removed by another process meanwhile
        entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    for _, size, p in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        try:
            p.unlink()
        except OSError:
            pass
        total -= size
