"""``resnet-style``: a ResNet-style macro space for ImageNet (1000 classes).

The skeleton is torchvision's ResNet (torchvision/models/resnet.py): a 7x7 stride-2 conv to 64
channels + BN + ReLU, a 3x3 stride-2 max pool, four stages (base widths 64, 128, 256, 512;
strides 1, 2, 2, 2), global average pooling and a linear classifier. Every conv has no bias
and is followed by BN. Per stage N the space chooses:

- ``sN_depth``: the number of blocks (stage 1: 1-3, stage 2: 1-4, stage 3: 2-6, stage 4: 1-3);
- ``sN_width``: the stage's planes as base x 0.5, 0.75 or 1.0;
- ``sN_block``: ``basic`` (two 3x3 convs, output = planes) or ``bottleneck`` (1x1, 3x3 with the
  stride, 1x1 to 4 x planes), a ``choice`` between the two sub-paths in every block;

and ``resolution`` is 160, 192 or 224. The shortcut of a block is the identity, except on the
first block of a stage when the stride is 2 or the channels change, where it is torchvision's
downsample (1x1 conv with the stride, no bias, + BN). ReLU follows the residual add.

Named candidates ``resnet18``, ``resnet34`` and ``resnet50`` (224 px, full width) are
torchvision's models of those names.
"""

from __future__ import annotations

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space

NAME = "resnet-style"
RESOLUTIONS = (160, 192, 224)
WIDTHS = (0.5, 0.75, 1.0)
BLOCK_TYPES = ("basic", "bottleneck")
BOTTLENECK_EXPANSION = 4
STEM_CHANNELS = 64
NUM_CLASSES = 1000
# (base planes, stride, depth choices)
STAGES = (
    (64, 1, (1, 2, 3)),
    (128, 2, (1, 2, 3, 4)),
    (256, 2, (2, 3, 4, 5, 6)),
    (512, 2, (1, 2, 3)),
)
NAMED = {
    # name: (block type, depths); width 1.0 and 224 px
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}


def _planes(width: Gene, base: int, mult: int = 1) -> dict:
    return width.map(lambda w: int(base * w) * mult)


def _downsample(b: SpaceBuilder, p: str, src: str, out: dict, stride: int) -> str:
    b.conv2d(f"{p}_conv", out_channels=out, kernel=1, stride=stride, bias=False, input=src)
    return b.batchnorm2d(f"{p}_bn")


def build() -> Space:
    b = SpaceBuilder(NAME, description=(
        "ResNet-style macro space (ImageNet, 1000 classes): resolution, and per stage the "
        "depth, width and block type (basic or bottleneck)"))
    res = b.gene("resolution", RESOLUTIONS, doc="input height and width")
    genes = []
    for i, (base, _, depths) in enumerate(STAGES, start=1):
        depth = b.gene(f"s{i}_depth", depths, doc=f"blocks in stage {i}")
        width = b.gene(f"s{i}_width", WIDTHS, doc=f"planes of stage {i} = {base} x width")
        btype = b.gene(f"s{i}_block", BLOCK_TYPES, doc=f"block type of stage {i}")
        genes.append((depth, width, btype))

    b.input(channels=3, height=res, width=res)
    b.conv2d("stem_conv", out_channels=STEM_CHANNELS, kernel=7, stride=2, padding=3, bias=False)
    b.batchnorm2d("stem_bn")
    b.op("relu", "stem_act")
    b.maxpool2d("stem_pool", kernel=3, stride=2, padding=1)

    for i, ((base, stride, depths), (depth, width, btype)) in enumerate(
            zip(STAGES, genes, strict=True), start=1):
        planes = _planes(width, base)
        for j in range(max(depths)):
            p = f"s{i}_b{j}"
            s = stride if j == 0 else 1
            when = None if j < min(depths) else depth >= j + 1
            with b.block(p, when=when) as blk:
                src = blk.input
                with b.choice(f"{p}_body", gene=btype) as c:
                    with c.option():  # basic
                        b.conv2d(f"{p}_basic_conv1", out_channels=planes, kernel=3, stride=s,
                                 padding=1, bias=False)
                        b.batchnorm2d(f"{p}_basic_bn1")
                        b.op("relu", f"{p}_basic_act1")
                        b.conv2d(f"{p}_basic_conv2", out_channels=planes, kernel=3, padding=1,
                                 bias=False)
                        main = b.batchnorm2d(f"{p}_basic_bn2")
                        short = src
                        if j == 0 and s != 1:
                            short = _downsample(b, f"{p}_basic_down", src, planes, s)
                        elif j == 0:
                            # stage 1: 64 stem channels in; a projection unless planes == 64
                            with b.choice(f"{p}_basic_short", gene=width, input=src) as sc:
                                for k, w in enumerate(WIDTHS):
                                    with sc.option():
                                        if int(base * w) == STEM_CHANNELS:
                                            b.op("identity", f"{p}_basic_short{k}")
                                        else:
                                            _downsample(b, f"{p}_basic_down{k}", src,
                                                        int(base * w), s)
                            short = f"{p}_basic_short"
                        b.op("add", f"{p}_basic_add", input=[main, short])
                        b.op("relu", f"{p}_basic_out")
                    with c.option():  # bottleneck
                        b.conv2d(f"{p}_bottle_conv1", out_channels=planes, kernel=1,
                                 bias=False, input=src)
                        b.batchnorm2d(f"{p}_bottle_bn1")
                        b.op("relu", f"{p}_bottle_act1")
                        b.conv2d(f"{p}_bottle_conv2", out_channels=planes, kernel=3, stride=s,
                                 padding=1, bias=False)
                        b.batchnorm2d(f"{p}_bottle_bn2")
                        b.op("relu", f"{p}_bottle_act2")
                        b.conv2d(f"{p}_bottle_conv3",
                                 out_channels=_planes(width, base, BOTTLENECK_EXPANSION),
                                 kernel=1, bias=False)
                        main = b.batchnorm2d(f"{p}_bottle_bn3")
                        short = src
                        if j == 0:  # stride 2, or 64 -> 4 x planes channels
                            short = _downsample(b, f"{p}_bottle_down", src,
                                                _planes(width, base, BOTTLENECK_EXPANSION), s)
                        b.op("add", f"{p}_bottle_add", input=[main, short])
                        b.op("relu", f"{p}_bottle_out")

    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("fc", out_features=NUM_CLASSES)

    spec_genes = b.to_spec()["genes"]
    for name, (kind, depths) in NAMED.items():
        values = {"resolution": 224}
        for i, d in enumerate(depths, start=1):
            values.update({f"s{i}_depth": d, f"s{i}_width": 1.0, f"s{i}_block": kind})
        b.name_candidate(name, [g["choices"].index(values[g["name"]]) for g in spec_genes])
    return b.build()


SPACES = {"resnet-style": build}
