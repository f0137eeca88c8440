"""from_torch(to_torch(space, genes)) counts what the space counts, for random candidates of
every built-in space: params, MACs, FLOPs under every preset, activations (batch 2)."""

from __future__ import annotations

import pytest
import torch

import nascost
from nascost.export import to_torch
from nascost.reference import count
from nascost.rules import status
from nascost.rules.conventions import PRESETS

N_CANDIDATES = 2  # random candidates per space (every space: ~1 s per import on meta tensors)
BATCH = 2


@pytest.mark.parametrize("name", nascost.list_spaces())
def test_round_trip_every_builtin_space(name):
    space = nascost.load_space(name)
    rows = space.sample(N_CANDIDATES, seed=7)
    checked = 0
    for row in rows:
        if count(space, row)["status"] != status.OK:
            continue
        model = to_torch(space, row, device="meta")
        x = torch.zeros((BATCH, *model.input_shape), device="meta")
        imported = nascost.from_torch(model, x)
        assert imported.n_genes == 0
        for convention in PRESETS:
            want = count(space, row, convention, batch=BATCH)
            got = count(imported, [], convention, batch=BATCH)
            assert got == want, (name, row.tolist(), convention)
        checked += 1
    assert checked, f"no valid candidate sampled from {name}"
