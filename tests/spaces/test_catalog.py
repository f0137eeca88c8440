"""The stored catalog (nascost spaces, README table) matches the spaces' exact bounds."""

from __future__ import annotations

import random

import nascost
from nascost.spaces import catalog


def test_catalog_lists_every_space_and_matches_a_recomputation():
    stored = {r["name"]: r for r in catalog.load()}
    assert sorted(stored) == nascost.list_spaces()
    picks = random.Random(0).sample(sorted(stored), 6) + ["mbv2-style", "nb201-cifar10"]
    for name in picks:
        assert catalog.entry(name) == stored[name], name


def test_catalog_bounds_are_attained_by_real_candidates():
    space = nascost.load_space("nb201-cifar10")
    row = {r["name"]: r for r in catalog.load()}["nb201-cifar10"]
    flops = space.score_arrays(space.ids_to_genes(range(space.size)))["flops"]
    assert [int(flops.min()), int(flops.max())] == row["bounds"]["flops"]
