"""Independent torch models of the plain-ViT family, for the tests in this folder.

Written from the published definitions, not from the nascost specs:
- torchvision/models/vision_transformer.py (VisionTransformer, Encoder, EncoderBlock, MLPBlock:
  nn.MultiheadAttention, LayerNorm eps 1e-6, class token, learned positional embedding);
- DeiT (facebookresearch/deit models.py on timm's VisionTransformer: patch_embed conv,
  cls_token, pos_embed, blocks of norm1 / Attention(qkv Linear with bias, proj) / norm2 /
  Mlp(fc1, GELU, fc2), final norm, head), attention as q @ k^T and attn @ v;
- AutoFormer (microsoft/Cream AutoFormer/model/supernet_transformer.py and module/*.py): the
  subnet a config selects from the supernet, as the sampled slices it runs: patch conv to D,
  cls token and absolute positional embedding, per layer LayerNorm, qkv Linear D -> 3 * 64 * heads
  with bias (``change_qkv``: 64 features per head), optional 2-D relative position embeddings for
  k and v (tables (2 * 14 + 2) x 64, one vertical and one horizontal each, added with two more
  matmuls), proj 64 * heads -> D, LayerNorm, fc1 D -> int(D * ratio), GELU, fc2; final LayerNorm,
  mean over the patch tokens (``gp``), head D -> 1000.
Only the layers matter: no initialisation, no training code.
"""

from __future__ import annotations

import torch
from torch import nn


# --- torchvision VisionTransformer ----------------------------------------------------------
class MLPBlock(nn.Sequential):
    def __init__(self, dim: int, mlp_dim: int):
        super().__init__(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(0.0),
                         nn.Linear(mlp_dim, dim), nn.Dropout(0.0))


class EncoderBlock(nn.Module):
    def __init__(self, heads: int, hidden: int, mlp_dim: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden, heads, dropout=0.0, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(hidden, eps=1e-6)
        self.mlp = MLPBlock(hidden, mlp_dim)

    def forward(self, inp):
        x = self.ln_1(inp)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + inp
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    """torchvision's VisionTransformer (no representation layer, 1000 classes)."""

    def __init__(self, image: int, patch: int, layers: int, heads: int, hidden: int, mlp_dim: int,
                 num_classes: int = 1000):
        super().__init__()
        self.patch, self.hidden = patch, hidden
        self.conv_proj = nn.Conv2d(3, hidden, kernel_size=patch, stride=patch)
        seq = (image // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.pos_embedding = nn.Parameter(torch.empty(1, seq, hidden))
        self.layers = nn.Sequential(*[EncoderBlock(heads, hidden, mlp_dim) for _ in range(layers)])
        self.ln = nn.LayerNorm(hidden, eps=1e-6)
        self.heads = nn.Sequential(nn.Linear(hidden, num_classes))

    def forward(self, x):
        n = x.shape[0]
        x = self.conv_proj(x)  # n, hidden, h/p, w/p
        x = x.reshape(n, self.hidden, -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.ln(self.layers(x + self.pos_embedding))
        return self.heads(x[:, 0])


# torchvision/models/vision_transformer.py: vit_b_16, vit_b_32, vit_l_16 (patch, layers,
# heads, hidden, mlp_dim)
VIT_CONFIGS = {"vit_b_16": (16, 12, 12, 768, 3072), "vit_b_32": (32, 12, 12, 768, 3072),
               "vit_l_16": (16, 24, 16, 1024, 4096)}


def vit(name: str, image: int = 224) -> VisionTransformer:
    return VisionTransformer(image, *VIT_CONFIGS[name])


# --- DeiT (timm VisionTransformer) ----------------------------------------------------------
class Attention(nn.Module):
    """timm's Attention with explicit matmuls: qkv Linear, q @ k^T, softmax, attn @ v, proj."""

    def __init__(self, dim: int, heads: int, head_dim: int | None = None, qkv_bias: bool = True):
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim or dim // heads
        inner = self.heads * self.head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias)
        self.proj = nn.Linear(inner, dim)

    def forward(self, x):
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.head_dim ** -0.5) @ k.transpose(-2, -1)
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, -1))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DeiT(nn.Module):
    """DeiT: timm's VisionTransformer, patch 16, MLP ratio 4, class-token head."""

    def __init__(self, dim: int, depth: int, heads: int, image: int = 224, patch: int = 16,
                 num_classes: int = 1000):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, 4 * dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


# facebookresearch/deit models.py: deit_tiny/small/base_patch16_224 (embed_dim, depth, heads)
DEIT_CONFIGS = {"deit_tiny": (192, 12, 3), "deit_small": (384, 12, 6), "deit_base": (768, 12, 12)}


def deit(name: str) -> DeiT:
    return DeiT(*DEIT_CONFIGS[name])


# --- AutoFormer subnets -------------------------------------------------------------------------
MAX_REL = 14  # supernet_train.py --max_relative_position default


