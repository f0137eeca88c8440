"""``mnasnet``: torchvision's MNASNet (B1 variant) as a depth-multiplier x resolution space.

Written from torchvision/models/mnasnet.py (pytorch/vision, model version 2, whose stem also
scales with the multiplier). The genes are ``alpha`` (torchvision's depth multiplier, 0.5 ..
1.3) and ``resolution``. Channels are ``_get_depths(alpha)``: each of 32, 16, 24, 40, 80, 96,
192, 320 times alpha rounded to a multiple of 8 by ``_round_to_multiple_of`` (round to the
nearest multiple, up when rounding down would lose more than 10%; the same rule as
``_make_divisible``).

The network: 3x3 stride-2 conv + BN + ReLU; 3x3 depthwise conv + BN + ReLU; 1x1 conv +
BN (no activation); six stacks of inverted residuals (kernel, stride, expansion, repeats) =
(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1), each
block 1x1 expand conv + BN + ReLU, depthwise conv (padding k // 2) + BN + ReLU, 1x1 project
conv + BN, plus the input when the stride is 1 and the channels match; a 1x1 conv to 1280 +
BN + ReLU; the spatial mean (global average pooling), dropout (free) and a 1000-class linear
layer. Every conv has no bias.

Named candidates: torchvision's ``mnasnet0_5``, ``mnasnet0_75``, ``mnasnet1_0`` and
``mnasnet1_3`` (224 x 224), and ``mnasnet_<alpha>_<resolution>`` for the whole grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nascost.space.space import Space
from nascost.spaces._common import make_divisible
from nascost.spaces.families_common import (
    Family,
    classifier_head,
    conv_bn,
    grid_names,
    residual_block,
)

NAME = "mnasnet"
ALPHAS = (0.5, 0.75, 1.0, 1.3)
RESOLUTIONS = (96, 128, 160, 192, 224)
DEPTHS = (32, 16, 24, 40, 80, 96, 192, 320)
# kernel, stride, expansion, repeats of the stacks from depths[1..6] to depths[2..7]
STACKS = ((3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1))
LAST = 1280
NAMED = {
    "mnasnet0_5": {"alpha": 0.5, "resolution": 224},
    "mnasnet0_75": {"alpha": 0.75, "resolution": 224},
    "mnasnet1_0": {"alpha": 1.0, "resolution": 224},
    "mnasnet1_3": {"alpha": 1.3, "resolution": 224},
    **grid_names("mnasnet", ALPHAS, RESOLUTIONS, wkey="alpha"),
}


def round_to_multiple_of(val: float, divisor: int = 8) -> int:
    """torchvision ``_round_to_multiple_of`` with round_up_bias 0.9 (= ``_make_divisible``)."""
    return make_divisible(val, divisor)


def get_depths(alpha: float) -> list[int]:
    """torchvision ``_get_depths``."""
    return [round_to_multiple_of(d * alpha, 8) for d in DEPTHS]


def build(fixed: Mapping[str, Any] | None = None, name: str = NAME,
          description: str | None = None) -> Space:
    f = Family(name, description or (
        "torchvision MNASNet-B1 (ImageNet, 1000 classes): depth multiplier x resolution"),
        fixed)
    b = f.b
    alpha = f.knob("alpha", ALPHAS, "depth multiplier: channels _get_depths(alpha)")
    res = f.knob("resolution", RESOLUTIONS, "input height and width")

    def d(k: int, times: int = 1) -> Any:
        return alpha.field(lambda a: get_depths(a)[k] * times)

    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "layers_0", d(0), 3, stride=2, act="relu")
    conv_bn(b, "layers_3", d(0), 3, groups=d(0), act="relu")
    conv_bn(b, "layers_6", d(1), 1)
    for i, (kernel, stride, expansion, repeats) in enumerate(STACKS, start=1):
        for j in range(repeats):
            p = f"layers_{7 + i}_{j}"
            s = stride if j == 0 else 1
            k_in = i if j == 0 else i + 1  # index of the block's input channels in DEPTHS

            def body(p=p, kernel=kernel, s=s, expansion=expansion, k_in=k_in, i=i) -> str:
                conv_bn(b, f"{p}_expand", d(k_in, expansion), 1, act="relu")
                conv_bn(b, f"{p}_dw", d(k_in, expansion), kernel, stride=s,
                        groups=d(k_in, expansion), act="relu")
                return conv_bn(b, f"{p}_project", d(i + 1), 1)

            residual_block(b, p, alpha, lambda a, s=s, k_in=k_in, i=i: (
                s == 1 and get_depths(a)[k_in] == get_depths(a)[i + 1]), body)
    conv_bn(b, "layers_14", LAST, 1, act="relu")
    classifier_head(b)
    return f.finish(NAMED)


SPACES = {NAME: build}
