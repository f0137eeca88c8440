"""write_dataset(client=...) and nascost score --dask on a LocalCluster of 2 worker
processes: exactly the rows of a local run, a worker killed mid-run changes nothing, an
interrupted run resumes on a new cluster, an unreachable scheduler is a clear error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster
from io_helpers import fragile_space

import nascost
from nascost.cli.main import main
from nascost.io import manifest as M
from nascost.io.distributed import ClusterError, connect

# the fault injectors below run in the worker processes, which cannot import this module
cloudpickle.register_pickle_by_value(sys.modules[__name__])

MBV2 = nascost.load_space("mbv2-style")
FRAGILE = fragile_space()
ROOT = Path(__file__).resolve().parents[2]


def _cluster() -> LocalCluster:
    return LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                        dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # the kernels are compiled (or loaded) and cached here first: workers load them
    nascost.write_dataset(MBV2, tmp_path_factory.mktemp("warm") / "d", sample=100)
    with _cluster() as cluster, Client(cluster) as c:
        yield c


def _kernel_stats() -> tuple[int, int]:
    """In a worker: the signatures of the scan kernel, and how many were compiled there
    rather than loaded from numba's cache."""
    from nascost.kernels import filter as F

    k = F.scan_tables
    return len(k.signatures), sum(k.stats.cache_misses.values())


def _table(path, index: str):
    return nascost.open_results(path).to_table().sort_by(index)


def _assert_same_as_local(got, tmp_path, space, index: str, **options) -> None:
    """The dataset ``got`` holds exactly the rows, metrics and provenance of a local run."""
    local = tmp_path / "local"
    nascost.write_dataset(space, local, **options)
    a, b = _table(got, index), _table(local, index)
    ids = a.column(index).to_numpy()
    assert ids.size == np.unique(ids).size, "duplicated rows"
    assert a.num_rows == b.num_rows
    assert a.schema.remove_metadata() == b.schema.remove_metadata()
    assert a.equals(b)
    ia, ib = nascost.results_info(got), nascost.results_info(local)
    for key in ("run", "convention", "batch", "rows", "scanned", "complete", "layout"):
        assert ia[key] == ib[key], key
    assert ia["space"].hash == ib["space"].hash
    assert ia["complete"] is True


def _no_temporaries(d: Path) -> bool:
    return not [p for p in d.iterdir() if p.name.endswith(".tmp")]


def test_sampled_run_on_two_workers_equals_the_local_run(client, tmp_path):
    kw = dict(sample=60_000, seed=5, max_flops="300M", chunk_size=7000)
    res = nascost.write_dataset(MBV2, tmp_path / "d", client=client, **kw)
    assert res.complete and res.scanned_now == 60_000 and not res.resumed
    _assert_same_as_local(tmp_path / "d", tmp_path, MBV2, "sample_index", **kw)
    # one part per range of chunk_size positions, recorded in the manifest
    m = M.Manifest.load(tmp_path / "d")
    assert m.done_ranges() == [(0, 60_000)]
    spans = sorted((e["start"], e["stop"]) for e in m.entries)
    assert spans == [(a, min(a + 7000, 60_000)) for a in range(0, 60_000, 7000)]
    assert sorted(e["file"] for e in m.entries) == [p.name for p in M.part_files(tmp_path / "d")]
    assert _no_temporaries(tmp_path / "d")
    # each worker process loaded the kernel from the cache, once for all its tasks
    assert set(client.run(_kernel_stats).values()) == {(1, 0)}


def test_id_range_with_invalid_rows_equals_the_local_run(client, tmp_path):
    kw = dict(ids=(1000, 41_000), include_invalid=True, chunk_size=6000, convention="thop",
              batch=2)
    nascost.write_dataset(FRAGILE, tmp_path / "d", client=client, **kw)
    _assert_same_as_local(tmp_path / "d", tmp_path, FRAGILE, "id", **kw)


def test_a_run_that_keeps_nothing_is_an_empty_dataset(client, tmp_path):
    res = nascost.write_dataset(MBV2, tmp_path / "d", client=client, sample=5000,
                                max_flops=1, chunk_size=1000)
    assert res.rows == 0 and res.complete and res.parts == 1
    assert nascost.open_results(tmp_path / "d").count_rows() == 0


def test_a_filesystem_uri_target(client, tmp_path):
    uri = (tmp_path / "d").as_uri()  # file:///...: the pyarrow filesystem code path
    kw = dict(sample=20_000, seed=1, max_params="3M", chunk_size=5000)
    res = nascost.write_dataset(MBV2, uri, client=client, **kw)
    assert res.path == uri and res.complete
    assert nascost.open_results(uri).count_rows() == res.rows > 0
    assert nascost.results_info(uri)["rows"] == res.rows
    _assert_same_as_local(tmp_path / "d", tmp_path, MBV2, "sample_index", **kw)


# -- a worker killed during the run --------------------------------------------------------

