"""Mutation within a budget: every neighbour in budget, valid and canonical, drawn exactly
from the mutation distribution conditioned on the budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from budget_spaces import brute, depth_space, in_budget  # tests/budget is on sys.path

import nascost
from nascost.budget import BudgetError
from nascost.budget import sampling as SM


def test_neighbours_are_in_budget_and_deterministic():
    space = nascost.load_space("mbv2-style")
    b = space.bounds()["flops"]
    x = b["min"] + (b["max"] - b["min"]) // 10
    parents = space.sample_within(50, seed=1, max_flops=x)
    kids = space.mutate(parents, 0.3, seed=2, max_flops=x)
    out = space.score_arrays(kids)
    assert (out["status"] == 0).all() and (out["flops"] <= x).all()
    np.testing.assert_array_equal(space.canonical(kids), kids)
    np.testing.assert_array_equal(space.mutate(parents, 0.3, seed=2, max_flops=x), kids)
    one = space.mutate(parents[0], 0.3, seed=2, max_flops=x)
    assert one.shape == (space.n_genes,)


def test_conditional_distribution_is_exact(monkeypatch):
    # one parent, many draws: the frequencies of the neighbours match the mutation
    # probabilities restricted to the budget (chi-square), through the direct tries and
    # through the DP (tries=0 forces it)
    space = depth_space()
    ref, cost = brute(space)
    f = cost[:, 2]
    x = int(np.quantile(f, 0.3))
    inside = in_budget(cost, max_flops=x)
    parent = ref[np.argmax(f)]  # out of budget itself
    rate = 0.35
    cards = space.cardinalities
    # exact conditional probabilities of the canonical neighbours
    live = space.live_genes(ref)
    p = np.ones(ref.shape[0])
    for j in range(space.n_genes):
        q = np.where(ref[:, j] == parent[j], 1 - rate, 0.0) + rate / cards[j]
        p *= np.where(live[:, j], q, 1.0)
    p = np.where(inside, p, 0.0)
    p /= p.sum()
    n = 6000
    for tries in (8, 0):
        orig = SM.mutate

        def patched(*a, _orig=orig, _t=tries, **k):
            k["tries"] = _t
            return _orig(*a, **k)

        monkeypatch.setattr(SM, "mutate", patched)
        kids = space.mutate(np.repeat(parent[None], n, axis=0), rate, seed=3, max_flops=x)
        monkeypatch.setattr(SM, "mutate", orig)
        keys = {tuple(r): i for i, r in enumerate(ref.tolist())}
        idx = np.array([keys[tuple(r)] for r in kids.tolist()])
        assert inside[idx].all()
        counts = np.bincount(idx, minlength=ref.shape[0])
        big = p * n >= 5  # chi-square over the likely neighbours, the rest pooled
        obs = np.append(counts[big], counts[~big].sum())
        exp = np.append(p[big] * n, p[~big].sum() * n)
        keep = exp > 0
        stat = float(((obs[keep] - exp[keep]) ** 2 / exp[keep]).sum())
        k = int(keep.sum()) - 1
        z = ((stat / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
        assert 0.5 * math.erfc(z / math.sqrt(2)) > 1e-4, tries


def test_impossible_neighbourhood_is_an_error():
    space = depth_space()
    b = space.bounds()["flops"]
    parent = b["max_genes"]
    with pytest.raises(BudgetError):
        space.mutate(parent, 0.0, max_flops=b["min"])  # rate 0: only the parent itself
    with pytest.raises(BudgetError):
        space.mutate(parent, 0.5, max_flops=b["min"] - 1)
    with pytest.raises(ValueError, match="rate"):
        space.mutate(parent, 1.5)
