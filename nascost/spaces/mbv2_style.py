"""``mbv2-style``: a MobileNetV2-style chain space for ImageNet (1000 classes).

The skeleton is torchvision's MobileNetV2 (torchvision/models/mobilenetv2.py): a 3x3 stride-2
stem, a fixed inverted residual with expand ratio 1, then six stages of inverted residuals
(channels 24, 32, 64, 96, 160, 320; strides 2, 2, 2, 1, 2, 1), a 1x1 conv to 1280 channels,
global average pooling and a linear classifier. The search space adds:

- ``resolution``: the input size, 128, 160, 192 or 224;
- ``width``: a width multiplier 0.75, 1.0 or 1.3 applied to every layer's channels the way
  torchvision does (``_make_divisible(c * width, 8)``, computed here in Python into per-choice
  value tables; the last conv has ``_make_divisible(1280 * max(1, width), 8)`` channels);
- ``sN_depth`` for the first five stages: 2, 3 or 4 blocks (the last stage has one block);
- ``sN_bJ_kernel`` (3, 5, 7) and ``sN_bJ_expand`` (3, 4, 6) for every block.

An inverted residual is 1x1 expand conv (block input channels times the expand ratio, no
bias) + BN + ReLU6, depthwise kxk conv (padding k // 2, groups = its channels) + BN + ReLU6,
1x1 project conv (no bias) + BN, plus the block input when the stride is 1 and the channels
match (every block but the first of a stage). Blocks past a stage's depth are skipped.

The named candidate ``mobilenet_v2`` (width 1.0, 224, depths 2-3-4-3-3, kernel 3, expand 6)
is torchvision's ``mobilenet_v2()``.
"""

from __future__ import annotations

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space
from nascost.spaces._common import make_divisible

NAME = "mbv2-style"
RESOLUTIONS = (128, 160, 192, 224)
WIDTHS = (0.75, 1.0, 1.3)
KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
NUM_CLASSES = 1000
STEM_CHANNELS = 32
FIRST_BLOCK_CHANNELS = 16  # the fixed expand-1 block
LAST_CHANNELS = 1280
# (channels, stride, depth choices or None for a fixed single block)
STAGES = (
    (24, 2, DEPTHS),
    (32, 2, DEPTHS),
    (64, 2, DEPTHS),
    (96, 1, DEPTHS),
    (160, 2, DEPTHS),
    (320, 1, None),
)


def _channels(width: Gene, c: int) -> dict:
    """c scaled by the width gene, torchvision-style, as a per-choice value table."""
    return width.map(lambda w: make_divisible(c * w, 8))


def _check_no_accidental_residual() -> None:
    # torchvision adds the residual when the stride is 1 and the channels match. The first
    # block of a stride-1 stage changes the channel count for every width (the first block of
    # a stride-2 stage may not: 0.75 maps both 24 and 32 to 24), so only the later blocks of a
    # stage have the add, whatever the genes.
    for w in WIDTHS:
        chans = [STEM_CHANNELS, FIRST_BLOCK_CHANNELS] + [c for c, _, _ in STAGES]
        strides = [1] + [s for _, s, _ in STAGES]
        scaled = [make_divisible(c * w, 8) for c in chans]
        for k, s in enumerate(strides):
            assert s != 1 or scaled[k] != scaled[k + 1], (w, scaled)


