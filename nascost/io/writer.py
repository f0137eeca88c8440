"""write_dataset: stream a scan into a directory of Parquet part files, resumably.

The calling thread scans chunk after chunk (the kernels release the GIL); writer threads
sort each part's rows by (flops, position), write it under a temporary name, flush it to
disk and rename it, then record it in the manifest. A part holds the kept rows of one
contiguous range of positions: it is cut when it reaches ``chunk_size`` rows, when
``flush_seconds`` have passed since it was started (so a kill loses little work however
tight the budget), or where the remaining ranges of a resumed run have a gap.

Memory stays flat: at most one part being filled, one waiting, and one being written per
writer thread (its rows freed as soon as they are Arrow columns).
"""

from __future__ import annotations

import errno
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from nascost.io import manifest as M
from nascost.io import schema as R
from nascost.io.fs import Location, location
from nascost.io.options import OptionError, option_name, scan_options
from nascost.io.scan import Block, Scanner, as_space, concat, flops_order
from nascost.io.verify import check_part, stamp

DEFAULT_ROW_GROUP = 1 << 16
DEFAULT_COMPRESSION = "zstd"


class WriteError(OSError):
    """Writing the results failed (full disk, unwritable directory, another writer)."""


@dataclass(frozen=True)
class WriteResult:
    path: Path | str  # the directory (a URI stays a str)
    rows: int  # rows in the dataset (all runs into it)
    scanned: int  # positions covered by the dataset
    rows_now: int  # rows written by this call
    scanned_now: int  # positions scanned by this call
    parts: int  # part files in the dataset
    seconds: float  # wall time of this call
    complete: bool
    resumed: bool
    repaired: tuple[str, ...] = ()  # recorded parts found missing or damaged, rescanned


def write_dataset(space: Any, out: str | Path, *, resume: bool = False,
                  overwrite: bool = False,
                  on_progress: Callable[[int, int], None] | None = None,
                  compression: str = DEFAULT_COMPRESSION,
                  row_group_size: int = DEFAULT_ROW_GROUP,
                  writer_threads: int | None = None, fsync: bool = True,
                  flush_seconds: float = 30.0, sort_by_flops: bool = True,
                  client: Any = None, style: str = "python", **options: Any) -> WriteResult:
    """Score candidates of ``space`` and write the rows within budget to the directory
    ``out`` as Parquet part files (see ``stream`` for the scan options).

    ``out`` is a local path or a filesystem URI (``s3://bucket/dir``, ``gs://...``,
    ``hdfs://...``, ``file:///...``; see nascost.io.fs). It must be empty or absent, unless
    ``resume`` (continue the run recorded there; the options that decide the rows must be
    the same) or ``overwrite`` (delete the nascost results there first).
    ``on_progress(scanned, kept)`` is called after every chunk with the numbers of that
    chunk. Rows of a part are ordered by (flops, position) so that the row groups'
    statistics let budget queries skip most of the data (``sort_by_flops=False`` keeps the
    scan order).

    ``client`` (a ``dask.distributed.Client``) runs the scan on the Dask cluster instead:
    one task per ``chunk_size`` positions, each writing its own part to ``out`` (which
    every worker must reach), the manifest written by this process only; the rows are
    those of a local run (see nascost.io.distributed). Returns a WriteResult.
    """
    t0 = time.perf_counter()

    def name(n: str) -> str:
        return option_name(n, style)

    sp = as_space(space)
    opts = scan_options(sp, style=style, **options)
    loc = _check_options(out, resume, overwrite, compression, row_group_size, client, name)
    # everything about the scan is checked before the disk
    part = PartWriter.build(sp, opts, loc, compression, row_group_size, fsync, sort_by_flops)
    scanner = part.scanner
    info = R.read_info(scanner.metadata)
    space_json = scanner.metadata[R.KEY_SPACE].decode()
    existing = _check_target(loc, resume, overwrite, info, name)

    with _lock(loc):
        if overwrite:
            _clear(loc)
        _remove_temporaries(loc)
        repairs: list[str] = []
        manifest = _reconcile(loc, existing, info, space_json, repairs) if resume else None
        resumed = manifest is not None and bool(manifest.entries)
        if manifest is None:
            manifest = M.Manifest(loc, info, space_json, [])
        _guard(loc, "writing the manifest", lambda: manifest.save(fsync))
        remaining = M.subtract(opts.start, opts.stop, manifest.done_ranges())
        if client is not None:
            from nascost.io.distributed import run_tasks

            rows_now, scanned_now = run_tasks(client, part, manifest, remaining,
                                              on_progress)
        else:
            rows_now, scanned_now = _run_local(part, manifest, remaining, on_progress,
                                               writer_threads or 2, flush_seconds)
        if not loc.part_names():
            # nothing kept: one empty part, so that every reader finds the schema
            part.write(Block(opts.start, opts.start, *_empty_columns(scanner)))
        manifest.complete = not M.subtract(opts.start, opts.stop, manifest.done_ranges())
        _guard(loc, "writing the manifest", lambda: manifest.save(fsync))
        return WriteResult(loc.local if loc.local is not None else str(loc), manifest.rows,
                           manifest.scanned, rows_now, scanned_now, len(loc.part_names()),
                           time.perf_counter() - t0, manifest.complete, resumed,
                           tuple(repairs))


