"""torchvision's Swin Transformer V1 (swin_t, swin_s, swin_b) as one-candidate spaces.

torchvision/models/swin_transformer.py: a 4x4 stride-4 conv (bias) to the embed dim, as
channels-last tokens on the 56 x 56 grid, LayerNorm; four stages of SwinTransformerBlocks
(LayerNorm, shifted window attention with window 7, qkv and proj bias and a relative position
bias table, residual; LayerNorm, MLP dim -> 4 dim -> dim with GELU, residual; odd blocks
shift by 3), each stage but the last followed by PatchMerging (2x2 neighbours concatenated,
LayerNorm(4 dim), Linear(4 dim, 2 dim, no bias)); a final LayerNorm, average pooling over the
grid, a 1000-class Linear. 224 x 224 inputs; stochastic depth costs nothing.
"""

from __future__ import annotations

from functools import partial

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.transformer_blocks import NUM_CLASSES

WINDOW = 7
# torchvision swin_*: (embed_dim, depths, num_heads)
MODELS = {
    "swin_t": (96, (2, 2, 6, 2), (3, 6, 12, 24)),
    "swin_s": (96, (2, 2, 18, 2), (3, 6, 12, 24)),
    "swin_b": (128, (2, 2, 18, 2), (4, 8, 16, 32)),
}


def _swin_block(b: SpaceBuilder, p: str, dim: int, heads: int, shift: int) -> None:
    with b.block(p) as blk:
        b.layer("layernorm", f"{p}_norm1", input=blk.input)
        attn = b.layer("window_attention", f"{p}_attn", heads=heads, window=WINDOW,
                       shift=shift, qkv_bias=True, proj_bias=True, rel_pos_bias=True)
        x = b.op("add", f"{p}_add1", input=[blk.input, attn])
        b.layer("layernorm", f"{p}_norm2")
        b.linear(f"{p}_fc1", out_features=4 * dim)
        b.op("gelu", f"{p}_gelu")
        y = b.linear(f"{p}_fc2", out_features=dim)
        b.op("add", f"{p}_add2", input=[x, y])


def build(name: str) -> Space:
    embed, depths, heads = MODELS[name]
    b = SpaceBuilder(name, description=(
        f"torchvision {name}: Swin Transformer V1, embed dim {embed}, depths {list(depths)}, "
        f"heads {list(heads)}, window {WINDOW} (224x224, 1000 classes)"))
    b.input(channels=3, height=224, width=224)
    b.conv2d("patch_embed", out_channels=embed, kernel=4, stride=4, bias=True)
    b.op("to_tokens", "tokens")
    b.layer("layernorm", "patch_norm")
    for i, (depth, nh) in enumerate(zip(depths, heads, strict=True)):
        dim = embed * 2 ** i
        for j in range(depth):
            _swin_block(b, f"s{i}_b{j}", dim, nh, 0 if j % 2 == 0 else WINDOW // 2)
        if i + 1 < len(depths):
            b.op("patch_merge", f"s{i}_merge")
            b.layer("layernorm", f"s{i}_merge_norm")
            b.linear(f"s{i}_merge_reduction", out_features=2 * dim, bias=False)
    b.layer("layernorm", "norm")
    b.layer("to_map", "to_map")
    b.op("global_avgpool", "avgpool")
    b.op("flatten", "flatten")
    b.linear("head", out_features=NUM_CLASSES)
    return b.build()


SPACES = {name: partial(build, name) for name in MODELS}
