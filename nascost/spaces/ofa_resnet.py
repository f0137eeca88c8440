"""``ofa-resnet50``: the sub-networks of Once-for-All's ``ofa_resnet50`` supernet.

``OFAResNets(depth_list=[0, 1, 2], expand_ratio_list=[0.2, 0.25, 0.35],
width_mult_list=[0.65, 0.8, 1.0])`` as ``get_active_subnet`` builds its ``ResNets``
(mit-han-lab/once-for-all: ofa/imagenet_classification/elastic_nn/networks/ofa_resnets.py,
elastic_nn/modules/dynamic_layers.py ``DynamicConvLayer`` / ``DynamicResNetBottleneckBlock``,
networks/resnets.py, utils/layers.py ``ResNetBottleneckBlock``). A ResNet-50-D:

- input stem: 3x3 conv stride 2 to ``make_divisible(make_divisible(64 w0, 8) // 2, 8)``
  (24, 24, 32) + BN + ReLU; a residual 3x3 conv + BN + ReLU (plus the identity) at the same
  width, kept only at stem depth 2 (``input_stem_skipping``); 3x3 conv to
  ``make_divisible(64 w1, 8)`` (40, 48, 64) + BN + ReLU; all convs without bias, padding 1;
- 3x3 max pooling, stride 2, padding 1;
- four stages of bottleneck blocks, widths ``make_divisible(c w, 8)`` of 256, 512, 1024, 2048
  (one width multiplier per stage), strides 1, 2, 2, 2, and 2, 2, 4, 2 blocks plus the stage's
  depth gene (0, 1 or 2). A block: 1x1 conv to ``make_divisible(round(C_out e), 8)`` + BN +
  ReLU, 3x3 conv (the stride) + BN + ReLU, 1x1 conv to C_out + BN, plus the shortcut, then
  ReLU. The shortcut of a stage's first block is 'avgpool_conv': AvgPool2d(stride, stride,
  ceil_mode=True) (kernel 1 in stage 1), 1x1 conv (no bias), BN; the other blocks' is the
  identity;
- global average pooling, linear classifier to 1000 (dropout 0).

Genes: ``resolution`` (128, 132, ..., 224), ``stem_depth`` (0 or 2, OFA's d[0]),
``stem_mid_width`` and ``stem_width`` (OFA's w[0], w[1]), then per stage ``sN_depth``,
``sN_width`` and ``sN_bJ_expand`` per block. Width genes hold the multipliers (the ``ofa`` codec
converts them to OFA's indices). ``stem_mid_width`` 0.65 and 0.8 give the same network (both
24 channels): distinct genes rows, as they are distinct OFA settings.
"""

from __future__ import annotations

from collections.abc import Iterable

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space
from nascost.spaces._common import make_divisible
from nascost.spaces.ofa import CODEC, DIVISOR, NUM_CLASSES, RESOLUTIONS, _resolution_gene

__all__ = ["build", "NAME"]

NAME = "ofa-resnet50"
DEPTHS = (0, 1, 2)
EXPANDS = (0.2, 0.25, 0.35)
WIDTHS = (0.65, 0.8, 1.0)
STEM_DEPTHS = (0, 2)
BASE_DEPTHS = (2, 2, 4, 2)  # ResNets.BASE_DEPTH_LIST
STAGE_WIDTHS = (256, 512, 1024, 2048)  # ResNets.STAGE_WIDTH_LIST
STRIDES = (1, 2, 2, 2)


def _stem_channels(w: float) -> int:
    return make_divisible(64 * w, DIVISOR)


