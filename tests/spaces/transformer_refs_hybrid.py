"""An independent torch model of the ``nasvit-style`` hybrid space, for the tests in this folder.

The space is NASViT-shaped (Gong et al., ICLR 2022: convolutional MBConv stages first, then
transformer stages whose width, depth and MLP ratio are searched), without NASViT's extras
(talking heads, V-FFN, window tricks). Written from that description and from torchvision's
MobileNetV2 InvertedResidual (torchvision/models/mobilenetv2.py) and timm's ViT Block, not
from the nascost spec:

- stem: Conv2d(3, 16, 3, stride 2, padding 1, no bias), BatchNorm2d, SiLU;
- three MBConv stages (out 24, 40, 64; each first block stride 2): 1x1 expand conv + BN +
  SiLU, depthwise kxk conv + BN + SiLU, 1x1 project conv + BN, residual when stride 1;
- two transformer stages (at 1/16 and 1/32 of the input): a conv entry (stage 4: 1x1 conv to
  the stage width + BN; stage 5: 3x3 stride-2 conv + BN), flatten to tokens, then pre-norm
  blocks: LayerNorm, multi-head attention (head dim 32, qkv bias) + residual, LayerNorm,
  Linear(D, int(D * ratio)), GELU, Linear(int(D * ratio), D) + residual;
- head: LayerNorm, mean over tokens, Linear(D, 1000).
"""

from __future__ import annotations

from torch import nn
from transformer_refs_vit import Attention, Mlp

HEAD_DIM = 32
STEM = 16
CNN_STAGES = (24, 40, 64)  # out channels; the first block of each has stride 2


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, expand: int, stride: int):
        super().__init__()
        hid = cin * expand
        self.body = nn.Sequential(
            nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.SiLU(),
            nn.Conv2d(hid, hid, kernel, stride, kernel // 2, groups=hid, bias=False),
            nn.BatchNorm2d(hid), nn.SiLU(),
            nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class TBlock(nn.Module):
    def __init__(self, dim: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, dim // HEAD_DIM)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TStage(nn.Module):
    def __init__(self, cin: int, dim: int, ratios: list[float], downsample: bool):
        super().__init__()
        conv = (nn.Conv2d(cin, dim, 3, 2, 1, bias=False) if downsample
                else nn.Conv2d(cin, dim, 1, bias=False))
        self.entry = nn.Sequential(conv, nn.BatchNorm2d(dim))
        self.blocks = nn.Sequential(*[TBlock(dim, r) for r in ratios])

    def forward(self, x):
        x = self.entry(x)
        b, c, h, w = x.shape
        x = self.blocks(x.flatten(2).transpose(1, 2))
        return x.transpose(1, 2).reshape(b, c, h, w)


class HybridNet(nn.Module):
    """cnn: per stage a list of (kernel, expand) blocks; tstages: per stage (width, ratios)."""

    def __init__(self, cnn: list[list[tuple[int, int]]], tstages: list[tuple[int, list[float]]],
                 num_classes: int = 1000):
        super().__init__()
        layers = [nn.Conv2d(3, STEM, 3, 2, 1, bias=False), nn.BatchNorm2d(STEM), nn.SiLU()]
        cin = STEM
        for cout, blocks in zip(CNN_STAGES, cnn, strict=True):
            for j, (k, e) in enumerate(blocks):
                layers.append(MBConv(cin, cout, k, e, 2 if j == 0 else 1))
                cin = cout
        for i, (dim, ratios) in enumerate(tstages):
            layers.append(TStage(cin, dim, ratios, downsample=i > 0))
            cin = dim
        self.features = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(cin)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.features(x).flatten(2).transpose(1, 2)
        return self.head(self.norm(x).mean(1))
