"""Genes on an imported model: an imported ResNet-18 with width, kernel and depth genes
equals, candidate by candidate, a hand-written space of the same family, and both equal
PyTorch (params of to_torch, MACs of FlopCounterMode)."""

from __future__ import annotations

import pytest
import resnet18_tv  # tests/importer on sys.path
import torch
from torch.utils.flop_counter import FlopCounterMode

import nascost
from nascost import Gene, from_torch
from nascost.export import to_torch
from nascost.reference import count, resolve
from nascost.rules.conventions import PRESETS
from nascost.space.builder import SpaceBuilder
from nascost.space.spec import SpaceError

RES = 64
BATCH = 2
N_CANDIDATES = 12
STAGES = [(1, 64, 1), (2, 128, 2), (3, 256, 2), (4, 512, 2)]
GENES = {
    "w1": Gene([32, 48, 64], fields=["layer1.*.conv1.out_channels"]),
    "k": Gene([3, 5, 7], fields=["layer*.*.conv1.kernel"], each=True),
    "d4": Gene([1, 2], blocks=["layer4.*"]),
}


def imported():
    return from_torch(resnet18_tv.resnet18(), torch.zeros(1, 3, RES, RES), genes=GENES)


def by_hand():
    """The same family written with the builder (torchvision's layout)."""
    b = SpaceBuilder("resnet18-hand")
    w1 = b.gene("w1", [32, 48, 64])
    ks = {(s, i): b.gene(f"k[layer{s}.{i}.conv1.kernel]", [3, 5, 7])
          for s, _, _ in STAGES for i in range(2)}
    d4 = b.gene("d4", [1, 2])
    b.input(3, RES, RES)
    b.conv2d("stem", 64, 7, stride=2, padding=3, bias=False)
    b.batchnorm2d("stem_bn")
    b.op("relu", "stem_act")
    b.maxpool2d("pool", 3, stride=2, padding=1)
    for s, planes, stride in STAGES:
        for i in range(2):
            st = stride if i == 0 else 1
            with b.block(f"s{s}b{i}", when=(d4 >= 2) if (s, i) == (4, 1) else None):
                src = b.last
                k = ks[(s, i)]
                b.conv2d(f"s{s}b{i}c1", w1 if s == 1 else planes, k, stride=st,
                         padding=k.map(lambda v: v // 2), bias=False)
                b.batchnorm2d(f"s{s}b{i}bn1")
                b.op("relu", f"s{s}b{i}r1")
                b.conv2d(f"s{s}b{i}c2", planes, 3, padding=1, bias=False)
                out = b.batchnorm2d(f"s{s}b{i}bn2")
                ident = src
                if i == 0 and s > 1:
                    b.conv2d(f"s{s}ds", planes, 1, stride=st, bias=False, input=src)
                    ident = b.batchnorm2d(f"s{s}ds_bn")
                b.op("add", f"s{s}b{i}add", input=[out, ident])
                b.op("relu", f"s{s}b{i}r2")
    b.op("global_avgpool", "gap")
    b.op("flatten", "flat")
    b.linear("fc", 1000)
    return b.build()


def torch_macs(model, x) -> int:
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(x)
    return fc.get_total_flops() // 2


def test_imported_resnet18_equals_a_hand_written_family():
    space, hand = imported(), by_hand()
    assert space.gene_names == hand.gene_names
    assert space.size == hand.size == 3 * 3**8 * 2
    rows = space.sample(N_CANDIDATES, seed=3)
    for row in rows:
        for convention in PRESETS:
            assert count(space, row, convention, batch=BATCH) == count(
                hand, row, convention, batch=BATCH), (row.tolist(), convention)
        c = count(space, row, batch=BATCH)
        model = to_torch(space, row, device="meta")
        x = torch.zeros(BATCH, 3, RES, RES, device="meta")
        assert c["params"] == sum(p.numel() for p in model.parameters())
        assert c["macs"] == torch_macs(model, x)


def test_genes_reach_the_imported_fields():
    space = imported()
    row = space.genes_from_values({"w1": 48, "k[layer2.0.conv1.kernel]": 7, "d4": 1})
    layers = {la.name: la for la in resolve(space, row).layers}
    assert layers["layer1.0.conv1"].out_shape[0] == 48
    assert layers["layer1.0.conv2"].in_shapes[0][0] == 48  # downstream channels follow
    assert layers["layer2.0.conv1"].fields["kernel"] == (7, 7)
    assert layers["layer2.0.conv1"].fields["padding"] == (3, 3)  # "same" follows the kernel
    assert not any(n.startswith("layer4.1.") for n in layers)  # depth 1: block off
    assert layers["fc"].in_shapes[0] == (512,)
    # the released model is candidate 'w1=64, k=3, d4=2'
    full = space.genes_from_values({"w1": 64, "d4": 2})
    assert count(space, full)["params"] == sum(
        p.numel() for p in resnet18_tv.resnet18().parameters())


def test_builder_takes_the_same_genes():
    b = SpaceBuilder("tiny")
    b.input(3, 16, 16)
    b.conv2d("a", 8, 3, padding=1)
    b.op("relu", "a_act")
    b.conv2d("b", 8, 3, padding=1)
    b.op("add", "res", input=["a_act", "b"])
    b.apply_genes({"w": Gene([4, 8], fields=["a.out_channels", "b.out_channels"]),
                   "k": Gene([1, 3], fields=["b.kernel"])})
    b.op("global_avgpool", "gap")
    space = b.build()
    assert space.gene_names == ["w", "k"]
    r = resolve(space, [0, 0]).layers
    assert r[-1].out_shape == (4, 1, 1) and r[2].fields["padding"] == (0, 0)


@pytest.mark.parametrize("genes, words", [
    ({"w": Gene([8], fields=["nothing.out_channels"])}, "matches no layer"),
    ({"w": Gene([8], fields=["conv1.stride_x"])}, "has no integer field 'stride_x'"),
    ({"d": Gene([0, 1], blocks=["layer2.0"])}, "maps shape"),
    ({"w": Gene([8], fields=["conv1.out_channels"]),
      "v": Gene([16], fields=["conv1.out_channels"])}, "already set by another gene"),
    ({"w": Gene([0], fields=["conv1.out_channels"])}, "integers >= 1"),
    ({"w": Gene([8])}, "exactly one of fields= or blocks="),
])
def test_gene_errors_name_the_problem(genes, words):
    with pytest.raises(SpaceError, match=words):
        from_torch(resnet18_tv.resnet18(), torch.zeros(1, 3, 32, 32), genes=genes)


def test_a_field_that_follows_another_value_is_refused():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.Conv2d(8, 8, 3, groups=8))
    with pytest.raises(SpaceError, match="not a literal"):
        from_torch(m, torch.zeros(1, 3, 8, 8),
                   genes={"w": Gene([4, 8], fields=["1.out_channels"])})
    s = from_torch(m, torch.zeros(1, 3, 8, 8), genes={"w": Gene([4, 8], fields=["0.out_channels"])})
    assert nascost.reference.count(s, [0])["params"] == 3 * 4 + 4 + 9 * 4 + 4


def test_depth_gene_on_leaf_modules_and_sequential_blocks():
    from torch import nn

    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                      nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()),
                      nn.Conv2d(8, 8, 1), nn.AdaptiveAvgPool2d(1))
    space = from_torch(m, torch.zeros(1, 3, 8, 8),
                       genes={"d": Gene([0, 1, 2], blocks=["2", "3"])})
    assert space.size == 3
    params = [count(space, [i])["params"] for i in range(3)]
    # 3*9*8 + 8 = 224; 8*9*8 + 8 = 584; 8*8 + 8 = 72
    assert params == [224, 224 + 584, 224 + 584 + 72]
    assert [la.name for la in resolve(space, [2]).layers][-3:] == ["2.1", "3.conv2d", "4"]
    assert space.canonical([[0]]).tolist() == [[0]]


