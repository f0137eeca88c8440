"""The result directory's manifest and its file names.

A result directory holds part files ``part-<start>-<stop>.parquet`` (each the kept rows of
positions [start, stop), zero-padded so that names sort by position), ``_manifest.json``
and ``_nascost.lock``. Readers skip names that start with ``_`` or ``.``, so the manifest,
the lock and the temporaries (``.part-*.tmp``) are invisible to pyarrow, Polars and DuckDB.

The manifest records the run (the same metadata as the files, so a run that kept nothing is
still self-describing) and which position ranges are done: each with its part file, or
none where the range kept no row. A part is complete once renamed to its final name, so on
resume the part files on disk are the truth: a part renamed just before a kill, but not yet
in the manifest, is adopted; a manifest entry whose file is gone is done again.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

MANIFEST = "_manifest.json"
LOCK = "_nascost.lock"
FORMAT = "nascost-manifest"
VERSION = 1
_PART = re.compile(r"^part-(\d{20})-(\d{20})\.parquet$")
_TEMP = re.compile(r"^\.(part-\d{20}-\d{20}\.parquet|_manifest\.json)\.[0-9a-f]+\.tmp$")


def part_name(start: int, stop: int) -> str:
    return f"part-{start:020d}-{stop:020d}.parquet"


def parse_part(name: str) -> tuple[int, int] | None:
    m = _PART.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def is_temp(name: str) -> bool:
    return _TEMP.match(name) is not None


def temp_name(final: str) -> str:
    return f".{final}.{os.urandom(4).hex()}.tmp"


def is_ours(name: str) -> bool:
    return (name in (MANIFEST, LOCK) or parse_part(name) is not None or is_temp(name))


def part_files(directory: Path) -> list[Path]:
    """The complete part files, in position order."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if parse_part(p.name) is not None)


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if a >= b:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(start: int, stop: int, done: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, stop) minus the done ranges, as sorted disjoint ranges."""
    out = []
    pos = start
    for a, b in merge(done):
        if b <= pos or a >= stop:
            continue
        if a > pos:
            out.append((pos, a))
        pos = max(pos, b)
    if pos < stop:
        out.append((pos, stop))
    return out


def write_atomic(path: Path, text: str, fsync: bool = True) -> None:
    tmp = path.parent / temp_name(path.name)
    try:
        with open(tmp, "w") as f:
            f.write(text)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


_INFO_KEYS = ("space", "convention", "batch", "nascost_version", "units", "run",
              "status_codes", "layout")
_ENTRY_INTS = ("start", "stop", "rows", "scanned")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _problem(data) -> str | None:
    """What is wrong with a parsed manifest's structure (None when it can be used)."""
    if not isinstance(data, dict):
        return f"expected a JSON object, found {type(data).__name__}"
    if data.get("format") != FORMAT:
        return "not a nascost manifest (no \"format\": \"nascost-manifest\")"
    if not _is_int(data.get("version", 0)):
        return "'version' is not an integer"
    for key, kind in (("info", dict), ("space", str), ("done", list)):
        if key not in data:
            return f"no {key!r}"
        if not isinstance(data[key], kind):
            return f"{key!r} is not a {kind.__name__}"
    missing = [k for k in _INFO_KEYS if k not in data["info"]]
    if missing:
        return f"'info' has no {missing[0]!r}"
    sp = data["info"]["space"]
    if not isinstance(sp, dict) or not isinstance(sp.get("hash"), str):
        return "'info.space' has no hash"
    if not isinstance(data.get("complete", False), bool):
        return "'complete' is not true or false"
    for i, e in enumerate(data["done"]):
        if not isinstance(e, dict):
            return f"done[{i}] is not an object"
        bad = [k for k in _ENTRY_INTS if not _is_int(e.get(k)) or e[k] < 0]
        if bad:
            return f"done[{i}].{bad[0]} is not a non-negative integer"
        f = e.get("file", "missing")
        if f is not None and (not isinstance(f, str) or parse_part(f) != (e["start"],
                                                                          e["stop"])):
            return f"done[{i}].file is not the part file of {e['start']}:{e['stop']}"
        if e["start"] > e["stop"]:
            return f"done[{i}] starts after it stops"
    return None


class Manifest:
    """The manifest in memory; ``save`` rewrites it atomically. ``location`` is the results
    directory (a path, a URI or a nascost.io.fs.Location)."""

    def __init__(self, location, info: dict, space_json: str, entries: list[dict],
                 complete: bool = False):
        from nascost.io.fs import location as as_location

        self.location = as_location(location)
        self.info = info
        self.space_json = space_json
        self.entries = entries  # {"start", "stop", "file" (or None), "rows", "scanned"}
        self.complete = complete

    @property
    def path(self) -> str:
        """Where the manifest is, for messages."""
        return f"{str(self.location).rstrip('/')}/{MANIFEST}"

    @classmethod
    def load(cls, directory) -> Manifest | None:
        """The manifest in ``directory`` (a path, a URI or a Location), or None."""
        from nascost.io.fs import location as as_location

        loc = as_location(directory)
        path = f"{str(loc).rstrip('/')}/{MANIFEST}"
        try:
            text = loc.read_text(MANIFEST)
            if text is None:
                return None
            data = json.loads(text)
        except (OSError, ValueError, RecursionError) as e:  # ValueError: bad JSON, not UTF-8
            raise ValueError(f"{path}: cannot read the manifest ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:200]})") from None
        problem = _problem(data)
        if problem:
            raise ValueError(f"{path}: damaged manifest: {problem} (restore it, or score "
                             "again with --overwrite)")
        if data.get("version", 0) > VERSION:
            raise ValueError(f"{path}: manifest version {data['version']} is newer than this "
                             "nascost reads; upgrade nascost")
        return cls(loc, data["info"], data["space"], data["done"], data.get("complete", False))

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, "complete": self.complete,
                           "info": self.info, "space": self.space_json,
                           "done": sorted(self.entries, key=lambda e: e["start"])},
                          indent=1, sort_keys=True)

    def save(self, fsync: bool = True) -> None:
        self.location.write_text(MANIFEST, self.to_json(), fsync)

    def done_ranges(self) -> list[tuple[int, int]]:
        return merge([(e["start"], e["stop"]) for e in self.entries])

    def add(self, entry: dict) -> None:
        if entry["file"] is None and self.entries:
            # an empty range that extends an empty range: one entry
            for e in self.entries:
                if e["file"] is None and e["stop"] == entry["start"]:
                    e["stop"] = entry["stop"]
                    e["scanned"] += entry["scanned"]
                    return
        self.entries.append(entry)

    @property
    def rows(self) -> int:
        return sum(e["rows"] for e in self.entries)

    @property
    def scanned(self) -> int:
        return sum(e["scanned"] for e in self.entries)
