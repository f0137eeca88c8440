"""Counts, bounds and histograms against brute force: exact where exact, and certified
bounds that contain the truth where bucketed."""

from __future__ import annotations

import numpy as np
import pytest
from budget_spaces import METRICS, brute, chain_spaces, in_budget  # tests/budget on sys.path
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nascost
from nascost.budget import counting as C
from nascost.budget.chain import NoValidCandidate

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def _budget(draw, cost):
    """A random budget of one or two metrics, bounds drawn from the candidates' costs."""
    out = {}
    for m in draw(st.lists(st.sampled_from([0, 2, 1]), min_size=1, max_size=2, unique=True)):
        col = np.sort(cost[:, m])
        pick = lambda c=col: int(c[draw(st.integers(0, len(c) - 1))])  # noqa: E731
        kind = draw(st.sampled_from(["max", "min", "both"]))
        if kind in ("max", "both"):
            out[f"max_{METRICS[m]}"] = pick() + draw(st.sampled_from([0, 0, 1, -1]))
        if kind in ("min", "both"):
            out[f"min_{METRICS[m]}"] = pick()
        if kind == "both" and out[f"min_{METRICS[m]}"] > out[f"max_{METRICS[m]}"]:
            out[f"min_{METRICS[m]}"], out[f"max_{METRICS[m]}"] = (
                out[f"max_{METRICS[m]}"], out[f"min_{METRICS[m]}"])
    return {k: max(v, 0) for k, v in out.items()}


def _space_and_truth(space):
    ref, cost = brute(space)
    assume(ref.shape[0] > 0)
    return ref, cost


@SETTINGS
@given(chain_spaces(), st.data())
def test_exact_counts_equal_brute_force(space, data):
    ref, cost = _space_and_truth(space)
    budget = _budget(data.draw, cost)
    c = space.count(**budget)
    truth = int(in_budget(cost, **budget).sum())
    assert c.exact and c.low == c.high == truth, (budget, c)
    assert c.total == ref.shape[0]


@SETTINGS
@given(chain_spaces(), st.data())
def test_bucketed_bounds_contain_the_truth(space, data):
    ref, cost = _space_and_truth(space)
    budget = _budget(data.draw, cost)
    truth = int(in_budget(cost, **budget).sum())
    with pytest.MonkeyPatch.context() as mp:  # skip the exact DP: the bucketed DP answers
        mp.setattr(C, "SMALL_SPACE", 0)
        mp.setattr(C, "SPARSE_LIMIT", 0)
        mp.setattr(C, "FIRST_BUCKETS", {1: 6, 2: 4, 3: 3})  # one coarse pass: wide bounds
        c = space.count(**budget, tol=0.0, time_limit=0.0)
    assert c.low <= truth <= c.high, (budget, c)
    if c.exact:
        assert c.low == truth


@SETTINGS
@given(chain_spaces())
def test_bounds_are_the_extremes_and_attained(space):
    try:
        b = space.bounds()
    except NoValidCandidate:
        return
    ref, cost = brute(space)
    for m, name in enumerate(METRICS):
        assert b[name]["min"] == cost[:, m].min() and b[name]["max"] == cost[:, m].max()
        for side in ("min", "max"):
            g = b[name][f"{side}_genes"]
            assert (space.canonical(g) == g).all()
            got = space.score_arrays(g)
            assert int(got["status"][0]) == 0 and int(got[name][0]) == b[name][side]


@SETTINGS
@given(chain_spaces(), st.sampled_from(["flops", "params"]), st.integers(1, 9))
def test_histograms_equal_brute_force(space, metric, bins):
    ref, cost = _space_and_truth(space)
    h = space.histogram(metric, bins)
    col = cost[:, METRICS.index(metric)]
    expect, _ = np.histogram(col, bins=h.edges)  # [e_i, e_i+1), the last bin closed
    assert h.exact
    np.testing.assert_array_equal(np.array(h.low, dtype=np.int64), expect)
    assert h.edges[0] == col.min() and h.edges[-1] == col.max() + 1
    assert sum(int(x) for x in h.low) == ref.shape[0]


def test_bucketed_histogram_bounds_contain_the_truth(monkeypatch):
    monkeypatch.setattr(C, "SMALL_SPACE", 0)
    monkeypatch.setattr(C, "SPARSE_LIMIT", 0)
    space = nascost.load_space("nb201-cifar10")
    ref, cost = brute(space)
    h = space.histogram("flops", 25, tol=0.0, time_limit=0.0)
    expect, _ = np.histogram(cost[:, 2], bins=h.edges)
    low = np.array(h.low, dtype=np.int64)
    high = np.array(h.high, dtype=np.int64)
    assert (low <= expect).all() and (expect <= high).all()


