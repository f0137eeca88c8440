"""write_dataset / open_results / results_info: layout, metadata, safety, resume."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from io_helpers import assert_rows, fragile_space, reference, unfiltered

import nascost
from nascost.io import manifest as M
from nascost.io.options import OptionError
from nascost.io.schema import genes_of
from nascost.io.writer import WriteError

MBV2 = nascost.load_space("mbv2-style")
FRAGILE = fragile_space()


def test_dataset_holds_exactly_the_streamed_rows(tmp_path):
    res = nascost.write_dataset(MBV2, tmp_path / "d", sample=30_000, seed=4, max_flops="200M",
                                chunk_size=4000)
    ref = reference(MBV2, sample=30_000, seed=4, budget={"max_flops": 200_000_000})
    table = nascost.open_results(tmp_path / "d").to_table()
    assert_rows(table, ref, MBV2, "sample_index")
    assert res.rows == table.num_rows and res.scanned == 30_000 and res.complete
    assert res.parts == len(M.part_files(tmp_path / "d")) > 1
    # only part files, the manifest and the lock: no temporaries left
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert all(M.parse_part(n) or n in (M.MANIFEST, M.LOCK) for n in names)


def test_parts_are_sorted_by_flops_and_row_groups_have_statistics(tmp_path):
    nascost.write_dataset(MBV2, tmp_path / "d", sample=40_000, chunk_size=40_000,
                          row_group_size=4096)
    (part,) = M.part_files(tmp_path / "d")
    f = pq.ParquetFile(part)
    flops = f.read(columns=["flops"]).column("flops").to_numpy()
    assert np.all(np.diff(flops) >= 0)
    assert f.metadata.num_row_groups == 10
    col = f.schema_arrow.get_field_index("flops")
    stats = [f.metadata.row_group(i).column(col).statistics for i in range(10)]
    assert all(s.has_min_max for s in stats)
    assert all(a.max <= b.min for a, b in zip(stats, stats[1:], strict=False))  # disjoint, in order


def test_budget_query_skips_row_groups(tmp_path):
    nascost.write_dataset(MBV2, tmp_path / "d", sample=40_000, chunk_size=40_000,
                          row_group_size=2048)
    ds = nascost.open_results(tmp_path / "d")
    cut = int(np.quantile(ds.to_table(columns=["flops"]).column("flops").to_numpy(), 0.1))
    (frag,) = ds.get_fragments()
    groups = frag.split_by_row_group(filter=pc.field("flops") <= cut)
    assert 1 <= len(groups) <= 4  # of 20: the reader never opens the others


def test_metadata_round_trips(tmp_path):
    nascost.write_dataset(MBV2, tmp_path / "d", sample=1000, seed=7, convention="macs",
                          batch=8, max_params="3M")
    info = nascost.results_info(tmp_path / "d")
    assert info["space"].hash == MBV2.hash and info["space"] == MBV2
    assert info["convention"].to_dict() == nascost.io.options.scan_options(
        MBV2, sample=1, convention="macs").convention.to_dict()
    assert info["batch"] == 8 and info["version"] == nascost.__version__
    assert info["run"] == {"mode": "sample", "n": 1000, "seed": 7, "budget": {
        "max_params": 3_000_000}, "include_invalid": False, "sampler": "splitmix64-lemire16-v1"}
    assert "flops" in info["units"] and info["complete"] is True
    # every file carries the same metadata, and one file alone is self-describing
    for part in M.part_files(tmp_path / "d"):
        md = pq.read_schema(part).metadata
        meta = json.loads(md[b"nascost"])
        assert meta["space"]["hash"] == MBV2.hash and meta["batch"] == 8
        assert meta["convention"]["weights"]["conv_mac"] == 1
        assert nascost.results_info(part)["space"].hash == MBV2.hash
    # a result can be re-scored from its metadata alone
    t = nascost.open_results(tmp_path / "d").to_table()
    genes = genes_of(t, info["space"])  # choice values back to indices
    again = info["space"].score_arrays(genes, convention=info["convention"],
                                       batch=info["batch"])
    np.testing.assert_array_equal(again["flops"], t.column("flops").to_numpy())


def test_a_budget_that_keeps_nothing_still_gives_a_readable_dataset(tmp_path):
    res = nascost.write_dataset(MBV2, tmp_path / "d", sample=2000, max_flops="1M")
    assert res.rows == 0 and res.complete and res.parts == 1
    ds = nascost.open_results(tmp_path / "d")
    assert ds.count_rows() == 0 and "flops" in ds.schema.names


def test_non_empty_directory_needs_resume_or_overwrite(tmp_path):
    d = tmp_path / "d"
    nascost.write_dataset(MBV2, d, sample=1000)
    with pytest.raises(OptionError, match="out: .* is not empty; pass resume .* or overwrite"):
        nascost.write_dataset(MBV2, d, sample=1000)
    with pytest.raises(OptionError, match="overwrite: cannot be combined with resume"):
        nascost.write_dataset(MBV2, d, sample=1000, resume=True, overwrite=True)
    res = nascost.write_dataset(MBV2, d, sample=500, overwrite=True)
    assert nascost.open_results(d).count_rows() == 500 and not res.resumed
    (d / "notes.txt").write_text("mine")
    with pytest.raises(OptionError, match="notes.txt.*refusing to delete"):
        nascost.write_dataset(MBV2, d, sample=500, overwrite=True)
    assert (d / "notes.txt").exists() and M.part_files(d)


def test_bad_options_leave_no_directory(tmp_path):
    for kw in (dict(sample=10, max_flops="4OOM"), dict(sample=10, min_flops="2G",
                                                       max_flops="1G"), dict(all=True)):
        with pytest.raises(OptionError):
            nascost.write_dataset(MBV2, tmp_path / "d", **kw)
        assert not (tmp_path / "d").exists()


def _interrupt_after(n_chunks):
    seen = []

    def progress(scanned, kept):
        seen.append(scanned)
        if len(seen) == n_chunks:
            raise KeyboardInterrupt

    return progress


@pytest.mark.parametrize("space, kw, index", [
    (MBV2, dict(sample=24_000, seed=1, max_flops="250M"), "sample_index"),
    (FRAGILE, dict(ids="100000:160000", include_invalid=True, max_flops="30M"), "id"),
])
def test_an_interrupted_run_resumes_to_the_same_rows(tmp_path, space, kw, index):
    d = tmp_path / "d"
    with pytest.raises(KeyboardInterrupt):
        nascost.write_dataset(space, d, chunk_size=3000, on_progress=_interrupt_after(3), **kw)
    done = M.Manifest.load(d)
    assert done is not None and not done.complete and 0 < done.scanned < 60_000
    # a different chunk size on resume is fine: ranges, not chunk numbers, are recorded
    res = nascost.write_dataset(space, d, chunk_size=5000, resume=True, **kw)
    assert res.resumed and res.complete and res.scanned_now < res.scanned
    full = nascost.write_dataset(space, tmp_path / "full", chunk_size=3000, **kw)
    a = nascost.open_results(d).to_table().sort_by(index)
    b = nascost.open_results(tmp_path / "full").to_table().sort_by(index)
    assert a.equals(b) and full.rows == a.num_rows
    assert len(set(a.column(index).to_pylist())) == a.num_rows
    # resuming a complete run does nothing
    again = nascost.write_dataset(space, d, resume=True, **kw)
    assert again.scanned_now == 0 and again.rows == a.num_rows


def test_resume_adopts_a_part_renamed_just_before_a_kill(tmp_path):
    d = tmp_path / "d"
    kw = dict(sample=12_000, seed=2, chunk_size=3000)
    nascost.write_dataset(MBV2, d, **kw)
    m = M.Manifest.load(d)
    # the kill came after the last rename but before the manifest was written
    m.entries = [e for e in m.entries if e["start"] != 9000]
    m.complete = False
    m.save()
    (d / ".part-00000000000000009000-00000000000000012000.parquet.0badc0de.tmp").write_bytes(
        b"half a file")
    res = nascost.write_dataset(MBV2, d, resume=True, **kw)
    assert res.scanned_now == 0 and res.complete and res.rows == 12_000
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]


def test_resume_refuses_other_options(tmp_path):
    d = tmp_path / "d"
    with pytest.raises(KeyboardInterrupt):
        nascost.write_dataset(MBV2, d, sample=20_000, chunk_size=2000, max_flops="300M",
                              on_progress=_interrupt_after(2))
    for kw, option in ((dict(sample=20_000, max_flops="301M"), "max_flops"),
                       (dict(sample=20_000, max_flops="300M", seed=3), "seed"),
                       (dict(sample=10_000, max_flops="300M"), "sample"),
                       (dict(sample=20_000, max_flops="300M", batch=2), "batch"),
                       (dict(sample=20_000, max_flops="300M", convention="macs"), "convention"),
                       (dict(ids="0:5", max_flops="300M"), "ids")):
        with pytest.raises(OptionError) as e:
            nascost.write_dataset(MBV2, d, resume=True, **kw)
        assert e.value.option == option and "differs from the run being resumed" in str(e.value)
    with pytest.raises(OptionError, match="the space"):
        nascost.write_dataset("resnet-style", d, resume=True, sample=20_000, max_flops="300M")


def test_a_full_disk_is_a_clear_error_and_the_run_can_resume(tmp_path, monkeypatch):
    d = tmp_path / "d"
    calls = []
    real = pq.write_table

    def write(table, where, **kw):
        calls.append(where)
        if len(calls) == 3:
            where.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", write)
    with pytest.raises(WriteError, match="no space left on the device of .* --resume"):
        nascost.write_dataset(MBV2, d, sample=30_000, chunk_size=3000, writer_threads=1)
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    res = nascost.write_dataset(MBV2, d, sample=30_000, chunk_size=3000, resume=True)
    assert res.complete and nascost.open_results(d).count_rows() == 30_000


def test_an_unwritable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OptionError, match="exists and is not a directory"):
        nascost.write_dataset(MBV2, blocker, sample=10)
    with pytest.raises(WriteError, match="creating the directory"):
        nascost.write_dataset(MBV2, blocker / "sub", sample=10)
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(WriteError, match="permission denied"):
            nascost.write_dataset(MBV2, ro / "d", sample=10)


def test_two_writers_on_one_directory(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    d = tmp_path / "d"
    d.mkdir()
    with open(d / M.LOCK, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        with pytest.raises(WriteError, match="another nascost process is writing"):
            nascost.write_dataset(MBV2, d, sample=10, resume=True)


def test_ids_and_invalid_rows_on_disk(tmp_path):
    res = nascost.write_dataset(FRAGILE, tmp_path / "d", ids=(0, 50_000), include_invalid=True,
                                chunk_size=7000)
    ref = unfiltered(FRAGILE, ids=(0, 50_000))
    assert_rows(nascost.open_results(tmp_path / "d").to_table(), ref, FRAGILE, "id")
    assert res.rows == 50_000