def test_imported_mobilenet_v2_with_kernel_genes_equals_the_builtin_family():
    """torchvision's MobileNetV2 imports as the built-in mobilenet_v2 (every preset), and a
    kernel gene on every depthwise conv (padding follows) matches PyTorch per choice."""
    import mobilenet_v2_tv  # tests/importer on sys.path

    model = mobilenet_v2_tv.MobileNetV2()
    released = from_torch(model, torch.zeros(1, 3, 224, 224))
    # torchvision's published mobilenet_v2: 3,504,872 params, 300.77 M multiply-accumulates
    assert count(released, [])["params"] == 3_504_872
    assert count(released, [])["macs"] == 300_774_272
    builtin = nascost.load_space("mobilenet_v2")
    for convention in PRESETS:
        assert count(released, [], convention) == count(builtin, builtin.sample(1)[0],
                                                         convention)
    k = from_torch(model, torch.zeros(1, 3, 224, 224),
                   genes={"k": Gene([3, 5, 7], fields=["features.1.conv.0.0.kernel",
                                                       "features.*.conv.1.0.kernel"])})
    assert k.gene_names == ["k"]
    dw = [la for la in resolve(k, [2]).layers if la.op == "conv2d" and la.fields["groups"] > 1]
    assert len(dw) == 17 and all(la.fields["kernel"] == (7, 7) for la in dw)
    assert all(la.fields["padding"] == (3, 3) for la in dw)
    for row in ([0], [1], [2]):
        m = to_torch(k, row, device="meta")
        assert count(k, row)["macs"] == torch_macs(m, torch.zeros(1, 3, 224, 224, device="meta"))
        assert count(k, row)["params"] == sum(p.numel() for p in m.parameters())


def test_kernels_score_an_imported_family_as_the_reference_does():
    space = imported()
    rows = space.sample(64, seed=11)
    table = space.score(rows, batch=BATCH)
    for i in range(0, 64, 8):
        want = count(space, rows[i], batch=BATCH)
        got = {k: int(table[k][i].as_py()) for k in want}
        assert got == want