class RelativePosition2D(nn.Module):
    """AutoFormer's RelativePosition2D_super at its sampled head dim: embeddings (N, N, dh)."""

    def __init__(self, head_dim: int, max_rel: int = MAX_REL):
        super().__init__()
        self.max_rel = max_rel
        self.table_v = nn.Parameter(torch.zeros(2 * max_rel + 2, head_dim))
        self.table_h = nn.Parameter(torch.zeros(2 * max_rel + 2, head_dim))

    def forward(self, n: int):
        side = int((n - 1) ** 0.5)
        r = torch.arange(n - 1)
        dv = (r[None, :] // side - r[:, None] // side).clamp(-self.max_rel, self.max_rel)
        dh = (r[None, :] % side - r[:, None] % side).clamp(-self.max_rel, self.max_rel)
        # index 0 is the class token's row and column
        iv = nn.functional.pad(dv + self.max_rel + 1, (1, 0, 1, 0)).to(self.table_v.device)
        ih = nn.functional.pad(dh + self.max_rel + 1, (1, 0, 1, 0)).to(self.table_h.device)
        return self.table_v[iv] + self.table_h[ih]


class AutoFormerAttention(nn.Module):
    """AttentionSuper with change_qkv (64 features per head) and optional relative position."""

    def __init__(self, dim: int, heads: int, relative: bool):
        super().__init__()
        self.heads, self.head_dim = heads, 64
        self.qkv = nn.Linear(dim, 3 * 64 * heads, bias=True)
        self.relative = relative
        if relative:
            self.rel_k, self.rel_v = RelativePosition2D(64), RelativePosition2D(64)
        self.proj = nn.Linear(64 * heads, dim)

    def forward(self, x):
        b, n, _ = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(b, n, 3, h, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scale = self.head_dim ** -0.5
        attn = (q @ k.transpose(-2, -1)) * scale
        if self.relative:
            qr = q.permute(2, 0, 1, 3).reshape(n, h * b, -1)  # n, b*h, dh
            rel = (qr @ self.rel_k(n).transpose(2, 1)).transpose(1, 0).reshape(b, h, n, n)
            attn = attn + rel * scale
        attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, -1)
        if self.relative:
            a1 = attn.permute(2, 0, 1, 3).reshape(n, b * h, -1)  # n, b*h, n
            rv = (a1 @ self.rel_v(n)).transpose(1, 0).reshape(b, h, n, -1)
            out = out + rv.transpose(2, 1).reshape(b, n, -1)
        return self.proj(out)


class AutoFormerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, relative: bool):
        super().__init__()
        self.attn_layer_norm = nn.LayerNorm(dim)
        self.attn = AutoFormerAttention(dim, heads, relative)
        self.ffn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.fc2 = nn.Linear(int(dim * mlp_ratio), dim)

    def forward(self, x):
        x = x + self.attn(self.attn_layer_norm(x))
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ffn_layer_norm(x))))


class AutoFormer(nn.Module):
    """One AutoFormer subnet: embed dim D, per-layer heads and MLP ratios (len = depth)."""

    def __init__(self, dim: int, heads: list[int], mlp_ratios: list[float], relative: bool = True,
                 image: int = 224, patch: int = 16, num_classes: int = 1000):
        super().__init__()
        assert len(heads) == len(mlp_ratios)
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[AutoFormerLayer(dim, h, r, relative)
                                      for h, r in zip(heads, mlp_ratios, strict=True)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 1:].mean(dim=1))  # gp: mean over the patch tokens


# microsoft/Cream AutoFormer/experiments/supernet/supernet-{T,S,B}.yaml: SEARCH_SPACE
AUTOFORMER_SPACES = {
    "autoformer-tiny": {"mlp_ratio": [3.5, 4.0], "num_heads": [3, 4], "depth": [12, 13, 14],
                        "embed_dim": [192, 216, 240]},
    "autoformer-small": {"mlp_ratio": [3.0, 3.5, 4.0], "num_heads": [5, 6, 7],
                         "depth": [12, 13, 14], "embed_dim": [320, 384, 448]},
    "autoformer-base": {"mlp_ratio": [3.0, 3.5, 4.0], "num_heads": [9, 10], "depth": [14, 15, 16],
                        "embed_dim": [528, 576, 624]},
}

# microsoft/Cream AutoFormer/experiments/subnet/AutoFormer-{T,S,B}.yaml: RETRAIN
AUTOFORMER_SUBNETS = {
    "AutoFormer-T": (192, [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3],
                     [3.5, 3.5, 3.0, 3.5, 3.0, 3.0, 4.0, 4.0, 3.5, 4.0, 3.5, 4.0, 3.5]),
    "AutoFormer-S": (384, [6, 6, 5, 7, 5, 5, 5, 6, 6, 7, 7, 6, 7],
                     [3.0, 3.5, 3.0, 3.5, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.5, 4.0]),
    "AutoFormer-B": (576, [9, 9, 9, 9, 9, 10, 9, 9, 10, 9, 10, 9, 9, 10],
                     [3.5, 3.5, 4.0, 3.5, 4.0, 3.5, 3.5, 3.0, 4.0, 4.0, 3.0, 4.0, 3.0, 3.5]),
}


def autoformer(name: str, relative: bool = True) -> AutoFormer:
    dim, heads, ratios = AUTOFORMER_SUBNETS[name]
    return AutoFormer(dim, heads, ratios, relative)
