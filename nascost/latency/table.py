"""The latency table (LUT): one time per distinct block configuration of a space, with the
space hash, a description of the device and per-entry statistics, stored as Parquet.

Latency is an approximate cost (measured, or imported): the file's metadata says so
(``"approx": true``) and nascost never mixes it into the exact counts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nascost.latency.keys import key_hash

META_KEY = b"nascost.latency"
FORMAT = 1


@dataclass(eq=False)
class LatencyTable:
    """Entries (block key -> median nanoseconds, spread, repeats) and metadata."""

    keys: list[str]
    median_ns: np.ndarray  # (n,) int64
    spread_ns: np.ndarray  # (n,) int64: interquartile range of the observations
    repeats: np.ndarray  # (n,) int64: timed observations behind the median
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.median_ns = np.asarray(self.median_ns, dtype=np.int64)
        self.spread_ns = np.asarray(self.spread_ns, dtype=np.int64)
        self.repeats = np.asarray(self.repeats, dtype=np.int64)
        n = len(self.keys)
        for name in ("median_ns", "spread_ns", "repeats"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"latency table column {name} has "
                                 f"{getattr(self, name).shape[0]} rows; keys has {n}")
        if n and int(self.median_ns.min()) < 0:
            i = int(np.argmin(self.median_ns))
            raise ValueError(f"latency table entry {i} ({self.keys[i]!r}) is negative")
        self._by_hash: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return (f"LatencyTable({len(self)} entries, space={self.meta.get('space_name')!r}, "
                f"device={self.meta.get('device', {}).get('cpu')!r})")

    @property
    def by_hash(self) -> dict[int, int]:
        """{block hash: entry index}."""
        if self._by_hash is None:
            self._by_hash = {key_hash(k): i for i, k in enumerate(self.keys)}
        return self._by_hash

    @classmethod
    def from_values(cls, space, values: dict[str, float], *, unit: str = "us",
                    source: str = "values") -> LatencyTable:
        """A table from {block key: time} (``unit`` us, ms, s or ns): synthetic tables,
        imported ones."""
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
        keys = list(values)
        ns = np.array([int(round(float(values[k]) * scale)) for k in keys], dtype=np.int64)
        zero = np.zeros(len(keys), dtype=np.int64)
        return cls(keys, ns, zero, zero, meta=base_meta(space, source=source))

    def value_of(self, key: str) -> int:
        """The median nanoseconds of a block key (KeyError naming the key)."""
        i = self.by_hash.get(key_hash(key))
        if i is None:
            raise KeyError(f"the latency table has no entry for block {key!r}")
        return int(self.median_ns[i])

    # -- Parquet -------------------------------------------------------------------------
    def to_arrow(self):
        import pyarrow as pa

        tbl = pa.table({
            "key": pa.array(self.keys, pa.string()),
            "median_us": pa.array(self.median_ns / 1e3, pa.float64()),
            "median_ns": pa.array(self.median_ns, pa.int64()),
            "spread_ns": pa.array(self.spread_ns, pa.int64()),
            "repeats": pa.array(self.repeats, pa.int64()),
        })
        meta = {**self.meta, "format": FORMAT, "approx": True}
        return tbl.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True)})

    def write(self, path: str | Path) -> Path:
        """Write atomically (a temporary file renamed into place)."""
        import pyarrow.parquet as pq

        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(self.to_arrow(), tmp)
        os.replace(tmp, path)
        return path


def read_table(path: str | Path) -> LatencyTable:
    """Read a latency table written by nascost (ValueError naming the file otherwise)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"latency table {path} does not exist")
    try:
        tbl = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets one message
        raise ValueError(f"{path} is not a Parquet file: {e}") from None
    raw = (tbl.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a nascost latency table (no {META_KEY.decode()} "
                         "metadata); build one with `nascost lut build`")
    missing = [c for c in ("key", "median_ns", "spread_ns", "repeats")
               if c not in tbl.column_names]
    if missing:
        raise ValueError(f"latency table {path} lacks column(s) {missing}")
    return LatencyTable(tbl.column("key").to_pylist(), tbl.column("median_ns").to_numpy(),
                        tbl.column("spread_ns").to_numpy(), tbl.column("repeats").to_numpy(),
                        meta=json.loads(raw))


def resolve_table(space, latency: Any) -> LatencyTable:
    """A LatencyTable from a table or a path, checked against the space."""
    table = latency if isinstance(latency, LatencyTable) else read_table(latency)
    want = table.meta.get("space_hash")
    if want is not None and want != space.hash:
        raise ValueError(f"the latency table was built for space "
                         f"{table.meta.get('space_name')!r} (hash {want}), not for space "
                         f"{space.name!r} (hash {space.hash}); build one for this space")
    return table


def device_description(backend: str = "torch", threads: int = 1, batch: int = 1,
                       dtype: str = "float32") -> dict:
    """CPU model, core count, backend and version, threads, batch, dtype."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = None
    if backend == "torch":
        import torch

        version = torch.__version__
    elif backend == "onnxruntime":
        import onnxruntime

        version = onnxruntime.__version__
    return {"cpu": cpu, "cores": os.cpu_count(), "backend": backend,
            "backend_version": version, "threads": threads, "batch": batch, "dtype": dtype,
            "platform": platform.platform()}


def base_meta(space, **extra) -> dict:
    from nascost import __version__

    return {"space_name": space.name, "space_hash": space.hash, "nascost_version": __version__,
            "metric": "latency", "unit": "ns", "approx": True, **extra}
