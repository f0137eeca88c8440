"""One scoring run sharded over a Dask cluster, exactly once (``write_dataset(...,
client=...)``, ``nascost score --dask ADDRESS``).

- This process (the client) does everything a local run does around the scan
  (nascost.io.writer): it checks the options and the target, holds the directory's lock,
  reconciles the manifest on resume, and it is the only writer of the manifest.
- The positions not yet done are cut into ranges of ``chunk_size`` positions, from the
  manifest alone: the same run gives the same ranges whatever the number of workers, and
  a sample index draws its genes from its own seeded stream, so the rows never depend on
  which worker scores them.
- One task per range: the worker scores it with the same numba kernels (each worker
  process loads them from numba's on-disk cache and builds one Scanner per run, on its
  first task; kernel calls in a process take turns, each using all its numba threads) and
  writes the part itself (``PartWriter``: a temporary name, then a rename to the range's
  name). A task run again after its worker died writes the same name: the part is
  replaced, never duplicated.
- As results arrive the client records each range in the manifest and reports progress.
  At most a window of tasks is in flight, so any run size keeps the scheduler's memory flat.
- The manifest is the truth. A part renamed by a task whose result never arrived (the client
  was stopped) is adopted by ``--resume``, exactly as after a local kill; when a run
  completes, part files the manifest does not record and temporaries are deleted.

Dask is an optional extra (``pip install 'nascost[dask]'``); it is imported here only.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

from nascost.io import manifest as M
from nascost.io.fs import Location
from nascost.io.options import ScanOptions

log = logging.getLogger(__name__)

INSTALL = "pip install 'nascost[dask]'"


class ClusterError(RuntimeError):
    """The Dask cluster cannot be reached, or it lost the run."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(f"running on a Dask cluster needs dask.distributed: {INSTALL}") \
            from None
    return distributed


def check_client(client: Any) -> None:
    d = _distributed()
    if not isinstance(client, d.Client):
        raise TypeError(f"client must be a dask.distributed.Client. "
                        f"Got {type(client).__name__}.")
    if client.status != "running":
        raise ClusterError(f"the Dask client is not connected (status {client.status!r})")


def parse_address(address: str) -> tuple[str, int | None]:
    """('local', N) for 'local:N' (N worker processes here; 'local' alone: one per core),
    else ('remote', None)."""
    text = address.strip()
    if text == "local" or text.startswith("local:"):
        n = text.partition(":")[2]
        if not n:
            import os

            return "local", os.cpu_count() or 1
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--dask: 'local:N' needs a number of workers N >= 1. "
                             f"Got {address!r}.")
        return "local", int(n)
    return "remote", None


@contextmanager
def connect(address: str, *, timeout: float = 10.0) -> Iterator[Any]:
    """A Client of the scheduler at ``address`` (``tcp://host:8786``), or of a LocalCluster
    of N worker processes for ``local:N`` (one thread each; numba gets cores / N threads
    in each). Closed on exit. A scheduler that does not answer within ``timeout`` seconds
    is a ClusterError naming the address."""
    d = _distributed()
    kind, n = parse_address(address)
    if kind == "local":
        import os

        cores = os.cpu_count() or 1
        per_worker = str(max(1, cores // n))
        cluster = d.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                 dashboard_address=":0",
                                 env={"NUMBA_NUM_THREADS": per_worker})
        try:
            client = d.Client(cluster)
            from nascost.io.dask_watch import ExitWithClient

            client.register_plugin(ExitWithClient(os.getpid()))  # a killed client: exit too
        except BaseException:
            cluster.close()
            raise
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = d.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within "
                           f"{timeout:g} s ({e}); check the address and that "
                           "`dask scheduler` runs there") from None
    try:
        yield client
    finally:
        client.close()


# -- the tasks (run in the worker processes) ---------------------------------------------

@dataclass(frozen=True)
class _Run:
    """What every task of a run needs (a few kB, pickled with each task)."""

    token: str
    space: Any
    options: ScanOptions
    out: Location
    compression: str
    row_group_size: int
    fsync: bool
    sort_by_flops: bool


