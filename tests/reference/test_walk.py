"""Golden values for the slow reference, with the arithmetic in comments."""

from __future__ import annotations

import numpy as np
import pytest

from nascost.reference import canonical, count, live_genes, resolve
from nascost.rules import status
from nascost.space.builder import SpaceBuilder


def shapes(r):
    return {layer.name: layer.out_shape for layer in r.layers}


# --- RULES.md's worked example -----------------------------------------------------------
def rules_example():
    b = SpaceBuilder("rules")
    b.input(channels=3, height=32, width=32)
    b.conv2d("conv", out_channels=16, kernel=3, stride=1, padding=1)
    return b.build()


def test_rules_worked_example():
    space = rules_example()
    r = resolve(space, [])
    assert r.status == status.OK and r.failed_layer is None
    assert r.input_shape == (3, 32, 32)
    (conv,) = r.layers
    assert conv.out_shape == (16, 32, 32)
    assert conv.params == 448  # 3*3*3*16 + 16
    assert conv.macs == 442_368  # 3*3*3*16 * 32*32
    assert conv.terms == {"conv_mac": 442_368, "conv_bias": 16_384}  # bias: 16*32*32
    assert count(space, []) == {
        "params": 448,
        "macs": 442_368,
        "flops": 884_736,  # 2*27*16*32*32 (seed leaves the bias out)
        "activations": 16_384,  # 16*32*32
        "status": 0,
    }


def test_batch_scales_everything_but_params():
    space = rules_example()
    assert count(space, [], batch=4) == {
        "params": 448, "macs": 4 * 442_368, "flops": 4 * 884_736,
        "activations": 4 * 16_384, "status": 0}


def test_conventions():
    space = rules_example()
    assert count(space, [], convention="macs")["flops"] == 442_368  # 1 per MAC
    # a custom table that counts the bias: 2*442,368 + 16,384 = 901,120
    assert count(space, [], convention={"conv_mac": 2, "conv_bias": 1})["flops"] == 901_120
    with pytest.raises(ValueError, match="unknown terms"):
        count(space, [], convention={"nope": 1})


def test_bad_batch_and_rows():
    space = rules_example()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch"):
            count(space, [], batch=bad)
    b = SpaceBuilder("g")
    k = b.gene("k", [1, 3])
    b.input(3, 8, 8)
    b.conv2d("c", 4, k)
    space = b.build()
    with pytest.raises(ValueError, match="out of range"):
        resolve(space, [2])
    with pytest.raises(ValueError, match="single genes row"):
        resolve(space, [[0], [1]])


# --- a small CNN chain touching most ops ---------------------------------------------------
def small_cnn():
    b = SpaceBuilder("cnn")
    b.input(channels=3, height=8, width=8)
    b.conv2d("conv", out_channels=8, kernel=3, padding=1, bias=False)
    b.batchnorm2d("bn")
    b.op("relu", "act")
    b.maxpool2d("pool", kernel=2)
    b.op("global_avgpool", "gap")
    b.op("flatten", "flat")
    b.linear("fc", out_features=10)
    return b.build()


def test_small_cnn():
    space = small_cnn()
    r = resolve(space, [])
    assert shapes(r) == {
        "conv": (8, 8, 8), "bn": (8, 8, 8), "act": (8, 8, 8), "pool": (8, 4, 4),
        "gap": (8, 1, 1), "flat": (8,), "fc": (10,)}
    by = {layer.name: layer for layer in r.layers}
    assert by["conv"].params == 216  # 3*3*3*8, no bias
    assert by["conv"].terms == {"conv_mac": 13_824, "conv_bias": 0}  # 216 * 8*8
    assert by["bn"].params == 16  # 2*8
    assert by["bn"].terms == {"batchnorm": 512, "batchnorm_affine": 512}  # 8*8*8
    assert by["act"].terms == {"relu": 512}
    assert by["pool"].fields["stride"] == (2, 2)  # pool stride defaults to the kernel
    assert by["pool"].terms == {"maxpool_out": 128, "maxpool_in": 512}  # 8*4*4; 8*8*8
    assert by["gap"].terms == {"global_pool_out": 8, "global_pool_in": 128}
    assert by["flat"].terms == {}
    assert by["fc"].params == 90  # 8*10 + 10
    assert by["fc"].terms == {"linear_mac": 80, "linear_bias": 10}
    assert r.output == "fc"
    assert count(space, []) == {
        "params": 322,  # 216 + 16 + 90
        "macs": 13_904,  # 13,824 + 80
        # 2*13,824 + 4*512 + 1*512 + 1*128 + 1*8 + 2*80 = 27,648+2,048+512+128+8+160
        "flops": 30_504,
        # conv 512 + bn 512 + relu 512 + pool 128 + gap 8 + fc 10 (flatten is a view)
        "activations": 1_682,
        "status": 0,
    }