def build() -> Space:
    _check_no_accidental_residual()
    b = SpaceBuilder(NAME, description=(
        "MobileNetV2-style chain space (ImageNet, 1000 classes): resolution, width multiplier, "
        "per-stage depth, per-block kernel size and expand ratio"))
    res = b.gene("resolution", RESOLUTIONS, doc="input height and width")
    width = b.gene("width", WIDTHS, doc="channel multiplier, torchvision _make_divisible(c*w, 8)")
    stage_genes: list[tuple[Gene | None, list[tuple[Gene, Gene]]]] = []
    for i, (_, _, depths) in enumerate(STAGES, start=1):
        depth = b.gene(f"s{i}_depth", depths, doc=f"blocks in stage {i}") if depths else None
        n_blocks = max(depths) if depths else 1
        blocks = []
        for j in range(n_blocks):
            k = b.gene(f"s{i}_b{j}_kernel", KERNELS, doc="depthwise kernel size")
            e = b.gene(f"s{i}_b{j}_expand", EXPANDS, doc="expand ratio")
            blocks.append((k, e))
        stage_genes.append((depth, blocks))

    b.input(channels=3, height=res, width=res)

    # stem: conv3x3 s2 + BN + ReLU6
    b.conv2d("stem_conv", out_channels=_channels(width, STEM_CHANNELS), kernel=3, stride=2,
             padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    stem = b.op("relu6", "stem_act")

    # the fixed first block: expand 1, so depthwise 3x3 + project, no residual
    with b.block("s0_b0"):
        b.conv2d("s0_b0_dw_conv", out_channels=b.channels_of(stem), kernel=3, stride=1,
                 padding=1, groups=b.channels_of(stem), bias=False)
        b.batchnorm2d("s0_b0_dw_bn")
        b.op("relu6", "s0_b0_dw_act")
        b.conv2d("s0_b0_project_conv", out_channels=_channels(width, FIRST_BLOCK_CHANNELS),
                 kernel=1, bias=False)
        b.batchnorm2d("s0_b0_project_bn")

    stages = zip(STAGES, stage_genes, strict=True)
    for i, ((c, s, _), (depth, blocks)) in enumerate(stages, start=1):
        for j, (k, e) in enumerate(blocks):
            p = f"s{i}_b{j}"
            # blocks up to the smallest depth are always there; a later one needs depth > j
            when = None if depth is None or j < min(DEPTHS) else depth >= j + 1
            with b.block(p, when=when) as blk:
                b.conv2d(f"{p}_expand_conv", out_channels=b.channels_of(blk.input, times=e),
                         kernel=1, bias=False)
                b.batchnorm2d(f"{p}_expand_bn")
                hidden = b.op("relu6", f"{p}_expand_act")
                b.conv2d(f"{p}_dw_conv", out_channels=b.channels_of(hidden), kernel=k,
                         stride=s if j == 0 else 1, padding=k.map(lambda v: v // 2),
                         groups=b.channels_of(hidden), bias=False)
                b.batchnorm2d(f"{p}_dw_bn")
                b.op("relu6", f"{p}_dw_act")
                b.conv2d(f"{p}_project_conv", out_channels=_channels(width, c), kernel=1,
                         bias=False)
                out = b.batchnorm2d(f"{p}_project_bn")
                if j > 0:  # stride 1 and the same channels as the block input
                    b.op("add", f"{p}_add", input=[blk.input, out])

    # head: conv1x1 to 1280 (scaled up only), BN, ReLU6, pool, classifier (dropout is free)
    b.conv2d("head_conv", out_channels=width.map(
        lambda w: make_divisible(LAST_CHANNELS * max(1.0, w), 8)), kernel=1, bias=False)
    b.batchnorm2d("head_bn")
    b.op("relu6", "head_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)

    b.name_candidate("mobilenet_v2", _mobilenet_v2_genes(b))
    return b.build()


def _mobilenet_v2_genes(b: SpaceBuilder) -> list[int]:
    """torchvision's MobileNetV2 (width 1.0, 224 px, depths 2,3,4,3,3,1, kernel 3, expand 6)."""
    values = {"resolution": 224, "width": 1.0}
    for i, d in enumerate((2, 3, 4, 3, 3), start=1):
        values[f"s{i}_depth"] = d
    out = []
    for g in b.to_spec()["genes"]:
        name, choices = g["name"], g["choices"]
        if name.endswith("_kernel"):
            v = 3
        elif name.endswith("_expand"):
            v = 6
        else:
            v = values[name]
        out.append(choices.index(v))
    return out


SPACES = {"mbv2-style": build}
