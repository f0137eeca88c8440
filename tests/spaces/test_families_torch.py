"""The model-family spaces against real torch models, on the meta device.

1. nascost's export: random candidates of every family, built with ``to_torch``, have
   exactly nascost's parameters, every layer's output shape (``layer_shapes``) and nascost's
   MACs as FlopCounterMode total // 2 (eval mode, no_grad).
2. Independent models, written here from torchvision's code (torchvision/models/resnet.py,
   mobilenetv2.py, mobilenetv3.py, efficientnet.py, mnasnet.py, shufflenetv2.py, regnet.py;
   TF-slim's mobilenet_v1.py for MobileNetV1), not from the nascost specs: the same random
   candidates and every torchvision model have nascost's parameters and MACs, and the
   torchvision models torchvision's published numbers.

BatchNorm and activations keep shapes and cost no MACs, so the independent models skip them
in forward (their parameters are counted): torch's meta kernels for them are slow, and the
export already runs them.
"""

from __future__ import annotations

import math

import pytest
import torch
from test_families import PUBLISHED  # tests/spaces is on sys.path under pytest
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nascost.export import layer_shapes, to_torch
from nascost.reference.walk import count, resolve
from nascost.spaces import load_builtin, torchvision_models
from nascost.spaces._common import make_divisible

# random candidates per family (small for the big ResNets and EfficientNets: runtime)
N_RANDOM = {"resnet": 10, "efficientnet": 10, "regnetx": 10, "mobilenet-v1": 10,
            "mobilenet-v2": 10, "mobilenet-v3-large": 10, "mobilenet-v3-small": 10,
            "mnasnet": 10, "shufflenet-v2": 10}
SEED = 2025


# --- independent models ----------------------------------------------------------------------
class BN(nn.BatchNorm2d):
    """BatchNorm2d whose forward is the identity (see the module docstring)."""

    def forward(self, x):
        return x


class Act(nn.Module):
    def forward(self, x):
        return x


def cna(cin, cout, k, stride=1, groups=1, act=True):
    """torchvision Conv2dNormActivation: conv (padding (k - 1) // 2, no bias), BN, act."""
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), BN(cout)]
    return nn.Sequential(*layers, Act()) if act else nn.Sequential(*layers)


class SE(nn.Module):
    """torchvision.ops.SqueezeExcitation."""

    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        return self.fc2(self.fc1(nn.functional.adaptive_avg_pool2d(x, 1))) * x


class Residual(nn.Module):
    def __init__(self, body, add):
        super().__init__()
        self.body, self.add = body, add

    def forward(self, x):
        return x + self.body(x) if self.add else self.body(x)


class Classifier(nn.Module):
    def __init__(self, features, head):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.head(torch.flatten(x, 1))


# ResNet (torchvision/models/resnet.py)
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, downsample, groups, base_width):
        super().__init__()
        assert groups == 1 and base_width == 64
        self.body = nn.Sequential(cna(inplanes, planes, 3, stride), cna(planes, planes, 3,
                                                                        act=False))
        self.downsample = downsample

    def forward(self, x):
        return self.body(x) + (x if self.downsample is None else self.downsample(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, groups, base_width):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.body = nn.Sequential(cna(inplanes, width, 1), cna(width, width, 3, stride, groups),
                                  cna(width, planes * 4, 1, act=False))
        self.downsample = downsample

    def forward(self, x):
        return self.body(x) + (x if self.downsample is None else self.downsample(x))


def resnet(block, layers, groups=1, width_per_group=64):
    inplanes, stages = 64, []
    for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
        stride = 1 if i == 0 else 2
        down = None
        if stride != 1 or inplanes != planes * block.expansion:
            down = cna(inplanes, planes * block.expansion, 1, stride, act=False)
        blocks = [block(inplanes, planes, stride, down, groups, width_per_group)]
        inplanes = planes * block.expansion
        blocks += [block(inplanes, planes, 1, None, groups, width_per_group)
                   for _ in range(1, n)]
        stages.append(nn.Sequential(*blocks))
    stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), BN(64), Act(),
                         nn.MaxPool2d(3, 2, 1))
    return Classifier(nn.Sequential(stem, *stages), nn.Linear(inplanes, 1000))


