"""Latency budgets on the chain agree with brute force on small spaces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tests.budget.budget_spaces import chain_spaces, depth_space
from tests.latency.lat_helpers import synthetic_table


def brute_latency(space, table):
    """(canonical genes of the valid candidates, their latency in ns), by enumeration."""
    g = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    out = space.score_arrays(g, latency=table)
    ok = out["status"] == 0
    can = space.canonical(g[ok])
    u, idx = np.unique(can, axis=0, return_index=True)
    lat = np.round(out["latency_us"][np.flatnonzero(ok)[idx]] * 1000).astype(np.int64)
    return u, lat


def check(space):
    from hypothesis import assume

    table = synthetic_table(space)
    genes, lat = brute_latency(space, table)
    assume(lat.shape[0] > 0)  # a space without a valid candidate has no budget to test
    b = space.bounds(latency=table)["latency"]
    assert (b["min"], b["max"]) == (int(lat.min()), int(lat.max()))
    for side in ("min", "max"):  # the witnesses attain them
        w = space.score_arrays(b[f"{side}_genes"][None, :], latency=table)
        assert int(round(w["latency_us"][0] * 1000)) == b[side]
    for q in (0.0, 0.3, 0.7):
        limit = int(np.quantile(lat, q))
        c = space.count(latency=table, max_latency=f"{limit}ns", samples=0, time_limit=5.0)
        want = int((lat <= limit).sum())
        assert c.low <= want <= c.high
        if c.exact:
            assert c.low == want
    limit = int(np.quantile(lat, 0.5))
    s = space.sample_within(50, seed=1, latency=table, max_latency=f"{limit}ns")
    got = space.score_arrays(s, latency=table)
    assert (got["status"] == 0).all()
    assert (np.round(got["latency_us"] * 1000) <= limit).all()
    assert np.array_equal(space.canonical(s), s)
    allowed = {tuple(r) for r in genes[lat <= limit]}
    assert all(tuple(r) in allowed for r in s)


def test_depth_space_latency_budget():
    check(depth_space())


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(chain_spaces(max_size=3000))
def test_random_chain_spaces_latency_budget(space):
    check(space)


def test_latency_budget_needs_a_table():
    with pytest.raises(ValueError, match="need a latency table"):
        depth_space().count(max_latency="1ms")


def test_histogram_of_latency_counts_every_candidate():
    space = depth_space()
    table = synthetic_table(space)
    _, lat = brute_latency(space, table)
    h = space.histogram("latency", bins=5, latency=table)
    assert int(np.sum(h.low)) == lat.shape[0] == int(np.sum(h.high))