def test_affine_false_and_other_activations():
    b = SpaceBuilder("acts")
    b.input(4, 2, 2)
    b.batchnorm2d("bn", affine=False)
    for op in ("relu6", "sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "gelu",
               "identity", "zero"):
        b.op(op, op)
    space = b.build()
    r = resolve(space, [])
    assert r.layers[0].params == 0
    assert all(layer.out_shape == (4, 2, 2) for layer in r.layers)
    c = count(space, [])
    # 16 elements each; seed weights bn 4, relu6 2, sigmoid 4, tanh 4, hardswish 4,
    # hardsigmoid 3, silu 5, gelu 8, identity -, zero 0 -> 16 * 34 = 544
    assert c["flops"] == 544
    # 10 layers (bn, 7 activations, identity, zero) minus identity: 9 * 16 = 144
    assert c["activations"] == 144
    assert c["params"] == 0 and c["macs"] == 0


# --- genes, blocks, choices, aliasing, liveness -----------------------------------------
def depth_space():
    b = SpaceBuilder("depth")
    res = b.gene("res", [8, 16])
    depth = b.gene("depth", [1, 2, 3])
    k2 = b.gene("k2", [1, 3])
    k3 = b.gene("k3", [1, 3])
    b.input(3, res, res)
    b.conv2d("stem", 4, 3, padding=1)
    with b.block("b1"):
        b.conv2d("b1c", 4, 3, padding=1)
    with b.block("b2", when=depth >= 2):
        b.conv2d("b2c", 4, k2, padding=k2.map(lambda k: k // 2))
    with b.block("b3", when=depth >= 3):
        b.conv2d("b3c", 4, k3, padding=k3.map(lambda k: k // 2))
    b.op("add", "res_add", input=["stem", "b3"])
    return b.build()


def test_blocks_depth_and_aliasing():
    space = depth_space()
    # res 8, depth 1: b2 and b3 skipped; b3's value is b1c's output
    r = resolve(space, [0, 0, 1, 1])
    assert [layer.name for layer in r.layers] == ["stem", "b1c", "res_add"]
    assert r.layers[-1].inputs == ["stem", "b1c"]
    assert r.live == [True, True, False, False]
    assert list(canonical(space, [0, 0, 1, 1])) == [0, 0, 0, 0]
    # depth 3, k2 = 3, k3 = 1
    r = resolve(space, [1, 2, 1, 0])
    assert [layer.name for layer in r.layers] == ["stem", "b1c", "b2c", "b3c", "res_add"]
    assert r.layers[-1].inputs == ["stem", "b3c"]
    assert r.input_shape == (3, 16, 16)
    assert r.layers[3].fields["kernel"] == (1, 1) and r.layers[3].fields["padding"] == (0, 0)
    assert live_genes(space, [1, 2, 1, 0]) == [True, True, True, True]
    c = count(space, [1, 2, 1, 0])
    # stem 3*3*3*4+4 = 112, b1c 3*3*4*4+4 = 148, b2c 148, b3c 1*1*4*4+4 = 20: 428
    assert c["params"] == 428
    # per pixel (16*16 = 256): 108 + 144 + 144 + 16 = 412 MACs -> 105,472
    assert c["macs"] == 105_472
    # 2*105,472 + add 4*256 = 210,944 + 1,024
    assert c["flops"] == 211_968
    # 5 layers of 4*16*16 = 1,024 elements
    assert c["activations"] == 5_120


def test_depth_two_kernel_three_dead():
    space = depth_space()
    assert live_genes(space, [0, 1, 1, 1]) == [True, True, True, False]
    assert list(canonical(space, [0, 1, 1, 1])) == [0, 1, 1, 0]
    assert canonical(space, np.array([0, 1, 1, 1], dtype=np.uint8)).dtype == np.uint8


def choice_space():
    b = SpaceBuilder("choice")
    op = b.gene("op", ["conv", "pool", "skip"])
    k = b.gene("k", [3, 5])
    b.input(4, 8, 8)
    with b.choice("edge", op) as c:
        with c.option():
            b.conv2d("edge_conv", 4, k, padding=k.map(lambda v: v // 2))
            b.op("relu", "edge_relu")
        with c.option():
            b.maxpool2d("edge_pool", kernel=3, stride=1, padding=1)
        with c.option():
            pass
    b.op("add", "sum", input=["input", "edge"])
    return b.build()


def test_choice_options():
    space = choice_space()
    r = resolve(space, [0, 1])  # conv k5 p2 then relu
    assert [layer.name for layer in r.layers] == ["edge_conv", "edge_relu", "sum"]
    assert r.layers[0].params == 404  # 5*5*4*4 + 4
    assert r.layers[-1].inputs == ["input", "edge_relu"]
    assert r.live == [True, True]
    r = resolve(space, [1, 1])
    assert [layer.name for layer in r.layers] == ["edge_pool", "sum"]
    assert r.layers[0].terms == {"maxpool_out": 256, "maxpool_in": 256}  # 4*8*8 both
    assert r.live == [True, False]
    r = resolve(space, [2, 1])  # empty option: the choice's output is its input
    assert [layer.name for layer in r.layers] == ["sum"]
    assert r.layers[0].inputs == ["input", "input"]
    assert r.layers[0].terms == {"add": 256}  # 4*8*8 * (2 - 1)
    assert list(canonical(space, [2, 1])) == [2, 0]


def test_conditions_compare_choice_values():
    b = SpaceBuilder("conds")
    g = b.gene("g", [10, 20, 30])
    b.input(1, 4, 4)
    conds = {
        "eq": g.eq(20), "ne": {"gene": "g", "ne": 20}, "in": g.isin([10, 30]),
        "ge": g >= 20, "gt": g > 20, "le": g <= 20, "lt": g < 20,
    }
    for name, cond in conds.items():
        with b.block(name, when=cond, input="input"):
            b.op("relu", f"{name}_relu")
    space = b.build()
    expect = {  # choice values 10, 20, 30
        "eq": (False, True, False), "ne": (True, False, True), "in": (True, False, True),
        "ge": (False, True, True), "gt": (False, False, True),
        "le": (True, True, False), "lt": (True, False, False),
    }
    for k in range(3):
        active = {layer.name[:-5] for layer in resolve(space, [k]).layers}
        assert active == {n for n, e in expect.items() if e[k]}, k


def test_nested_blocks_liveness():
    b = SpaceBuilder("nested")
    outer = b.gene("outer", [0, 1])
    inner = b.gene("inner", [0, 1])
    width = b.gene("width", [4, 8])
    b.input(3, 4, 4)
    with b.block("o", when=outer.eq(1)):
        with b.block("i", when=inner.eq(1)):
            b.conv2d("c", width, 1)
    space = b.build()
    assert live_genes(space, [0, 1, 1]) == [True, False, False]  # inner never evaluated
    assert live_genes(space, [1, 0, 1]) == [True, True, False]
    assert live_genes(space, [1, 1, 1]) == [True, True, True]
    assert resolve(space, [0, 1, 1]).output == "input"
    assert list(canonical(space, [0, 1, 1])) == [0, 0, 0]


def test_channels_of_and_ratio_genes():
    b = SpaceBuilder("width")
    e = b.gene("expand", [1, 3, 6])
    r = b.gene("ratio", ["1/3", "1/4"])
    b.input(16, 4, 4)
    b.conv2d("exp", SpaceBuilder.channels_of("input", times=e), 1)
    b.conv2d("third", SpaceBuilder.channels_of("input", times=r.values([1, 1]),
                                               round="floor"), 1, input="input")
    b.conv2d("div", SpaceBuilder.channels_of("exp", times=0.3, divisor=8), 1)
    b.conv2d("sq", SpaceBuilder.channels_of("input", times={"gene": "ratio",
                                                            "values": ["1/3", 0.25]},
                                            round="ceil"), 1, input="input")
    space = b.build()
    by = {layer.name: layer for layer in resolve(space, [2, 0]).layers}
    assert by["exp"].out_shape[0] == 96  # 16 * 6
    assert by["third"].out_shape[0] == 16  # 16 * 1 (values override the choice)
    # 96 * 0.3 = 28.8 -> int(28.8 + 4) // 8 * 8 = 32 (>= 0.9 * 28.8)
    assert by["div"].out_shape[0] == 32
    assert by["sq"].out_shape[0] == 6  # ceil(16 / 3) = ceil(5.33)
    by = {layer.name: layer for layer in resolve(space, [0, 1]).layers}
    assert by["exp"].out_shape[0] == 16
    # 16 * 0.3 = 4.8 -> max(8, int(8.8) // 8 * 8) = 8
    assert by["div"].out_shape[0] == 8
    assert by["sq"].out_shape[0] == 4  # 16 * 0.25
    assert live_genes(space, [0, 1]) == [True, True]  # 'times' genes are read


def test_input_genes_and_se_mul_concat():
    b = SpaceBuilder("se")
    res = b.gene("res", [8, 16])
    b.input(16, res, res)
    b.op("global_avgpool", "squeeze")
    b.conv2d("reduce", 4, 1)
    b.op("relu", "r")
    b.conv2d("expand", 16, 1)
    b.op("hardsigmoid", "gate")
    b.op("mul", "scale", input=["input", "gate"])
    b.op("concat", "cat", input=["scale", "input"])
    space = b.build()
    r = resolve(space, [1])
    assert shapes(r) == {
        "squeeze": (16, 1, 1), "reduce": (4, 1, 1), "r": (4, 1, 1), "expand": (16, 1, 1),
        "gate": (16, 1, 1), "scale": (16, 16, 16), "cat": (32, 16, 16)}
    by = {layer.name: layer for layer in r.layers}
    assert by["scale"].terms == {"mul": 4_096}  # 16*16*16
    assert by["cat"].terms == {}
    c = count(space, [1])
    assert c["params"] == 148  # reduce 16*4+4 = 68, expand 4*16+16 = 80
    assert c["macs"] == 128  # 64 + 64
    # gap 16 + 2*128 + relu 4 + hardsigmoid 3*16 + mul 4,096 = 16+256+4+48+4,096
    assert c["flops"] == 4_420
    # 16 + 4 + 4 + 16 + 16 + 4,096 + 8,192
    assert c["activations"] == 12_344
    assert live_genes(space, [1]) == [True]


def test_mul_broadcast_both_ways_and_flat():
    b = SpaceBuilder("mulb")
    b.input(1, 4, 1)
    b.conv2d("wide", 3, 1, input="input")  # (3, 4, 1)
    b.op("global_avgpool", "g")  # (3, 1, 1)
    b.op("mul", "m1", input=["input", "g"])  # (1,4,1) x (3,1,1) -> (3,4,1)
    b.op("flatten", "f1", input="input")  # (4,)
    b.op("flatten", "f2", input="wide")  # (12,)
    b.op("mul", "m2", input=["f1", "f1"])
    b.op("add", "a3", input=["f1", "f1", "f1"])
    space = b.build()
    r = resolve(space, [])
    assert shapes(r)["m1"] == (3, 4, 1)
    assert shapes(r)["m2"] == (4,)
    by = {layer.name: layer for layer in r.layers}
    assert by["m1"].terms == {"mul": 12}
    assert by["a3"].terms == {"add": 8}  # 4 * (3 - 1)


def test_pool_ceil_mode_sizes():
    b = SpaceBuilder("pools")
    b.input(2, 6, 5)
    b.maxpool2d("floor", kernel=3, stride=2, input="input")
    b.maxpool2d("ceil", kernel=3, stride=2, ceil_mode=True, input="input")
    b.avgpool2d("avg", kernel=2, stride=2, padding=1, ceil_mode=True, input="input")
    space = b.build()
    s = shapes(resolve(space, []))
    # H 6: floor((6-3)/2)+1 = 2; ceil(3/2)+1 = 3 (last window starts at 4 < 6)
    # W 5: floor((5-3)/2)+1 = 2; ceil(2/2)+1 = 2
    assert s["floor"] == (2, 2, 2)
    assert s["ceil"] == (2, 3, 2)
    # H 6, p1: span 6+2-2 = 6 -> ceil(6/2)+1 = 4; (4-1)*2 = 6 >= 6+1? no -> 4
    # W 5, p1: span 5 -> ceil(5/2)+1 = 4; (4-1)*2 = 6 >= 5+1 -> drop -> 3
    assert s["avg"] == (2, 4, 3)


def test_pool_ceil_mode_overhanging_window():
    # PyTorch (aten pooling_output_shape) with ceil_mode: ceil(span / stride) + 1 where
    # span = size + 2p - k may be negative.
    def pool(h, w, **fields):
        b = SpaceBuilder("overhang")
        b.input(2, h, w)
        b.maxpool2d("p", **fields)
        return resolve(b.build(), [])

    # H 1, k 2, s 2: span -1 -> ceil(-1/2) + 1 = 1 (torch: 1); W 3: ceil(1/2) + 1 = 2
    assert shapes(pool(1, 3, kernel=2, stride=2, ceil_mode=True)) == {"p": (2, 1, 2)}
    # without ceil_mode: floor(-1/2) + 1 = 0
    assert pool(1, 3, kernel=2, stride=2).status == status.COLLAPSED
    # H 1, k 3, s 2: span -2 -> ceil(-2/2) + 1 = 0
    assert pool(1, 3, kernel=3, stride=2, ceil_mode=True).status == status.COLLAPSED


def test_grouped_dilated_conv():
    b = SpaceBuilder("gd")
    b.input(8, 9, 9)
    b.conv2d("dw", 8, 3, padding=2, dilation=2, groups=8, bias=False)
    b.conv2d("gc", 4, [1, 3], stride=[1, 2], groups=2)
    space = b.build()
    r = resolve(space, [])
    assert shapes(r) == {"dw": (8, 9, 9), "gc": (4, 9, 4)}  # W: floor((9-3)/2)+1 = 4
    assert r.layers[0].params == 72  # 3*3*(8/8)*8
    assert r.layers[0].macs == 5_832  # 72 * 81
    assert r.layers[1].params == 52  # 1*3*(8/2)*4 + 4
    assert r.layers[1].macs == 1_728  # 48 * 9*4


# --- status codes --------------------------------------------------------------------------
def failing(build):
    b = SpaceBuilder("bad")
    b.input(4, 4, 4)
    b.op("relu", "before")
    build(b)
    b.op("relu", "after")
    return b.build()


@pytest.mark.parametrize("build, code, layer", [
    (lambda b: b.linear("fc", 3), status.BAD_RANK, "fc"),
    (lambda b: (b.op("flatten", "f"), b.conv2d("c", 4, 1)), status.BAD_RANK, "c"),
    (lambda b: (b.op("flatten", "f"), b.batchnorm2d("bn")), status.BAD_RANK, "bn"),
    (lambda b: (b.op("flatten", "f"), b.maxpool2d("p", 2)), status.BAD_RANK, "p"),
    (lambda b: (b.op("flatten", "f"), b.op("global_avgpool", "g")), status.BAD_RANK, "g"),
    (lambda b: (b.op("flatten", "f"), b.op("concat", "c", input=["f", "f"])),
     status.BAD_RANK, "c"),
    (lambda b: b.conv2d("c", SpaceBuilder.channels_of("input", "1/8", round="floor", min=0),
                        1), status.BAD_FIELD, "c"),
    (lambda b: (b.op("flatten", "f"),
                b.linear("fc", SpaceBuilder.channels_of("f", "1/128", round="floor", min=0))),
     status.BAD_FIELD, "fc"),
    (lambda b: b.conv2d("c", 6, 1, groups=4), status.GROUPS, "c"),
    (lambda b: b.conv2d("c", 4, 1, groups=3), status.GROUPS, "c"),
    (lambda b: b.maxpool2d("p", kernel=3, padding=2), status.POOL_PADDING, "p"),
    (lambda b: b.avgpool2d("p", kernel=[2, 3], padding=[1, 2]), status.POOL_PADDING, "p"),
    (lambda b: b.conv2d("c", 4, 5), status.COLLAPSED, "c"),
    (lambda b: b.conv2d("c", 4, 3, dilation=2), status.COLLAPSED, "c"),  # span 4-4-1 < 0
    (lambda b: b.maxpool2d("p", kernel=5), status.COLLAPSED, "p"),
    (lambda b: (b.conv2d("c", 8, 1), b.op("add", "a", input=["c", "input"])),
     status.SHAPE_MISMATCH, "a"),
    (lambda b: (b.op("flatten", "f"), b.op("add", "a", input=["f", "input"])),
     status.SHAPE_MISMATCH, "a"),
    (lambda b: (b.conv2d("c", 8, 1), b.op("mul", "m", input=["c", "input"])),
     status.SHAPE_MISMATCH, "m"),
    (lambda b: (b.op("flatten", "f"), b.op("mul", "m", input=["f", "input"])),
     status.SHAPE_MISMATCH, "m"),
    (lambda b: (b.maxpool2d("p", 2), b.op("concat", "c", input=["p", "input"])),
     status.SHAPE_MISMATCH, "c"),
])
def test_status_codes(build, code, layer):
    space = failing(build)
    r = resolve(space, [])
    assert (r.status, r.failed_layer) == (code, layer)
    assert r.layers[0].name == "before"
    assert layer not in {x.name for x in r.layers} and "after" not in {x.name for x in r.layers}
    assert r.output is None
    assert count(space, []) == {"params": 0, "macs": 0, "flops": 0, "activations": 0,
                                "status": code}


def test_rank_checked_before_fields():
    # a flat input to a conv whose channels_of gives 0: rank wins over fields
    b = SpaceBuilder("order")
    b.input(4, 4, 4)
    b.op("flatten", "f")
    b.conv2d("c", SpaceBuilder.channels_of("input", "1/8", round="floor", min=0), 1)
    assert resolve(b.build(), []).status == status.BAD_RANK


def test_groups_checked_before_collapse_and_first_failure_wins():
    b = SpaceBuilder("order2")
    b.input(4, 2, 2)
    b.conv2d("c", 6, 5, groups=4)  # groups fail and the 5x5 kernel collapses: GROUPS
    b.conv2d("d", 4, 9, input="input")  # collapses too, but comes later
    r = resolve(b.build(), [])
    assert (r.status, r.failed_layer) == (status.GROUPS, "c")


def test_failing_candidate_liveness_stops_at_the_failure():
    b = SpaceBuilder("failive")
    k = b.gene("k", [1, 9])
    w = b.gene("w", [4, 8])
    d = b.gene("d", [0, 1])
    b.input(3, 4, 4)
    b.conv2d("c", 4, k)
    b.conv2d("e", w, 1)
    with b.block("blk", when=d.eq(1)):
        b.op("relu", "r")
    space = b.build()
    r = resolve(space, [1, 1, 1])
    assert (r.status, r.failed_layer, r.layers) == (status.COLLAPSED, "c", [])
    # the failing layer's fields are read; nothing after it is
    assert live_genes(space, [1, 1, 1]) == [True, False, False]
    assert list(canonical(space, [1, 1, 1])) == [1, 0, 0]
    assert live_genes(space, [0, 1, 1]) == [True, True, True]


def test_overflow():
    space = rules_example()
    # flops 884,736 * batch > 2**62 once batch > 2**62 / 884,736
    big = 2**62 // 884_736 + 1
    assert count(space, [], batch=big) == {"params": 0, "macs": 0, "flops": 0,
                                           "activations": 0, "status": status.OVERFLOW}
    ok = 2**62 // 884_736
    assert count(space, [], batch=ok)["flops"] == 884_736 * ok