# MobileNetV1 (TF-slim mobilenet_v1.py _CONV_DEFS)
def mobilenet_v1(width):
    def depth(c):
        return max(int(c * width), 8)

    convs = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [
        (2, 1024), (1, 1024)]
    layers, cin = [cna(3, depth(32), 3, 2)], depth(32)
    for s, c in convs:
        layers += [cna(cin, cin, 3, s, groups=cin), cna(cin, depth(c), 1)]
        cin = depth(c)
    return Classifier(nn.Sequential(*layers), nn.Linear(cin, 1000))


# MobileNetV2 (torchvision/models/mobilenetv2.py)
def mobilenet_v2(width):
    setting = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]
    inp = make_divisible(32 * width, 8)
    last = make_divisible(1280 * max(1.0, width), 8)
    layers = [cna(3, inp, 3, 2)]
    for t, c, n, s in setting:
        oup = make_divisible(c * width, 8)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = int(round(inp * t))
            body = ([cna(inp, hidden, 1)] if t != 1 else []) + [
                cna(hidden, hidden, 3, stride, groups=hidden), cna(hidden, oup, 1, act=False)]
            layers.append(Residual(nn.Sequential(*body), stride == 1 and inp == oup))
            inp = oup
    layers.append(cna(inp, last, 1))
    return Classifier(nn.Sequential(*layers), nn.Linear(last, 1000))


# MobileNetV3 (torchvision/models/mobilenetv3.py _mobilenet_v3_conf)
V3 = {
    "large": ([(16, 3, 16, 16, 0, 1), (16, 3, 64, 24, 0, 2), (24, 3, 72, 24, 0, 1),
               (24, 5, 72, 40, 1, 2), (40, 5, 120, 40, 1, 1), (40, 5, 120, 40, 1, 1),
               (40, 3, 240, 80, 0, 2), (80, 3, 200, 80, 0, 1), (80, 3, 184, 80, 0, 1),
               (80, 3, 184, 80, 0, 1), (80, 3, 480, 112, 1, 1), (112, 3, 672, 112, 1, 1),
               (112, 5, 672, 160, 1, 2), (160, 5, 960, 160, 1, 1), (160, 5, 960, 160, 1, 1)],
              1280),
    "small": ([(16, 3, 16, 16, 1, 2), (16, 3, 72, 24, 0, 2), (24, 3, 88, 24, 0, 1),
               (24, 5, 96, 40, 1, 2), (40, 5, 240, 40, 1, 1), (40, 5, 240, 40, 1, 1),
               (40, 5, 120, 48, 1, 1), (48, 5, 144, 48, 1, 1), (48, 5, 288, 96, 1, 2),
               (96, 5, 576, 96, 1, 1), (96, 5, 576, 96, 1, 1)], 1024),
}