def check_write(space: Any, out: str | Path, *, resume: bool = False, overwrite: bool = False,
                compression: str = DEFAULT_COMPRESSION, style: str = "python",
                **options: Any) -> None:
    """Every check write_dataset makes before it scores anything (options, the output
    location, a resumed run's options), without building tables or loading kernels: the CLI
    calls it first, so that a mistake is reported at once, not after the warm-up."""
    def name(n: str) -> str:
        return option_name(n, style)

    sp = as_space(space)
    opts = scan_options(sp, style=style, **options)
    loc = _check_options(out, resume, overwrite, compression, DEFAULT_ROW_GROUP, None, name)
    R.check_gene_names(sp)
    _check_target(loc, resume, overwrite, R.read_info(R.build_metadata(sp, opts)), name)


def _check_options(out, resume: bool, overwrite: bool, compression: str,
                   row_group_size: int, client: Any, name) -> Location:
    """The checks of write_dataset's own options; returns the output location."""
    if resume and overwrite:
        raise OptionError(name("overwrite"), f"cannot be combined with {name('resume')}")
    if compression not in ("zstd", "snappy", "lz4", "gzip", "brotli", "none"):
        raise OptionError(name("compression"), f"unknown codec {compression!r}")
    if not isinstance(row_group_size, int) or row_group_size < 1:
        raise OptionError(name("row_group_size"), f"must be an integer >= 1. "
                                                  f"Got {row_group_size!r}.")
    if client is not None:
        from nascost.io.distributed import check_client

        check_client(client)
    try:
        return location(out)
    except (OSError, ValueError) as e:
        raise OptionError(name("out"), str(e)) from None


def _run_local(part: PartWriter, manifest: M.Manifest, remaining: list[tuple[int, int]],
               on_progress: Callable[[int, int], None] | None, writer_threads: int,
               flush_seconds: float) -> tuple[int, int]:
    """Scan the remaining ranges in this thread, writing parts in writer threads; returns
    the rows kept and the positions scanned."""
    opts = part.scanner.options
    writers = _Writers(part, manifest, writer_threads)
    rows_now = scanned_now = 0
    ok = False
    acc: list[Block] = []
    try:
        acc_rows = 0
        started = time.monotonic()
        for block in part.scanner.blocks(remaining):
            if acc and block.start != acc[-1].stop:
                writers.submit(acc)
                acc, acc_rows = [], 0
            if not acc:
                started = time.monotonic()
            acc.append(block)
            acc_rows += block.rows
            rows_now += block.rows
            scanned_now += block.scanned
            if on_progress is not None:
                on_progress(block.scanned, block.rows)
            if acc_rows >= opts.chunk_size or time.monotonic() - started >= flush_seconds:
                writers.submit(acc)
                acc, acc_rows = [], 0
        if acc:
            writers.submit(acc)
        ok = True
    except KeyboardInterrupt:
        # the chunks scanned so far are complete work: write them, then stop
        if acc:
            writers.submit(acc)
        ok = True
        raise
    finally:
        writers.close(abort=not ok)
    return rows_now, scanned_now


