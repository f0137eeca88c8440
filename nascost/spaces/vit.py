"""Plain Vision Transformers as one-candidate spaces: torchvision's ViTs and DeiT.

torchvision/models/vision_transformer.py: a patch x patch conv (bias) to the hidden size,
flattened to tokens, a class token, a learned positional embedding, ``layers`` pre-norm
encoder blocks (nn.MultiheadAttention with bias, MLP hidden -> mlp_dim -> hidden with GELU),
a final LayerNorm, the class token, a 1000-class Linear. 224 x 224 inputs.

| name | patch | layers | heads | hidden | MLP |
|---|---:|---:|---:|---:|---:|
| vit_b_16 | 16 | 12 | 12 | 768 | 3072 |
| vit_b_32 | 32 | 12 | 12 | 768 | 3072 |
| vit_l_16 | 16 | 24 | 16 | 1024 | 4096 |
| deit_tiny | 16 | 12 | 3 | 192 | 768 |
| deit_small | 16 | 12 | 6 | 384 | 1536 |
| deit_base | 16 | 12 | 12 | 768 | 3072 |

DeiT (facebookresearch/deit models.py, ``deit_*_patch16_224``) is timm's VisionTransformer
with the same layers (its distilled variants add a second token: not included).
"""

from __future__ import annotations

from functools import partial

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.transformer_blocks import NUM_CLASSES, encoder_block, patch_embed

# name: (patch, layers, heads, hidden, mlp_dim, source)
MODELS = {
    "vit_b_16": (16, 12, 12, 768, 3072, "torchvision vit_b_16"),
    "vit_b_32": (32, 12, 12, 768, 3072, "torchvision vit_b_32"),
    "vit_l_16": (16, 24, 16, 1024, 4096, "torchvision vit_l_16"),
    "deit_tiny": (16, 12, 3, 192, 768, "DeiT-Ti (deit_tiny_patch16_224)"),
    "deit_small": (16, 12, 6, 384, 1536, "DeiT-S (deit_small_patch16_224)"),
    "deit_base": (16, 12, 12, 768, 3072, "DeiT-B (deit_base_patch16_224)"),
}


def build(name: str) -> Space:
    patch, layers, heads, hidden, mlp, source = MODELS[name]
    b = SpaceBuilder(name, description=(
        f"{source}: ViT with patch {patch}, {layers} layers, {heads} heads, hidden {hidden}, "
        f"MLP {mlp}, class-token head (224x224, 1000 classes)"))
    b.input(channels=3, height=224, width=224)
    patch_embed(b, hidden, patch)
    for i in range(layers):
        encoder_block(b, f"l{i}", heads=heads, mlp_hidden=mlp)
    b.layer("layernorm", "norm")
    b.layer("token_select", "cls", index=0)
    b.linear("head", out_features=NUM_CLASSES)
    return b.build()


SPACES = {name: partial(build, name) for name in MODELS}
