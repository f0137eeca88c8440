"""The torch modules of token values and transformer ops (docs/space-format.md, "Tokens").

Tokens are ``(B, N, D)`` tensors. Attention is built from ``nn.Linear`` projections and
explicit ``@`` products, as timm and DeiT write it, so that FlopCounterMode (``aten.bmm``),
fvcore (``aten::matmul``) and the hook-based tools all see it; PyTorch's fused paths
(``F.scaled_dot_product_attention``, ``nn.MultiheadAttention``'s fast path) are counted 0 by
some of them (docs/conventions.md). Window attention follows torchvision's
``shifted_window_attention`` step by step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nascost.reference.walk import ConcreteLayer


class ToTokens(nn.Module):
    """(B, C, H, W) -> (B, H*W, C): x.flatten(2).transpose(1, 2), made contiguous.

    Contiguous because aten lowers a Linear on a contiguous 3-D input to addmm (bias
    included) and on a strided one to mm + add, which ptflops' aten backend counts
    differently; every other token value of an export is contiguous already."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2).contiguous()


class ToMap(nn.Module):
    """(B, N, D) -> (B, D, height, width)."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], self.height, self.width)


class PatchMerge(nn.Module):
    """Swin's patch merging rearrangement (torchvision's _patch_merging_pad): the H x W grid
    padded to even sizes, the 2x2 neighbours concatenated: (B, H*W, D) -> (B, H'W', 4D)."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, d = x.shape
        x = x.reshape(b, self.height, self.width, d)
        x = F.pad(x, (0, 0, 0, self.width % 2, 0, self.height % 2))
        x0 = x[..., 0::2, 0::2, :]
        x1 = x[..., 1::2, 0::2, :]
        x2 = x[..., 0::2, 1::2, :]
        x3 = x[..., 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1)
        return x.reshape(b, -1, 4 * d)


class ClassToken(nn.Module):
    """Prepends ``tokens`` learned tokens (ViT's class token, DeiT's distillation token)."""

    def __init__(self, tokens: int, dim: int, factory: dict):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, tokens, dim, **factory))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)


class TokenSelect(nn.Module):
    """x[:, index]: one token as a flat (B, D) value."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.index]


class Mean(nn.Module):
    """aten::mean: x.mean((2, 3), keepdim=True) of a map, x.mean(1) of tokens."""

    def __init__(self, tokens: bool):
        super().__init__()
        self.tokens = tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1) if self.tokens else x.mean((2, 3), keepdim=True)


class ChannelsLast(nn.Module):
    """Runs a module over the channels of a map, as ConvNeXt's LayerNorm2d: permute to
    (B, H, W, C), the module, permute back. The module stays a registered submodule, so
    hook-based tools see it."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class TokenBatchNorm(nn.Module):
    """BatchNorm1d over the D features of every token (LeViT): on x.flatten(0, 1)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.flatten(0, 1)).reshape_as(x)


class DropPath(nn.Module):
    """Stochastic depth per sample (timm's DropPath); the identity at inference."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class Attention(nn.Module):
    """Multi-head attention from explicit products (timm's Attention): qkv projection (or q
    and kv projections for two inputs), q scaled, softmax(q @ k^T) @ v, output projection.
    The products are Tensor.matmul and the softmax F.softmax, as in WindowAttention, so
    that every peer tool counts the two ops alike."""

    def __init__(self, dim: int, kv_dim: int | None, heads: int, head_dim: int, qkv_bias: bool,
                 proj: bool, proj_bias: bool, out_features: int, factory: dict,
                 partition: tuple[int, int] = (0, 0), grid: tuple[int, int] = (0, 0)):
        super().__init__()
        self.partition, self.grid = partition, grid
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.scale = head_dim ** -0.5
        if kv_dim is None:
            self.qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias, **factory)
        else:
            self.q = nn.Linear(dim, inner, bias=qkv_bias, **factory)
            self.kv = nn.Linear(kv_dim, 2 * inner, bias=qkv_bias, **factory)
        self.proj = nn.Linear(inner, out_features, bias=proj_bias, **factory) if proj else None

    def forward(self, x: torch.Tensor, kv: torch.Tensor | None = None) -> torch.Tensor:
        ph, pw = self.partition
        if ph:  # MobileViT's unfolding: (B, H*W, D) -> (B*ph*pw, H*W/(ph*pw), D)
            bsz, _, d = x.shape
            hh, ww = self.grid[0] // ph, self.grid[1] // pw
            x = x.reshape(bsz, hh, ph, ww, pw, d).permute(0, 2, 4, 1, 3, 5)
            out = self._attend(x.reshape(bsz * ph * pw, hh * ww, d), None)
            out = out.reshape(bsz, ph, pw, hh, ww, -1).permute(0, 3, 1, 4, 2, 5)
            return out.reshape(bsz, hh * ph * ww * pw, -1)
        return self._attend(x, kv)

    def _attend(self, x: torch.Tensor, kv: torch.Tensor | None) -> torch.Tensor:
        b, n, _ = x.shape
        h, hd = self.heads, self.head_dim
        if kv is None:
            qkv = self.qkv(x).reshape(b, n, 3, h, hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            q = self.q(x).reshape(b, n, h, hd).transpose(1, 2)
            kv2 = self.kv(kv).reshape(b, kv.shape[1], 2, h, hd).permute(2, 0, 3, 1, 4)
            k, v = kv2[0], kv2[1]
        q = q * self.scale
        attn = q.matmul(k.transpose(-2, -1))  # Tensor.matmul and F.softmax, as torchvision's
        attn = F.softmax(attn, dim=-1)  # Swin writes them (ptflops counts these, not `@`)
        out = attn.matmul(v).transpose(1, 2).reshape(b, n, h * hd)
        return self.proj(out) if self.proj is not None else out


def _relative_position_index(wh: int, ww: int) -> torch.Tensor:
    """torchvision's relative_position_index of a Wh x Ww window (flattened)."""
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1).flatten()


