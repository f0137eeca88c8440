"""Reading results back: open_results (a pyarrow Dataset) and results_info (provenance)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from nascost.io import manifest as M
from nascost.io import schema as R
from nascost.io.fs import ArrowDir, is_uri, location


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no results at {path}: not a file or directory")
    files = M.part_files(path)
    if not files:
        if (path / M.MANIFEST).exists():
            raise FileNotFoundError(f"{path} holds no part file yet (the run wrote nothing "
                                    "so far; resume it with --resume)")
        raise FileNotFoundError(f"{path} is not a nascost results directory (no part-*.parquet "
                                f"files and no {M.MANIFEST})")
    return files


def _remote_files(loc: ArrowDir) -> list[str]:
    kind = loc.kind()
    if kind == "file":
        return [loc.path]
    if kind == "missing":
        raise FileNotFoundError(f"no results at {loc}: not a file or directory")
    names = loc.part_names()
    if not names:
        raise FileNotFoundError(f"{loc} is not a nascost results directory (no "
                                "part-*.parquet files), or holds no part file yet")
    return loc.file_paths(names)


def open_results(path: str | Path) -> ds.Dataset:
    """The results in ``path`` (a directory written by write_dataset, or one Parquet file
    written by nascost; a local path or a filesystem URI) as a pyarrow.dataset.Dataset; its
    schema carries the metadata."""
    if is_uri(path):
        loc = location(path)
        files = _remote_files(loc)
        with loc.fs.open_input_file(files[0]) as f:
            schema = pq.read_schema(f)
        R.read_info(schema.metadata)
        return ds.dataset(files, schema=schema, format="parquet", filesystem=loc.fs)
    files = _files(Path(path))
    schema = pq.read_schema(files[0])
    R.read_info(schema.metadata)  # fail early on foreign files
    return ds.dataset([str(f) for f in files], schema=schema, format="parquet")


def results_info(path: str | Path) -> dict[str, Any]:
    """What produced the results in ``path``: a dict with

    - ``space``: the Space (rebuilt from the stored JSON; its hash is checked),
    - ``convention``: the Convention (its full weight table),
    - ``batch``, ``version`` (of nascost that wrote them), ``units``, ``run`` (what was
      scanned: mode, n and seed or the id range, budget, include_invalid), ``status_codes``,
      ``layout``,
    - ``rows``, ``scanned``, ``parts``, ``complete`` (from the manifest, for a directory).
    """

    if is_uri(path):
        return _remote_info(path)
    p = Path(path)
    manifest = M.Manifest.load(p) if p.is_dir() else None
    if manifest is not None:
        info, space_json = manifest.info, manifest.space_json
    else:
        md = pq.read_schema(_files(p)[0]).metadata
        info = R.read_info(md)
        space_json = md[R.KEY_SPACE].decode()
    out = _info(p, info, space_json)
    if manifest is not None:
        out.update(rows=manifest.rows, scanned=manifest.scanned,
                   parts=len(M.part_files(p)), complete=manifest.complete)
    else:
        files = _files(p)
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        part = json.loads(pq.read_schema(files[0]).metadata.get(R.KEY_PART, b"null"))
        out.update(rows=rows, scanned=None if part is None else part["scanned"],
                   parts=len(files), complete=None)
    return out


def _remote_info(uri: str) -> dict[str, Any]:
    loc = location(uri)
    manifest = M.Manifest.load(loc) if loc.kind() == "dir" else None
    if manifest is None:
        files = _remote_files(loc)
        with loc.fs.open_input_file(files[0]) as f:
            md = pq.read_schema(f).metadata
        out = _info(uri, R.read_info(md), md[R.KEY_SPACE].decode())
        rows = 0
        for name in files:
            with loc.fs.open_input_file(name) as f:
                rows += pq.read_metadata(f).num_rows
        part = json.loads(md.get(R.KEY_PART, b"null"))
        out.update(rows=rows, scanned=None if part is None else part["scanned"],
                   parts=len(files), complete=None)
        return out
    out = _info(uri, manifest.info, manifest.space_json)
    out.update(rows=manifest.rows, scanned=manifest.scanned, parts=len(loc.part_names()),
               complete=manifest.complete)
    return out


def _info(p, info: dict, space_json: str) -> dict[str, Any]:
    from nascost.rules.conventions import resolve
    from nascost.space.space import Space

    space = Space.from_json(space_json)
    if space.hash != info["space"]["hash"]:
        raise ValueError(f"{p}: the stored space JSON hashes to {space.hash}, but the metadata "
                         f"records {info['space']['hash']} (written by another nascost version "
                         "or changed by hand)")
    out: dict[str, Any] = {
        "space": space,
        "convention": resolve(info["convention"]),
        "batch": info["batch"],
        "version": info["nascost_version"],
        "units": info["units"],
        "run": info["run"],
        "status_codes": {int(k): v for k, v in info["status_codes"].items()},
        "layout": info["layout"],
        "path": p,
    }
    return out
