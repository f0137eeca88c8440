"""The chain: its paths are exactly the valid canonical candidates, each once."""

from __future__ import annotations

import numpy as np
import pytest
from budget_spaces import brute, chain_spaces  # tests/budget is on sys.path under pytest
from hypothesis import HealthCheck, given, settings

import nascost
from nascost import budget
from nascost.budget.chain import NoValidCandidate, decode_rows


def all_paths(chain):
    """Every path of a small chain as (n, n_seg) rows (depth-first)."""
    paths = []

    def walk(s, rows):
        if s == chain.end:
            paths.append(list(rows))
            return
        for r in range(chain.in_ptr[s], chain.in_ptr[s + 1]):
            walk(int(chain.r_out[r]), rows + [r])

    walk(0, [])
    return np.array(paths, dtype=np.int64).reshape(len(paths), chain.n_seg)


def check_paths(space):
    try:
        ch = budget.chain_of(space)
    except NoValidCandidate:
        assert brute(space)[0].shape[0] == 0
        return
    paths = all_paths(ch)
    genes = decode_rows(ch, paths)
    ref, cost = brute(space)
    assert ch.total == len(ref) == len(paths)
    got = np.unique(genes, axis=0)
    assert got.shape[0] == len(paths)  # no candidate twice
    np.testing.assert_array_equal(got, ref)
    # the path's costs are the candidate's costs
    path_cost = sum(ch.cost[paths[:, k]] for k in range(ch.n_seg))
    order = np.lexsort(genes.T[::-1])
    np.testing.assert_array_equal(path_cost[order], cost)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(chain_spaces(max_size=3000))
def test_paths_are_the_valid_canonical_candidates(space):
    check_paths(space)


def test_nb201_paths():
    check_paths(nascost.load_space("nb201-cifar10"))


def test_chain_carries_shared_genes_and_counts_big_spaces_exactly():
    space = nascost.load_space("mbv2-style")
    ch = budget.chain_of(space)
    assert ch.n_seg > 10  # one segment per block, not one table of everything
    # the exact number of canonical candidates, by hand: 4 resolutions x 3 widths x per
    # stage (9**2 + 9**3 + 9**4) for the five stages with depth 2..4, x 9 for the last
    per_stage = 9**2 + 9**3 + 9**4
    assert ch.total == 4 * 3 * per_stage**5 * 9


def test_not_a_chain_is_enumerated_when_small(monkeypatch):
    from nascost.budget import chain as C

    space = nascost.load_space("nb201-cifar10")
    monkeypatch.setattr(C, "UNIT_COMBOS", 4)  # force: every unit too large ...
    monkeypatch.setattr(C, "MAX_STATES", 8)  # ... and too many states for a chain
    with pytest.raises(C.ChainError):
        C.build_chain(space.program, nascost.rules.conventions.resolve("seed"))
    whole = C.build_chain(space.program, nascost.rules.conventions.resolve("seed"), whole=True)
    assert whole.n_seg == 1 and whole.total == 15625
