"""torchvision's ConvNeXt (tiny, small, base) as one-candidate spaces.

torchvision/models/convnext.py: a 4x4 stride-4 conv stem (bias) + LayerNorm2d; four stages of
CNBlocks (depthwise 7x7 conv with bias, LayerNorm over channels, Linear C -> 4C, GELU,
Linear 4C -> C, times a learned per-channel layer scale, plus the input), each stage but the
last followed by LayerNorm2d + a 2x2 stride-2 conv; global average pooling, LayerNorm2d,
flatten, a 1000-class Linear. 224 x 224 inputs; stochastic depth costs nothing.

The block's permute to channels-last is written as ``to_tokens`` / ``to_map`` (views): the
Linear layers then run on the H x W tokens exactly as torchvision's run on (N, H, W, C).
"""

from __future__ import annotations

from functools import partial

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.transformer_blocks import NUM_CLASSES

# torchvision convnext_* block_setting: (channels, depth) per stage
MODELS = {
    "convnext_tiny": ((96, 3), (192, 3), (384, 9), (768, 3)),
    "convnext_small": ((96, 3), (192, 3), (384, 27), (768, 3)),
    "convnext_base": ((128, 3), (256, 3), (512, 27), (1024, 3)),
}


def _cn_block(b: SpaceBuilder, p: str, channels: int) -> None:
    with b.block(p) as blk:
        b.conv2d(f"{p}_dwconv", out_channels=channels, kernel=7, padding=3, groups=channels,
                 bias=True, input=blk.input)
        b.op("to_tokens", f"{p}_to_tokens")
        b.layer("layernorm", f"{p}_norm")
        b.linear(f"{p}_pwconv1", out_features=4 * channels)
        b.op("gelu", f"{p}_gelu")
        b.linear(f"{p}_pwconv2", out_features=channels)
        y = b.layer("to_map", f"{p}_to_map")
        gamma = b.layer("param", f"{p}_layer_scale", input=y, shape="channels")
        z = b.op("mul", f"{p}_scale", input=[gamma, y])
        b.op("add", f"{p}_add", input=[blk.input, z])


def build(name: str) -> Space:
    stages = MODELS[name]
    b = SpaceBuilder(name, description=(
        f"torchvision {name}: ConvNeXt with stage channels {[c for c, _ in stages]} and depths "
        f"{[d for _, d in stages]} (224x224, 1000 classes)"))
    b.input(channels=3, height=224, width=224)
    b.conv2d("stem_conv", out_channels=stages[0][0], kernel=4, stride=4, bias=True)
    b.layer("layernorm", "stem_norm")
    for i, (c, depth) in enumerate(stages):
        for j in range(depth):
            _cn_block(b, f"s{i}_b{j}", c)
        if i + 1 < len(stages):
            b.layer("layernorm", f"s{i}_down_norm")
            b.conv2d(f"s{i}_down_conv", out_channels=stages[i + 1][0], kernel=2, stride=2,
                     bias=True)
    b.op("global_avgpool", "avgpool")
    b.layer("layernorm", "head_norm")
    b.op("flatten", "flatten")
    b.linear("head", out_features=NUM_CLASSES)
    return b.build()


SPACES = {name: partial(build, name) for name in MODELS}
