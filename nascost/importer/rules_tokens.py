"""Import rows for token values and transformer ops (docs/space-format.md, "Tokens").

Rows for the modules that ``to_torch`` writes for token ops (nascost/export/_torch_tokens.py,
kept as leaves by the tracer) and for the PyTorch modules users write: nn.LayerNorm,
nn.MultiheadAttention, nn.GroupNorm, nn.Upsample, nn.Softmax, nn.BatchNorm1d.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nascost.export import _torch_tokens as tt
from nascost.importer.convert import Ctx, Param, Unsupported, Val
from nascost.importer.rules import _dim, _val, row

aten = torch.ops.aten


def _tokens(x: Any, what: str) -> Val:
    x = _val(x)
    if x.rank != 3:
        raise Unsupported(f"{what} needs a (B, N, D) token input; got a tensor of shape "
                          f"(B, {', '.join(map(str, x.shape))})")
    return x


# --- the export's own modules --------------------------------------------------------------
@row(tt.ToTokens)
def to_tokens_module(ctx: Ctx, m: nn.Module, x: Any) -> Val:
    return ctx.emit("to_tokens", [_val(x)], suffix="to_tokens")


@row(tt.ToMap)
def to_map_module(ctx: Ctx, m: tt.ToMap, x: Any) -> Val:
    return ctx.emit("to_map", [_tokens(x, "to_map")], suffix="to_map", height=int(m.height),
                    width=int(m.width))


@row(tt.PatchMerge)
def patch_merge_module(ctx: Ctx, m: tt.PatchMerge, x: Any) -> Val:
    return ctx.emit("patch_merge", [_tokens(x, "patch_merge")], suffix="patch_merge")


@row(tt.ClassToken)
def class_token_module(ctx: Ctx, m: tt.ClassToken, x: Any) -> Val:
    return ctx.emit("class_token", [_tokens(x, "class_token")], suffix="class_token",
                    tokens=int(m.token.shape[1]))


@row(tt.TokenSelect)
def token_select_module(ctx: Ctx, m: tt.TokenSelect, x: Any) -> Val:
    return ctx.emit("token_select", [_tokens(x, "token_select")], suffix="token_select",
                    index=int(m.index))


@row(tt.Mean)
def mean_module(ctx: Ctx, m: tt.Mean, x: Any) -> Val:
    return ctx.emit("mean", [_val(x)], suffix="mean")


@row(tt.ChannelsLast)
def channels_last_module(ctx: Ctx, m: tt.ChannelsLast, x: Any) -> Val:
    x = _val(x)
    if not isinstance(m.inner, nn.LayerNorm) or x.rank != 4:
        raise Unsupported(f"ChannelsLast of {type(m.inner).__name__}: nascost has the "
                          "LayerNorm over the channels of a map only")
    return _layernorm(ctx, m.inner, x, over_channels=True)


@row(tt.TokenBatchNorm)
def token_batchnorm_module(ctx: Ctx, m: tt.TokenBatchNorm, x: Any) -> Val:
    return ctx.emit("batchnorm1d", [_tokens(x, "batchnorm1d")], suffix="batchnorm1d",
                    affine=bool(m.inner.affine))


@row(tt.DropPath)
def drop_path_module(ctx: Ctx, m: nn.Module, x: Any) -> Val:
    return _val(x)  # the identity at inference: no layer, no cost, as nn.Dropout


@row(tt.Attention)
def attention_module(ctx: Ctx, m: tt.Attention, x: Any, kv: Any = None) -> Val:
    ins = [_tokens(x, "attention")] + ([] if kv is None else [_tokens(kv, "attention's kv")])
    q = m.qkv if kv is None else m.q
    proj = m.proj is not None
    return ctx.emit("attention", ins, suffix="attention", heads=int(m.heads),
                    head_dim=int(m.head_dim), qkv_bias=q.bias is not None, proj=proj,
                    proj_bias=proj and m.proj.bias is not None,
                    out_features=int(m.proj.out_features) if proj else 0)


@row(tt.WindowAttention)
def window_attention_module(ctx: Ctx, m: tt.WindowAttention, x: Any) -> Val:
    return ctx.emit("window_attention", [_tokens(x, "window_attention")],
                    suffix="window_attention", heads=int(m.heads), head_dim=int(m.head_dim),
                    window=[int(v) for v in m.window], shift=[int(v) for v in m.shift],
                    qkv_bias=m.qkv.bias is not None, proj_bias=m.proj.bias is not None,
                    rel_pos_bias=m.relative_position_bias_table is not None)


@row(tt.MatMul)
def matmul_module(ctx: Ctx, m: tt.MatMul, a: Any, b: Any) -> Val:
    return ctx.emit("matmul", [_tokens(a, "matmul"), _tokens(b, "matmul")], suffix="matmul",
                    transpose_b=bool(m.transpose_b))


@row(tt.Param)
def param_module(ctx: Ctx, m: tt.Param, x: Any) -> Val:
    x = _val(x)
    w = tuple(int(d) for d in m.weight.shape[1:])
    channels = (1, x.shape[-1]) if x.rank == 3 else (
        (x.shape[0], 1, 1) if x.rank == 4 else None)
    kind = ("full" if w == x.shape else "channels" if w == channels else
            "scalar" if m.weight.numel() == 1 else None)
    if kind is None:
        raise Unsupported(f"a learned tensor of shape {w} on an input of shape {x.shape}: "
                          "nascost's param is the input's shape, one per channel, or a scalar")
    out = ctx.emit("param", [x], suffix="param")
    ctx.layers[-1]["shape"] = kind  # the field 'shape' (emit's own 'shape' is the value's)
    return out


# --- bare nn.Parameters: positional embeddings, layer scales, class tokens ---------------------
def param_value(ctx: Ctx, p: Param, x: Val) -> Val:
    """A parameter added to or multiplying x: a ``param`` layer shaped after x (full, one
    per channel or feature, or a scalar), as broadcasting reads it."""
    w = (1,) * max(0, x.rank - len(p.shape)) + tuple(p.shape)
    channels = (1, x.shape[-1]) if x.rank == 3 else (x.shape[0], 1, 1) if x.rank == 4 else None
    kind = None
    if len(w) == x.rank and w[0] == 1:
        kind = ("full" if w[1:] == x.shape else "channels" if w[1:] in (channels, x.shape[-1:])
                else "scalar" if _numel(w) == 1 else None)
    if kind is None:
        raise Unsupported(f"the parameter {p.name} of shape {tuple(p.shape)} on a tensor of "
                          f"shape (B, {', '.join(map(str, x.shape))}): nascost's param is the "
                          "input's shape, one per channel or feature, or a scalar")
    shape = x.shape if kind == "full" else (
        (1,) * (x.rank - 1) if kind == "scalar" else channels if x.rank > 2 else x.shape)
    out = ctx.emit("param", [x], shape=shape, suffix=p.name.rsplit(".", 1)[-1])
    ctx.layers[-1]["shape"] = kind
    return out


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@dataclass(frozen=True)
class Expanded:
    """param.expand(B, -1, -1) of a (1, T, D) parameter: the class token before torch.cat."""

    param: Param

    def __repr__(self) -> str:
        return f"the expanded parameter {self.param.name}"


@row("method:expand")
def expand(ctx: Ctx, input: Any, *sizes: Any) -> Expanded:
    if isinstance(input, Param) and len(input.shape) == 3 and input.shape[0] == 1:
        return Expanded(input)
    raise Unsupported("expands a tensor; nascost reads param.expand(B, -1, -1) of a (1, T, D) "
                      "parameter before torch.cat([cls, x], dim=1) (class_token) only")


def class_token_cat(ctx: Ctx, tensors: list, dim: int) -> Val:
    """torch.cat([cls.expand(B, -1, -1), x], dim=1): the class token(s) in front."""
    cls, x = tensors
    x = _tokens(x, "class_token")
    if _dim(dim, 3) != 1 or cls.param.shape[2] != x.shape[1]:
        raise Unsupported(f"concatenates {cls!r} and tokens (B, {x.shape[0]}, {x.shape[1]}) "
                          f"along dim {dim}; nascost prepends tokens of the same D: "
                          "torch.cat([cls, x], dim=1)")
    return ctx.emit("class_token", [x], suffix=cls.param.name.rsplit(".", 1)[-1],
                    tokens=int(cls.param.shape[1]))


# --- PyTorch's modules ---------------------------------------------------------------------
def _layernorm(ctx: Ctx, m: nn.LayerNorm, x: Val, over_channels: bool = False) -> Val:
    if len(m.normalized_shape) != 1:
        raise Unsupported(f"LayerNorm over {tuple(m.normalized_shape)}: nascost normalises "
                          "the last dimension only")
    if not over_channels and x.rank == 4:
        raise Unsupported("LayerNorm over the last dimension (W) of an (N, C, H, W) map; "
                          "nascost's layernorm of a map normalises the channels (ConvNeXt's "
                          "LayerNorm2d); use it on tokens or a flat value")
    return ctx.emit("layernorm", [x], suffix="layernorm", affine=bool(m.elementwise_affine),
                    bias=m.bias is not None)


@row(nn.LayerNorm)
def layernorm_module(ctx: Ctx, m: nn.LayerNorm, x: Any) -> Val:
    return _layernorm(ctx, m, _val(x))


@row(F.layer_norm, aten.layer_norm.default)
def layernorm_fn(ctx: Ctx, input: Any, normalized_shape: Any, weight: Any = None,
                 bias: Any = None, eps: float = 1e-5, *args: Any) -> Val:
    x = _val(input)
    if len(normalized_shape) != 1:
        raise Unsupported(f"layer_norm over {tuple(normalized_shape)}: nascost normalises the "
                          "last dimension only")
    if x.rank == 4:
        raise Unsupported("layer_norm over the last dimension (W) of an (N, C, H, W) map; "
                          "nascost's layernorm of a map normalises the channels")
    for p in (weight, bias):
        if p is not None and not isinstance(p, Param):
            raise Unsupported("its weight or bias is not a parameter of the model")
    if bias is not None and weight is None:
        raise Unsupported("a bias without a weight has no nascost field")
    return ctx.emit("layernorm", [x], suffix="layernorm", affine=weight is not None,
                    bias=bias is not None)


@row(nn.GroupNorm)
def groupnorm_module(ctx: Ctx, m: nn.GroupNorm, x: Any) -> Val:
    x = _val(x)
    if x.rank != 4:
        raise Unsupported("GroupNorm needs an (N, C, H, W) input")
    return ctx.emit("groupnorm", [x], suffix="groupnorm", groups=int(m.num_groups),
                    affine=bool(m.affine))


@row(nn.BatchNorm1d)
def batchnorm1d_module(ctx: Ctx, m: nn.BatchNorm1d, x: Any) -> Val:
    x = _val(x)
    if x.rank != 2:
        raise Unsupported("BatchNorm1d on (N, C, L) normalises C, not the features of tokens; "
                          "nascost's batchnorm1d reads a flat (N, F) value (or tokens through "
                          "x.flatten(0, 1))")
    return ctx.emit("batchnorm1d", [x], suffix="batchnorm1d", affine=bool(m.affine))


def _softmax(ctx: Ctx, x: Any, dim: Any) -> Val:
    x = _val(x)
    want = 1 if x.rank == 4 else x.rank - 1
    if dim is None or _dim(int(dim), x.rank) != want:
        raise Unsupported(f"softmax over dim {dim} of a rank-{x.rank} tensor; nascost's "
                          "softmax is over the features: dim -1 of tokens and flat values, "
                          "dim 1 of a map")
    return ctx.emit("softmax", [x], suffix="softmax")


@row(nn.Softmax)
def softmax_module(ctx: Ctx, m: nn.Softmax, x: Any) -> Val:
    return _softmax(ctx, x, m.dim)


@row(F.softmax, "method:softmax", aten.softmax.int)
def softmax_fn(ctx: Ctx, input: Any, dim: Any = None, *args: Any, **kwargs: Any) -> Val:
    return _softmax(ctx, input, dim)


@row(nn.Upsample)
def upsample_module(ctx: Ctx, m: nn.Upsample, x: Any) -> Val:
    x = _val(x)
    if x.rank != 4 or m.mode not in ("nearest", "bilinear"):
        raise Unsupported(f"Upsample mode {m.mode!r} of a rank-{x.rank} tensor: nascost "
                          "upsamples maps, nearest or bilinear")
    scale, size = [0, 0], [0, 0]
    if m.scale_factor is not None:
        sf = m.scale_factor if isinstance(m.scale_factor, (tuple, list)) else [m.scale_factor] * 2
        if any(float(s) != int(s) for s in sf):
            raise Unsupported(f"scale_factor {m.scale_factor!r}: nascost scales by integers")
        scale = [int(s) for s in sf]
    else:
        size = list(ctx.out_shape[1:])
    fields: dict = {"mode": m.mode, "scale": scale, "size": size}
    if m.mode == "bilinear":
        fields["align_corners"] = bool(m.align_corners)
    return ctx.emit("upsample", [x], suffix="upsample", **fields)


@row(nn.MultiheadAttention)
def mha_module(ctx: Ctx, m: nn.MultiheadAttention, query: Any, key: Any, value: Any,
               key_padding_mask: Any = None, need_weights: bool = True, attn_mask: Any = None,
               average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
    """Self-attention (query, key and value one tensor), batch_first: nascost's attention."""
    if not m.batch_first:
        raise Unsupported("nn.MultiheadAttention with batch_first=False reads (N, B, D); "
                          "nascost's tokens are (B, N, D): use batch_first=True")
    if not (query is key is value):
        raise Unsupported("attention with separate key or value inputs; nascost's attention "
                          "is self-attention (or q from x and k, v from one kv tensor)")
    if (not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn
            or key_padding_mask is not None or attn_mask is not None):
        raise Unsupported("kdim/vdim, add_bias_kv, add_zero_attn or a mask have no nascost "
                          "field")
    x = _tokens(query, "nn.MultiheadAttention")
    out = ctx.emit("attention", [x], shape=x.shape[:-1] + (int(m.embed_dim),),
                   suffix="attention", heads=int(m.num_heads), head_dim=int(m.head_dim),
                   qkv_bias=m.in_proj_bias is not None, proj=True,
                   proj_bias=m.out_proj.bias is not None, out_features=int(m.embed_dim))
    return (out, _NoWeights(ctx.path))


class _NoWeights:
    """nn.MultiheadAttention's second output (the attention weights): not a nascost value."""

    def __init__(self, path: str):
        self.path = path

    def __repr__(self) -> str:
        return f"the attention weights of {self.path or 'nn.MultiheadAttention'}"
