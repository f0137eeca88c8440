"""Kernels: the seed's golden example, invariance to threads, chunking and engine, statuses
that never crash a batch, batch scaling, and the per-layer breakdown."""

from __future__ import annotations

import numpy as np
import pytest

import nascost
from nascost import SpaceBuilder
from nascost.rules import status as S


def _conv_example() -> nascost.Space:
    b = SpaceBuilder("rules-example")
    b.input(3, 32, 32)
    b.conv2d("conv", out_channels=16, kernel=3, stride=1, padding=1)
    return b.build()


def test_seed_worked_example():
    # RULES.md: Conv2d(3, 16, 3, stride 1, padding 1) on 1x3x32x32 -> 1x16x32x32
    space = _conv_example()
    out = space.score_arrays(np.zeros((1, 0), dtype=np.uint8))
    assert int(out["params"][0]) == 448  # 3*3*3*16 + 16
    assert int(out["flops"][0]) == 884_736  # 2 * (3*3*3) * 16 * 32 * 32
    assert int(out["macs"][0]) == 442_368  # (3*3*3) * 16 * 32 * 32
    assert int(out["activations"][0]) == 16_384  # 16 * 32 * 32
    layers = space.layers(np.zeros(0, dtype=np.uint8)).to_pylist()
    assert layers[0]["out_shape"] == "16x32x32"
    # batch N scales the per-pass counts, never the parameters
    out4 = space.score_arrays(np.zeros((1, 0), dtype=np.uint8), batch=4)
    assert int(out4["flops"][0]) == 4 * 884_736 and int(out4["params"][0]) == 448


@pytest.mark.parametrize("name", nascost.list_spaces())
def test_engines_threads_and_chunks_agree(name):
    from nascost.kernels.jit import max_threads

    space = nascost.load_space(name)
    genes = space.sample(3000, seed=11)
    ref = space.score_arrays(genes, engine="interpreter", threads=1)
    runs = [space.score_arrays(genes, engine="auto", threads=1)]
    if max_threads() > 1:
        runs.append(space.score_arrays(genes, engine="auto", threads=2))
        runs.append(space.score_arrays(genes, engine="interpreter", threads=2))
    parts = [space.score_arrays(genes[a:b]) for a, b in ((0, 1), (1, 999), (999, 3000))]
    runs.append({k: np.concatenate([p[k] for p in parts]) for k in ref})
    for out in runs:
        for k in ref:
            np.testing.assert_array_equal(out[k], ref[k], err_msg=f"{name}: {k}")


def test_invalid_candidates_get_a_status_not_an_error():
    b = SpaceBuilder("fragile")
    r = b.gene("resolution", [2, 32])
    g = b.gene("groups", [1, 3, 4])
    b.input(3, r, r)
    b.conv2d("a", 12, 3, stride=2)  # collapses at resolution 2
    b.conv2d("b", 8, 1, groups=g)  # groups 3 do not divide 8
    space = b.build()
    genes = np.array([[0, 0], [1, 0], [1, 1], [1, 2]], dtype=np.uint8)
    out = space.score_arrays(genes)
    assert out["status"].tolist() == [S.COLLAPSED, S.OK, S.GROUPS, S.OK]
    assert out["flops"][0] == 0 and out["params"][2] == 0
    assert out["params"][1] > 0
    table = space.layers(genes[2]).to_pylist()
    assert table[-1]["layer"] == "b" and table[-1]["status"] == S.GROUPS


def test_layers_sum_to_totals():
    space = nascost.load_space("mbv2-style")
    for row in space.sample(20, seed=4):
        for convention in ("seed", "macs"):
            t = space.layers(row, convention=convention, batch=3).to_pydict()
            tot = space.score_arrays(row, convention=convention, batch=3)
            for k in ("params", "macs", "flops", "activations"):
                assert sum(t[k]) == int(tot[k][0]), k


def test_overflow_is_a_status():
    b = SpaceBuilder("huge")
    b.input(3, 2**20, 2**20)
    b.conv2d("c", 2**20, 7, padding=3)
    space = b.build()
    out = space.score_arrays(np.zeros((1, 0), dtype=np.uint8))
    assert int(out["status"][0]) == S.OVERFLOW
