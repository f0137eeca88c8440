"""Independent torch models of ConvNeXt and Swin Transformer (V1), for the tests in this folder.

Written from torchvision's published definitions, not from the nascost specs:
- torchvision/models/convnext.py: stem Conv2d(3, C0, 4, stride 4, bias) + LayerNorm2d; CNBlock =
  depthwise 7x7 conv (bias), permute, LayerNorm, Linear C -> 4C, GELU, Linear 4C -> C, permute,
  layer scale (C, 1, 1), stochastic depth, residual; downsampling LayerNorm2d + Conv2d(C, C', 2,
  stride 2); head avgpool, LayerNorm2d, flatten, Linear.
- torchvision/models/swin_transformer.py (V1): patch conv 4x4 stride 4, permute, LayerNorm;
  SwinTransformerBlock = norm1, ShiftedWindowAttention (qkv Linear with bias, relative position
  bias table ((2w - 1)^2, heads), pad to whole windows, cyclic shift, q @ k^T, attn @ v, proj),
  norm2, MLP(dim, 4 dim, dim); PatchMerging (pad to even, 2x2 neighbours concatenated,
  LayerNorm(4C), Linear(4C, 2C, no bias)); final LayerNorm, avgpool, head.
The shifted-window attention mask only adds constants to the logits (no parameters, no MACs):
it is left out here; the cyclic shift, padding and window partition are kept.
Only the layers matter: no initialisation, no training code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


# --- ConvNeXt ---------------------------------------------------------------------------------
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (torchvision convnext.LayerNorm2d)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float = 1e-6):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim, bias=True), Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(),
            nn.Linear(4 * dim, dim), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)

    def forward(self, x):
        return x + self.layer_scale * self.block(x)


class ConvNeXt(nn.Module):
    """torchvision's ConvNeXt with per-stage (channels, depth)."""

    def __init__(self, stages: list[tuple[int, int]], num_classes: int = 1000):
        super().__init__()
        c0 = stages[0][0]
        layers = [nn.Sequential(nn.Conv2d(3, c0, 4, stride=4, bias=True),
                                LayerNorm2d(c0, eps=1e-6))]
        for i, (c, depth) in enumerate(stages):
            layers.append(nn.Sequential(*[CNBlock(c) for _ in range(depth)]))
            if i + 1 < len(stages):
                layers.append(nn.Sequential(LayerNorm2d(c, eps=1e-6),
                                            nn.Conv2d(c, stages[i + 1][0], 2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = stages[-1][0]
        self.classifier = nn.Sequential(LayerNorm2d(last, eps=1e-6), nn.Flatten(1),
                                        nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


# torchvision/models/convnext.py: convnext_tiny/small/base block_setting (channels, depth)
CONVNEXT_CONFIGS = {
    "convnext_tiny": [(96, 3), (192, 3), (384, 9), (768, 3)],
    "convnext_small": [(96, 3), (192, 3), (384, 27), (768, 3)],
    "convnext_base": [(128, 3), (256, 3), (512, 27), (1024, 3)],
}


def convnext(name: str) -> ConvNeXt:
    return ConvNeXt(CONVNEXT_CONFIGS[name])


# --- Swin Transformer V1 -------------------------------------------------------------------------
class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim: int, window: int, shift: int, heads: int):
        super().__init__()
        self.window, self.shift, self.heads = window, shift, heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                            indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index",
                             (rel[:, :, 0] * (2 * window - 1) + rel[:, :, 1]).flatten(),
                             persistent=False)

    def forward(self, x):
        b, h, w, c = x.shape
        ws, heads = self.window, self.heads
        pad_r, pad_b = (ws - w % ws) % ws, (ws - h % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, ph, pw, _ = x.shape
        sh = 0 if ws >= ph else self.shift
        sw = 0 if ws >= pw else self.shift
        if sh + sw > 0:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        nw = (ph // ws) * (pw // ws)
        x = x.view(b, ph // ws, ws, pw // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        x = x.reshape(b * nw, ws * ws, c)
        qkv = self.qkv(x).reshape(x.size(0), x.size(1), 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
        bias = self.relative_position_bias_table[self.relative_position_index]
        attn = attn + bias.view(ws * ws, ws * ws, -1).permute(2, 0, 1).unsqueeze(0)
        x = F.softmax(attn, dim=-1).matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
        x = self.proj(x)
        x = x.view(b, ph // ws, pw // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        if sh + sw > 0:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        return x[:, :h, :w, :].contiguous()


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shift: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = ShiftedWindowAttention(dim, window, shift, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(hidden, dim), nn.Dropout(0.0))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=1e-5)

    def forward(self, x):
        h, w = x.shape[-3:-1]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :],
                       x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)
        return self.reduction(self.norm(x))


class SwinTransformer(nn.Module):
    """torchvision's SwinTransformer (V1): embed dim, depths and heads per stage, window size."""

    def __init__(self, embed: int, depths: list[int], heads: list[int], window: int = 7,
                 patch: int = 4, mlp_ratio: float = 4.0, num_classes: int = 1000):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, embed, patch, stride=patch), Permute([0, 2, 3, 1]),
                                nn.LayerNorm(embed, eps=1e-5))]
        for i, (depth, nh) in enumerate(zip(depths, heads, strict=True)):
            dim = embed * 2 ** i
            layers.append(nn.Sequential(*[
                SwinBlock(dim, nh, window, 0 if j % 2 == 0 else window // 2, mlp_ratio)
                for j in range(depth)]))
            if i + 1 < len(depths):
                layers.append(PatchMerging(dim))
        self.features = nn.Sequential(*layers)
        last = embed * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(last, eps=1e-5)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.norm(self.features(x)).permute(0, 3, 1, 2)
        return self.head(torch.flatten(self.avgpool(x), 1))


# torchvision/models/swin_transformer.py: swin_t/s/b (embed_dim, depths, num_heads), window 7
SWIN_CONFIGS = {"swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24]),
                "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24]),
                "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32])}


def swin(name: str) -> SwinTransformer:
    return SwinTransformer(*SWIN_CONFIGS[name])
