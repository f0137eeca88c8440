"""The peer-tool presets against the real tools on random candidates of every built-in space.

For each space (nascost.list_spaces(), so spaces added later are checked too), valid
candidates drawn at random are built with to_torch and run through thop, fvcore, ptflops (both
backends) and torch's FlopCounterMode; each tool's number must equal nascost's flops under the
preset of the same name exactly (fvcore without the layers whose output is unused). Batch 2 is
checked on the cheapest candidate of each search space (ptflops' pytorch backend as
nascost.export.peers.predict states).
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

import nascost
from nascost.export import to_torch
from nascost.export.peers import count, predict

TOOLS = ("thop", "fvcore", "ptflops", "ptflops_aten", "torch")
_MODULE = {"ptflops_aten": "ptflops"}
SPACES = nascost.list_spaces()
# Every tool runs the real forward pass, so by default one candidate per space is checked (the
# cheapest of a random draw for a search space; the model itself for a fixed one, however
# big), at batch 1 and 2. NASCOST_PEER_FULL=1 checks up to MAX_N (NASCOST_PEER_N, default 5)
# random candidates of every space.
FULL = os.environ.get("NASCOST_PEER_FULL") == "1"
CAP_MACS = 10**12
SPACE_MACS = 60 * 10**9 if FULL else 10**9
MAX_N = int(os.environ.get("NASCOST_PEER_N", "5")) if FULL else 1


def require(tool: str) -> None:
    """CI installs the test extra, so there a missing tool fails; elsewhere it skips."""
    name = _MODULE.get(tool, tool)
    if os.environ.get("CI"):
        importlib.import_module(name)
    else:
        pytest.importorskip(name, reason=f"pip install 'nascost[test]' to run {tool}")


def candidates(space, seed: int, budget: int = SPACE_MACS, max_n: int = MAX_N,
               cheapest: bool = False) -> np.ndarray:
    """Distinct valid candidates in random order (or cheapest first), each under CAP_MACS,
    while their MACs add up to at most ``budget`` (at least one if any is under the cap)."""
    if space.size <= 256:
        rows = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    else:
        rows = np.unique(space.sample(256, seed=seed), axis=0)
    rows = rows[np.random.default_rng(seed).permutation(len(rows))]
    out = space.score_arrays(rows, "macs", engine="interpreter")
    if cheapest:
        order = np.argsort(out["macs"] + (out["status"] != 0) * 2**62, kind="stable")
        rows, out = rows[order], {k: v[order] for k, v in out.items()}
    keep, total = [], 0
    for row, st, macs in zip(rows, out["status"], out["macs"], strict=True):
        if st != 0 or macs > CAP_MACS or (keep and total + macs > budget):
            continue
        keep.append(row)
        total += int(macs)
        if len(keep) == max_n:
            break
    assert keep, f"{space.name}: no valid candidate drawn"
    return np.array(keep)


@pytest.mark.parametrize("name", SPACES)
def test_presets_equal_tools_on_random_candidates(name):
    for tool in TOOLS:
        require(tool)
    space = nascost.load_space(name)
    wrong = []
    for row in candidates(space, seed=7, cheapest=not FULL):
        model = to_torch(space, row)
        x = model.example_input(1)
        for tool in TOOLS:
            got = count(tool, model, x)
            if tool == "thop":
                assert isinstance(got, float)  # thop sums in float64: exact below 2**53
            ours = predict(tool, space, row, 1)
            if got != ours:
                wrong.append((tool, row.tolist(), got, ours))
    assert not wrong, wrong


@pytest.mark.parametrize("name", SPACES)
def test_batch_two_scales_as_each_tool_does(name):
    for tool in TOOLS:
        require(tool)
    space = nascost.load_space(name)
    row = candidates(space, seed=3, max_n=1, cheapest=not FULL)[0]
    model = to_torch(space, row)
    x = model.example_input(2)
    for tool in TOOLS:
        got = count(tool, model, x)
        assert got == predict(tool, space, row, 2), tool
        if tool != "ptflops":  # per forward pass of the batch: twice batch 1
            assert got == 2 * predict(tool, space, row, 1), tool


def test_params_and_macs_do_not_depend_on_the_convention():
    from nascost.rules.conventions import PRESETS

    for name in SPACES:
        space = nascost.load_space(name)
        rows = space.sample(64, seed=1)
        base = space.score_arrays(rows, "seed", batch=3, engine="interpreter")
        for preset in PRESETS:
            got = space.score_arrays(rows, preset, batch=3, engine="interpreter")
            for col in ("params", "macs", "activations", "status"):
                np.testing.assert_array_equal(got[col], base[col], err_msg=(name, preset))


def test_fvcore_in_training_mode_is_another_table():
    """fvcore counts BatchNorm by the graph it traces: in training mode 4 per element, 5 with
    affine (its norm_flop_counter), in eval mode 1 and 2 (the 'fvcore' preset). A custom
    table reproduces the training-mode number."""
    require("fvcore")
    from fvcore.nn import FlopCountAnalysis

    from nascost.export.peers import _quiet

    space = nascost.load_space("resnet18")
    model = to_torch(space, [])
    model.train()
    with _quiet():
        analysis = FlopCountAnalysis(model, (model.example_input(1),))
        analysis.unsupported_ops_warnings(False)
        got = analysis.total()
    train = {"base": "fvcore", "batchnorm": 4, "batchnorm_affine": 1, "name": "fvcore-train"}
    assert got == int(space.score_arrays(np.zeros((1, 0), np.uint8), convention=train)["flops"][0])


def test_fvcore_leaves_out_layers_whose_output_is_unused():
    """PyTorch runs a layer whose output nothing reads (a DARTS cell's preprocessed input that
    no edge uses), and nascost, thop, ptflops and torch count it; fvcore counts the jit trace,
    which drops such dead code. peers.predict states it; no weight table can."""
    from nascost.export.peers import unused_layers
    from nascost.space.builder import SpaceBuilder

    for tool in TOOLS:
        require(tool)
    b = SpaceBuilder("dead-branch")
    b.input(3, 8, 8)
    b.conv2d("used", 4, 3, padding=1, bias=False)  # 3*3*3*4*64 = 6,912 MACs
    b.conv2d("unused", 5, 1, input="input")  # 3*5*64 = 960 MACs, read by nothing
    b.batchnorm2d("unused_bn")  # 5*64 = 320 elements
    b.op("relu", "out", input="used")
    space = b.build()
    assert unused_layers(space, []) == ["unused", "unused_bn"]
    model = to_torch(space, [])
    x = model.example_input(2)
    preset = int(space.score_arrays(np.zeros((1, 0), np.uint8), "fvcore", batch=2)["flops"][0])
    assert preset == 2 * (6_912 + 960 + 2 * 320)  # BN in eval mode: 1 + 1 (affine)
    assert count("fvcore", model, x) == predict("fvcore", space, [], 2) == 2 * 6_912
    for tool in ("thop", "ptflops_aten", "torch"):
        assert count(tool, model, x) == predict(tool, space, [], 2) == int(
            space.score_arrays(np.zeros((1, 0), np.uint8), tool, batch=2)["flops"][0])
