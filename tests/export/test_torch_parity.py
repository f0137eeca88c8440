"""The reference against real PyTorch: parameters, every layer's output shape and MACs are
equal, exactly, on random candidates; single layers agree with torch on what is valid."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nascost.export import layer_shapes, to_torch
from nascost.reference import count, resolve
from nascost.rules import status
from nascost.space.builder import SpaceBuilder

N_CANDIDATES = 24  # random candidates per space
BATCH = 2


# --- spaces --------------------------------------------------------------------------------
def chain_space():
    b = SpaceBuilder("chain")
    res = b.gene("res", [15, 16, 23])
    w = b.gene("width", [8, 12, 16])
    k = b.gene("kernel", [1, 3, 5])
    s = b.gene("stride", [1, 2])
    b.input(3, res, res)
    b.conv2d("stem", w, k, stride=s, padding=k.map(lambda v: v // 2), bias=False)
    b.batchnorm2d("stem_bn")
    b.op("relu", "stem_act")
    b.maxpool2d("pool", kernel=3, stride=2, padding=1, ceil_mode=True)
    b.avgpool2d("apool", kernel=[2, 3], stride=[1, 2], ceil_mode=True,
                count_include_pad=False)
    b.conv2d("head", SpaceBuilder.channels_of("stem", times=2), 1)
    b.op("global_avgpool", "gap")
    b.op("flatten", "flat")
    b.linear("fc1", 32)
    b.op("gelu", "fc1_act")
    b.linear("fc2", 10, bias=False)
    return b.build()


def residual_space():
    b = SpaceBuilder("residual")
    depth = b.gene("depth", [1, 2, 3])
    w = b.gene("width", [8, 16])
    e = b.gene("expand", [1, 3, 6])
    b.input(3, 16, 16)
    b.conv2d("stem", w, 3, stride=2, padding=1)
    b.op("relu6", "stem_act")
    for i in range(1, 4):
        with b.block(f"blk{i}", when=(depth >= i) if i > 1 else None):
            src = b.last
            b.conv2d(f"blk{i}_exp", SpaceBuilder.channels_of(src, times=e, divisor=4), 1,
                     bias=False)
            b.batchnorm2d(f"blk{i}_bn1")
            b.op("hardswish", f"blk{i}_act")
            b.conv2d(f"blk{i}_dw", SpaceBuilder.channels_of(f"blk{i}_exp"), 3, padding=1,
                     groups=SpaceBuilder.channels_of(f"blk{i}_exp"), bias=False)
            b.conv2d(f"blk{i}_proj", SpaceBuilder.channels_of(src), 1, bias=False)
            b.batchnorm2d(f"blk{i}_bn2", affine=False)
            b.op("add", f"blk{i}_add", input=[src, f"blk{i}_bn2"])
    b.op("global_avgpool", "gap")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


def cell_space():
    """A NAS-Bench-201-like cell: each edge one of conv3x3, conv1x1, avgpool, skip, zero."""
    b = SpaceBuilder("cell")
    ops_ = ["conv3", "conv1", "pool", "skip", "zero"]
    edges = [b.gene(f"e{i}", ops_) for i in range(3)]
    b.input(3, 12, 12)
    b.conv2d("stem", 8, 3, padding=1, bias=False)

    def edge(i, src):
        with b.choice(f"edge{i}", edges[i], input=src) as c:
            with c.option():
                b.op("relu", f"e{i}_relu")
                b.conv2d(f"e{i}_conv3", 8, 3, padding=1, bias=False)
                b.batchnorm2d(f"e{i}_bn3")
            with c.option():
                b.op("relu", f"e{i}_relu1")
                b.conv2d(f"e{i}_conv1", 8, 1, bias=False)
            with c.option():
                b.avgpool2d(f"e{i}_pool", 3, stride=1, padding=1, count_include_pad=False)
            with c.option():
                pass
            with c.option():
                b.op("zero", f"e{i}_zero")
        return f"edge{i}"

    n1 = b.op("identity", "n1", input=edge(0, "stem"))
    a = edge(1, "stem")
    c = edge(2, n1)
    b.op("add", "n2", input=[a, c])
    b.op("concat", "cat", input=["stem", "n2", n1])
    b.conv2d("mix", 8, 1)
    b.op("global_avgpool", "gap")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


def se_space():
    b = SpaceBuilder("se")
    se = b.gene("se", [0, 1])
    ratio = b.gene("ratio", ["1/4", "1/2"])
    dil = b.gene("dilation", [1, 2, 3])
    g = b.gene("groups", [1, 2, 4])
    b.input(8, 14, 14)
    b.conv2d("conv", 16, 3, padding=dil, dilation=dil, groups=g)
    b.op("silu", "act")
    with b.block("se_block", when=se.eq(1)):
        b.op("global_avgpool", "se_pool")
        b.conv2d("se_reduce", SpaceBuilder.channels_of("act", times=ratio, round="round"), 1)
        b.op("relu", "se_relu")
        b.conv2d("se_expand", SpaceBuilder.channels_of("act"), 1)
        b.op("sigmoid", "se_gate")
        b.op("mul", "se_scale", input=["se_gate", "act"])  # (C,1,1) * (C,H,W)
    b.op("tanh", "out_act")
    b.maxpool2d("pool", kernel=2, stride=2, ceil_mode=True)
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


def shuffle_space():
    """ShuffleNetV2 units (channel split, concat, channel shuffle) and a DARTS-style
    factorized reduction (a cropped second path)."""
    b = SpaceBuilder("shuffle")
    res = b.gene("res", [9, 12, 16])
    w = b.gene("width", [8, 12, 16])
    g = b.gene("groups", [2, 4])
    b.input(3, res, res)
    b.conv2d("stem", w, 3, padding=1, bias=False)
    b.op("relu", "stem_act")
    b.layer("channel_split", "left", "stem_act", chunks=2, index=0)
    b.layer("channel_split", "right", "stem_act", chunks=2, index=1)
    b.conv2d("right_pw", SpaceBuilder.channels_of("right"), 1, input="right")
    b.op("concat", "cat", ["left", "right_pw"])
    b.layer("channel_shuffle", "shuffle", "cat", groups=g)
    b.op("relu", "fr_act")
    b.conv2d("fr_a", 8, 1, stride=2, bias=False, input="fr_act")
    b.layer("crop", "fr_shift", "fr_act", top=1, left=1)
    b.conv2d("fr_b", 8, 1, stride=2, bias=False, input="fr_shift")
    b.op("concat", "fr_cat", ["fr_a", "fr_b"])
    b.batchnorm2d("fr_bn")
    b.op("global_avgpool", "gap")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


SPACES = [chain_space, residual_space, cell_space, se_space, shuffle_space]


def torch_macs(model, x):
    with FlopCounterMode(display=False) as fc:
        model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return total // 2


@pytest.mark.parametrize("make", SPACES, ids=lambda f: f.__name__)
def test_network_parity(make):
    space = make()
    valid = 0
    for row in space.sample(N_CANDIDATES, seed=0):
        r = resolve(space, row)
        for engine in ("interpreter", "tables"):  # the kernels agree with the reference
            got = space.score_arrays(row, convention="macs", batch=BATCH, engine=engine)
            assert {k: int(v[0]) for k, v in got.items()} == count(
                space, row, convention="macs", batch=BATCH), (engine, row)
        if r.status != status.OK:
            with pytest.raises(ValueError, match=repr(r.failed_layer)):
                to_torch(space, row, device="meta")
            continue
        valid += 1
        c = count(space, row, convention="macs", batch=BATCH)
        model = to_torch(space, row, device="meta")
        assert sum(p.numel() for p in model.parameters()) == c["params"], row
        x = model.example_input(BATCH)
        got = layer_shapes(model, x)
        assert got == {layer.name: layer.out_shape for layer in r.layers}, row
        assert torch_macs(model, x) == c["macs"], row
        assert c["flops"] == c["macs"]  # the 'macs' convention
    assert valid >= N_CANDIDATES // 2  # the spaces are built to be mostly valid


def test_forward_runs_on_cpu_and_values_flow():
    space = cell_space()
    row = space.genes_from_values({"e0": "conv3", "e1": "zero", "e2": "skip"})
    model = to_torch(space, row).eval()
    x = torch.randn(2, 3, 12, 12)
    y = model(x)
    assert y.shape == (2, 10)
    assert model.output_name == "fc"
    # edge1 is 'zero': n2 = 0 + n1 (skip edge2), so n2 equals n1
    seen = {}
    hooks = [model.layers[model.layer_keys[n]].register_forward_hook(
        lambda m, i, o, n=n: seen.__setitem__(n, o)) for n in ("n1", "n2")]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    assert torch.equal(seen["n1"], seen["n2"])


def test_module_names_and_kinds():
    b = SpaceBuilder("names")
    b.input(3, 8, 8)
    b.conv2d("a.b", 4, 3)
    b.op("relu", "forward")
    b.op("add", "a_b", input=["forward", "a.b"])
    space = b.build()
    model = to_torch(space, [])
    assert list(model.layer_keys) == ["a.b", "forward", "a_b"]
    assert len(set(model.layer_keys.values())) == 3
    kinds = [type(m).__name__ for m in model.layers.values()]
    assert kinds == ["Conv2d", "ReLU", "Add"]
    assert model.layer_shapes() == {"a.b": (4, 6, 6), "forward": (4, 6, 6), "a_b": (4, 6, 6)}


def test_skipped_output_and_invalid_candidate():
    b = SpaceBuilder("skip")
    d = b.gene("d", [0, 1])
    k = b.gene("k", [3, 9])
    b.input(3, 8, 8)
    with b.block("blk", when=d.eq(1)):
        b.conv2d("c", 4, k)
    space = b.build()
    model = to_torch(space, [0, 1])  # nothing active: the network returns its input
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(model(x), x)
    with pytest.raises(ValueError, match=r"layer 'c' fails with status 5 \(spatial_size"):
        to_torch(space, [1, 1])


def test_missing_torch_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    space = chain_space()
    with pytest.raises(ImportError, match=r"pip install 'nascost\[torch\]'"):
        to_torch(space, np.zeros(space.n_genes, dtype=np.uint8))


# --- single layers against torch (hypothesis) ------------------------------------------
def one_layer(make_layer, cin, h, w):
    b = SpaceBuilder("one")
    b.input(cin, h, w)
    make_layer(b)
    return b.build()


def torch_outcome(build_module, x):
    """(output shape without batch, params) or None where torch rejects the layer."""
    try:
        mod = build_module()
        with torch.no_grad():
            y = mod(x)
    except (RuntimeError, ValueError):
        return None
    return tuple(y.shape[1:]), sum(p.numel() for p in mod.parameters())


pair = st.tuples  # (h, w)


@settings(max_examples=80, deadline=None)
@given(
    cin=st.integers(1, 8), cout=st.integers(1, 8), h=st.integers(1, 10), w=st.integers(1, 10),
    kernel=pair(st.integers(1, 5), st.integers(1, 5)),
    stride=pair(st.integers(1, 3), st.integers(1, 3)),
    padding=pair(st.integers(0, 3), st.integers(0, 3)),
    dilation=pair(st.integers(1, 3), st.integers(1, 3)),
    groups=st.sampled_from([1, 2, 3, 4, 8]), bias=st.booleans(),
)
def test_conv2d_matches_torch(cin, cout, h, w, kernel, stride, padding, dilation, groups, bias):
    fields = dict(kernel=list(kernel), stride=list(stride), padding=list(padding),
                  dilation=list(dilation), groups=groups, bias=bias)
    space = one_layer(lambda b: b.conv2d("conv", cout, **fields), cin, h, w)
    r = resolve(space, [])
    got = torch_outcome(
        lambda: nn.Conv2d(cin, cout, kernel, stride, padding, dilation, groups, bias),
        torch.zeros(1, cin, h, w))
    assert (got is None) == (r.status != status.OK), (r.status, r.failed_layer)
    if got is not None:
        (conv,) = r.layers
        assert got == (conv.out_shape, conv.params)
        assert count(space, [])["params"] == conv.params


@settings(max_examples=80, deadline=None)
@given(
    op=st.sampled_from(["maxpool2d", "avgpool2d"]), c=st.integers(1, 3),
    h=st.integers(1, 12), w=st.integers(1, 12),
    kernel=pair(st.integers(1, 5), st.integers(1, 5)),
    stride=pair(st.integers(1, 4), st.integers(1, 4)),
    padding=pair(st.integers(0, 3), st.integers(0, 3)),
    ceil_mode=st.booleans(), count_include_pad=st.booleans(),
)
@example(op="maxpool2d", c=1, h=1, w=1, kernel=(2, 1), stride=(2, 1), padding=(0, 0),
         ceil_mode=True, count_include_pad=False)  # an overhanging window: torch gives 1x1
@example(op="avgpool2d", c=1, h=2, w=2, kernel=(3, 3), stride=(2, 2), padding=(0, 0),
         ceil_mode=True, count_include_pad=False)
def test_pool_matches_torch(op, c, h, w, kernel, stride, padding, ceil_mode, count_include_pad):
    fields = dict(kernel=list(kernel), stride=list(stride), padding=list(padding),
                  ceil_mode=ceil_mode)
    if op == "avgpool2d":
        fields["count_include_pad"] = count_include_pad
        space = one_layer(lambda b: b.avgpool2d("pool", **fields), c, h, w)

        def module():
            return nn.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad)
    else:
        space = one_layer(lambda b: b.maxpool2d("pool", **fields), c, h, w)

        def module():
            return nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)
    r = resolve(space, [])
    got = torch_outcome(module, torch.zeros(1, c, h, w))
    assert (got is None) == (r.status != status.OK), (r.status, r.failed_layer)
    if got is not None:
        (pool,) = r.layers
        assert got == (pool.out_shape, 0)
    else:
        assert r.status in (status.POOL_PADDING, status.COLLAPSED)


@settings(max_examples=50, deadline=None)
@given(
    a=pair(st.integers(1, 3), st.sampled_from([1, 2, 3, 6]), st.sampled_from([1, 2, 3, 6])),
    b_=pair(st.integers(1, 3), st.sampled_from([1, 2, 3, 6]), st.sampled_from([1, 2, 3, 6])),
)
def test_mul_broadcast_matches_torch(a, b_):
    # from a 6x6 input, a 1x1 conv with stride 6 // n gives n x n for n in {1, 2, 3, 6}
    b = SpaceBuilder("mul")
    b.input(3, 6, 6)
    for name, (c, h, w) in (("a", a), ("b", b_)):
        b.conv2d(name, c, 1, stride=[6 // h, 6 // w], input="input")
    b.op("mul", "m", input=["a", "b"])
    r = resolve(b.build(), [])
    try:
        expect = tuple((torch.zeros(1, *a) * torch.zeros(1, *b_)).shape[1:])
    except RuntimeError:
        expect = None
    assert (expect is None) == (r.status != status.OK)
    if expect is None:
        assert (r.status, r.failed_layer) == (status.SHAPE_MISMATCH, "m")
    else:
        assert [layer.out_shape for layer in r.layers] == [a, b_, expect]
