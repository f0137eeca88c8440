"""``shufflenet-v2``: torchvision's ShuffleNetV2 as a width x resolution space.

Written from torchvision/models/shufflenetv2.py (pytorch/vision). The genes are ``width``
(0.5, 1.0, 1.5, 2.0: torchvision's x0.5 .. x2.0, which pick the stage output channels
(24, 48, 96, 192, 1024), (24, 116, 232, 464, 1024), (24, 176, 352, 704, 1024),
(24, 244, 488, 976, 2048)) and ``resolution``.

The network: 3x3 stride-2 conv to 24 + BN + ReLU; 3x3 stride-2 max pool (padding 1); three
stages of 4, 8 and 4 units; a 1x1 conv + BN + ReLU; the spatial mean (global average
pooling) and a 1000-class linear layer. A unit with ``oup`` output channels works on
``oup // 2`` branch channels:

- stride 2 (the first unit of a stage): branch 1 is a 3x3 stride-2 depthwise conv + BN, then
  1x1 conv + BN + ReLU; branch 2 is 1x1 conv + BN + ReLU, 3x3 stride-2 depthwise conv + BN,
  1x1 conv + BN + ReLU; both read the unit input;
- stride 1: the input is split in two (``x.chunk(2, dim=1)``); the first half passes
  unchanged, the second goes through branch 2;

then the two halves are concatenated and shuffled with 2 groups. Every conv has no bias.

Named candidates: torchvision's ``shufflenet_v2_x0_5`` .. ``shufflenet_v2_x2_0``
(224 x 224), and ``shufflenet_v2_<width>_<resolution>`` for the whole grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.families_common import Family, Knob, classifier_head, conv_bn, grid_names

NAME = "shufflenet-v2"
RESOLUTIONS = (96, 128, 160, 192, 224)
STAGE_OUT_CHANNELS = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
WIDTHS = tuple(STAGE_OUT_CHANNELS)
STAGE_REPEATS = (4, 8, 4)
NAMED = {
    "shufflenet_v2_x0_5": {"width": 0.5, "resolution": 224},
    "shufflenet_v2_x1_0": {"width": 1.0, "resolution": 224},
    "shufflenet_v2_x1_5": {"width": 1.5, "resolution": 224},
    "shufflenet_v2_x2_0": {"width": 2.0, "resolution": 224},
    **grid_names("shufflenet_v2", WIDTHS, RESOLUTIONS),
}


def _unit(b: SpaceBuilder, p: str, width: Knob, stage: int, stride: int) -> str:
    """One InvertedResidual unit of stage ``stage`` (1..3) reading ``b.last``."""
    src = b.last
    bf = width.field(lambda w: STAGE_OUT_CHANNELS[w][stage] // 2)
    if stride == 2:
        conv_bn(b, f"{p}_branch1_dw", b.channels_of(src), 3, stride=2,
                groups=b.channels_of(src), input=src)
        left = conv_bn(b, f"{p}_branch1_pw", bf, 1, act="relu")
        x2 = src
    else:
        left = b.layer("channel_split", f"{p}_split0", input=src, chunks=2, index=0)
        x2 = b.layer("channel_split", f"{p}_split1", input=src, chunks=2, index=1)
    conv_bn(b, f"{p}_branch2_pw1", bf, 1, act="relu", input=x2)
    conv_bn(b, f"{p}_branch2_dw", bf, 3, stride=stride, groups=bf)
    right = conv_bn(b, f"{p}_branch2_pw2", bf, 1, act="relu")
    b.op("concat", f"{p}_cat", input=[left, right])
    return b.layer("channel_shuffle", f"{p}_shuffle", groups=2)


def build(fixed: Mapping[str, Any] | None = None, name: str = NAME,
          description: str | None = None) -> Space:
    f = Family(name, description or (
        "torchvision ShuffleNetV2 (ImageNet, 1000 classes): width (x0.5 .. x2.0) x resolution"),
        fixed)
    b = f.b
    width = f.knob("width", WIDTHS, "torchvision's x0.5 .. x2.0: the stage output channels")
    res = f.knob("resolution", RESOLUTIONS, "input height and width")

    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "conv1", width.field(lambda w: STAGE_OUT_CHANNELS[w][0]), 3, stride=2,
            act="relu")
    b.maxpool2d("maxpool", kernel=3, stride=2, padding=1)
    for stage, repeats in enumerate(STAGE_REPEATS, start=1):
        for j in range(repeats):
            with b.block(f"stage{stage + 1}_{j}"):
                _unit(b, f"stage{stage + 1}_{j}", width, stage, 2 if j == 0 else 1)
    conv_bn(b, "conv5", width.field(lambda w: STAGE_OUT_CHANNELS[w][4]), 1, act="relu")
    classifier_head(b)
    return f.finish(NAMED)


SPACES = {NAME: build}
