"""Random candidates of token chains (a ViT/AutoFormer-like chain; a Swin-like hybrid with
window attention, patch merging, a detour through a map): the kernels (interpreter and table
engine) equal the slow reference under every preset, and the torch model's parameters,
every layer's shape and FlopCounterMode's MACs equal nascost's. Also the int64 guard on
attention's N^2 term."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from token_spaces import swin_hybrid_chain, vit_chain  # tests/tokens is on sys.path
from torch.utils.flop_counter import FlopCounterMode

from nascost.export import layer_shapes, to_torch
from nascost.reference import count, resolve
from nascost.rules import status
from nascost.rules.conventions import PRESETS
from nascost.space.builder import SpaceBuilder

METRICS = ("params", "macs", "flops", "activations", "status")
SPACES = {"vit": vit_chain, "swin-hybrid": swin_hybrid_chain}


@pytest.mark.parametrize("name", sorted(SPACES))
def test_kernels_equal_the_reference_on_random_candidates(name):
    space = SPACES[name]()
    genes = space.sample(60, seed=7)
    for convention in PRESETS:
        want = [count(space, g, convention, batch=2) for g in genes]
        for engine in ("interpreter", "tables"):
            out = space.score_arrays(genes, convention=convention, batch=2, engine=engine)
            got = [{m: int(out[m][i]) for m in METRICS} for i in range(len(genes))]
            assert got == want, (name, convention, engine)
    assert sum(w["status"] == 0 for w in want) > 0


@pytest.mark.parametrize("name", sorted(SPACES))
def test_torch_models_of_random_candidates(name):
    space = SPACES[name]()
    for g in space.sample(4, seed=3):
        ref = count(space, g, "macs")
        if ref["status"] != 0:
            continue
        model = to_torch(space, g).eval()
        assert sum(p.numel() for p in model.parameters()) == ref["params"]
        shapes = layer_shapes(model)
        for layer in resolve(space, g).layers:
            assert shapes[layer.name] == tuple(layer.out_shape), layer.name
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(model.example_input(1))
        assert counter.get_total_flops() == 2 * ref["macs"]


def _attention_space(side: int, dim: int):
    b = SpaceBuilder("big-attention")
    b.input(dim, side, side)
    b.layer("to_tokens", "tok")
    b.layer("attention", "attn", heads=1)
    return b.build()


def test_attention_n_squared_is_exact_or_overflow():
    # N = 2**20 tokens of 64 features: q@k^T is 2**46 MACs, exact in int64
    ok = _attention_space(1024, 64)
    want = count(ok, [], "macs")
    n, d = 2**20, 64
    assert want["macs"] == 4 * n * d * d + 2 * n * n * d
    got = ok.score_arrays(np.zeros((1, 0), np.uint8), convention="macs")
    assert {m: int(got[m][0]) for m in METRICS} == want
    # N = 2**28 tokens: N^2 * 64 = 2**62 MACs for each product: past the limit, no wrap
    big = _attention_space(2**14, 64)
    assert count(big, [], "macs")["status"] == status.OVERFLOW
    for engine in ("interpreter", "tables"):
        got = big.score_arrays(np.zeros((1, 0), np.uint8), convention="macs", engine=engine)
        assert int(got["status"][0]) == status.OVERFLOW and int(got["macs"][0]) == 0
