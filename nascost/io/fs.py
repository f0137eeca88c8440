"""Where results live: a local directory, or a directory on a pyarrow filesystem (a URI).

A ``Location`` is the few file operations the writer, the manifest and the reader need:
list the names in the directory, read and atomically replace a small text file, write a
Parquet part under a temporary name and rename it, delete, read a part's footer.

- A local path (``runs/mbv2``, ``/data/x``) is a ``LocalDir``: plain ``os`` calls, files
  flushed to disk (``fsync``) before the rename, exactly as nascost always wrote.
- A URI (``s3://bucket/runs/mbv2``, ``gs://...``, ``hdfs://...``, ``file:///...``) is an
  ``ArrowDir`` on ``pyarrow.fs.FileSystem.from_uri``; where pyarrow does not know the scheme
  and fsspec is installed with that filesystem's package (s3fs, gcsfs, adlfs, ...), fsspec's
  filesystem is used through pyarrow. On object stores a rename is a copy and a delete, and an
  object appears whole or not at all, so a reader never sees a partial part either way.

Both pickle: Dask tasks carry the Location to the worker that writes the part.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nascost.io import manifest as M


def is_uri(target: Any) -> bool:
    return isinstance(target, str) and "://" in target


class Location(ABC):
    """A results directory (LocalDir or ArrowDir). ``str(location)`` is what messages show."""

    local: Path | None = None  # the directory, where it is on the local disk

    @abstractmethod
    def kind(self) -> str:
        """'missing', 'dir' or 'file'."""
        ...

    @abstractmethod
    def names(self) -> list[str]:
        """The names of the entries directly in the directory (none if it is absent)."""
        ...

    @abstractmethod
    def mkdir(self) -> None:
        ...

    @abstractmethod
    def read_text(self, name: str) -> str | None:
        """The file's text, or None where it does not exist."""
        ...

    @abstractmethod
    def write_text(self, name: str, text: str, fsync: bool = True) -> None:
        """Replace the file atomically (a temporary, then a rename)."""
        ...

    @abstractmethod
    def delete(self, name: str) -> None:
        ...

    @abstractmethod
    def write_parquet(self, table: pa.Table, name: str, fsync: bool = True,
                      **options: Any) -> None:
        """Write ``table`` to a temporary, then rename it to ``name``: a complete part
        appears at once, and writing the same name again replaces it."""
        ...

    @abstractmethod
    def parquet_metadata(self, name: str) -> pq.FileMetaData:
        ...

    def part_names(self) -> list[str]:
        """The complete part files, in position order."""
        return sorted(n for n in self.names() if M.parse_part(n) is not None)


class LocalDir(Location):
    def __init__(self, path: str | Path):
        self.local = Path(path)

    def __str__(self) -> str:
        return str(self.local)

    def __repr__(self) -> str:
        return f"LocalDir({str(self.local)!r})"

    def kind(self) -> str:
        p = self.local
        return "dir" if p.is_dir() else "file" if p.exists() else "missing"

    def names(self) -> list[str]:
        p = self.local
        return sorted(e.name for e in p.iterdir()) if p.is_dir() else []

    def mkdir(self) -> None:
        self.local.mkdir(parents=True, exist_ok=True)

    def read_text(self, name: str) -> str | None:
        path = self.local / name
        return path.read_text() if path.exists() else None

    def write_text(self, name: str, text: str, fsync: bool = True) -> None:
        M.write_atomic(self.local / name, text, fsync)

    def delete(self, name: str) -> None:
        (self.local / name).unlink()

    def write_parquet(self, table: pa.Table, name: str, fsync: bool = True,
                      **options: Any) -> None:
        tmp = self.local / M.temp_name(name)
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f, **options)
                if fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, self.local / name)
        finally:
            if tmp.exists():
                tmp.unlink()

    def parquet_metadata(self, name: str) -> pq.FileMetaData:
        return pq.read_metadata(self.local / name)


class ArrowDir(Location):
    """A directory on a pyarrow filesystem (``fs``), at ``path`` in it."""

    def __init__(self, uri: str, fs, path: str):
        self.uri = uri
        self.fs = fs
        self.path = path.rstrip("/") or "/"

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"ArrowDir({self.uri!r})"

    def _join(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path != "/" else f"/{name}"

    def kind(self) -> str:
        from pyarrow.fs import FileType

        t = self.fs.get_file_info(self.path).type
        return "dir" if t == FileType.Directory else "missing" if t == FileType.NotFound \
            else "file"

    def names(self) -> list[str]:
        from pyarrow.fs import FileSelector

        if self.kind() != "dir":
            return []
        infos = self.fs.get_file_info(FileSelector(self.path, allow_not_found=True))
        return sorted(i.base_name for i in infos)

    def mkdir(self) -> None:
        self.fs.create_dir(self.path, recursive=True)

    def read_text(self, name: str) -> str | None:
        from pyarrow.fs import FileType

        path = self._join(name)
        if self.fs.get_file_info(path).type == FileType.NotFound:
            return None
        with self.fs.open_input_stream(path) as f:
            return f.read().decode()

    def _replace(self, name: str, write) -> None:
        tmp = self._join(M.temp_name(name))
        try:
            with self.fs.open_output_stream(tmp) as f:
                write(f)
            self.fs.move(tmp, self._join(name))
        except BaseException:
            with suppress(OSError):
                self.fs.delete_file(tmp)
            raise

    def write_text(self, name: str, text: str, fsync: bool = True) -> None:
        self._replace(name, lambda f: f.write(text.encode()))

    def delete(self, name: str) -> None:
        self.fs.delete_file(self._join(name))

    def write_parquet(self, table: pa.Table, name: str, fsync: bool = True,
                      **options: Any) -> None:
        self._replace(name, lambda f: pq.write_table(table, f, **options))

    def parquet_metadata(self, name: str) -> pq.FileMetaData:
        with self.fs.open_input_file(self._join(name)) as f:
            return pq.read_metadata(f)

    def file_paths(self, names: list[str]) -> list[str]:
        return [self._join(n) for n in names]


def location(target: Any) -> Location:
    """A Location for a local path (str or Path) or a filesystem URI."""
    if isinstance(target, Location):
        return target
    if isinstance(target, Path) or not is_uri(target):
        return LocalDir(target)
    return ArrowDir(target, *_from_uri(target))


def _from_uri(uri: str):
    from pyarrow.fs import FileSystem

    try:
        return FileSystem.from_uri(uri)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
        arrow_error = e
    except OSError as e:  # e.g. no credentials, or a filesystem pyarrow was built without
        raise OSError(f"cannot open {uri}: {e}") from None
    try:
        import fsspec
        from pyarrow.fs import FSSpecHandler, PyFileSystem
    except ImportError:
        raise ValueError(f"cannot open {uri}: {arrow_error} (pyarrow does not know this "
                         "filesystem; install fsspec and the filesystem's package, e.g. "
                         "s3fs, gcsfs or adlfs)") from None
    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as e:
        raise ValueError(f"cannot open {uri}: {e}") from None
    return PyFileSystem(FSSpecHandler(fs)), path