def _empty_columns(scanner: Scanner):
    import numpy as np

    g = scanner.space.n_genes
    return (np.empty(0, np.uint64), np.empty(0, np.uint64) if scanner.with_ids else None,
            np.empty((0, g), np.uint8), np.empty((0, 4), np.int64), np.empty(0, np.int8))


# -- the target directory ----------------------------------------------------------------

def _check_target(out: Location, resume: bool, overwrite: bool, info: dict,
                  name) -> M.Manifest | None:
    """Refuse what must not be touched; returns the manifest of a run to resume."""
    try:
        kind = out.kind()
        entries = out.names() if kind == "dir" else []
    except OSError as e:
        raise _write_error(out, "reading the directory", e) from e
    if kind == "file":
        raise OptionError(name("out"), f"{out} exists and is not a directory")
    if not entries:
        return None
    if not resume and not overwrite:
        raise OptionError(name("out"), (
            f"{out} is not empty; pass {name('resume')} to continue the run in it or "
            f"{name('overwrite')} to replace it"))
    foreign = [e for e in entries if not M.is_ours(e)]
    if foreign:
        what = "delete them" if overwrite else "resume there"
        raise OptionError(name("out"), (
            f"{out} holds files nascost did not write ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); refusing to {what}"))
    if overwrite:
        return None
    manifest = M.Manifest.load(out)
    if manifest is None:
        if out.part_names():
            raise OptionError(name("resume"), (
                f"{out} holds part files but no {M.MANIFEST}; cannot tell what run they "
                f"belong to (use {name('overwrite')} to start again)"))
        return None
    _check_same_run(manifest.info, info, name)
    return manifest


def _check_same_run(old: dict, new: dict, name) -> None:
    def fail(option: str, what: str, a: Any, b: Any) -> None:
        raise OptionError(option, (
            f"differs from the run being resumed: {what} was {a!r} there and is {b!r} now "
            f"(repeat the original options, or use {name('overwrite')})"))

    if old["space"]["hash"] != new["space"]["hash"]:
        fail("SPACE" if name("x") == "--x" else "space", "the space",
             f"{old['space']['name']} ({old['space']['hash']})",
             f"{new['space']['name']} ({new['space']['hash']})")
    a, b = old["run"], new["run"]
    if a["mode"] != b["mode"]:
        fail(name("sample" if b["mode"] == "sample" else "ids"), "the kind of scan",
             a["mode"], b["mode"])
    if b["mode"] == "sample":
        if a["n"] != b["n"]:
            fail(name("sample"), "the sample size", a["n"], b["n"])
        if a["seed"] != b["seed"]:
            fail(name("seed"), "the seed", a["seed"], b["seed"])
    elif (a["start"], a["stop"]) != (b["start"], b["stop"]):
        fail(name("ids"), "the id range", f"{a['start']}:{a['stop']}",
             f"{b['start']}:{b['stop']}")
    for key in sorted(set(a["budget"]) | set(b["budget"])):
        if a["budget"].get(key) != b["budget"].get(key):
            fail(name(key), "the budget", a["budget"].get(key), b["budget"].get(key))
    if a["include_invalid"] != b["include_invalid"]:
        fail(name("include_invalid"), "include_invalid", a["include_invalid"],
             b["include_invalid"])
    if old["convention"] != new["convention"]:
        fail(name("convention"), "the convention", old["convention"]["name"],
             new["convention"]["name"])
    if old.get("format_version", 1) != new.get("format_version", 1):
        fail(name("resume"), "the results format version (gene columns hold choice values "
             "from version 2 on)", old.get("format_version", 1), new.get("format_version", 1))
    if old["batch"] != new["batch"]:
        fail(name("batch"), "the batch", old["batch"], new["batch"])


def _guard(out: Location, doing: str, fn: Callable[[], Any]) -> Any:
    """Run fn, turning an OS failure into a WriteError that says what to do."""
    try:
        return fn()
    except WriteError:
        raise
    except OSError as e:
        raise _write_error(out, doing, e) from e


