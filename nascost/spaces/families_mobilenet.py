"""MobileNet families as width x resolution spaces: ``mobilenet-v1``, ``mobilenet-v2``,
``mobilenet-v3-large`` and ``mobilenet-v3-small`` (ImageNet, 1000 classes).

Every family has two genes, ``width`` (the width / depth multiplier) and ``resolution``;
channel counts are computed per width in Python, exactly as the reference code computes
them, and so are the structural rules that depend on them (a residual connection exists when
the stride is 1 and the block's input and output channels are equal; MobileNetV3's expand
conv exists when the expanded channels differ from the input channels). Named candidates
are ``<family>_<width>_<resolution>`` (``mobilenet_v2_0.75_160``); torchvision's models are
also named by their torchvision names (``mobilenet_v2``, ``mobilenet_v3_large``,
``mobilenet_v3_small``: width 1.0 at 224).

**mobilenet-v1** follows TF-slim's MobileNet_v1 (tensorflow/models research/slim/nets/
mobilenet_v1.py), the released models of the paper: a 3x3 stride-2 conv to
``depth(32)`` channels, then 13 depthwise-separable blocks (3x3 depthwise conv + BN + ReLU6,
1x1 conv to ``depth(c)`` + BN + ReLU6), where ``depth(c) = max(int(c * width), 8)``; every conv
without bias; then global average pooling and the classifier. Deviations, none of which
changes a parameter or MAC count but the classifier's: TF-slim's classifier is a 1x1 conv
with bias to 1001 classes (a background class); here it is a Linear layer with bias to 1000
classes like every other built-in family. TF-slim pads 'SAME' (asymmetric on stride 2); here
the padding is 1, which gives the same output sizes. The paper writes ReLU, the released
models use ReLU6, as here (same params and MACs; only the FLOP conventions tell them apart).

**mobilenet-v2** is torchvision's MobileNetV2 (torchvision/models/mobilenetv2.py):
``_make_divisible(c * width, 8)`` channels, the last conv ``_make_divisible(1280 * max(1.0,
width), 8)``, inverted residuals with hidden ``round(inp * t)`` channels, expand conv only
when t != 1.

**mobilenet-v3-large/small** are torchvision's MobileNetV3 (torchvision/models/
mobilenetv3.py) with its ``width_mult``: ``_make_divisible(c * width, 8)`` for input, expanded
and output channels of every block; squeeze-and-excitation with
``_make_divisible(expanded // 4, 8)`` channels, ReLU and Hardsigmoid; ReLU or Hardswish
blocks; the last conv to 6 x the last block's channels + BN + Hardswish; the classifier
Linear(last conv, ``_make_divisible(1280 or 1024 * width, 8)``) + Hardswish + Dropout + Linear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nascost.space.space import Space
from nascost.spaces._common import make_divisible
from nascost.spaces.families_common import (
    NUM_CLASSES,
    Family,
    classifier_head,
    conv_bn,
    grid_names,
    residual_block,
    squeeze_excite,
    when_arg,
)

# --- MobileNetV1 (TF-slim) -------------------------------------------------------------------
V1_NAME = "mobilenet-v1"
V1_WIDTHS = (0.25, 0.5, 0.75, 1.0)
V1_RESOLUTIONS = (128, 160, 192, 224)
# TF-slim _CONV_DEFS after the stem: (stride, output channels) of each separable block
V1_STEM = 32
V1_BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512),
             (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024))
V1_NAMED = grid_names("mobilenet_v1", V1_WIDTHS, V1_RESOLUTIONS)


def v1_depth(c: int, width: float) -> int:
    """TF-slim's ``depth(d) = max(int(d * depth_multiplier), min_depth=8)``."""
    return max(int(c * width), 8)


def build_v1(fixed: Mapping[str, Any] | None = None, name: str = V1_NAME,
             description: str | None = None) -> Space:
    f = Family(name, description or (
        "MobileNetV1 as released in TF-slim (ImageNet, 1000 classes): width multiplier x "
        "resolution"), fixed)
    b = f.b
    width = f.knob("width", V1_WIDTHS, "depth multiplier: channels max(int(c * width), 8)")
    res = f.knob("resolution", V1_RESOLUTIONS, "input height and width")
    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "conv0", width.field(lambda w: v1_depth(V1_STEM, w)), 3, stride=2, act="relu6")
    prev = V1_STEM
    for k, (stride, c) in enumerate(V1_BLOCKS, start=1):
        dw = width.field(lambda w, prev=prev: v1_depth(prev, w))
        conv_bn(b, f"conv{k}_depthwise", dw, 3, stride=stride, groups=dw, act="relu6")
        conv_bn(b, f"conv{k}_pointwise", width.field(lambda w, c=c: v1_depth(c, w)), 1,
                act="relu6")
        prev = c
    classifier_head(b)
    return f.finish(V1_NAMED)


# --- MobileNetV2 (torchvision) ---------------------------------------------------------------
V2_NAME = "mobilenet-v2"
V2_WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
V2_RESOLUTIONS = (96, 128, 160, 192, 224)
# t (expand ratio), c (channels), n (blocks), s (stride of the first block)
V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))
V2_STEM = 32
V2_LAST = 1280
V2_NAMED = {"mobilenet_v2": {"width": 1.0, "resolution": 224},
            **grid_names("mobilenet_v2", V2_WIDTHS, V2_RESOLUTIONS)}