_PARTS: dict[str, Any] = {}  # per worker process: run token -> its PartWriter (and Scanner)
_PARTS_LOCK = threading.Lock()
_KERNEL = threading.Lock()  # one kernel call at a time per process, each on all its threads


def _part_writer(run: _Run):
    with _PARTS_LOCK:
        part = _PARTS.get(run.token)
        if part is None:
            from nascost.io.writer import PartWriter
            from nascost.kernels.jit import max_threads

            opts = run.options
            if opts.threads is not None and opts.threads > max_threads():
                opts = replace(opts, threads=max_threads())  # a worker with fewer cores
            part = PartWriter.build(run.space, opts, run.out, run.compression,
                                    run.row_group_size, run.fsync, run.sort_by_flops)
            while len(_PARTS) >= 4:  # runs of a long-lived cluster: keep the latest
                _PARTS.pop(next(iter(_PARTS)))
            _PARTS[run.token] = part
    return part


def score_range(run: _Run, start: int, stop: int) -> dict:
    """The task: score positions [start, stop), write their part; returns the manifest
    entry."""
    part = _part_writer(run)
    with _KERNEL:
        block = part.scanner.scan(start, stop - start)
    return part.write(block)


# -- the client ---------------------------------------------------------------------------

def _ranges(remaining: list[tuple[int, int]], step: int) -> Iterator[tuple[int, int]]:
    for a, b in remaining:
        for s in range(a, b, step):
            yield s, min(s + step, b)


def run_tasks(client: Any, part, manifest: M.Manifest, remaining: list[tuple[int, int]],
              on_progress: Callable[[int, int], None] | None) -> tuple[int, int]:
    """Score the remaining ranges on the cluster; returns the rows kept and the positions
    scanned. Called by write_dataset with the directory locked and the manifest ready."""
    from nascost.io.writer import _guard, remove_strays

    d = _distributed()
    check_client(client)
    sc = part.scanner
    run = _Run(uuid.uuid4().hex, sc.space, sc.options, part.out, part.compression,
               part.row_group_size, part.fsync, part.sort_by_flops)
    ranges = _ranges(remaining, sc.options.chunk_size)
    window = max(16, 4 * sum(client.nthreads().values()))
    pending = d.as_completed(loop=client.loop)
    where: dict[str, tuple[int, int]] = {}

    def submit_next() -> None:
        r = next(ranges, None)
        if r is not None:
            a, b = r
            fut = client.submit(score_range, run, a, b, pure=False,
                                key=f"nascost-score-{run.token}-{a}-{b}")
            where[fut.key] = r
            pending.add(fut)

    def save() -> None:
        _guard(part.out, "writing the manifest", lambda: manifest.save(part.fsync))

    log.info("scoring %d positions in ranges of %d on %d Dask workers into %s",
             sum(b - a for a, b in remaining), sc.options.chunk_size,
             len(client.nthreads()), part.out)
    for _ in range(window):
        submit_next()
    rows_now = scanned_now = 0
    try:
        for batch in pending.batches():
            for fut in batch:
                entry = _result(d, fut, where.pop(fut.key))
                manifest.add(entry)
                rows_now += entry["rows"]
                scanned_now += entry["scanned"]
                if on_progress is not None:
                    on_progress(entry["scanned"], entry["rows"])
                submit_next()
            save()
    except BaseException:
        # pending tasks are cancelled; a running one may still rename its part, which
        # --resume adopts (its name says its range)
        futures = list(pending.futures)
        pending.clear()
        with suppress(Exception):
            client.cancel(futures)
        with suppress(Exception):
            save()
        raise
    remove_strays(part.out, manifest)
    return rows_now, scanned_now


def _result(d, fut, span: tuple[int, int]) -> dict:
    a, b = span
    try:
        return fut.result()
    except d.KilledWorker as e:
        raise ClusterError(f"the task scoring positions {a}:{b} was lost: {e}; the parts "
                           "done are kept: run again with --resume") from None
    except d.CancelledError:
        raise ClusterError(f"the task scoring positions {a}:{b} was cancelled by the Dask "
                           "cluster (scheduler restarted or connection lost); the parts "
                           "done are kept: run again with --resume") from None