def _write_error(out: Location, doing: str, e: OSError) -> WriteError:
    text = str(e)
    code = getattr(e, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text \
            or "Disk quota" in text:
        return WriteError(errno.ENOSPC, (
            f"no space left on the device of {out} while {doing}; the parts already "
            "written are kept: free some space and run again with --resume"))
    if isinstance(e, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS) \
            or "Permission denied" in text or "Read-only file system" in text:
        return WriteError(errno.EACCES, f"cannot write to {out} ({doing}): permission denied "
                                        "or read-only file system")
    return WriteError(code or errno.EIO, f"{doing} in {out} failed: {text}")


class _Lock:
    """An exclusive lock on the directory for the duration of a run (released by the OS
    if the process dies)."""

    def __init__(self, out: Path):
        self.out = out
        self.file = None

    def __enter__(self):
        _guard(self.out, "creating the directory",
               lambda: self.out.mkdir(parents=True, exist_ok=True))
        self.file = _guard(self.out, "creating the lock file",
                           lambda: open(self.out / M.LOCK, "a+"))
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise WriteError(errno.EBUSY, f"another nascost process is writing to {self.out}; "
                                          "wait for it to finish") from None
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()  # closing releases the lock


class _NoLock:
    """A directory on a remote filesystem: created, but not locked (there is no portable
    lock on object stores: one run at a time into a directory is up to the user)."""

    def __init__(self, out: Location):
        self.out = out

    def __enter__(self):
        _guard(self.out, "creating the directory", self.out.mkdir)
        return self

    def __exit__(self, *exc):
        return None


def _lock(out: Location):
    return _Lock(out.local) if out.local is not None else _NoLock(out)


def _clear(out: Location) -> None:
    names = _guard(out, "listing the old results", out.names)
    for n in names:
        if M.is_ours(n) and n not in (M.LOCK, M.MANIFEST):
            _guard(out, "deleting the old results", lambda n=n: out.delete(n))
    if M.MANIFEST in names:
        _guard(out, "deleting the old results", lambda: out.delete(M.MANIFEST))


def _remove_temporaries(out: Location) -> None:
    for n in _guard(out, "listing the directory", out.names):
        if M.is_temp(n):
            _guard(out, "deleting temporary files", lambda n=n: out.delete(n))


def remove_strays(out: Location, manifest: M.Manifest) -> None:
    """Delete temporaries, and part files the manifest does not record (left by a task of
    an interrupted run that finished after the run resumed with other chunk boundaries);
    only once every task of the run is done."""
    known = {e["file"] for e in manifest.entries if e["file"]}
    for n in _guard(out, "listing the directory", out.names):
        if M.is_temp(n) or (M.parse_part(n) is not None and n not in known
                            and M.parse_part(n)[0] < M.parse_part(n)[1]):
            _guard(out, "deleting stray files", lambda n=n: out.delete(n))


def _reconcile(out: Location, manifest: M.Manifest | None, info: dict,
               space_json: str, repairs: list[str]) -> M.Manifest | None:
    """Bring the manifest in line with the part files on disk: a recorded part that is
    missing, or whose size, checksum or rows differ, is dropped (its range is scanned again;
    ``repairs`` gets a line naming it)."""
    if manifest is None:
        return None
    on_disk = {n: M.parse_part(n) for n in _guard(out, "listing the directory",
                                                   out.part_names)}
    entries = []
    for e in manifest.entries:  # a recorded part is trusted only if it is intact
        problem = None if e["file"] is None else check_part(out, e)
        if problem is None:
            entries.append(e)
            continue
        repairs.append(f"{problem}: positions {e['start']}:{e['stop']} are scanned again")
        if e["file"] in on_disk:
            _guard(out, "deleting a damaged part", lambda f=e["file"]: out.delete(f))
            del on_disk[e["file"]]
    known = {e["file"] for e in entries if e["file"]}
    for fname, (a, b) in on_disk.items():
        if fname in known:
            continue
        try:  # renamed just before the kill: complete, but not yet recorded
            md = out.parquet_metadata(fname)
            r = R.read_info(md.metadata)
            ok = r["space"]["hash"] == info["space"]["hash"] and r["run"] == info["run"]
        except Exception:
            ok = False
        if not ok:
            _guard(out, "deleting a damaged part", lambda fname=fname: out.delete(fname))
            continue
        entries.append(stamp(out, {"start": a, "stop": b, "file": fname, "rows": md.num_rows,
                                   "scanned": b - a}))
    spans = sorted((e["start"], e["stop"]) for e in entries if e["stop"] > e["start"])
    for (a0, b0), (a1, b1) in zip(spans, spans[1:], strict=False):
        if a1 < b0:
            raise ValueError(f"{out}: parts {a0}:{b0} and {a1}:{b1} overlap; the directory "
                             "was changed by hand (use --overwrite to start again)")
    return M.Manifest(out, info, space_json, entries)


# -- the part files -----------------------------------------------------------------------

class PartWriter:
    """Writes the kept rows of one range of positions as one part file: rows sorted by
    (flops, position), under a temporary name, then renamed to the range's name (so that
    writing the same range again replaces the part, never duplicates it). Used by the
    writer threads here and by the Dask tasks (it pickles)."""

    def __init__(self, out: Location, scanner: Scanner, compression: str,
                 row_group_size: int, fsync: bool, sort_by_flops: bool):
        self.out = out
        self.scanner = scanner
        self.compression = compression
        self.row_group_size = row_group_size
        self.fsync = fsync
        self.sort_by_flops = sort_by_flops
        # small-integer columns; counts stay plain
        self.dictionary = list(scanner.space.gene_names) + [R.STATUS]

    @classmethod
    def build(cls, space, options, out: Location, compression: str, row_group_size: int,
              fsync: bool, sort_by_flops: bool) -> PartWriter:
        scanner = Scanner(space, options)
        if not sort_by_flops:
            scanner.metadata = R.build_metadata(space, options, sort=False)
            scanner.schema = scanner.schema.with_metadata(scanner.metadata)
        return cls(out, scanner, compression, row_group_size, fsync, sort_by_flops)

    def write(self, block: Block, buffers: dict | None = None) -> dict:
        """Write ``block`` (an empty block of positions writes no file); returns its
        manifest entry."""
        a, b = block.start, block.stop
        rows = block.rows
        if rows == 0 and b > a:
            return {"start": a, "stop": b, "file": None, "rows": 0, "scanned": b - a}
        order = flops_order(block) if self.sort_by_flops and rows > 1 else None
        sc = self.scanner
        schema = sc.schema.with_metadata(R.part_metadata(sc.metadata, a, b, b - a, rows))
        # the buffers are the caller's; the table is gone before its next part
        batch = block.to_batch(schema, order, buffers)
        del block, order
        table = pa.Table.from_batches([batch], schema=schema)
        del batch
        final = M.part_name(a, b)
        _guard(self.out, f"writing {final}", lambda: self.out.write_parquet(
            table, final, self.fsync, compression=self.compression,
            row_group_size=self.row_group_size, use_dictionary=self.dictionary,
            write_statistics=True))
        entry = {"start": a, "stop": b, "file": final, "rows": rows, "scanned": b - a}
        return _guard(self.out, f"reading back {final}", lambda: stamp(self.out, entry))


# -- the writer threads ------------------------------------------------------------------

class _Writers:
    def __init__(self, part: PartWriter, manifest: M.Manifest, n: int):
        self.part = part
        self.out = part.out
        self.fsync = part.fsync
        self.manifest = manifest
        self.lock = threading.Lock()
        self.local = threading.local()  # per writer thread: column buffers reused per part
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.threads = [threading.Thread(target=self._run, name=f"nascost-writer-{i}",
                                         daemon=True) for i in range(max(1, n))]
        for t in self.threads:
            t.start()

    def submit(self, blocks: list[Block]) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(blocks, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            if self.error is not None:
                continue
            try:
                held = [concat(job)]
                job = None  # write_part frees the rows once they are columns
                self.write_part(held)
            except BaseException as e:  # noqa: BLE001 (handed to the scanning thread)
                with self.lock:
                    if self.error is None:
                        self.error = e

    def close(self, abort: bool) -> None:
        if abort:
            while True:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    break
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()
        if self.error is not None and not abort:
            raise self.error

    def write_part(self, held: list[Block]) -> None:
        """Write the one block in ``held`` (taken out of it, so that its rows can be freed
        as soon as they are columns), then record it in the manifest."""
        if not hasattr(self.local, "buffers"):
            self.local.buffers = {}
        entry = self.part.write(held.pop(), self.local.buffers)
        with self.lock:
            self.manifest.add(entry)
            _guard(self.out, "writing the manifest", lambda: self.manifest.save(self.fsync))
