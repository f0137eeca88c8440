"""Independent torch models of the OFA, ProxylessNAS and FBNet spaces, and the parity checks
their tests share.

The models are written from the original code, not from the nascost specs:

- OFA (mit-han-lab/once-for-all): OFAMobileNetV3 / OFAProxylessNASNets / OFAResNets
  ``get_active_subnet`` -> MobileNetV3 / ProxylessNASNets / ResNets built of utils/layers.py's
  ConvLayer, MBConvLayer (mid_channels from DynamicMBConvLayer.active_middle_channel),
  ResNetBottleneckBlock and pytorch_modules.py's SEModule, Hswish, Hsigmoid;
- ProxylessNAS (mit-han-lab/proxylessnas search/models/super_nets/super_proxyless.py,
  search/modules/layers.py MBInvertedConvLayer, ZeroLayer);
- FBNet (facebookresearch/maskrcnn-benchmark modeling/backbone/fbnet_builder.py IRFBlock,
  Identity, ConvBNRelu, ChannelShuffle).

Only the layers matter (no initialisation, dropout, training code).
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nascost.export.torch import layer_shapes, to_torch
from nascost.reference.walk import count, resolve

# Random candidates per space that the forward checks (independent model, export) take. A
# meta-device forward costs 0.2-0.3 s of CPU per network, so the default keeps the three test
# files near 40 s on 2 cores; NASCOST_TORCH_SAMPLES=20 runs the full 20 per space (minutes).
TORCH_SAMPLES = int(os.environ.get("NASCOST_TORCH_SAMPLES", "2"))


def make_divisible(v, divisor=8, min_val=None):
    # ofa/utils/pytorch_modules.py make_divisible (the TF rule)
    if min_val is None:
        min_val = divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# --- OFA building blocks ---------------------------------------------------------------------
class Hswish(nn.Module):
    def forward(self, x):
        return x * F.relu6(x + 3.0) / 6.0


class Hsigmoid(nn.Module):
    def forward(self, x):
        return F.relu6(x + 3.0) / 6.0


def act(name):
    return {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "h_swish": Hswish()}[name]


class ConvLayer(nn.Sequential):
    """ConvLayer(weight_bn_act): conv (same padding, bias False by default) [+ BN] [+ act]."""

    def __init__(self, cin, cout, k=3, stride=1, bias=False, use_bn=True, act_func="relu"):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)]
        if use_bn:
            layers.append(nn.BatchNorm2d(cout))
        if act_func is not None:
            layers.append(act(act_func))
        super().__init__(*layers)


class SEModule(nn.Module):
    def __init__(self, channel):
        super().__init__()
        mid = make_divisible(channel // 4, 8)
        self.fc = nn.Sequential(nn.Conv2d(channel, mid, 1, 1, 0, bias=True), nn.ReLU(),
                                nn.Conv2d(mid, channel, 1, 1, 0, bias=True), Hsigmoid())

    def forward(self, x):
        return x * self.fc(x.mean(3, keepdim=True).mean(2, keepdim=True))


class MBConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride, expand_ratio, mid_channels=None, act_func="relu6",
                 use_se=False):
        super().__init__()
        mid = round(cin * expand_ratio) if mid_channels is None else mid_channels
        self.inverted_bottleneck = None if expand_ratio == 1 else nn.Sequential(
            nn.Conv2d(cin, mid, 1, 1, 0, bias=False), nn.BatchNorm2d(mid), act(act_func))
        dw = [nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
              nn.BatchNorm2d(mid), act(act_func)]
        if use_se:
            dw.append(SEModule(mid))
        self.depth_conv = nn.Sequential(*dw)
        self.point_linear = nn.Sequential(nn.Conv2d(mid, cout, 1, 1, 0, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        return self.point_linear(self.depth_conv(x))


class ResidualBlock(nn.Module):
    def __init__(self, conv, shortcut: bool):
        super().__init__()
        self.conv = conv  # None: ZeroLayer (the block's output is its input)
        self.shortcut = shortcut

    def forward(self, x):
        if self.conv is None:
            return x
        return self.conv(x) + x if self.shortcut else self.conv(x)


def ofa_mid(cin, e):
    # DynamicMBConvLayer.active_middle_channel
    return make_divisible(round(cin * e), 8)


class OFAMobileNetV3(nn.Module):
    """OFAMobileNetV3(width_mult, ks [3,5,7], e [3,4,6], d [2,3,4]).get_active_subnet()."""

    def __init__(self, width, ks, e, d, n_classes=1000):
        super().__init__()
        base = [16, 16, 24, 40, 80, 112, 160, 960, 1280]
        final_expand = make_divisible(base[-2] * width, 8)
        last = make_divisible(base[-1] * width, 8)
        widths = [make_divisible(w * width, 8) for w in base[:-2]]
        strides = [1, 2, 2, 2, 1, 2]
        acts = ["relu", "relu", "relu", "h_swish", "h_swish", "h_swish"]
        ses = [False, False, True, False, True, True]
        cin, first = widths[0], widths[1]
        self.first_conv = ConvLayer(3, cin, 3, 2, act_func="h_swish")
        blocks = [ResidualBlock(MBConvLayer(cin, first, 3, strides[0], 1, None, acts[0], ses[0]),
                                cin == first)]
        feature = first
        for stage, (w, s, a, se) in enumerate(
                zip(widths[2:], strides[1:], acts[1:], ses[1:], strict=True)):
            for j in range(d[stage]):
                idx = stage * 4 + j
                stride = s if j == 0 else 1
                conv = MBConvLayer(feature, w, ks[idx], stride, e[idx], ofa_mid(feature, e[idx]),
                                   a, se)
                blocks.append(ResidualBlock(conv, stride == 1 and feature == w))
                feature = w
        self.blocks = nn.Sequential(*blocks)
        self.final_expand_layer = ConvLayer(feature, final_expand, 1, act_func="h_swish")
        self.feature_mix_layer = ConvLayer(final_expand, last, 1, bias=False, use_bn=False,
                                           act_func="h_swish")
        self.classifier = nn.Linear(last, n_classes)

    def forward(self, x):
        x = self.final_expand_layer(self.blocks(self.first_conv(x)))
        x = x.mean(3, keepdim=True).mean(2, keepdim=True)
        x = self.feature_mix_layer(x)
        return self.classifier(x.view(x.size(0), -1))


class ProxylessNASNets(nn.Module):
    """first conv, blocks, feature mix layer (conv + BN + ReLU6), mean, classifier."""

    def __init__(self, input_channel, first_block, stages, last, mid_rule, n_classes=1000):
        # stages: per block (width, stride, kernel, expand or None for Zero, shortcut)
        super().__init__()
        self.first_conv = ConvLayer(3, input_channel, 3, 2, act_func="relu6")
        blocks = [ResidualBlock(MBConvLayer(input_channel, first_block, 3, 1, 1), False)]
        feature = first_block
        for w, s, k, e, shortcut in stages:
            conv = None if e is None else MBConvLayer(feature, w, k, s, e,
                                                      mid_rule(feature, e), "relu6")
            blocks.append(ResidualBlock(conv, shortcut))
            feature = w
        self.blocks = nn.Sequential(*blocks)
        self.feature_mix_layer = ConvLayer(feature, last, 1, act_func="relu6")
        self.classifier = nn.Linear(last, n_classes)

    def forward(self, x):
        x = self.feature_mix_layer(self.blocks(self.first_conv(x)))
        return self.classifier(x.mean(3).mean(2))


def ofa_proxyless(width, ks, e, d):
    """OFAProxylessNASNets(width_mult, ks [3,5,7], e [3,4,6], d [2,3,4]).get_active_subnet()."""
    base = [32, 16, 24, 40, 80, 96, 192, 320, 1280]
    widths = [make_divisible(w * width, 8) for w in base]
    strides, n_blocks = [2, 2, 2, 1, 2, 1], [4, 4, 4, 4, 4, 1]
    stages, feature = [], widths[1]
    for stage, (w, s, n) in enumerate(zip(widths[2:-1], strides, n_blocks, strict=True)):
        for j in range(min(n, d[stage])):
            idx = stage * 4 + j
            stride = s if j == 0 else 1
            stages.append((w, stride, ks[idx], e[idx], stride == 1 and feature == w))
            feature = w
    return ProxylessNASNets(widths[0], widths[1], stages, widths[-1], ofa_mid)


def proxylessnas(width_stages, width_mult, ops):
    """SuperProxylessNASNets with one chosen op per block ('KxK_MBConvE' or 'Zero')."""
    inp = make_divisible(32 * width_mult, 8)
    first = make_divisible(16 * width_mult, 8)
    widths = [make_divisible(w * width_mult, 8) for w in width_stages]
    last = make_divisible(1280 * width_mult, 8) if width_mult > 1.0 else 1280
    stages, feature, it = [], first, iter(ops)
    for w, n, s in zip(widths, [4, 4, 4, 4, 4, 1], [2, 2, 2, 1, 2, 1], strict=True):
        for j in range(n):
            stride = s if j == 0 else 1
            op = next(it)
            shortcut = stride == 1 and feature == w
            if op == "Zero":
                stages.append((w, stride, 3, None, shortcut))
            else:
                k, e = op.split("_MBConv")
                stages.append((w, stride, int(k[0]), int(e), shortcut))
            feature = w
    return ProxylessNASNets(inp, first, stages, last, lambda c, e: round(c * e))


class ResNetBottleneckBlock(nn.Module):
    def __init__(self, cin, cout, stride, expand_ratio):
        super().__init__()
        mid = make_divisible(round(cout * expand_ratio), 8)
        self.conv1 = nn.Sequential(nn.Conv2d(cin, mid, 1, 1, 0, bias=False), nn.BatchNorm2d(mid),
                                   nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(mid, mid, 3, stride, 1, bias=False),
                                   nn.BatchNorm2d(mid), nn.ReLU())
        self.conv3 = nn.Sequential(nn.Conv2d(mid, cout, 1, 1, 0, bias=False),
                                   nn.BatchNorm2d(cout))
        if stride == 1 and cin == cout:
            self.downsample = nn.Identity()
        else:  # avgpool_conv
            self.downsample = nn.Sequential(
                nn.AvgPool2d(stride, stride, 0, ceil_mode=True),
                nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout))
        self.final_act = nn.ReLU()

    def forward(self, x):
        residual = self.downsample(x)
        return self.final_act(self.conv3(self.conv2(self.conv1(x))) + residual)


class OFAResNet50(nn.Module):
    """OFAResNets(d [0,1,2], e [0.2,0.25,0.35], w [0.65,0.8,1.0]).set_active_subnet(d, e, w)
    .get_active_subnet()."""

    def __init__(self, d, e, w, n_classes=1000):
        super().__init__()
        mults = [0.65, 0.8, 1.0]
        input_channel = [make_divisible(64 * m, 8) for m in mults]
        mid_input = [make_divisible(c // 2, 8) for c in input_channel]
        stage_widths = [[make_divisible(c * m, 8) for m in mults] for c in (256, 512, 1024, 2048)]
        c0, c2 = mid_input[w[0]], input_channel[w[1]]
        stem = [ConvLayer(3, c0, 3, 2)]
        if d[0] == 2:  # input_stem_skipping = d[0] != max(depth_list)
            stem.append(ResidualBlock(ConvLayer(c0, c0, 3, 1), True))
        stem.append(ConvLayer(c0, c2, 3, 1))
        self.input_stem = nn.Sequential(*stem)
        self.max_pooling = nn.MaxPool2d(3, 2, 1)
        blocks, cin, idx = [], c2, 0
        for stage, (base, s) in enumerate(zip([2, 2, 4, 2], [1, 2, 2, 2], strict=True)):
            cout = stage_widths[stage][w[stage + 2]]
            for j in range(base + 2):
                if j < base + d[stage + 1]:
                    blocks.append(ResNetBottleneckBlock(cin, cout, s if j == 0 else 1, e[idx]))
                    cin = cout
                idx += 1
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Linear(cin, n_classes)

    def forward(self, x):
        x = self.blocks(self.max_pooling(self.input_stem(x)))
        return self.classifier(x.mean(3).mean(2))


# --- FBNet (maskrcnn-benchmark fbnet_builder.py) -----------------------------------------------
def conv_bn_relu(cin, cout, k, stride, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ChannelShuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.size()
        g = self.groups
        return x.view(n, g, c // g, h, w).permute(0, 2, 1, 3, 4).contiguous().view(n, c, h, w)


class IRFBlock(nn.Module):
    def __init__(self, cin, cout, expansion, stride, kernel, pw_group=1):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        mid = int(cin * expansion)
        self.pw = conv_bn_relu(cin, mid, 1, 1, pw_group)
        self.shuffle = ChannelShuffle(pw_group) if pw_group > 1 else None
        self.dw = conv_bn_relu(mid, mid, kernel, stride, mid)
        self.pwl = conv_bn_relu(mid, cout, 1, 1, pw_group, relu=False)

    def forward(self, x):
        y = self.pw(x)
        if self.shuffle is not None:
            y = self.shuffle(y)
        y = self.pwl(self.dw(y))
        return y + x if self.use_res_connect else y


class Identity(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = conv_bn_relu(cin, cout, 1, stride) if cin != cout or stride != 1 else None

    def forward(self, x):
        return self.conv(x) if self.conv is not None else x


FBNET_PRIMITIVES = {  # the paper's names -> maskrcnn-benchmark PRIMITIVES
    "k3_e1": lambda i, o, s: IRFBlock(i, o, 1, s, 3),
    "k3_e1_g2": lambda i, o, s: IRFBlock(i, o, 1, s, 3, pw_group=2),  # ir_k3_s2
    "k3_e3": lambda i, o, s: IRFBlock(i, o, 3, s, 3),
    "k3_e6": lambda i, o, s: IRFBlock(i, o, 6, s, 3),
    "k5_e1": lambda i, o, s: IRFBlock(i, o, 1, s, 5),
    "k5_e1_g2": lambda i, o, s: IRFBlock(i, o, 1, s, 5, pw_group=2),  # ir_k5_s2
    "k5_e3": lambda i, o, s: IRFBlock(i, o, 3, s, 5),
    "k5_e6": lambda i, o, s: IRFBlock(i, o, 6, s, 5),
    "skip": lambda i, o, s: Identity(i, o, s),
}


class FBNet(nn.Module):
    """FBNetBuilder: first (3x3 conv 16 s2), 22 blocks, last (1x1 conv), pool, fc."""

    def __init__(self, ops, head, n_classes=1000):
        super().__init__()
        stages = [(16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2),
                  (352, 1, 1)]
        layers = [conv_bn_relu(3, 16, 3, 2)]
        cin, it = 16, iter(ops)
        for c, n, s in stages:
            for j in range(n):
                layers.append(FBNET_PRIMITIVES[next(it)](cin, c, s if j == 0 else 1))
                cin = c
        layers.append(conv_bn_relu(cin, head, 1, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(head, n_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# --- checks ------------------------------------------------------------------------------------
def params_macs_out(model: nn.Module, shape: tuple[int, int, int]) -> tuple[int, int, tuple]:
    """(parameter elements, FlopCounterMode total // 2, output shape) of a forward in eval mode
    on the meta device."""
    params = sum(p.numel() for p in model.parameters())
    model.eval()
    x = torch.empty((1, *shape), device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        y = model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return params, total // 2, tuple(y.shape[1:])


def reference_macs(space, row) -> tuple[int, int]:
    c = count(space, row, "macs")
    assert c["status"] == 0, c
    return c["params"], c["macs"]


def check_against_independent(space, row, build_ref) -> None:
    """nascost's params and MACs equal the independent model's; so does the output shape."""
    with torch.device("meta"):
        model = build_ref(space.genes_to_values(row))
    shape = space.input_shape(row)
    got = params_macs_out(model, shape)
    assert got == (*reference_macs(space, row), (1000,)), space.genes_to_values(row)


def check_to_torch(space, row) -> None:
    """nascost's own export: params, every layer's output shape (layer_shapes on the meta
    device) and MACs (FlopCounterMode total // 2, eval mode, no_grad) match exactly. One
    forward gives both the shapes and the count."""
    model = to_torch(space, row, device="meta")
    model.eval()
    x = torch.empty((1, *space.input_shape(row)), device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        shapes = layer_shapes(model, x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    params = sum(p.numel() for p in model.parameters())
    assert (params, total // 2) == reference_macs(space, row)
    assert shapes == {x.name: tuple(x.out_shape) for x in resolve(space, row).layers}
    assert shapes["classifier"] == (1000,)


def check_params(space, rows, build_ref) -> None:
    """Parameters only (no forward): the export and the independent model on the meta
    device."""
    for row in rows:
        want = reference_macs(space, row)[0]
        assert sum(p.numel() for p in to_torch(space, row, device="meta").parameters()) == want
        with torch.device("meta"):
            model = build_ref(space.genes_to_values(row))
        assert sum(p.numel() for p in model.parameters()) == want, space.genes_to_values(row)


def check_kernels(space, rows: np.ndarray) -> None:
    """The compiled kernels equal the slow reference walk (seed convention, batch 2)."""
    out = space.score_arrays(rows, "seed", batch=2)
    for k, row in enumerate(rows):
        want = count(space, row, "seed", batch=2)
        assert {key: int(out[key][k]) for key in want} == want
