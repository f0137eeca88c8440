"""Independent torch models of the built-in spaces, for the tests in this folder.

They are written from the original code's structure, not from the nascost specs:
torchvision/models/resnet.py and mobilenetv2.py (generalised to per-stage depth, width and
block type, and per-block kernel and expand ratio), and NAS-Bench-201's TinyNetwork
(D-X-Y/AutoDL-Projects lib/models/cell_infers/tiny_network.py, cells.py and
lib/models/cell_operations.py). Only the layers matter: no initialisation, no training code.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    # torchvision/models/_utils.py _make_divisible
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def params_and_macs(model: nn.Module, shape: tuple[int, int, int], batch: int = 1) -> tuple:
    """(sum of parameter elements, FlopCounterMode total // 2) of one forward in eval mode
    on the model's device (build it under ``torch.device("meta")``: no arithmetic is done)."""
    params = sum(p.numel() for p in model.parameters())
    device = next(model.parameters()).device
    x = torch.empty((batch, *shape), device=device)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return params, total // 2


# --- torchvision ResNet --------------------------------------------------------------------
def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet with a block type, depth and planes per stage."""

    def __init__(self, stages, num_classes=1000):
        # stages: 4 x (block class, depth, planes)
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        layers = []
        for k, (block, depth, planes) in enumerate(stages):
            layers.append(self._make_layer(block, planes, depth, 1 if k == 0 else 2))
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layers(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet(kinds, depths, widths=(1.0, 1.0, 1.0, 1.0)) -> ResNet:
    """kinds: 'basic' / 'bottleneck' per stage (or one for all); widths: planes / base."""
    if isinstance(kinds, str):
        kinds = [kinds] * 4
    bases = (64, 128, 256, 512)
    return ResNet([(BasicBlock if k == "basic" else Bottleneck, d, int(base * w))
                   for k, d, base, w in zip(kinds, depths, bases, widths, strict=True)])


# --- torchvision MobileNetV2 -----------------------------------------------------------------
class ConvBNReLU6(nn.Sequential):
    def __init__(self, cin, cout, kernel=3, stride=1, groups=1):
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups,
                                   bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6())


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio, kernel=3):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel=1))
        layers += [ConvBNReLU6(hidden, hidden, kernel, stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2; ``blocks`` lists (t, c, s, kernel) per block (s: stride)."""

    def __init__(self, blocks, width_mult=1.0, num_classes=1000):
        super().__init__()
        inp = make_divisible(32 * width_mult, 8)
        last = make_divisible(1280 * max(1.0, width_mult), 8)
        features = [ConvBNReLU6(3, inp, stride=2)]
        for t, c, s, k in blocks:
            oup = make_divisible(c * width_mult, 8)
            features.append(InvertedResidual(inp, oup, s, t, k))
            inp = oup
        features.append(ConvBNReLU6(inp, last, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


MBV2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))


def torchvision_mobilenet_v2() -> MobileNetV2:
    blocks = [(t, c, s if i == 0 else 1, 3) for t, c, n, s in MBV2_SETTING for i in range(n)]
    return MobileNetV2(blocks)


def mbv2_style(values: dict) -> tuple[MobileNetV2, int]:
    """The mbv2-style candidate for gene values {name: choice}; returns (model, resolution)."""
    blocks = [(1, 16, 1, 3)]
    stages = ((24, 2), (32, 2), (64, 2), (96, 1), (160, 2), (320, 1))
    for i, (c, s) in enumerate(stages, start=1):
        depth = values.get(f"s{i}_depth", 1)
        for j in range(depth):
            blocks.append((values[f"s{i}_b{j}_expand"], c, s if j == 0 else 1,
                           values[f"s{i}_b{j}_kernel"]))
    return MobileNetV2(blocks, width_mult=values["width"]), values["resolution"]


# --- NAS-Bench-201 ---------------------------------------------------------------------------
class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, kernel, stride, padding, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, kernel, stride, padding,
                                                     bias=False),
                                nn.BatchNorm2d(cout, affine=affine))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Pooling(nn.Module):  # C_in == C_out in every NAS-Bench-201 cell: no preprocess
    def __init__(self):
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.op(x)


NB201_OPS = {
    "none": lambda c: Zero(),
    "skip_connect": lambda c: nn.Identity(),
    "nor_conv_1x1": lambda c: ReLUConvBN(c, c, 1, 1, 0),
    "nor_conv_3x3": lambda c: ReLUConvBN(c, c, 3, 1, 1),
    "avg_pool_3x3": lambda c: Pooling(),
}


def parse_arch(arch: str) -> list[list[tuple[str, int]]]:
    """'|a~0|+|b~0|c~1|+|...' -> [[(a, 0)], [(b, 0), (c, 1)], [...]] (one list per node)."""
    nodes = []
    for node in arch.split("+"):
        nodes.append([(x.split("~")[0], int(x.split("~")[1])) for x in node.split("|") if x])
    return nodes


class InferCell(nn.Module):
    def __init__(self, genotype, c):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_in = []
        for node in genotype:
            idx = []
            for op, src in node:
                idx.append((len(self.layers), src))
                self.layers.append(NB201_OPS[op](c))
            self.node_in.append(idx)

    def forward(self, x):
        nodes = [x]
        for idx in self.node_in:
            nodes.append(sum(self.layers[k](nodes[src]) for k, src in idx))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, inplanes, planes):  # stride 2
        super().__init__()
        self.conv_a = ReLUConvBN(inplanes, planes, 3, 2, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0),
                                        nn.Conv2d(inplanes, planes, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, arch: str, c=16, n=5, num_classes=10):
        super().__init__()
        genotype = parse_arch(arch)
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        chans = [c] * n + [c * 2] + [c * 2] * n + [c * 4] + [c * 4] * n
        reds = [False] * n + [True] + [False] * n + [True] + [False] * n
        cells, prev = [], c
        for ch, red in zip(chans, reds, strict=True):
            cells.append(ResNetBasicblock(prev, ch) if red else InferCell(genotype, ch))
            prev = ch
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU())
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, num_classes)

    def forward(self, x):
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).view(out.size(0), -1))