class WindowAttention(nn.Module):
    """Swin's (shifted) window attention on tokens of an H x W grid, as torchvision's
    ShiftedWindowAttention and shifted_window_attention, with the projections called as
    modules (torchvision calls F.linear on their weights; the counts are the same)."""

    def __init__(self, dim: int, grid: tuple[int, int], heads: int, head_dim: int,
                 window: tuple[int, int], shift: tuple[int, int], qkv_bias: bool,
                 proj_bias: bool, rel_pos_bias: bool, factory: dict):
        super().__init__()
        self.grid, self.window, self.shift = grid, window, shift
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=qkv_bias, **factory)
        self.proj = nn.Linear(inner, dim, bias=proj_bias, **factory)
        wh, ww = window
        if rel_pos_bias:
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros((2 * wh - 1) * (2 * ww - 1), heads, **factory))
            self.register_buffer("relative_position_index", _relative_position_index(wh, ww),
                                 persistent=False)
        else:
            self.relative_position_bias_table = None

    def _bias(self) -> torch.Tensor:
        wh, ww = self.window
        n = wh * ww
        bias = self.relative_position_bias_table[self.relative_position_index]
        return bias.view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, _, c = tokens.shape
        hgt, wid = self.grid
        wh, ww = self.window
        x = tokens.reshape(b, hgt, wid, c)
        pad_r = (ww - wid % ww) % ww
        pad_b = (wh - hgt % wh) % wh
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, ph, pw, _ = x.shape
        shift = list(self.shift)
        if wh >= ph:
            shift[0] = 0
        if ww >= pw:
            shift[1] = 0
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        nw = (ph // wh) * (pw // ww)
        x = x.view(b, ph // wh, wh, pw // ww, ww, c)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(b * nw, wh * ww, c)
        h, hd = self.heads, self.head_dim
        qkv = self.qkv(x).reshape(x.size(0), x.size(1), 3, h, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * hd ** -0.5
        attn = q.matmul(k.transpose(-2, -1))
        if self.relative_position_bias_table is not None:
            attn = attn + self._bias()
        if sum(shift) > 0:
            mask = x.new_zeros((ph, pw))
            h_slices = ((0, -wh), (-wh, -shift[0]), (-shift[0], None))
            w_slices = ((0, -ww), (-ww, -shift[1]), (-shift[1], None))
            count = 0
            for hs in h_slices:
                for ws in w_slices:
                    mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                    count += 1
            mask = mask.view(ph // wh, wh, pw // ww, ww).permute(0, 2, 1, 3)
            mask = mask.reshape(nw, wh * ww)
            mask = mask.unsqueeze(1) - mask.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
            attn = attn.view(x.size(0) // nw, nw, h, x.size(1), x.size(1))
            attn = attn + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, h, x.size(1), x.size(1))
        attn = F.softmax(attn, dim=-1)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), h * hd)
        x = self.proj(x)
        x = x.view(b, ph // wh, pw // ww, wh, ww, c)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
        x = x[:, :hgt, :wid, :].contiguous()
        return x.reshape(b, hgt * wid, c)


class MatMul(nn.Module):
    """torch.matmul(a, b), or torch.matmul(a, b.transpose(-2, -1))."""

    def __init__(self, transpose_b: bool):
        super().__init__()
        self.transpose_b = transpose_b

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b.transpose(-2, -1) if self.transpose_b else b)


class Param(nn.Module):
    """A learned tensor of shape (1, *shape) (positional embedding, layer scale); it returns
    the parameter and ignores its input, which only gave the shape."""

    def __init__(self, shape: tuple, factory: dict):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros((1, *shape), **factory))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight


def _param_shape(layer: ConcreteLayer) -> tuple:
    ext = layer.out_shape
    return tuple(ext)


def token_module(layer: ConcreteLayer, factory: dict) -> nn.Module | None:
    """The module of a token-family layer, or None when the op is not one of them."""
    f, op = layer.fields, layer.op
    shape = layer.in_shapes[0]
    tokens = len(shape) == 2
    if op == "to_tokens":
        return ToTokens()
    if op == "to_map":
        return ToMap(layer.out_shape[1], layer.out_shape[2])
    if op == "patch_merge":
        return PatchMerge(*layer.in_grids[0])
    if op == "class_token":
        return ClassToken(f["tokens"], shape[-1], factory)
    if op == "token_select":
        return TokenSelect(f["index"])
    if op == "mean":
        return Mean(tokens)
    if op == "layernorm":
        dim = shape[-1] if len(shape) < 3 else shape[0]
        ln = nn.LayerNorm(dim, elementwise_affine=f["affine"], bias=f["bias"], **factory)
        return ChannelsLast(ln) if len(shape) == 3 else ln
    if op == "groupnorm":
        return nn.GroupNorm(f["groups"], shape[0], affine=f["affine"], **factory)
    if op == "batchnorm1d":
        bn = nn.BatchNorm1d(shape[-1], affine=f["affine"], **factory)
        return TokenBatchNorm(bn) if tokens else bn
    if op == "softmax":
        return nn.Softmax(dim=1 if len(shape) == 3 else -1)
    if op == "dropout":
        return nn.Dropout(0.0)
    if op == "drop_path":
        return DropPath(0.0)
    if op == "attention":
        dim = shape[-1]
        hd = f["head_dim"] or dim // f["heads"]
        kv_dim = layer.in_shapes[1][-1] if len(layer.in_shapes) > 1 else None
        return Attention(dim, kv_dim, f["heads"], hd, f["qkv_bias"], f["proj"], f["proj_bias"],
                         layer.out_shape[-1], factory, tuple(f["partition"]),
                         layer.in_grids[0])
    if op == "window_attention":
        dim = shape[-1]
        hd = f["head_dim"] or dim // f["heads"]
        return WindowAttention(dim, layer.in_grids[0], f["heads"], hd, tuple(f["window"]),
                               tuple(f["shift"]), f["qkv_bias"], f["proj_bias"],
                               f["rel_pos_bias"], factory)
    if op == "matmul":
        return MatMul(f["transpose_b"])
    if op == "param":
        return Param(_param_shape(layer), factory)
    if op == "upsample":
        scale, size = tuple(f["scale"]), tuple(f["size"])
        kw = {"align_corners": f["align_corners"]} if f["mode"] == "bilinear" else {}
        if scale[0] > 0:
            return nn.Upsample(scale_factor=tuple(float(s) for s in scale), mode=f["mode"], **kw)
        return nn.Upsample(size=size, mode=f["mode"], **kw)
    return None
