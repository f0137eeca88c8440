"""``efficientnet``: torchvision's EfficientNet (B0-B7) as a compound-scaling space.

Written from torchvision/models/efficientnet.py (pytorch/vision). The genes are the three
coefficients of compound scaling, each over the values of the released models:

- ``width``: channels ``_make_divisible(c * width, 8)`` (1.0 .. 2.0);
- ``depth``: blocks per stage ``ceil(n * depth)`` (1.0 .. 3.1), computed in float arithmetic
  as torchvision does;
- ``resolution``: the input size (224 .. 600).

The network: a 3x3 stride-2 conv to ``adjust(32)`` + BN + SiLU; seven stages of MBConv blocks
(expand ratio, kernel, stride, input, output, blocks) = (1, 3, 1, 32, 16, 1), (6, 3, 2, 16,
24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192,
4), (6, 3, 1, 192, 320, 1); a 1x1 conv to 4 x ``adjust(320)`` + BN + SiLU; global average
pooling, dropout (free) and a 1000-class linear layer. An MBConv block: 1x1 expand conv to
``adjust(input * ratio)`` + BN + SiLU when that differs from the input channels; kxk
depthwise conv (padding (k - 1) // 2) + BN + SiLU; squeeze-and-excitation to
``max(1, input // 4)`` channels with SiLU and Sigmoid; 1x1 project conv + BN; the residual
add when the stride is 1 and the input and output channels are equal. Stochastic depth is the
identity at inference and costs nothing; every conv but the SE ones has no bias.

Named candidates ``efficientnet_b0`` .. ``efficientnet_b7`` use torchvision's (width, depth)
and the paper's resolution for each model: (1.0, 1.0, 224), (1.0, 1.1, 240), (1.1, 1.2, 260),
(1.2, 1.4, 300), (1.4, 1.8, 380), (1.6, 2.2, 456), (1.8, 2.6, 528), (2.0, 3.1, 600).
torchvision evaluates B2 at 288 x 288 (the crop of its weights' transforms), and 288 is also
a choice of ``resolution``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nascost.space.space import Space
from nascost.spaces._common import make_divisible
from nascost.spaces.families_common import (
    Family,
    classifier_head,
    conv_bn,
    residual_block,
    squeeze_excite,
    when_arg,
)

NAME = "efficientnet"
WIDTHS = (1.0, 1.1, 1.2, 1.4, 1.6, 1.8, 2.0)
DEPTHS = (1.0, 1.1, 1.2, 1.4, 1.8, 2.2, 2.6, 3.1)
RESOLUTIONS = (224, 240, 260, 288, 300, 380, 456, 528, 600)
# expand ratio, kernel, stride, input channels, output channels, blocks (torchvision
# _efficientnet_conf for efficientnet_b*)
STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
# name: (width, depth, resolution)
MODELS = {
    "efficientnet_b0": (1.0, 1.0, 224),
    "efficientnet_b1": (1.0, 1.1, 240),
    "efficientnet_b2": (1.1, 1.2, 260),
    "efficientnet_b3": (1.2, 1.4, 300),
    "efficientnet_b4": (1.4, 1.8, 380),
    "efficientnet_b5": (1.6, 2.2, 456),
    "efficientnet_b6": (1.8, 2.6, 528),
    "efficientnet_b7": (2.0, 3.1, 600),
}
NAMED = {n: {"width": w, "depth": d, "resolution": r} for n, (w, d, r) in MODELS.items()}


def adjust_channels(c: int, width: float) -> int:
    """torchvision ``_MBConvConfig.adjust_channels``: ``_make_divisible(c * width, 8)``."""
    return make_divisible(c * width, 8)


def adjust_depth(n: int, depth: float) -> int:
    """torchvision ``MBConvConfig.adjust_depth``: ``int(math.ceil(n * depth))``."""
    return int(math.ceil(n * depth))


def build(fixed: Mapping[str, Any] | None = None, name: str = NAME,
          description: str | None = None) -> Space:
    f = Family(name, description or (
        "torchvision EfficientNet B0-B7 family (ImageNet, 1000 classes): width, depth and "
        "resolution coefficients of compound scaling"), fixed)
    b = f.b
    width = f.knob("width", WIDTHS, "width coefficient: channels _make_divisible(c * w, 8)")
    depth = f.knob("depth", DEPTHS, "depth coefficient: blocks per stage ceil(n * d)")
    res = f.knob("resolution", RESOLUTIONS, "input height and width")

    def ch(c: int) -> Any:
        return width.field(lambda w: adjust_channels(c, w))

    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "features_0", ch(STAGES[0][3]), 3, stride=2, act="silu")
    for i, (ratio, kernel, stride, cin, cout, n) in enumerate(STAGES, start=1):
        for j in range(max(adjust_depth(n, d) for d in depth.choices)):
            cond = True if j == 0 else depth.when(lambda d, n=n, j=j: adjust_depth(n, d) > j)
            if cond is False:
                continue
            p = f"features_{i}_{j}"
            s = stride if j == 0 else 1
            block_in = cin if j == 0 else cout

            def body(p=p, s=s, block_in=block_in, ratio=ratio, kernel=kernel, cout=cout) -> str:
                expanded = width.field(
                    lambda w: adjust_channels(adjust_channels(block_in, w), ratio))
                expand = width.when(lambda w: adjust_channels(adjust_channels(block_in, w), ratio)
                                    != adjust_channels(block_in, w))
                if expand is not False:
                    with b.block(f"{p}_expand", when=when_arg(expand)):
                        conv_bn(b, f"{p}_expand", expanded, 1, act="silu")
                x = conv_bn(b, f"{p}_dw", expanded, kernel, stride=s, groups=expanded,
                            act="silu")
                squeeze = width.field(lambda w: max(1, adjust_channels(block_in, w) // 4))
                squeeze_excite(b, f"{p}_se", x, expanded, squeeze, "silu", "sigmoid")
                return conv_bn(b, f"{p}_project", ch(cout), 1)

            residual_block(b, p, width, lambda w, s=s, block_in=block_in, cout=cout: (
                s == 1 and adjust_channels(block_in, w) == adjust_channels(cout, w)), body, cond)
    conv_bn(b, f"features_{len(STAGES) + 1}",
            width.field(lambda w: 4 * adjust_channels(STAGES[-1][4], w)), 1, act="silu")
    classifier_head(b)
    return f.finish(NAMED)


SPACES = {NAME: build}