def _first_time(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def _arm(marker: str, when: str) -> None:
    """In a worker process: the first task (of either worker) to reach ``when`` kills its
    worker process there."""
    from nascost.io import writer

    real_write = writer.PartWriter.write
    real_table = pq.write_table

    def write(self, block, buffers=None):
        if when == "before_write" and _first_time(marker):
            os._exit(1)
        entry = real_write(self, block, buffers)
        if when == "after_rename" and entry["file"] and _first_time(marker):
            os._exit(1)  # the part is complete, but its result never reaches the client
        return entry

    def write_table(table, where, **kw):
        if when == "mid_write" and _first_time(marker):
            where.write(b"half a part")
            where.flush()
            os._exit(1)
        return real_table(table, where, **kw)

    writer.PartWriter.write = write
    pq.write_table = write_table


@pytest.mark.parametrize("when", ["before_write", "mid_write", "after_rename"])
def test_a_worker_killed_during_the_run(tmp_path, when):
    marker = str(tmp_path / "killed")
    kw = dict(sample=50_000, seed=3, max_flops="350M", chunk_size=5000)
    with _cluster() as cluster, Client(cluster) as c:
        c.run(_arm, marker, when)
        res = nascost.write_dataset(MBV2, tmp_path / "d", client=c, **kw)
    assert os.path.exists(marker), "no worker was killed"
    assert res.complete and res.scanned == 50_000
    _assert_same_as_local(tmp_path / "d", tmp_path, MBV2, "sample_index", **kw)
    assert _no_temporaries(tmp_path / "d")


# -- resuming --------------------------------------------------------------------------------

def _interrupt_after(n: int):
    seen = []

    def progress(scanned, kept):
        seen.append(scanned)
        if len(seen) == n:
            raise KeyboardInterrupt

    return progress


def test_an_interrupted_run_resumes_on_a_new_cluster(client, tmp_path, capsys):
    d = tmp_path / "d"
    kw = dict(sample=40_000, seed=9, max_flops="250M", chunk_size=4000)
    with pytest.raises(KeyboardInterrupt):
        nascost.write_dataset(MBV2, d, client=client, on_progress=_interrupt_after(3), **kw)
    m = M.Manifest.load(d)
    assert not m.complete and 3 <= len(m.entries) < 10
    code = main(["score", "mbv2-style", "--sample", "40k", "--seed", "9", "--max-flops",
                 "250M", "--chunk-size", "4000", "--out", str(d), "--resume",
                 "--no-progress", "--dask", "local:2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "(resumed)" in out
    _assert_same_as_local(d, tmp_path, MBV2, "sample_index", **kw)


def test_a_local_run_resumes_on_dask_and_back(client, tmp_path):
    d = tmp_path / "d"
    kw = dict(ids=(0, 60_000), include_invalid=True, chunk_size=5000)
    with pytest.raises(KeyboardInterrupt):
        nascost.write_dataset(FRAGILE, d, on_progress=_interrupt_after(2), **kw)
    with pytest.raises(KeyboardInterrupt):
        nascost.write_dataset(FRAGILE, d, client=client, resume=True,
                              on_progress=_interrupt_after(4), **kw)
    res = nascost.write_dataset(FRAGILE, d, resume=True, **kw)
    assert res.resumed and res.complete
    _assert_same_as_local(d, tmp_path, FRAGILE, "id", **kw)


def test_a_part_renamed_but_not_recorded_is_adopted_not_duplicated(client, tmp_path):
    d = tmp_path / "d"
    kw = dict(sample=24_000, seed=2, chunk_size=3000)
    nascost.write_dataset(MBV2, d, client=client, **kw)
    m = M.Manifest.load(d)
    m.entries = [e for e in m.entries if e["start"] not in (6000, 21_000)]
    m.complete = False
    m.save()
    res = nascost.write_dataset(MBV2, d, client=client, resume=True, **kw)
    assert res.scanned_now == 0 and res.rows == 24_000 and res.complete
    _assert_same_as_local(d, tmp_path, MBV2, "sample_index", **kw)


# -- errors ----------------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_clear_error_and_nothing_is_written(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        with connect(address, timeout=1):
            pass
    code = main(["score", "mbv2-style", "--sample", "1000", "--out", str(tmp_path / "d"),
                 "--no-progress", "--dask", address, "--dask-timeout", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"nascost score: error: cannot reach the Dask scheduler at {address}")
    assert not (tmp_path / "d").exists()


def test_bad_dask_options(tmp_path, capsys):
    for argv, words in ((["--dask", "local:0"], "--dask: 'local:N' needs a number"),
                        (["--dask", "local:2", "--dask-timeout", "soon"], "--dask-timeout:"),
                        (["--dask", "local:2", "--max-flops", "4OOM"], "--max-flops:")):
        code = main(["score", "mbv2-style", "--sample", "10", "--out", str(tmp_path / "d"),
                     "--no-progress", *argv])
        assert code == 2 and words in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
    with pytest.raises(TypeError, match="dask.distributed.Client"):
        nascost.write_dataset(MBV2, tmp_path / "d", sample=10, client=object())


def test_the_cli_imports_dask_only_with_the_dask_option(tmp_path):
    code = ("import sys; from nascost.cli.main import main; "
            f"assert main(['score', 'nb201-cifar10', '--all', '--out', {str(tmp_path / 'd')!r},"
            " '--no-progress']) == 0; "
            "assert not {'dask', 'distributed'} & set(sys.modules), 'dask imported'")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
