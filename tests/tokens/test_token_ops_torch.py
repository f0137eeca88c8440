"""Every token op against PyTorch (hypothesis): random dims, grids, heads, head dims, biases,
window sizes and shifts, upsample modes. The to_torch model's parameter count, every layer's
output shape and FlopCounterMode's FLOPs / 2 must equal nascost's params, shapes and MACs
exactly; the compiled kernels (interpreter and tables) must equal the slow reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from token_strategies import TOKEN_KINDS, token_op_space  # tests/tokens is on sys.path
from torch.utils.flop_counter import FlopCounterMode

from nascost.export import layer_shapes, to_torch
from nascost.reference import count, resolve

METRICS = ("params", "macs", "flops", "activations", "status")


def _torch_flops(model, x) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=token_op_space(), batch=st.sampled_from([1, 2]))
def test_params_shapes_and_macs_equal_torch(case, batch):
    kind, space = case
    ref = count(space, [], "macs", batch=batch)
    assume(ref["status"] == 0)
    model = to_torch(space, []).eval()
    assert sum(p.numel() for p in model.parameters()) == ref["params"], kind
    x = model.example_input(batch)
    shapes = layer_shapes(model, x)
    for layer in resolve(space, []).layers:
        assert shapes[layer.name] == tuple(layer.out_shape), (kind, layer.name)
    assert _torch_flops(model, x) == 2 * ref["macs"], (kind, space.spec["layers"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=token_op_space(kinds=("attention", "window_attention")), batch=st.sampled_from([1, 2]))
def test_attention_ops_equal_torch(case, batch):
    """The two attention ops get more draws: heads, head dims, biases, kv inputs, MobileViT
    partitions, windows and shifts."""
    test_params_shapes_and_macs_equal_torch.hypothesis.inner_test(case, batch)


@pytest.mark.parametrize("convention", ["seed", "macs", "thop", "ptflops"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=token_op_space())
def test_kernels_equal_the_reference(convention, case):
    kind, space = case
    want = count(space, [], convention, batch=3)
    for engine in ("interpreter", "tables"):
        out = space.score_arrays(np.zeros((1, 0), np.uint8), convention=convention, batch=3,
                                 engine=engine)
        got = {m: int(out[m][0]) for m in METRICS}
        assert got == want, (kind, engine, space.spec["layers"])


def test_every_token_op_is_drawn():
    from nascost.rules import ops

    assert set(TOKEN_KINDS) - {"linear", "gelu"} == {
        o.name for o in (ops.by_opcode(c) for c in range(ops.FIRST_TOKEN_OPCODE, ops.N_OPCODES))}


def test_attention_counts_by_hand():
    """ViT-B/16's encoder block attention, from the formulas in docs/space-format.md:
    197 tokens x 768, 12 heads of 64."""
    from nascost.space.builder import SpaceBuilder

    b = SpaceBuilder("vit-b-attn")
    b.input(768, 14, 14)
    b.layer("to_tokens", "tok")
    b.layer("class_token", "cls")
    b.layer("attention", "attn", heads=12)
    space = b.build()
    attn = resolve(space, []).layers[-1]
    n, d = 197, 768
    assert attn.params == 4 * d * d + 4 * d  # in_proj 3d x d + 3d, out_proj d x d + d
    assert attn.macs == 4 * n * d * d + 2 * n * n * d
    assert attn.terms["attn_softmax"] == 12 * n * n