def build_v2(fixed: Mapping[str, Any] | None = None, name: str = V2_NAME,
             description: str | None = None) -> Space:
    f = Family(name, description or (
        "torchvision MobileNetV2 (ImageNet, 1000 classes): width multiplier x resolution"),
        fixed)
    b = f.b
    width = f.knob("width", V2_WIDTHS, "width multiplier: _make_divisible(c * width, 8)")
    res = f.knob("resolution", V2_RESOLUTIONS, "input height and width")

    def ch(c: int) -> Any:
        return width.field(lambda w: make_divisible(c * w, 8))

    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "features_0", ch(V2_STEM), 3, stride=2, act="relu6")
    idx, inp = 1, V2_STEM
    for t, c, n, s in V2_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"features_{idx}"
            block_in = inp

            def body(p=p, t=t, c=c, stride=stride, block_in=block_in) -> str:
                hidden = width.field(
                    lambda w: int(round(make_divisible(block_in * w, 8) * t)))
                if t != 1:
                    conv_bn(b, f"{p}_expand", hidden, 1, act="relu6")
                conv_bn(b, f"{p}_dw", hidden, 3, stride=stride, groups=hidden, act="relu6")
                return conv_bn(b, f"{p}_project", ch(c), 1)

            residual_block(b, p, width, lambda w, stride=stride, block_in=block_in, c=c: (
                stride == 1 and make_divisible(block_in * w, 8) == make_divisible(c * w, 8)),
                body)
            inp = c
            idx += 1
    conv_bn(b, f"features_{idx}", width.field(
        lambda w: make_divisible(V2_LAST * max(1.0, w), 8)), 1, act="relu6")
    classifier_head(b)
    return f.finish(V2_NAMED)


# --- MobileNetV3 (torchvision) ---------------------------------------------------------------
V3_WIDTHS = (0.35, 0.5, 0.75, 1.0, 1.25)
V3_RESOLUTIONS = (96, 128, 160, 192, 224)
# input, kernel, expanded, output, use SE, activation, stride (torchvision _mobilenet_v3_conf,
# dilation 1, no reduced tail)
V3_LARGE = (
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
)
V3_SMALL = (
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
)
V3_VARIANTS = {
    # family name: (torchvision name, blocks, classifier hidden width before scaling)
    "mobilenet-v3-large": ("mobilenet_v3_large", V3_LARGE, 1280),
    "mobilenet-v3-small": ("mobilenet_v3_small", V3_SMALL, 1024),
}
V3_NAMED = {
    family: {tv: {"width": 1.0, "resolution": 224}, **grid_names(tv, V3_WIDTHS, V3_RESOLUTIONS)}
    for family, (tv, _, _) in V3_VARIANTS.items()
}


def build_v3(variant: str, fixed: Mapping[str, Any] | None = None, name: str | None = None,
             description: str | None = None) -> Space:
    tv, setting, last = V3_VARIANTS[variant]
    f = Family(name or variant, description or (
        f"torchvision MobileNetV3-{variant.rsplit('-', 1)[1].capitalize()} (ImageNet, 1000 "
        "classes): width multiplier x resolution"), fixed)
    b = f.b
    width = f.knob("width", V3_WIDTHS, "width multiplier: _make_divisible(c * width, 8)")
    res = f.knob("resolution", V3_RESOLUTIONS, "input height and width")

    def adj(c: int) -> Any:
        return width.field(lambda w: make_divisible(c * w, 8))

    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "features_0", adj(setting[0][0]), 3, stride=2, act="hardswish")
    for k, (cin, kernel, exp, cout, use_se, act_name, stride) in enumerate(setting, start=1):
        p = f"features_{k}"
        act = "hardswish" if act_name == "HS" else "relu"

        def body(p=p, cin=cin, kernel=kernel, exp=exp, cout=cout, use_se=use_se, act=act,
                 stride=stride) -> str:
            expand = width.when(
                lambda w: make_divisible(exp * w, 8) != make_divisible(cin * w, 8))
            if expand is not False:
                with b.block(f"{p}_expand", when=when_arg(expand)):
                    conv_bn(b, f"{p}_expand", adj(exp), 1, act=act)
            x = conv_bn(b, f"{p}_dw", adj(exp), kernel, stride=stride, groups=adj(exp),
                        act=act)
            if use_se:
                squeeze = width.field(lambda w: make_divisible(make_divisible(exp * w, 8) // 4,
                                                               8))
                squeeze_excite(b, f"{p}_se", x, adj(exp), squeeze, "relu", "hardsigmoid")
            return conv_bn(b, f"{p}_project", adj(cout), 1)

        residual_block(b, p, width, lambda w, cin=cin, cout=cout, stride=stride: (
            stride == 1 and make_divisible(cin * w, 8) == make_divisible(cout * w, 8)), body)
    last_in = setting[-1][3]
    conv_bn(b, f"features_{len(setting) + 1}",
            width.field(lambda w: 6 * make_divisible(last_in * w, 8)), 1, act="hardswish")
    b.op("global_avgpool", "avgpool")
    b.op("flatten", "flatten")
    b.linear("classifier_0", out_features=adj(last))
    b.op("hardswish", "classifier_1")
    b.linear("classifier_3", out_features=NUM_CLASSES)
    return f.finish(V3_NAMED[variant])


def build_v3_large(fixed: Mapping[str, Any] | None = None, name: str | None = None,
                   description: str | None = None) -> Space:
    return build_v3("mobilenet-v3-large", fixed, name, description)


def build_v3_small(fixed: Mapping[str, Any] | None = None, name: str | None = None,
                   description: str | None = None) -> Space:
    return build_v3("mobilenet-v3-small", fixed, name, description)


SPACES = {
    V1_NAME: build_v1,
    V2_NAME: build_v2,
    "mobilenet-v3-large": build_v3_large,
    "mobilenet-v3-small": build_v3_small,
}
