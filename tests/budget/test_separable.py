"""Separable spaces (costs that add up over small groups of genes, as DARTS' cell edges): the
one-state chain's paths are the valid canonical candidates with their exact costs, the
bounds are attained and no candidate beats them (random candidates, local search)."""

from __future__ import annotations

import numpy as np
import pytest
from budget_spaces import METRICS, brute, in_budget  # tests/budget is on sys.path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_chain import all_paths, check_paths

import nascost
from nascost import SpaceBuilder, budget
from nascost.budget.chain import ChainError, decode_rows
from nascost.budget.separable import separable_chain
from nascost.rules.conventions import resolve


@st.composite
def cell_spaces(draw):
    """Cells that all read the same genes (not a chain of small blocks): per edge an op that
    keeps the shape (or, now and then, one that halves it, which makes the cell's sum fail
    or its edges interact) and, for some edges, a gene choosing its input state."""
    b = SpaceBuilder("cells")
    n_edges = draw(st.integers(1, 3))
    shrink = draw(st.booleans())
    ops = [b.gene(f"op{e}", ["conv3", "conv1", "pool", "skip"] + (["conv_s2"] if shrink else []))
           for e in range(n_edges)]
    srcs = [b.gene(f"src{e}", list(range(e + 1))) if e and draw(st.booleans()) else None
            for e in range(n_edges)]
    b.input(3, draw(st.sampled_from([6, 8])), 8)
    b.conv2d("stem", out_channels=4, kernel=3, padding=1)
    prev = "stem"
    for c in range(draw(st.integers(2, 4))):
        states = [prev]
        for e in range(n_edges):
            src = states[-1]
            if srcs[e] is not None:
                with b.choice(f"c{c}e{e}_src", gene=srcs[e], input=states[0]) as ch:
                    for i in range(e + 1):
                        with ch.option():
                            b.op("identity", f"c{c}e{e}_s{i}", input=states[i])
                src = f"c{c}e{e}_src"
            with b.choice(f"c{c}e{e}", gene=ops[e], input=src) as ch:
                with ch.option():
                    b.conv2d(f"c{c}e{e}_c3", out_channels=4, kernel=3, padding=1, bias=False)
                with ch.option():
                    b.conv2d(f"c{c}e{e}_c1", out_channels=4, kernel=1)
                with ch.option():
                    b.maxpool2d(f"c{c}e{e}_p", kernel=3, stride=1, padding=1)
                with ch.option():
                    b.op("identity", f"c{c}e{e}_id")
                if shrink:
                    with ch.option():
                        b.conv2d(f"c{c}e{e}_half", out_channels=4, kernel=1, stride=2)
            states.append(f"c{c}e{e}")
        prev = b.op("add", f"c{c}_sum", input=states) if len(states) > 2 else states[-1]
    b.op("global_avgpool", "pool", input=prev)
    b.op("flatten", "flat")
    b.linear("fc", out_features=10)
    return b.build()


def _separable_or_none(space):
    try:
        return separable_chain(space.program, resolve("seed"))
    except ChainError:
        return None


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(cell_spaces(), st.data())
def test_separable_chain_is_the_valid_canonical_candidates(space, data):
    ch = _separable_or_none(space)
    if ch is None:  # edges that halve the shape interact through the cell's sum
        return
    paths = all_paths(ch)
    genes = decode_rows(ch, paths)
    ref, cost = brute(space)
    assert ch.total == len(ref) == len(paths)
    np.testing.assert_array_equal(np.unique(genes, axis=0), ref)
    path_cost = sum(ch.cost[paths[:, k]] for k in range(ch.n_seg))
    order = np.lexsort(genes.T[::-1])
    np.testing.assert_array_equal(path_cost[order], cost)
    # counts through the separable chain equal brute force
    m = data.draw(st.sampled_from([0, 2]))
    x = int(cost[data.draw(st.integers(0, len(cost) - 1)), m])
    got = budget.counting.count(ch, {m: (None, x)})
    assert got.exact and got.low == int(in_budget(cost, **{f"max_{METRICS[m]}": x}).sum())