def _stem_mid_channels(w: float) -> int:
    return make_divisible(_stem_channels(w) // 2, DIVISOR)


def _conv_bn_relu(b: SpaceBuilder, p: str, out_channels, kernel: int = 3, stride: int = 1,
                  input: str | None = None) -> str:
    b.conv2d(f"{p}_conv", out_channels=out_channels, kernel=kernel, stride=stride,
             padding=kernel // 2, bias=False, input=input)
    b.batchnorm2d(f"{p}_bn")
    return b.op("relu", f"{p}_act")


def build(resolutions: Iterable[int] = RESOLUTIONS, *, name: str = NAME) -> Space:
    b = SpaceBuilder(name, codec=CODEC, description=(
        "Once-for-All ResNet50 sub-networks (ofa_resnet50_d0-1-2_e0.2-0.25-0.35_w0.65-0.8-1.0):"
        " resolution, stem and stage depths, per-block expand ratio, stem and stage widths"))
    res = _resolution_gene(b, resolutions)
    stem_depth = b.gene("stem_depth", STEM_DEPTHS, doc="2 keeps the stem's residual conv")
    stem_mid = b.gene("stem_mid_width", WIDTHS, doc="width multiplier of the first two convs")
    stem = b.gene("stem_width", WIDTHS, doc="width multiplier of the stem's last conv")
    stages: list[tuple[Gene, Gene, list[Gene]]] = []
    for i, base in enumerate(BASE_DEPTHS, start=1):
        depth = b.gene(f"s{i}_depth", DEPTHS, doc=f"blocks in stage {i} beyond {base}")
        width = b.gene(f"s{i}_width", WIDTHS, doc="width multiplier of the stage")
        expands = [b.gene(f"s{i}_b{j}_expand", EXPANDS, doc="bottleneck expand ratio")
                   for j in range(base + max(DEPTHS))]
        stages.append((depth, width, expands))
    b.input(channels=3, height=res, width=res)

    x = _conv_bn_relu(b, "stem0", stem_mid.map(_stem_mid_channels), stride=2)
    with b.block("stem1", when=stem_depth.eq(max(DEPTHS))) as blk:
        y = _conv_bn_relu(b, "stem1", b.channels_of(x))
        b.op("add", "stem1_add", input=[y, blk.input])  # ResidualBlock: conv(x) + x
    _conv_bn_relu(b, "stem2", stem.map(_stem_channels))
    b.maxpool2d("max_pool", kernel=3, stride=2, padding=1)

    for i, ((depth, width, expands), base, c, s) in enumerate(
            zip(stages, BASE_DEPTHS, STAGE_WIDTHS, STRIDES, strict=True), start=1):
        out_channels = width.map(lambda w, c=c: make_divisible(c * w, DIVISOR))
        for j, e in enumerate(expands):
            p = f"s{i}_b{j}"
            when = None if j < base else depth >= j - base + 1
            with b.block(p, when=when) as blk:
                if j == 0:  # avgpool_conv shortcut, computed first as OFA's forward does
                    b.avgpool2d(f"{p}_down_pool", kernel=s, stride=s, ceil_mode=True)
                    b.conv2d(f"{p}_down_conv", out_channels=out_channels, kernel=1, bias=False)
                    shortcut = b.batchnorm2d(f"{p}_down_bn")
                else:
                    shortcut = blk.input
                # middle width: make_divisible(round(C_out * e), 8) (active_middle_channels)
                mid = b.channels_of(shortcut, times=e, round="round", divisor=DIVISOR)
                _conv_bn_relu(b, f"{p}_conv1", mid, kernel=1, input=blk.input)
                _conv_bn_relu(b, f"{p}_conv2", b.channels_of(f"{p}_conv1_act"),
                              stride=s if j == 0 else 1)
                b.conv2d(f"{p}_conv3_conv", out_channels=out_channels, kernel=1, bias=False)
                out = b.batchnorm2d(f"{p}_conv3_bn")
                b.op("add", f"{p}_add", input=[out, shortcut])
                b.op("relu", f"{p}_act")

    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)

    n_blocks = [base + max(DEPTHS) for base in BASE_DEPTHS]
    for label, d, e, w, r in (("max", 2, max(EXPANDS), 2, max(res.choices)),
                              ("min", 0, min(EXPANDS), 0, min(res.choices))):
        arch = {"d": [d] * 5, "e": [e] * sum(n_blocks), "w": [w] * 6, "r": r}
        b.name_candidate(label, _arch_indices(b, arch))
    return b.build()


def _arch_indices(b: SpaceBuilder, arch: dict) -> list[int]:
    from nascost.spaces.ofa_codec import resnet_values

    genes = b.to_spec()["genes"]
    values = resnet_values(genes, arch)
    return [g["choices"].index(values[g["name"]]) for g in genes]


SPACES = {NAME: build}
