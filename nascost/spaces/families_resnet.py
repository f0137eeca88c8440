"""``resnet``: torchvision's ResNet family (ResNet, ResNeXt, Wide ResNet) as a space.

Written from torchvision/models/resnet.py (pytorch/vision). The genes are the arguments of
torchvision's ``ResNet(block, layers, groups, width_per_group)`` plus the input size:

- ``block``: ``basic`` (two 3x3 convs) or ``bottleneck`` (1x1, 3x3 with the stride (ResNet
  v1.5), 1x1 to 4 x planes);
- ``layers1`` .. ``layers4``: blocks per stage (1-3, 1-8, 1-36, 1-3: every released depth);
- ``groups_x_width``: torchvision's ``groups`` and ``width_per_group`` as one gene, written as
  ResNeXt writes them ("32x4": 32 groups of 4 channels per 64 planes). The bottleneck's inner
  width is ``int(planes * width_per_group / 64) * groups``, a product of the two, and a field
  reads one gene, hence one gene for the pair. Only bottleneck blocks read it (torchvision's
  BasicBlock accepts only groups 1 and width 64);
- ``resolution``: the input height and width.

Stem: 7x7 stride-2 conv to 64 + BN + ReLU, 3x3 stride-2 max pool (padding 1); stages of
planes 64, 128, 256, 512 with strides 1, 2, 2, 2; every conv without bias and followed by BN;
the first block of a stage has torchvision's downsample (1x1 conv with the stride + BN) when
the stride is 2 or its input channels differ from planes x expansion; ReLU after the residual
add; global average pooling and a 1000-class linear layer.

Named candidates are torchvision's models at 224 x 224: resnet18, resnet34, resnet50,
resnet101, resnet152, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2,
wide_resnet101_2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nascost.space.space import Space
from nascost.spaces.families_common import Family, choose, classifier_head, when_arg

NAME = "resnet"
RESOLUTIONS = (160, 192, 224, 256, 288)
BLOCKS = ("basic", "bottleneck")
DEPTHS = ((1, 2, 3), tuple(range(1, 9)), tuple(range(1, 37)), (1, 2, 3))
# groups x width_per_group
GROUPS_X_WIDTH = ("1x64", "1x128", "32x4", "32x8", "64x4")
PLANES = (64, 128, 256, 512)
STRIDES = (1, 2, 2, 2)
STEM = 64
EXPANSION = {"basic": 1, "bottleneck": 4}


def _named(block: str, layers: tuple[int, int, int, int], gw: str = "1x64") -> dict:
    out: dict[str, Any] = {"resolution": 224, "block": block, "groups_x_width": gw}
    out.update({f"layers{i}": d for i, d in enumerate(layers, start=1)})
    return out


NAMED: dict[str, dict[str, Any]] = {
    "resnet18": _named("basic", (2, 2, 2, 2)),
    "resnet34": _named("basic", (3, 4, 6, 3)),
    "resnet50": _named("bottleneck", (3, 4, 6, 3)),
    "resnet101": _named("bottleneck", (3, 4, 23, 3)),
    "resnet152": _named("bottleneck", (3, 8, 36, 3)),
    "resnext50_32x4d": _named("bottleneck", (3, 4, 6, 3), "32x4"),
    "resnext101_32x8d": _named("bottleneck", (3, 4, 23, 3), "32x8"),
    "resnext101_64x4d": _named("bottleneck", (3, 4, 23, 3), "64x4"),
    "wide_resnet50_2": _named("bottleneck", (3, 4, 6, 3), "1x128"),
    "wide_resnet101_2": _named("bottleneck", (3, 4, 23, 3), "1x128"),
}


def split_groups_x_width(gw: str) -> tuple[int, int]:
    """'32x4' -> (groups 32, width_per_group 4)."""
    g, w = gw.split("x")
    return int(g), int(w)


def bottleneck_width(planes: int, gw: str) -> int:
    """torchvision Bottleneck: ``int(planes * (base_width / 64.0)) * groups``."""
    groups, base_width = split_groups_x_width(gw)
    return int(planes * (base_width / 64.0)) * groups


def build(fixed: Mapping[str, Any] | None = None, name: str = NAME,
          description: str | None = None) -> Space:
    f = Family(name, description or (
        "torchvision ResNet family (ResNet, ResNeXt, Wide ResNet; ImageNet, 1000 classes): "
        "block type, blocks per stage, groups x width per group, resolution"), fixed)
    b = f.b
    res = f.knob("resolution", RESOLUTIONS, "input height and width")
    block = f.knob("block", BLOCKS, "basic (2 x 3x3) or bottleneck (1x1, 3x3, 1x1) blocks")
    depths = [f.knob(f"layers{i}", d, f"blocks in stage {i} (torchvision layers[{i - 1}])")
              for i, d in enumerate(DEPTHS, start=1)]
    gw = f.knob("groups_x_width", GROUPS_X_WIDTH,
                "bottleneck groups x width_per_group (ResNeXt's 32x4d: '32x4'; ResNet: '1x64')")

    b.input(channels=3, height=res.field(), width=res.field())
    b.conv2d("conv1", out_channels=STEM, kernel=7, stride=2, padding=3, bias=False)
    b.batchnorm2d("bn1")
    b.op("relu", "relu")
    b.maxpool2d("maxpool", kernel=3, stride=2, padding=1)

    for i, (planes, stride, depth) in enumerate(zip(PLANES, STRIDES, depths, strict=True), 1):
        for j in range(max(depth.choices)):
            cond = True if j == 0 else depth.when(lambda d, j=j: d > j)
            if cond is False:
                continue
            p = f"layer{i}_{j}"
            s = stride if j == 0 else 1
            with b.block(p, when=when_arg(cond)) as blk:
                def option(kind: str, tag: str, p=p, s=s, j=j, i=i, planes=planes,
                           src=blk.input) -> None:
                    q = p + tag
                    out_ch = planes * EXPANSION[kind]
                    # channels entering the block: the stem's 64, or the last stage's output
                    in_ch = STEM if i == 1 else PLANES[i - 2] * EXPANSION[kind]
                    if j > 0:
                        in_ch = out_ch
                    if kind == "basic":
                        b.conv2d(f"{q}_conv1", out_channels=planes, kernel=3, stride=s,
                                 padding=1, bias=False, input=src)
                        b.batchnorm2d(f"{q}_bn1")
                        b.op("relu", f"{q}_relu1")
                        b.conv2d(f"{q}_conv2", out_channels=planes, kernel=3, padding=1,
                                 bias=False)
                        main = b.batchnorm2d(f"{q}_bn2")
                    else:
                        width = gw.field(lambda v: bottleneck_width(planes, v))
                        groups = gw.field(lambda v: split_groups_x_width(v)[0])
                        b.conv2d(f"{q}_conv1", out_channels=width, kernel=1, bias=False,
                                 input=src)
                        b.batchnorm2d(f"{q}_bn1")
                        b.op("relu", f"{q}_relu1")
                        b.conv2d(f"{q}_conv2", out_channels=width, kernel=3, stride=s,
                                 padding=1, groups=groups, bias=False)
                        b.batchnorm2d(f"{q}_bn2")
                        b.op("relu", f"{q}_relu2")
                        b.conv2d(f"{q}_conv3", out_channels=out_ch, kernel=1, bias=False)
                        main = b.batchnorm2d(f"{q}_bn3")
                    short = src
                    if s != 1 or in_ch != out_ch:
                        b.conv2d(f"{q}_downsample_0", out_channels=out_ch, kernel=1, stride=s,
                                 bias=False, input=src)
                        short = b.batchnorm2d(f"{q}_downsample_1")
                    b.op("add", f"{q}_add", input=[main, short])
                    b.op("relu", f"{q}_relu")

                choose(b, f"{p}_body", block, option)

    classifier_head(b)
    return f.finish(NAMED)


SPACES = {NAME: build}
