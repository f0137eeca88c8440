"""``nasvit-style``: a hybrid conv-transformer search space shaped like NASViT (Gong et al.,
ICLR 2022): MBConv stages at high resolution, transformer stages at 1/16 and 1/32, with
width, depth and MLP-ratio genes. NASViT's extras (talking heads, V-FFN) are left out: this
is the pattern, not NASViT's exact network.

- ``resolution``: 192, 224 or 256;
- stem: 3x3 stride-2 conv to 16 channels (no bias), BatchNorm, SiLU;
- MBConv stages 1-3 (24, 40, 64 channels, each first block stride 2): ``sN_depth`` 1-3 and per
  block ``sN_bJ_kernel`` (3, 5) and ``sN_bJ_expand`` (4, 6); a block is 1x1 expand conv + BN +
  SiLU, depthwise kxk + BN + SiLU, 1x1 project + BN, plus its input when stride 1;
- transformer stage 4 (1/16): 1x1 conv (no bias) + BN to ``t4_width`` (96, 128, 160) and
  stage 5 (1/32): 3x3 stride-2 conv + BN to ``t5_width`` (192, 224, 256); flattened to tokens;
  ``tN_depth`` pre-norm blocks (t4: 1-3, t5: 2-4) with 32 features per head and per block
  ``tN_bJ_mlp_ratio`` (2, 3, 4);
- head: LayerNorm, the mean over the tokens, a 1000-class Linear.
"""

from __future__ import annotations

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.transformer_blocks import NUM_CLASSES, encoder_block

NAME = "nasvit-style"
RESOLUTIONS = (192, 224, 256)
STEM = 16
CNN_STAGES = (24, 40, 64)
CNN_DEPTHS = (1, 2, 3)
KERNELS = (3, 5)
EXPANDS = (4, 6)
HEAD_DIM = 32
# (widths, depths, downsample) of the transformer stages
T_STAGES = (((96, 128, 160), (1, 2, 3), False), ((192, 224, 256), (2, 3, 4), True))
MLP_RATIOS = (2, 3, 4)


def _mbconv(b: SpaceBuilder, p: str, cout: int, k, e, stride: int, when) -> None:
    with b.block(p, when=when) as blk:
        b.conv2d(f"{p}_expand", out_channels=b.channels_of(blk.input, times=e), kernel=1,
                 bias=False, input=blk.input)
        b.batchnorm2d(f"{p}_expand_bn")
        hid = b.op("silu", f"{p}_expand_act")
        b.conv2d(f"{p}_dw", out_channels=b.channels_of(hid), kernel=k, stride=stride,
                 padding=k.map(lambda v: v // 2), groups=b.channels_of(hid), bias=False)
        b.batchnorm2d(f"{p}_dw_bn")
        b.op("silu", f"{p}_dw_act")
        b.conv2d(f"{p}_project", out_channels=cout, kernel=1, bias=False)
        out = b.batchnorm2d(f"{p}_project_bn")
        if stride == 1:
            b.op("add", f"{p}_add", input=[blk.input, out])


def build() -> Space:
    b = SpaceBuilder(NAME, description=(
        "NASViT-style hybrid (ImageNet, 1000 classes): resolution, three MBConv stages "
        "(depth, kernel, expand), two transformer stages (width, depth, per-block MLP ratio)"))
    res = b.gene("resolution", RESOLUTIONS, doc="input height and width")
    cnn = []
    for i in range(1, len(CNN_STAGES) + 1):
        depth = b.gene(f"s{i}_depth", CNN_DEPTHS, doc=f"MBConv blocks in stage {i}")
        blocks = [(b.gene(f"s{i}_b{j}_kernel", KERNELS, doc="depthwise kernel size"),
                   b.gene(f"s{i}_b{j}_expand", EXPANDS, doc="expand ratio"))
                  for j in range(max(CNN_DEPTHS))]
        cnn.append((depth, blocks))
    tst = []
    for i, (widths, depths, _) in enumerate(T_STAGES, start=4):
        width = b.gene(f"t{i}_width", widths, doc=f"token features of stage {i}")
        depth = b.gene(f"t{i}_depth", depths, doc=f"transformer blocks in stage {i}")
        ratios = [b.gene(f"t{i}_b{j}_mlp_ratio", MLP_RATIOS, doc="MLP ratio")
                  for j in range(max(depths))]
        tst.append((width, depth, ratios))

    b.input(channels=3, height=res, width=res)
    b.conv2d("stem_conv", out_channels=STEM, kernel=3, stride=2, padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    b.op("silu", "stem_act")
    for i, (cout, (depth, blocks)) in enumerate(zip(CNN_STAGES, cnn, strict=True), start=1):
        for j, (k, e) in enumerate(blocks):
            when = None if j < min(CNN_DEPTHS) else depth >= j + 1
            _mbconv(b, f"s{i}_b{j}", cout, k, e, 2 if j == 0 else 1, when)
    for i, ((width, depth, ratios), (_, depths, down)) in enumerate(
            zip(tst, T_STAGES, strict=True), start=4):
        if down:
            b.conv2d(f"t{i}_entry", out_channels=width, kernel=3, stride=2, padding=1,
                     bias=False)
        else:
            b.conv2d(f"t{i}_entry", out_channels=width, kernel=1, bias=False)
        b.batchnorm2d(f"t{i}_entry_bn")
        b.op("to_tokens", f"t{i}_tokens")
        for j, ratio in enumerate(ratios):
            x = b.last
            when = None if j < min(depths) else depth >= j + 1
            encoder_block(b, f"t{i}_b{j}", heads=width.map(lambda w: w // HEAD_DIM),
                          head_dim=HEAD_DIM, mlp_hidden=b.channels_of(x, times=ratio),
                          when=when)
        if not down:
            b.layer("to_map", f"t{i}_map")
    b.layer("layernorm", "norm")
    b.layer("mean", "gp")
    b.linear("head", out_features=NUM_CLASSES)
    return b.build()


SPACES = {NAME: build}
