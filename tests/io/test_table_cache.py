"""The on-disk cache of built tables: a miss builds and stores, a hit loads the same tables,
anything the tables depend on changes the key, a damaged file is rebuilt, the folder stays
under its size limit, concurrent writers never leave a half-written file, and an
unwritable or disabled cache only means no cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nascost
from nascost.io import table_cache as TC
from nascost.kernels import api
from nascost.kernels import tables as T
from nascost.kernels.jit import STAMP
from nascost.rules import conventions as conv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(TC.ENV_DIR, str(tmp_path / "c"))
    monkeypatch.delenv(TC.ENV_MAX_MB, raising=False)
    TC.last_event.clear()
    return tmp_path / "c" / "tables"


def _score(space, tables, convention):
    genes = space.sample(2000, seed=3)
    return api.score_into(space.program, genes, convention, 1, api.empty_outputs(2000), tables)


@pytest.mark.parametrize("name", ["nb201-cifar10", "ofa-mbv3-w1.0", "resnet-style"])
def test_miss_then_hit_gives_the_same_tables_and_scores(cache, name):
    space = nascost.load_space(name)
    c = conv.resolve("seed")
    built = T._load_or_build(space.program, c)
    assert TC.last_event["event"] == "miss"
    assert len(list(cache.glob("*.npz"))) == 1
    loaded = T._load_or_build(space.program, c)
    assert TC.last_event["event"] == "hit"
    assert loaded.segs == built.segs and loaded.safe == built.safe
    for k in ("gstride", "meta", "rows", "n_states", "words", "layout"):
        a, b = getattr(built, k), getattr(loaded, k)
        assert a.dtype == b.dtype, k
        np.testing.assert_array_equal(a, b, err_msg=k)
        assert a.flags.writeable == b.flags.writeable, k  # same numba types: one signature
    a, b = _score(space, built, c), _score(space, loaded, c)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_spaces_without_tables_are_cached_as_none(cache, monkeypatch):
    space = nascost.load_space("nb201-cifar10")
    monkeypatch.setattr(T, "MAX_ROWS", 10)  # too large: the interpreter scores this space
    assert T._load_or_build(space.program, conv.resolve("seed")) is None
    assert TC.last_event["event"] == "miss"
    assert T._load_or_build(space.program, conv.resolve("seed")) is None
    assert TC.last_event["event"] == "hit"


def test_the_key_changes_with_space_convention_version_and_code(monkeypatch):
    p1 = nascost.load_space("nb201-cifar10").program
    p2 = nascost.load_space("nb201-cifar100").program
    seed, fv = conv.resolve("seed").op_weights, conv.resolve("fvcore").op_weights
    k = TC.table_key(p1, seed, STAMP)
    assert k == TC.table_key(nascost.load_space("nb201-cifar10").program, seed, STAMP)
    assert k != TC.table_key(p2, seed, STAMP)
    assert k != TC.table_key(p1, fv, STAMP)
    assert k != TC.table_key(p1, seed, STAMP + "x")
    monkeypatch.setattr(nascost, "__version__", "99.0")
    assert k != TC.table_key(p1, seed, STAMP)


def test_a_damaged_file_is_rebuilt(cache):
    space = nascost.load_space("mbv2-style")
    c = conv.resolve("seed")
    T._load_or_build(space.program, c)
    (path,) = cache.glob("*.npz")
    path.write_bytes(path.read_bytes()[:100])  # truncated, as by a full disk
    again = T._load_or_build(space.program, c)
    assert TC.last_event["event"] == "miss" and again is not None
    T._load_or_build(space.program, c)
    assert TC.last_event["event"] == "hit"


def test_the_folder_stays_under_its_limit(cache, monkeypatch):
    monkeypatch.setenv(TC.ENV_MAX_MB, str(3 * 110_000 / 2**20))  # room for 3 files
    blob = {"a": np.zeros(110_000 // 8 - 40, np.int64)}
    for i in range(6):
        assert TC.store(f"k{i}", blob)
        os.utime(cache / f"k{i}.npz", (1000 + i, 1000 + i))  # a strict age order
    TC.load("k3")  # used: now the most recent
    TC.store("k6", blob)
    names = sorted(p.stem for p in cache.glob("*.npz"))
    assert sum(p.stat().st_size for p in cache.glob("*.npz")) <= TC.max_bytes()
    assert "k3" in names and "k6" in names and "k0" not in names


def test_off_or_unwritable_means_no_cache(tmp_path, monkeypatch):
    space = nascost.load_space("mobilenet-v2")
    monkeypatch.setenv(TC.ENV_DIR, "off")
    assert TC.cache_dir() is None
    assert T._load_or_build(space.program, conv.resolve("seed")) is not None
    assert TC.last_event["event"] == "off"
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(TC.ENV_DIR, str(blocker))
    assert T._load_or_build(space.program, conv.resolve("seed")) is not None
    assert TC.last_event["event"] == "off"


def test_default_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(TC.ENV_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert TC.cache_dir() == tmp_path / "nascost" / "tables"


WRITER = """
import sys
import numpy as np
from nascost.io import table_cache as TC
blob = {"a": np.arange(200_000, dtype=np.int64) * int(sys.argv[1])}
for _ in range(15):
    assert TC.store("same", blob)
"""


def test_concurrent_writers_leave_a_whole_file(cache):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(k)], env=env)
             for k in (1, 1)]
    seen = 0
    while any(p.poll() is None for p in procs):
        got = TC.load("same")
        if got is not None:  # never a partial file: whole or absent
            np.testing.assert_array_equal(got["a"], np.arange(200_000, dtype=np.int64))
            seen += 1
    assert all(p.wait() == 0 for p in procs)
    np.testing.assert_array_equal(TC.load("same")["a"], np.arange(200_000, dtype=np.int64))
    assert not [p for p in cache.iterdir() if p.suffix != ".npz"]  # no temporaries left