def mobilenet_v3(variant, width):
    setting, last = V3[variant]

    def adj(c):
        return make_divisible(c * width, 8)

    layers = [cna(3, adj(setting[0][0]), 3, 2)]
    for cin, k, exp, cout, se, s in setting:
        cin, exp, cout = adj(cin), adj(exp), adj(cout)
        body = [cna(cin, exp, 1)] if exp != cin else []
        body.append(cna(exp, exp, k, s, groups=exp))
        if se:
            body.append(SE(exp, make_divisible(exp // 4, 8)))
        body.append(cna(exp, cout, 1, act=False))
        layers.append(Residual(nn.Sequential(*body), s == 1 and cin == cout))
    lastconv = 6 * adj(setting[-1][3])
    layers.append(cna(adj(setting[-1][3]), lastconv, 1))
    head = nn.Sequential(nn.Linear(lastconv, adj(last)), Act(), nn.Linear(adj(last), 1000))
    return Classifier(nn.Sequential(*layers), head)


# EfficientNet (torchvision/models/efficientnet.py)
def efficientnet(width, depth):
    setting = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
               (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
               (6, 3, 1, 192, 320, 1)]

    def adj(c, m):
        return make_divisible(c * m, 8)

    layers = [cna(3, adj(32, width), 3, 2)]
    for e, k, s, cin, cout, n in setting:
        cin, cout = adj(cin, width), adj(cout, width)
        for i in range(int(math.ceil(n * depth))):
            inp, stride = (cin, s) if i == 0 else (cout, 1)
            exp = adj(inp, e)
            body = [cna(inp, exp, 1)] if exp != inp else []
            body += [cna(exp, exp, k, stride, groups=exp), SE(exp, max(1, inp // 4)),
                     cna(exp, cout, 1, act=False)]
            layers.append(Residual(nn.Sequential(*body), stride == 1 and inp == cout))
    last = 4 * adj(320, width)
    layers.append(cna(adj(320, width), last, 1))
    return Classifier(nn.Sequential(*layers), nn.Linear(last, 1000))


# MNASNet (torchvision/models/mnasnet.py, version 2)
def mnasnet(alpha):
    d = [make_divisible(c * alpha, 8) for c in (32, 16, 24, 40, 80, 96, 192, 320)]
    layers = [cna(3, d[0], 3, 2), cna(d[0], d[0], 3, groups=d[0]), cna(d[0], d[1], 1, act=False)]
    stacks = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]
    for i, (k, s, e, n) in enumerate(stacks):
        for j in range(n):
            cin, stride = (d[i + 1], s) if j == 0 else (d[i + 2], 1)
            mid = cin * e
            body = nn.Sequential(cna(cin, mid, 1), cna(mid, mid, k, stride, groups=mid),
                                 cna(mid, d[i + 2], 1, act=False))
            layers.append(Residual(body, cin == d[i + 2] and stride == 1))
    layers.append(cna(d[7], 1280, 1))
    return Classifier(nn.Sequential(*layers), nn.Linear(1280, 1000))


# ShuffleNetV2 (torchvision/models/shufflenetv2.py)
class ShuffleUnit(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        bf = oup // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(cna(inp, inp, 3, stride, groups=inp, act=False),
                                         cna(inp, bf, 1))
        self.branch2 = nn.Sequential(cna(inp if stride > 1 else bf, bf, 1),
                                     cna(bf, bf, 3, stride, groups=bf, act=False), cna(bf, bf, 1))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


SHUFFLE_CHANNELS = {0.5: [24, 48, 96, 192, 1024], 1.0: [24, 116, 232, 464, 1024],
                    1.5: [24, 176, 352, 704, 1024], 2.0: [24, 244, 488, 976, 2048]}


def shufflenet_v2(width):
    ch = SHUFFLE_CHANNELS[width]
    layers = [cna(3, ch[0], 3, 2), nn.MaxPool2d(3, 2, 1)]
    cin = ch[0]
    for n, cout in zip((4, 8, 4), ch[1:4], strict=True):
        layers += [ShuffleUnit(cin, cout, 2)] + [ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
        cin = cout
    layers.append(cna(cin, ch[4], 1))
    return Classifier(nn.Sequential(*layers), nn.Linear(ch[4], 1000))


# RegNet (torchvision/models/regnet.py), from torch's block parameters
class RegNetBlock(nn.Module):
    def __init__(self, w_in, w_out, stride, group_width):
        super().__init__()
        self.proj = cna(w_in, w_out, 1, stride, act=False) if (w_in != w_out or stride != 1) \
            else None
        self.f = nn.Sequential(cna(w_in, w_out, 1),
                               cna(w_out, w_out, 3, stride, groups=w_out // group_width),
                               cna(w_out, w_out, 1, act=False))

    def forward(self, x):
        return (x if self.proj is None else self.proj(x)) + self.f(x)


REGNETX = {"400mf": (22, 24, 24.48, 2.54, 16), "800mf": (16, 56, 35.73, 2.28, 16),
           "1_6gf": (18, 80, 34.01, 2.25, 24), "3_2gf": (25, 88, 26.31, 2.25, 48),
           "8gf": (23, 80, 49.56, 2.88, 120), "16gf": (22, 216, 55.59, 2.1, 128),
           "32gf": (23, 320, 69.86, 2.0, 168)}


def regnet_x(arch):
    from test_families import torchvision_block_params

    layers, w_in = [cna(3, 32, 3, 2)], 32
    for depth, width, group in torchvision_block_params(*REGNETX[arch]):
        layers += [RegNetBlock(w_in if i == 0 else width, width, 2 if i == 0 else 1, group)
                   for i in range(depth)]
        w_in = width
    return Classifier(nn.Sequential(*layers), nn.Linear(w_in, 1000))


def independent_model(family: str, v: dict) -> nn.Module:
    """The independent torch model of a family candidate (gene values ``v``)."""
    if family == "resnet":
        block = BasicBlock if v["block"] == "basic" else Bottleneck
        groups, wpg = (int(x) for x in v["groups_x_width"].split("x"))
        if block is BasicBlock:
            groups, wpg = 1, 64
        return resnet(block, [v[f"layers{i}"] for i in range(1, 5)], groups, wpg)
    if family == "mobilenet-v1":
        return mobilenet_v1(v["width"])
    if family == "mobilenet-v2":
        return mobilenet_v2(v["width"])
    if family.startswith("mobilenet-v3-"):
        return mobilenet_v3(family.rsplit("-", 1)[1], v["width"])
    if family == "efficientnet":
        return efficientnet(v["width"], v["depth"])
    if family == "mnasnet":
        return mnasnet(v["alpha"])
    if family == "shufflenet-v2":
        return shufflenet_v2(v["width"])
    if family == "regnetx":
        return regnet_x(v["arch"])
    raise AssertionError(family)


def params_and_macs(model: nn.Module, shape) -> tuple[int, int]:
    params = sum(p.numel() for p in model.parameters())
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.empty(1, *shape, device="meta"))
    total = fc.get_total_flops()
    assert total % 2 == 0
    return params, total // 2


def nascost_params_macs(space, row) -> tuple[int, int]:
    c = count(space, row, "macs")
    assert c["status"] == 0
    return c["params"], c["macs"]


def random_rows(family: str):
    s = load_builtin(family)
    return s.sample(N_RANDOM[family], seed=SEED)


# --- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("family", sorted(N_RANDOM))
def test_random_candidates_match_to_torch(family):
    """params, every layer's output shape and MACs of nascost's own export."""
    s = load_builtin(family)
    for row in random_rows(family):
        r = resolve(s, row)
        model = to_torch(s, row, device="meta")
        model.eval()
        x = torch.empty(1, *s.input_shape(row), device="meta")
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            shapes = layer_shapes(model, x)  # one forward: shapes and FLOPs together
        assert shapes == {layer.name: layer.out_shape for layer in r.layers}
        params = sum(p.numel() for p in model.parameters())
        assert (params, fc.get_total_flops() // 2) == nascost_params_macs(s, row), \
            s.genes_to_values(row)


@pytest.mark.parametrize("family", sorted(N_RANDOM))
def test_random_candidates_match_independent_models(family):
    s = load_builtin(family)
    for row in random_rows(family):
        v = s.genes_to_values(row)
        with torch.device("meta"):
            model = independent_model(family, v)
        assert params_and_macs(model, s.input_shape(row)) == nascost_params_macs(s, row), v


@pytest.mark.parametrize("name", sorted(torchvision_models.SPACES))
def test_torchvision_models_match_independent_models(name):
    """Every torchvision model: nascost == the independent model, and params == torchvision's
    num_params (its MACs against '_ops' are in test_families.py)."""
    family = torchvision_models.FAMILY_OF[name][0]
    fam = load_builtin(family)
    v = fam.genes_to_values(fam.named(name))
    s = load_builtin(name)
    with torch.device("meta"):
        model = independent_model(family, v)
    got = params_and_macs(model, s.input_shape([]))
    assert got == nascost_params_macs(s, [])
    assert got[0] == PUBLISHED[name][0]


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v3_small", "efficientnet_b0",
                                  "mnasnet1_0", "shufflenet_v2_x0_5", "regnet_x_400mf"])
def test_torchvision_spaces_match_to_torch(name):
    s = load_builtin(name)
    model = to_torch(s, [], device="meta")
    model.eval()
    x = torch.empty(1, *s.input_shape([]), device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        shapes = layer_shapes(model, x)
    assert shapes == {layer.name: layer.out_shape for layer in resolve(s, []).layers}
    params = sum(p.numel() for p in model.parameters())
    assert (params, fc.get_total_flops() // 2) == nascost_params_macs(s, []) == (
        PUBLISHED[name][0], fc.get_total_flops() // 2)
