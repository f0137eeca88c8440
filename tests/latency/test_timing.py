"""The timing code's mechanics (never its timing values): warm-up discarded, medians,
resumable builds, metadata, the in-context runner."""

from __future__ import annotations

import numpy as np
import pytest

from nascost.latency.build import build_table, covering_candidates, distinct_blocks
from nascost.latency.keys import hashes_of
from nascost.latency.table import read_table
from nascost.latency.timing import Runner, median_ns, repeat
from nascost.latency.validate import summarize
from nascost.spaces import load_builtin
from nascost.units import format_time_ns, parse_time_ns
from tests.budget.budget_spaces import depth_space


def test_repeat_discards_warmup_and_times_each_repeat():
    calls = []
    ticks = iter(range(0, 1000, 10))  # each clock read advances 10 ns

    def fn():
        calls.append(1)

    out = repeat(fn, warmup=3, repeats=4, clock=lambda: next(ticks))
    assert len(calls) == 7
    assert out == [10, 10, 10, 10]  # only the 4 timed calls, each between two clock reads
    arrays = repeat(lambda: np.array([len(calls)]), warmup=2, repeats=3)
    assert [int(a[0]) for a in arrays] == [7, 7, 7]


def test_median_ns():
    assert median_ns([5, 1, 100]) == 5
    assert median_ns([1, 2, 3, 10]) == 2  # 2.5 rounds to even


def test_time_units():
    assert parse_time_ns("15ms") == 15_000_000
    assert parse_time_ns("800us") == 800_000
    assert parse_time_ns("1.5s") == 1_500_000_000
    assert parse_time_ns(250) == 250_000  # a bare number is microseconds
    assert format_time_ns(12_345_678) == "12.35ms"
    with pytest.raises(ValueError, match="15 parsecs"):
        parse_time_ns("15 parsecs", "max_latency")


def _block_ns(h: int) -> int:
    return 1000 * (1 + h % 997)


def _fake_timer(space, genes_row, calls=None):
    """Per node, a time that is a fixed function of its block; the first of the 3 repeats
    is far off (the median ignores it)."""
    if calls is not None:
        calls.append(1)
    hs = hashes_of(space.program, np.asarray(genes_row)[None, :])[0]
    base = np.array([_block_ns(int(h)) for h in hs], dtype=np.int64)
    return np.stack([base * 50, base, base])


def test_build_times_every_block_and_records_metadata(tmp_path):
    space = depth_space()
    blocks = distinct_blocks(space)
    cands = covering_candidates(space, blocks)
    seen = {int(h) for row in hashes_of(space.program, cands) for h in row}
    assert {int(h) for h in blocks.hashes} <= seen  # the candidates contain every block
    t = build_table(space, tmp_path / "lut.parquet", repeats=3, warmup=0, timer=_fake_timer)
    back = read_table(tmp_path / "lut.parquet")
    assert back.keys == blocks.keys and len(back) == len(blocks.keys)
    # each block was timed at _block_ns(its hash) wherever it ran: the median is that
    for i, h in enumerate(blocks.hashes.tolist()):
        assert back.median_ns[i] == _block_ns(h)
        assert back.repeats[i] >= 3
    m = back.meta
    assert m["space_hash"] == space.hash and m["approx"] is True
    assert m["method"] == "in-context" and m["repeats"] == 3 and m["warmup"] == 0
    assert {"cpu", "threads", "backend", "backend_version", "batch", "dtype"} <= set(m["device"])
    assert not (tmp_path / "lut.parquet.partial").exists()
    assert np.array_equal(t.median_ns, back.median_ns)


def test_interrupted_build_resumes(tmp_path):
    space = depth_space()
    n_cands = covering_candidates(space, distinct_blocks(space)).shape[0]
    assert n_cands >= 3
    calls: list = []

    def flaky(sp, g):
        if len(calls) == 2:
            raise KeyboardInterrupt
        return _fake_timer(sp, g, calls)

    out = tmp_path / "lut.parquet"
    with pytest.raises(KeyboardInterrupt):
        build_table(space, out, repeats=3, warmup=0, timer=flaky)
    assert (tmp_path / "lut.parquet.partial").exists() and not out.exists()
    more: list = []
    t = build_table(space, out, repeats=3, warmup=0, timer=lambda s, g: _fake_timer(s, g, more))
    assert len(more) == n_cands - 2  # only the candidates not yet timed
    whole = build_table(space, tmp_path / "b.parquet", repeats=3, warmup=0, timer=_fake_timer)
    assert np.array_equal(t.median_ns, whole.median_ns)
    (tmp_path / "c.parquet.partial").write_text(
        '{"settings": {"repeats": 9}, "done": 0, "obs": {}}')
    with pytest.raises(ValueError, match="other settings"):
        build_table(space, tmp_path / "c.parquet", repeats=3, warmup=0, timer=_fake_timer)


def test_bad_options_are_named(tmp_path):
    space = depth_space()
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        build_table(space, tmp_path / "x.parquet", repeats=0)
    with pytest.raises(ValueError, match="backend must be one of"):
        build_table(space, tmp_path / "x.parquet", backend="tvm")


def test_runner_frees_values_and_matches_the_exported_model():
    import torch

    space = load_builtin("mbv2-style")
    g = space.sample(1, seed=2)[0]
    r = Runner(space, g)
    with torch.inference_mode():
        want = r.net(r.x)  # the exported model's own forward (keeps every value)
    assert torch.equal(r.run(), want)
    t = r.run_nodes()
    assert t.shape == (len(space.program.top),) and (t >= 0).all() and t.sum() > 0
    # every value but the output is freed after its last reader
    freed = {v for *_, free in r.plan for v in free}
    produced = {"input"} | {name for _, _, name, _, _ in r.plan}
    assert freed == produced - {r.output}


def test_summarize_exact_prediction():
    space = depth_space()
    from tests.latency.lat_helpers import synthetic_table

    table = synthetic_table(space)
    g = space.sample(60, seed=0)
    out = space.score_arrays(g, latency=table)
    ok = out["status"] == 0
    g = g[ok]
    pred = out["latency_us"][ok]
    res = np.array([space.input_shape(x)[1] for x in g])
    v = summarize(space, table, g, pred, pred.copy(), out["flops"][ok], res)
    raw = v.rows["raw table"]
    assert raw["median_ape"] == 0 and raw["within_10"] == 1 and raw["kendall_tau"] == 1
    assert all(e == 0 for _, _, e in v.by_resolution)
