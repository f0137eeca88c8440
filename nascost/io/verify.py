"""Checking a results directory against its manifest: every recorded part present, of its
recorded size (and checksum), with its recorded rows; no unrecorded part.

``verify`` is `nascost verify DIR` (checksums included); ``check_dataset`` is the cheap check
(sizes and Parquet footers, no checksums) that summary, query, pareto and plot run before
reading: an inconsistent dataset would give wrong totals silently. ``check_part`` is what
``--resume`` runs on each recorded part before trusting it.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nascost.io import manifest as M
from nascost.io.fs import ArrowDir, Location, is_uri, location

_CHUNK = 1 << 20


class DatasetError(ValueError):
    """A results directory that does not match its manifest (message names the files)."""


class DatasetWarning(UserWarning):
    """The same, read anyway (force=True)."""


@dataclass
class Report:
    """What `verify` found: ``problems`` (one line each, naming the file) is empty when the
    dataset matches its manifest."""

    path: str
    parts: int = 0  # part files recorded in the manifest
    rows: int = 0  # rows recorded in the manifest
    scanned: int = 0
    complete: bool | None = None
    checksums: bool = False  # whether the parts' checksums were compared
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def size_of(loc: Location, name: str) -> int | None:
    """The size of file ``name`` in ``loc`` in bytes, or None if it is missing."""
    if isinstance(loc, ArrowDir):
        from pyarrow.fs import FileType

        info = loc.fs.get_file_info(loc._join(name))
        return None if info.type == FileType.NotFound else int(info.size)
    p = Path(str(loc)) / name
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return None


def digest(loc: Location, name: str) -> str:
    """sha256 (hex) of file ``name`` in ``loc``: the checksum the manifest records."""
    h = hashlib.sha256()
    if isinstance(loc, ArrowDir):
        with loc.fs.open_input_stream(loc._join(name)) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    else:
        with open(Path(str(loc)) / name, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def stamp(loc: Location, entry: dict) -> dict:
    """The manifest entry of a part just written, with its size and checksum added."""
    if entry.get("file"):
        entry["size"] = size_of(loc, entry["file"])
        entry["sha256"] = digest(loc, entry["file"])
    return entry


def check_part(loc: Location, entry: dict, checksum: bool = True) -> str | None:
    """What is wrong with a recorded part file (None when it matches its entry)."""
    name = entry["file"]
    size = size_of(loc, name)
    if size is None:
        return f"{name}: missing"
    if "size" in entry and size != entry["size"]:
        return f"{name}: {size:,} bytes, the manifest records {entry['size']:,} (truncated or " \
               "changed)"
    if checksum and "sha256" in entry and digest(loc, name) != entry["sha256"]:
        return f"{name}: its checksum differs from the manifest's (damaged)"
    try:
        rows = loc.parquet_metadata(name).num_rows
    except Exception as e:  # noqa: BLE001 - any unreadable footer is the same finding
        return f"{name}: not a readable Parquet file ({str(e).splitlines()[0]})"
    if rows != entry["rows"]:
        return f"{name}: {rows:,} rows, the manifest records {entry['rows']:,}"
    return None


def verify(path: str | Path, *, checksums: bool = True) -> Report:
    """Check the results directory ``path`` against its manifest (a single Parquet file has
    none: only its footer is read). Raises FileNotFoundError when there are no results and
    ValueError for a damaged manifest; everything else is a line of ``problems``."""
    loc = location(path)
    report = Report(str(path), checksums=checksums)
    kind = loc.kind()
    if kind == "missing":
        raise FileNotFoundError(f"no results at {path}: not a file or directory")
    if kind == "file":
        import pyarrow.parquet as pq

        try:
            if is_uri(path):
                with loc.fs.open_input_file(loc.path) as f:
                    report.rows = pq.read_metadata(f).num_rows
            else:
                report.rows = pq.read_metadata(path).num_rows
        except Exception as e:  # noqa: BLE001
            report.problems.append(f"{path}: not a readable Parquet file ({e})")
        return report
    manifest = M.Manifest.load(loc)
    on_disk = loc.part_names()
    if manifest is None:
        if not on_disk:
            raise FileNotFoundError(f"{path} is not a nascost results directory (no "
                                    f"part-*.parquet files and no {M.MANIFEST})")
        report.problems.append(f"{M.MANIFEST} is missing: {len(on_disk)} part files cannot be "
                               "checked (rows may be missing or counted twice)")
        return report
    report.rows, report.scanned, report.complete = (manifest.rows, manifest.scanned,
                                                    manifest.complete)
    recorded = {e["file"] for e in manifest.entries if e["file"]}
    report.parts = len(recorded)
    for e in sorted((e for e in manifest.entries if e["file"]), key=lambda e: e["start"]):
        problem = check_part(loc, e, checksums)
        if problem:
            report.problems.append(problem)
    for name in on_disk:
        a, b = M.parse_part(name)
        if name not in recorded and a < b:  # (a part of no positions holds the schema only)
            report.problems.append(f"{name}: a part file the manifest does not record")
    return report


def check_dataset(path: str | Path, *, force: bool = False) -> list[str]:
    """The check analytics run before reading ``path``: sizes, footers and row counts against
    the manifest (no checksums). Raises DatasetError when they disagree, or, with force,
    warns (DatasetWarning) and returns the problems."""
    report = verify(path, checksums=False)
    if not report.problems:
        return []
    shown = "; ".join(report.problems[:3])
    more = len(report.problems) - 3
    if more > 0:
        shown += f"; and {more} more"
    msg = f"{path}: the dataset does not match its manifest: {shown}"
    if not force:
        raise DatasetError(f"{msg}. Its totals would be wrong: `nascost score ... --resume` "
                           "rescans what is missing or damaged; `nascost verify` lists every "
                           "problem; --force (force=True) reads it anyway")
    warnings.warn(f"{msg} (read anyway: totals may be wrong)", DatasetWarning, stacklevel=3)
    return report.problems


def as_dict(report: Report) -> dict[str, Any]:
    return {"path": report.path, "ok": report.ok, "parts": report.parts, "rows": report.rows,
            "scanned": report.scanned, "complete": report.complete,
            "checksums": report.checksums, "problems": list(report.problems)}
