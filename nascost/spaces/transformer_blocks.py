"""Layer patterns shared by the transformer spaces (vit.py, autoformer.py, nasvit_style.py).

A pre-norm encoder block is LayerNorm, multi-head attention, residual add, LayerNorm, Linear,
GELU, Linear, residual add: timm's ``Block`` and torchvision's ``EncoderBlock`` (whose
nn.MultiheadAttention has the same parameters and matmuls as the ``attention`` op). Dropout
and stochastic depth are the identity at inference and are left out.
"""

from __future__ import annotations

from typing import Any

from nascost.space.builder import SpaceBuilder

NUM_CLASSES = 1000


def encoder_block(b: SpaceBuilder, p: str, heads: Any, mlp_hidden: Any, head_dim: Any = 0,
                  when: dict | None = None) -> str:
    """One pre-norm block named ``p``; ``mlp_hidden`` is the fc1 width (a field value, for
    instance ``b.channels_of(x, times=ratio)``, which then reads the block input ``x``)."""
    with b.block(p, when=when) as blk:
        b.layer("layernorm", f"{p}_norm1", input=blk.input)
        attn = b.layer("attention", f"{p}_attn", heads=heads, head_dim=head_dim, qkv_bias=True)
        x = b.op("add", f"{p}_add1", input=[blk.input, attn])
        b.layer("layernorm", f"{p}_norm2")
        b.linear(f"{p}_fc1", out_features=mlp_hidden)
        b.op("gelu", f"{p}_gelu")
        y = b.linear(f"{p}_fc2", out_features=b.channels_of(blk.input))
        b.op("add", f"{p}_add2", input=[x, y])
    return p


def patch_embed(b: SpaceBuilder, dim: Any, patch: int) -> str:
    """ViT's stem: a patch x patch conv with bias to ``dim`` channels, flattened to tokens,
    a class token prepended and a learned positional embedding added."""
    b.conv2d("patch_embed", out_channels=dim, kernel=patch, stride=patch, bias=True)
    b.op("to_tokens", "tokens")
    x = b.layer("class_token", "cls_token", tokens=1)
    pos = b.layer("param", "pos_embed", input=x, shape="full")
    return b.op("add", "pos_add", input=[x, pos])