def test_nb201_counts_exactly():
    space = nascost.load_space("nb201-cifar10")
    ref, cost = brute(space)
    for x in (20_000_000, 100_000_000, 300_000_000):
        c = space.count(max_flops=x)
        assert c.exact and c.low == int((cost[:, 2] <= x).sum())
    c = space.count(max_flops="200M", min_flops="50M", max_params="1M", min_params="200k")
    truth = in_budget(cost, max_flops=200_000_000, min_flops=50_000_000, max_params=1_000_000,
                      min_params=200_000).sum()
    assert c.exact and c.low == truth


def test_infeasible_and_vacuous_budgets():
    space = nascost.load_space("nb201-cifar10")
    b = space.bounds()
    assert space.count(max_flops=b["flops"]["min"] - 1).high == 0
    c = space.count(max_flops=b["flops"]["max"], min_params=b["params"]["min"])
    assert c.exact and c.low == 15625 and c.method == "paths"
    with pytest.raises(ValueError, match="above max_flops"):
        space.count(min_flops="2G", max_flops="1G")
    with pytest.raises(TypeError, match="unknown budget"):
        space.count(max_flop=3)


@pytest.mark.parametrize("name", ["mbv2-style", "ofa-mbv3-w1.0"])
def test_large_space_counts_within_tolerance(name):
    space = nascost.load_space(name)
    b = space.bounds()["flops"]
    x = (b["min"] + b["max"]) // 3
    c = space.count(max_flops=x, tol=1e-3, time_limit=10.0)
    assert not c.exact and c.low < c.high
    assert c.high - c.low <= 1e-3 * c.low
    # two metrics: certified, and consistent with the one-metric count
    p = space.bounds()["params"]
    c2 = space.count(max_flops=x, max_params=(p["min"] + p["max"]) // 2, time_limit=2.0)
    assert c2.low <= c2.high <= c.high


@pytest.mark.parametrize("name", ["mbv2-style", "ofa-mbv3-w1.0"])
def test_large_space_bounds_attained_and_count_matches_raw_samples(name):
    """Witnesses attain the bounds; the certified share of candidates under a budget agrees
    with an independent estimate: raw uniform gene arrays weighted by 1 / (the raw arrays
    of their canonical candidate), which makes them uniform over canonical candidates."""
    space = nascost.load_space(name)
    b = space.bounds()
    for m in METRICS:
        rows = np.stack([b[m]["min_genes"], b[m]["max_genes"]])
        out = space.score_arrays(rows)
        assert list(out[m]) == [b[m]["min"], b[m]["max"]] and (out["status"] == 0).all()
    x = (b["flops"]["min"] + b["flops"]["max"]) // 2
    c = space.count(max_flops=x)
    g = space.sample(200_000, seed=9)
    out = space.score_arrays(g)
    dead = ~space.live_genes(g)
    w = np.exp(-(dead * np.log(space.cardinalities.astype(float))).sum(axis=1))
    w = w * (out["status"] == 0)
    inside = w * (out["flops"] <= x)
    est = inside.sum() / w.sum()
    se = np.sqrt(((inside - est * w) ** 2).sum()) / w.sum()
    lo, hi = c.low / c.total, c.high / c.total
    assert lo - 5 * se <= est <= hi + 5 * se, (lo, hi, est, se)


def test_time_limit_excludes_the_kernels_first_load():
    """count and histogram call warm() before their clock starts: in a fresh process, the
    kernels they then run were all loaded by it (no new compiled signature appears), so a
    first call's time limit is spent refining, not loading kernels."""
    import subprocess
    import sys

    code = """
import nascost
from nascost.budget import counting as C
from nascost.kernels import budget as K
names = ["extreme_paths", "extreme_offsets", "window_dp1", "window_dp2", "grid_dp"]
C.warm()
before = {k: len(getattr(K, k).signatures) for k in names}
sp = nascost.load_space("ofa-mbv3-w1.0")
sp.count(max_flops="400M", time_limit=0.2)
sp.count(max_flops="400M", min_flops="300M", time_limit=0.2)
sp.count(max_flops="400M", max_params="5M", time_limit=0.2)
sp.count(max_flops="600M", min_flops="300M", max_params="6M", time_limit=0.2)
sp.count(max_flops="400M", max_params="5M", max_macs="150M", time_limit=0.2)
sp.histogram("params", 10, time_limit=0.2)
after = {k: len(getattr(K, k).signatures) for k in names}
print(before == after and all(v == 1 for v in before.values()), before, after)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("True"), out