def test_nb201_separable_chain_paths():
    space = nascost.load_space("nb201-cifar10")
    ch = separable_chain(space.program, resolve("seed"))
    assert ch.n_seg == 6 and ch.n_rows == 30  # one segment of 5 ops per edge
    check_paths(space)  # (the space's own chain) ...
    ref, cost = brute(space)
    b = budget.counting.bounds(ch)
    for j, m in enumerate(METRICS):
        assert (b[m]["min"], b[m]["max"]) == (cost[:, j].min(), cost[:, j].max())


def test_chains_of_blocks_are_not_separable():
    for name in ("mbv2-style", "ofa-mbv3-w1.0"):
        with pytest.raises(ChainError):
            separable_chain(nascost.load_space(name).program, resolve("seed"))


def _predict(ch, genes):
    """(cost (n, 4), valid (n,)) of gene rows by the separable chain's rows."""
    pred = np.zeros((genes.shape[0], 4), dtype=np.int64)
    ok = np.ones(genes.shape[0], dtype=bool)
    for k in range(ch.n_seg):
        a, z = ch.seg_rows[k], ch.seg_rows[k + 1]
        gs = ch.set_genes[k, :ch.set_n[k]]
        cards = ch.cards[gs]
        table = np.full(int(np.prod(cards)), -1, dtype=np.int64)
        table[np.ravel_multi_index(ch.r_vals[a:z, :len(gs)].T.astype(np.int64), cards)] = \
            np.arange(a, z)
        r = table[np.ravel_multi_index(genes[:, gs].T.astype(np.int64), cards)]
        ok &= r >= 0
        pred += np.where(r[:, None] >= 0, ch.cost[np.maximum(r, 0)], 0)
    return pred, ok


@pytest.mark.parametrize("name", ["darts-cifar10", "darts-imagenet"])
def test_darts_bounds_attained_and_never_beaten(name):
    space = nascost.load_space(name)
    ch = budget.chain_of(space)
    assert ch.n_states == ch.n_seg + 1 and ch.total == space.size  # every array is valid
    b = space.bounds()
    for m in METRICS:
        rows = np.stack([b[m]["min_genes"], b[m]["max_genes"]])
        out = space.score_arrays(rows)
        assert list(out[m]) == [b[m]["min"], b[m]["max"]] and (out["status"] == 0).all()
    # the costs add up: the chain's rows predict every random candidate's costs exactly
    genes = space.sample(20_000, seed=4)
    out = space.score_arrays(genes)
    real = np.stack([out[m] for m in METRICS], axis=1)
    pred, ok = _predict(ch, genes)
    np.testing.assert_array_equal(ok, out["status"] == 0)
    np.testing.assert_array_equal(pred, real)
    for j, m in enumerate(METRICS):
        assert b[m]["min"] <= real[:, j].min() and real[:, j].max() <= b[m]["max"]
    # local search (first improvement over single-gene changes) from random starts
    rng = np.random.default_rng(0)
    cards = space.cardinalities
    for m in ("params", "flops"):
        for sign in (1, -1):
            x = space.sample(1, seed=int(rng.integers(1 << 30)))[0]
            best = sign * int(space.score_arrays(x[None])[m][0])
            improved = True
            while improved:
                improved = False
                cand = np.repeat(x[None], int(cards.sum()), axis=0)
                pos = 0
                for g, c in enumerate(cards):
                    cand[pos:pos + c, g] = np.arange(c)
                    pos += c
                v = sign * space.score_arrays(cand)[m].astype(np.int64)
                i = int(np.argmin(v))
                if v[i] < best:
                    best, x, improved = int(v[i]), cand[i], True
            assert (b[m]["min"] <= best) if sign == 1 else (-best <= b[m]["max"])


def test_darts_count_and_sample_within():
    space = nascost.load_space("darts-cifar10")
    x = 900_000_000
    c = space.count(max_flops=x)
    assert c.low <= c.high and c.high - c.low <= 1e-3 * c.low
    g = space.sample(200_000, seed=1)  # every gene array is a distinct valid candidate
    share = float((space.score_arrays(g)["flops"] <= x).mean())
    se = (share * (1 - share) / g.shape[0]) ** 0.5
    assert c.low / c.total - 5 * se <= share <= c.high / c.total + 5 * se
    s = space.sample_within(5000, seed=2, max_flops=x)
    out = space.score_arrays(s)
    assert (out["status"] == 0).all() and (out["flops"] <= x).all()
