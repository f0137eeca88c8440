"""Each peer-tool preset against the real tool, one layer at a time (hypothesis).

A random single-op network (a conv, pool, norm, activation, linear, elementwise or view op with
random fields) is built with to_torch and run through the tool at batch 1 or 2; the tool's
number must equal nascost's flops under the preset of the same name, exactly (thop's float
equals the integer). ptflops' pytorch backend at batch 2 follows nascost.export.peers.predict.
"""

from __future__ import annotations

import importlib
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nascost.export import to_torch
from nascost.export.peers import PTFLOPS_FUNCTIONAL, PTFLOPS_MODULES, count, predict
from nascost.reference import count as ref_count
from nascost.rules import ops
from nascost.rules.conventions import PRESETS
from nascost.space.builder import SpaceBuilder

TOOLS = ("thop", "fvcore", "ptflops", "ptflops_aten", "torch")
_MODULE = {"ptflops_aten": "ptflops"}
ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "gelu")


def require(tool: str) -> None:
    """CI installs the test extra, so there a missing tool fails; elsewhere it skips."""
    name = _MODULE.get(tool, tool)
    if os.environ.get("CI"):
        importlib.import_module(name)
    else:
        pytest.importorskip(name, reason=f"pip install 'nascost[test]' to run {tool}")


small = st.integers(1, 4)


@st.composite
def one_op_space(draw):
    """(op kind, Space): the input and one op (plus the views some ops need)."""
    kind = draw(st.sampled_from(SPACE_OPS))
    c = draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    b = SpaceBuilder(f"one-{kind}")
    b.input(c, h, w)
    if kind == "conv2d":
        g = draw(st.sampled_from([d for d in (1, 2, 3, 4, 8) if c % d == 0]))
        kernel = [draw(st.integers(1, 5)), draw(st.integers(1, 5))]
        b.conv2d("conv", g * draw(small), kernel, stride=[draw(small), draw(small)],
                 padding=[draw(st.integers(0, 2)), draw(st.integers(0, 2))],
                 dilation=[draw(st.integers(1, 2)), draw(st.integers(1, 2))], groups=g,
                 bias=draw(st.booleans()))
    elif kind in ("maxpool2d", "avgpool2d"):
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        fields = dict(stride=[draw(small), draw(small)],
                      padding=[draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))],
                      ceil_mode=draw(st.booleans()))
        if kind == "avgpool2d":
            b.avgpool2d("pool", [kh, kw], count_include_pad=draw(st.booleans()), **fields)
        else:
            b.maxpool2d("pool", [kh, kw], **fields)
    elif kind == "batchnorm2d":
        b.batchnorm2d("bn", affine=draw(st.booleans()))
    elif kind == "linear":
        b.op("flatten", "flat")
        b.linear("fc", draw(st.integers(1, 20)), bias=draw(st.booleans()))
    elif kind == "add":
        b.op("add", "sum", input=["input"] * draw(st.integers(2, 3)))
    elif kind == "mul":  # squeeze-and-excite's broadcast, or two equal shapes
        if draw(st.booleans()):
            b.op("global_avgpool", "gap")
            b.op("mul", "scale", input=["input", "gap"])
        else:
            b.op("mul", "sq", input=["input", "input"])
    elif kind == "concat":
        b.op("concat", "cat", input=["input"] * draw(st.integers(2, 3)))
    elif kind == "channel_split":
        chunks = draw(st.sampled_from([d for d in (1, 2, 4) if c % d == 0]))
        b.layer("channel_split", "split", chunks=chunks, index=draw(st.integers(0, chunks - 1)))
    elif kind == "channel_shuffle":
        b.layer("channel_shuffle", "shuffle",
                groups=draw(st.sampled_from([d for d in (1, 2, 4) if c % d == 0])))
    elif kind == "crop":
        b.layer("crop", "crop", top=draw(st.integers(0, h - 1)),
                left=draw(st.integers(0, w - 1)))
    else:  # activations, global_avgpool, flatten, identity, zero
        b.op(kind, "op")
        if kind == "flatten" and draw(st.booleans()):
            b.op(draw(st.sampled_from(ACTIVATIONS)), "flat_act")  # an activation on (N, F)
    return kind, b.build()


SPACE_OPS = ("conv2d", "maxpool2d", "avgpool2d", "batchnorm2d", "linear", "global_avgpool",
             *ACTIVATIONS, "add", "mul", "concat", "identity", "flatten", "zero",
             "channel_split", "channel_shuffle", "crop")


# token and transformer ops: their single-layer checks are tests/tokens/test_token_presets.py
TOKEN_OPS = ("to_tokens", "to_map", "patch_merge", "class_token", "token_select", "mean",
             "layernorm", "groupnorm", "batchnorm1d", "softmax", "dropout", "drop_path",
             "attention", "window_attention", "matmul", "param", "upsample")


def test_every_op_has_a_single_layer_check():
    """A new op needs its peer-tool behaviour checked here (no silent zeros)."""
    assert set(ops.names()) - {"input"} == set(SPACE_OPS) | set(TOKEN_OPS)


def test_ptflops_parts_sum_to_the_preset():
    terms = set(PTFLOPS_MODULES) | set(PTFLOPS_FUNCTIONAL)
    summed = {t: PTFLOPS_MODULES.get(t, 0) + PTFLOPS_FUNCTIONAL.get(t, 0) for t in terms}
    assert summed == PRESETS["ptflops"]


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=one_op_space(), batch=st.sampled_from([1, 2]))
def test_preset_equals_tool_on_one_layer(tool, case, batch):
    require(tool)
    kind, space = case
    ref = ref_count(space, [], convention=tool, batch=batch)
    assume(ref["status"] == 0)  # a field combination that torch rejects too
    model = to_torch(space, [])
    keys = set(model.state_dict())
    got = count(tool, model, model.example_input(batch))
    assert set(model.state_dict()) == keys  # no tool's bookkeeping is left on the model
    want = predict(tool, space, [], batch)
    if not (tool == "ptflops" and batch > 1):
        assert want == ref["flops"]
    assert got == want, (tool, kind, batch, space.spec["layers"])
