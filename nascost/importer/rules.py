"""The import table: one row per module class, torch function, Tensor method or ATen op.

A row is a function with the torch call's own signature (after ``ctx``; module rows get the
module first) that emits nascost layers through ``ctx.emit`` and returns the node's value.
``TABLE`` is closed: a target registered twice is a programming error, and a target with no
row fails the import (convert.py). docs/import.md lists every row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nascost.importer.convert import Ctx, Grouped, Param, Pieces, Spatial, TokensT, Unsupported, Val
from nascost.space.builder import SpaceBuilder

aten = torch.ops.aten
TABLE: dict[Any, Callable] = {}


def row(*targets: Any):
    """Register a rule for targets: module classes, callables, 'method:<name>', ATen ops."""
    def deco(fn: Callable) -> Callable:
        for t in targets:
            if t in TABLE:
                raise ValueError(f"import rule for {t!r} registered twice")
            TABLE[t] = fn
        return fn
    return deco


# --- helpers ------------------------------------------------------------------------------
def _val(x: Any, what: str = "input") -> Val:
    if isinstance(x, Val):
        return x
    if isinstance(x, Param):
        raise Unsupported(f"its {what} is the parameter {x.name} used as data; nascost has no "
                          "op for that")
    if isinstance(x, (Pieces, Grouped)):
        raise Unsupported(f"its {what} is an intermediate view (split pieces or a grouped "
                          "view) used directly")
    if isinstance(x, (Spatial, TokensT)):
        raise Unsupported(f"its {what} is a (B, C, H*W) or (B, D, N) view; nascost has it only "
                          "on the way between maps and tokens: x.flatten(2).transpose(1, 2), "
                          "x.transpose(1, 2).reshape(B, D, H, W)")
    raise Unsupported(f"its {what} is a constant ({x!r}), not a tensor of the network")


def _rank4(x: Val, what: str) -> None:
    if x.rank != 4:
        raise Unsupported(f"{what} needs an (N, C, H, W) input; got a tensor of shape "
                          f"(N, {', '.join(map(str, x.shape))})")


def _pair(v: Any) -> list[int]:
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return [int(v[0]), int(v[0])]
        if len(v) != 2:
            raise Unsupported(f"expects one or two sizes, got {v!r}")
        return [int(v[0]), int(v[1])]
    return [int(v), int(v)]


def _dim(d: int, ndim: int) -> int:
    return d + ndim if d < 0 else d


# --- conv, linear, batchnorm --------------------------------------------------------------
def _conv(ctx: Ctx, x: Any, cout: int, kernel: Any, stride: Any, padding: Any, dilation: Any,
          groups: int, bias: bool) -> Val:
    x = _val(x)
    _rank4(x, "conv2d")
    k, d = _pair(kernel), _pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same" and all(
                (dd * (kk - 1)) % 2 == 0 for kk, dd in zip(k, d, strict=True)):
            padding = [dd * (kk - 1) // 2 for kk, dd in zip(k, d, strict=True)]
        else:
            raise Unsupported(f"padding={padding!r} with kernel {k} pads unevenly; nascost "
                              "pads both sides alike")
    cin = x.shape[0]
    out_channels: Any = int(cout)
    groups_f: Any = int(groups)
    if groups > 1 and groups == cin:  # depthwise: follows the channels coming in
        groups_f = SpaceBuilder.channels_of(x.name)
        if cout % cin == 0:
            out_channels = SpaceBuilder.channels_of(x.name, times=cout // cin)
    return ctx.emit("conv2d", [x], suffix="conv2d", out_channels=out_channels, kernel=k,
                    stride=_pair(stride), padding=_pair(padding), dilation=d, groups=groups_f,
                    bias=bool(bias))


@row(nn.Conv2d)
def conv2d_module(ctx: Ctx, m: nn.Conv2d, x: Any) -> Val:
    return _conv(ctx, x, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                 m.groups, m.bias is not None)


@row(F.conv2d, aten.conv2d.default)
def conv2d_fn(ctx: Ctx, input: Any, weight: Any, bias: Any = None, stride: Any = 1,
              padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Val:
    if not isinstance(weight, Param):
        raise Unsupported("the weight is not a parameter of the model")
    return _conv(ctx, input, weight.shape[0], weight.shape[2:], stride, padding, dilation,
                 groups, bias is not None)


def _linear(ctx: Ctx, x: Any, cout: int, bias: bool) -> Val:
    x = _val(x)
    if x.rank not in (2, 3):
        raise Unsupported(f"linear on a tensor of shape (N, {', '.join(map(str, x.shape))}) "
                          "acts on its last dimension; nascost's linear reads (N, F) or tokens "
                          "(B, N, D): flatten first")
    return ctx.emit("linear", [x], suffix="linear", out_features=int(cout), bias=bool(bias))


@row(nn.Linear)
def linear_module(ctx: Ctx, m: nn.Linear, x: Any) -> Val:
    return _linear(ctx, x, m.out_features, m.bias is not None)


@row(F.linear, aten.linear.default)
def linear_fn(ctx: Ctx, input: Any, weight: Any, bias: Any = None) -> Val:
    if not isinstance(weight, Param):
        raise Unsupported("the weight is not a parameter of the model")
    return _linear(ctx, input, weight.shape[0], bias is not None)


def _bn(ctx: Ctx, x: Any, affine: bool) -> Val:
    x = _val(x)
    _rank4(x, "batchnorm2d")
    return ctx.emit("batchnorm2d", [x], suffix="batchnorm2d", affine=bool(affine))


@row(nn.BatchNorm2d)
def batchnorm_module(ctx: Ctx, m: nn.BatchNorm2d, x: Any) -> Val:
    return _bn(ctx, x, m.affine)


@row(F.batch_norm)
def batchnorm_fn(ctx: Ctx, input: Any, running_mean: Any, running_var: Any, weight: Any = None,
                 bias: Any = None, *args: Any, **kwargs: Any) -> Val:
    return _bn(ctx, input, weight is not None)


@row(aten.batch_norm.default)
def batchnorm_aten(ctx: Ctx, input: Any, weight: Any, bias: Any, *args: Any) -> Val:
    return _bn(ctx, input, weight is not None)


# --- pooling ------------------------------------------------------------------------------
def _pool(ctx: Ctx, op: str, x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any,
          ceil_mode: bool, **extra: Any) -> Val:
    x = _val(x)
    _rank4(x, op)
    if _pair(dilation) != [1, 1]:
        raise Unsupported("pooling with dilation has no nascost op")
    k = _pair(kernel)
    s = k if stride is None or stride == [] or stride == () else _pair(stride)
    return ctx.emit(op, [x], suffix=op, kernel=k, stride=s, padding=_pair(padding),
                    ceil_mode=bool(ceil_mode), **extra)


@row(nn.MaxPool2d)
def maxpool_module(ctx: Ctx, m: nn.MaxPool2d, x: Any) -> Val:
    if m.return_indices:
        raise Unsupported("return_indices=True has no nascost op")
    return _pool(ctx, "maxpool2d", x, m.kernel_size, m.stride, m.padding, m.dilation,
                 m.ceil_mode)


@row(F.max_pool2d, aten.max_pool2d.default)
def maxpool_fn(ctx: Ctx, input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Val:
    if return_indices:
        raise Unsupported("return_indices=True has no nascost op")
    return _pool(ctx, "maxpool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def _avg(ctx: Ctx, x: Any, kernel: Any, stride: Any, padding: Any, ceil_mode: bool,
         count_include_pad: bool, divisor_override: Any) -> Val:
    if divisor_override is not None:
        raise Unsupported("divisor_override has no nascost field")
    return _pool(ctx, "avgpool2d", x, kernel, stride, padding, 1, ceil_mode,
                 count_include_pad=bool(count_include_pad))


@row(nn.AvgPool2d)
def avgpool_module(ctx: Ctx, m: nn.AvgPool2d, x: Any) -> Val:
    return _avg(ctx, x, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                m.divisor_override)


@row(F.avg_pool2d, aten.avg_pool2d.default)
def avgpool_fn(ctx: Ctx, input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None) -> Val:
    return _avg(ctx, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override)


def _adaptive(ctx: Ctx, x: Any) -> Val:
    x = _val(x)
    _rank4(x, "adaptive_avg_pool2d")
    c, h, w = x.shape
    _, ho, wo = ctx.out_shape
    if (ho, wo) == (1, 1):
        return ctx.emit("global_avgpool", [x], suffix="global_avgpool")
    if h % ho or w % wo:
        raise Unsupported(f"adaptive average pooling from {h}x{w} to {ho}x{wo} has uneven "
                          "windows; nascost has no op for that")
    return ctx.emit("avgpool2d", [x], suffix="avgpool2d", kernel=[h // ho, w // wo],
                    stride=[h // ho, w // wo], padding=[0, 0], ceil_mode=False)


@row(nn.AdaptiveAvgPool2d)
def adaptive_module(ctx: Ctx, m: nn.Module, x: Any) -> Val:
    return _adaptive(ctx, x)


@row(F.adaptive_avg_pool2d, aten.adaptive_avg_pool2d.default)
def adaptive_fn(ctx: Ctx, input: Any, output_size: Any) -> Val:
    return _adaptive(ctx, input)


@row("method:mean", torch.mean, aten.mean.dim)
def mean(ctx: Ctx, input: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Val:
    x = _val(input)
    dims = [dim] if isinstance(dim, int) else list(dim or [])
    if x.rank == 3 and [_dim(d, 3) for d in dims] == [1] and not keepdim:
        return ctx.emit("mean", [x], suffix="mean")  # the mean over the tokens
    if x.rank != 4 or sorted(_dim(d, 4) for d in dims) != [2, 3]:
        raise Unsupported(f"a mean over dims {dim!r} of a rank-{x.rank} tensor; nascost has the "
                          "global average over (2, 3) of an (N, C, H, W) tensor and the mean "
                          "over the tokens, dim 1 of (B, N, D)")
    g = ctx.emit("global_avgpool", [x], shape=(x.shape[0], 1, 1), suffix="mean")
    return g if keepdim else ctx.emit("flatten", [g], suffix="flatten")


# --- elementwise --------------------------------------------------------------------------
def _act(op: str) -> Callable:
    def rule(ctx: Ctx, input: Any, *args: Any, **kwargs: Any) -> Val:
        return ctx.emit(op, [_val(input)], suffix=op)
    rule.__name__ = op
    return rule


def _m(cls: type) -> Callable:
    return lambda ctx, m, x: ctx.emit(_MODULE_ACTS[cls], [_val(x)], suffix=_MODULE_ACTS[cls])


_MODULE_ACTS = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
                nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid", nn.SiLU: "silu",
                nn.GELU: "gelu"}
for _cls in _MODULE_ACTS:
    row(_cls)(_m(_cls))

row(F.relu, torch.relu, torch.relu_, "method:relu", "method:relu_", aten.relu.default,
    aten.relu_.default)(_act("relu"))
row(F.relu6, aten.relu6.default)(_act("relu6"))
row(torch.sigmoid, F.sigmoid, "method:sigmoid", "method:sigmoid_", aten.sigmoid.default,
    aten.sigmoid_.default)(_act("sigmoid"))
row(torch.tanh, F.tanh, "method:tanh", "method:tanh_", aten.tanh.default,
    aten.tanh_.default)(_act("tanh"))
row(F.silu, aten.silu.default, aten.silu_.default)(_act("silu"))
row(F.hardswish, aten.hardswish.default, aten.hardswish_.default)(_act("hardswish"))
row(F.hardsigmoid, aten.hardsigmoid.default, aten.hardsigmoid_.default)(_act("hardsigmoid"))
row(F.gelu, aten.gelu.default)(_act("gelu"))


def _hardtanh(ctx: Ctx, x: Any, lo: float, hi: float) -> Val:
    if (lo, hi) != (0.0, 6.0):
        raise Unsupported(f"hardtanh({lo}, {hi}): nascost has relu6 = hardtanh(0, 6) only")
    return ctx.emit("relu6", [_val(x)], suffix="relu6")


@row(nn.Hardtanh)
def hardtanh_module(ctx: Ctx, m: nn.Hardtanh, x: Any) -> Val:
    return _hardtanh(ctx, x, m.min_val, m.max_val)


@row(F.hardtanh, F.hardtanh_, aten.hardtanh.default, aten.hardtanh_.default)
def hardtanh_fn(ctx: Ctx, input: Any, min_val: float = -1.0, max_val: float = 1.0,
                inplace: bool = False) -> Val:
    return _hardtanh(ctx, input, min_val, max_val)


def _params_to_values(ctx: Ctx, a: Any, b: Any) -> tuple[Any, Any]:
    """A parameter added to or multiplying a tensor becomes a ``param`` layer (rules_tokens)."""
    if isinstance(a, Param) and isinstance(b, Val):
        return rules_tokens.param_value(ctx, a, b), b
    if isinstance(b, Param) and isinstance(a, Val):
        return a, rules_tokens.param_value(ctx, b, a)
    return a, b


@row(operator.add, operator.iadd, torch.add, "method:add", "method:add_", aten.add.Tensor,
     aten.add_.Tensor)
def add(ctx: Ctx, input: Any, other: Any, alpha: Any = 1) -> Val:
    input, other = _params_to_values(ctx, input, other)
    if not isinstance(input, Val) or not isinstance(other, Val):
        const = other if isinstance(input, Val) else input
        raise Unsupported(f"adds a constant ({const!r}) to a tensor; nascost's add sums tensors")
    if alpha != 1:
        raise Unsupported(f"add with alpha={alpha!r} has no nascost op")
    if input.shape != other.shape:
        raise Unsupported(f"adds shapes {input.shape} and {other.shape}; nascost's add needs "
                          "equal shapes (no broadcasting)")
    ins: list[Val] = []
    for v in (input, other):  # a + b + c: one add of three inputs when a + b has no other use
        prod = ctx.producers.get(v.name)
        if (prod is not None and prod[0]["op"] == "add" and prod[0] is ctx.layers[-1]
                and len(prod[1].users) == 1 and v is input):
            ctx.drop(prod[0])
            ins.extend(Val(n, v.shape) for n in prod[0]["in"])
        else:
            ins.append(v)
    return ctx.emit("add", ins, suffix="add")


@row(operator.mul, operator.imul, torch.mul, "method:mul", "method:mul_", aten.mul.Tensor,
     aten.mul_.Tensor)
def mul(ctx: Ctx, input: Any, other: Any) -> Val:
    input, other = _params_to_values(ctx, input, other)
    if isinstance(input, Val) and isinstance(other, Val):
        if input.rank != other.rank:
            raise Unsupported(f"multiplies shapes {input.shape} and {other.shape} of different "
                              "rank")
        return ctx.emit("mul", [input, other], suffix="mul")
    x, c = (input, other) if isinstance(input, Val) else (other, input)
    if isinstance(x, Val) and isinstance(c, (int, float)) and c == 0:
        return ctx.emit("zero", [x], suffix="zero")
    raise Unsupported(f"multiplies a tensor by {c!r}; nascost's mul multiplies two tensors "
                      "(x * 0 is its zero op)")


# --- structure: views, splits, concatenation ----------------------------------------------
def _alias(ctx: Ctx, x: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(x, (Val, Grouped)):
        return x
    return _val(x)


row("method:contiguous", aten.contiguous.default, aten.clone.default)(_alias)
row(nn.Dropout, nn.Dropout2d, nn.AlphaDropout)(lambda ctx, m, x: _val(x))
row(F.dropout, F.dropout2d, aten.dropout.default)(
    lambda ctx, input, *a, **k: _val(input))


@row(nn.Identity)
def identity_module(ctx: Ctx, m: nn.Module, x: Any, *args: Any, **kwargs: Any) -> Val:
    return ctx.emit("identity", [_val(x)], suffix="identity")


def _flatten(ctx: Ctx, x: Any, start_dim: int, end_dim: int) -> Val | Spatial:
    x = _val(x)
    nd = x.rank
    if nd == 4 and _dim(start_dim, nd) == 2 and _dim(end_dim, nd) == 3:
        return Spatial(x)  # half of to_tokens
    if _dim(start_dim, nd) != 1 or _dim(end_dim, nd) != nd - 1:
        raise Unsupported(f"flatten({start_dim}, {end_dim}) of a rank-{nd} tensor; nascost "
                          "flattens all but the batch: flatten(1)")
    return x if nd == 2 else ctx.emit("flatten", [x], suffix="flatten")


@row(nn.Flatten)
def flatten_module(ctx: Ctx, m: nn.Flatten, x: Any) -> Val:
    return _flatten(ctx, x, m.start_dim, m.end_dim)


@row(torch.flatten, "method:flatten", aten.flatten.using_ints)
def flatten_fn(ctx: Ctx, input: Any, start_dim: int = 0, end_dim: int = -1) -> Val:
    return _flatten(ctx, input, start_dim, end_dim)


@row("method:view", "method:reshape", torch.reshape, aten.view.default, aten.reshape.default)
def view(ctx: Ctx, input: Any, *shape: Any, **kwargs: Any) -> Any:
    out = tuple(ctx.result.shape)
    if hasattr(input, "reshape_to"):  # a view of rules_sdpa's hand-written attention
        return input.reshape_to(ctx, out)
    if isinstance(input, Grouped):
        src = input.src
        if out[1:] == src.shape:
            return (ctx.emit("channel_shuffle", [src], suffix="channel_shuffle",
                             groups=input.groups) if input.transposed else src)
        if out[1:] == (_numel(src.shape),) and not input.transposed:
            return ctx.emit("flatten", [src], suffix="flatten")
        raise Unsupported(f"reshapes a grouped view to {out}")
    if isinstance(input, TokensT) and len(out) == 4 and out[1] == input.src.shape[1] and (
            out[2] * out[3] == input.src.shape[0]):
        return ctx.emit("to_map", [input.src], suffix="to_map", height=int(out[2]),
                        width=int(out[3]))
    x = _val(input)
    if out[1:] == x.shape:
        return x
    if out[1:] == (_numel(x.shape),) and x.rank == 4:
        return ctx.emit("flatten", [x], suffix="flatten")
    if x.rank == 4 and out[1:] == (x.shape[0], x.shape[1] * x.shape[2]):
        return Spatial(x)  # x.reshape(B, C, H * W): half of to_tokens
    heads = rules_sdpa.qkv_view(x, out)
    if heads is not None:
        return heads
    if x.rank == 4 and len(out) == 5 and out[1] * out[2] == x.shape[0] and out[3:] == x.shape[1:]:
        return Grouped(x, int(out[1]), False)
    raise Unsupported(f"reshapes (N, {', '.join(map(str, x.shape))}) to {out}: nascost has "
                      "flatten(1) and the channel shuffle view (n, g, c // g, h, w)")


def _numel(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


@row(torch.transpose, "method:transpose", aten.transpose.int)
def transpose(ctx: Ctx, input: Any, dim0: int, dim1: int) -> Any:
    if hasattr(input, "transpose_dims"):
        return input.transpose_dims(ctx, dim0, dim1)
    if isinstance(input, Grouped) and {_dim(dim0, 5), _dim(dim1, 5)} == {1, 2}:
        return Grouped(input.src, input.groups, not input.transposed)
    if isinstance(input, Spatial) and {_dim(dim0, 3), _dim(dim1, 3)} == {1, 2}:
        return ctx.emit("to_tokens", [input.src], suffix="to_tokens")
    if isinstance(input, Val) and input.rank == 3 and {_dim(dim0, 3), _dim(dim1, 3)} == {1, 2}:
        return TokensT(input)
    raise Unsupported("transposes a tensor; nascost has the transpose of a channel shuffle "
                      "(x.view(n, g, c // g, h, w).transpose(1, 2)), maps to tokens "
                      "(x.flatten(2).transpose(1, 2)) and tokens to maps "
                      "(x.transpose(1, 2).reshape(B, D, H, W)) only")


@row(torch.cat, torch.concat, aten.cat.default)
def cat(ctx: Ctx, tensors: Any, dim: int = 0) -> Val:
    if len(tensors) == 2 and isinstance(tensors[0], rules_tokens.Expanded):
        return rules_tokens.class_token_cat(ctx, list(tensors), dim)
    vals: list[Val] = []
    for t in tensors:
        if isinstance(t, Pieces):
            vals.extend(_piece(ctx, t, i) for i in range(t.chunks))
        else:
            vals.append(_val(t))
    if len(vals) == 1:
        return vals[0]
    if any(v.rank != 4 for v in vals) or _dim(dim, 4) != 1:
        raise Unsupported(f"torch.cat along dim {dim} of rank-{vals[0].rank} tensors; nascost "
                          "concatenates (N, C, H, W) tensors along the channels (dim 1)")
    return ctx.emit("concat", vals, suffix="cat")


def _pieces(x: Any, sizes: list[int], dim: int) -> Pieces:
    x = _val(x)
    if x.rank != 4 or _dim(dim, 4) != 1:
        raise Unsupported("splits a tensor other than along the channels of (N, C, H, W)")
    if len(set(sizes)) != 1:
        raise Unsupported(f"splits {x.shape[0]} channels into unequal pieces {sizes}; nascost's "
                          "channel_split makes equal chunks")
    return Pieces(x, len(sizes))


@row(torch.split, "method:split", aten.split.Tensor, aten.split_with_sizes.default)
def split(ctx: Ctx, tensor: Any, split_size_or_sections: Any, dim: int = 0) -> Pieces:
    c = _val(tensor).shape[0] if isinstance(tensor, Val) and tensor.rank == 4 else 0
    s = split_size_or_sections
    sizes = list(s) if isinstance(s, (list, tuple)) else [s] * (c // s) + (
        [c % s] if c % s else [])
    return _pieces(tensor, sizes, dim)


@row(torch.chunk, "method:chunk", aten.chunk.default)
def chunk(ctx: Ctx, input: Any, chunks: int, dim: int = 0) -> Pieces:
    c = _val(input).shape[0] if isinstance(input, Val) and input.rank == 4 else 0
    size = -(-c // chunks) if c else 1
    sizes = [min(size, c - i * size) for i in range(-(-c // size))] if c else [1]
    return _pieces(input, sizes, dim)


def _piece(ctx: Ctx, p: Pieces, index: int) -> Val:
    c, h, w = p.src.shape
    return ctx.emit("channel_split", [p.src], shape=(c // p.chunks, h, w), suffix="split",
                    chunks=p.chunks, index=index)


@row(operator.getitem)
def getitem(ctx: Ctx, a: Any, idx: Any) -> Val:
    if isinstance(a, Pieces):
        return _piece(ctx, a, _dim(int(idx), a.chunks))
    if isinstance(a, tuple):  # a module's several outputs (nn.MultiheadAttention)
        return a[idx]
    if hasattr(a, "index"):
        return a.index(ctx, idx)
    x = _val(a)
    if (x.rank == 3 and isinstance(idx, tuple) and len(idx) == 2 and idx[0] == slice(None)
            and isinstance(idx[1], int)):
        return ctx.emit("token_select", [x], suffix="token_select",
                        index=_dim(idx[1], x.shape[0]))
    if x.rank == 4 and isinstance(idx, tuple) and len(idx) == 4 and all(
            isinstance(s, slice) and s.step in (None, 1) and s.stop is None for s in idx) and (
            idx[0].start in (None, 0) and idx[1].start in (None, 0)):
        return ctx.emit("crop", [x], suffix="crop", top=int(idx[2].start or 0),
                        left=int(idx[3].start or 0))
    raise Unsupported(f"indexes a tensor with {idx!r}; nascost has x[:, :, top:, left:] (crop)")


@row(aten.slice.Tensor)
def slice_aten(ctx: Ctx, input: Any, dim: int = 0, start: Any = None, end: Any = None,
               step: int = 1) -> Val:
    """torch.export writes x[:, :, top:, left:] as one slice per dimension."""
    x = _val(input)
    d = _dim(dim, x.rank)
    size = ctx.result.shape
    full = tuple(x.shape[i - 1] if i else size[0] for i in range(x.rank))
    if step != 1 or (end is not None and end < full[d]):
        raise Unsupported(f"slices dim {dim} [{start}:{end}:{step}]; nascost has "
                          "x[:, :, top:, left:] (crop)")
    if not start:
        return x
    if x.rank != 4 or d not in (2, 3):
        raise Unsupported(f"slices dim {dim} from {start}; nascost crops dims 2 and 3")
    return ctx.emit("crop", [x], suffix="crop", top=int(start) if d == 2 else 0,
                    left=int(start) if d == 3 else 0)


from nascost.importer import rules_sdpa, rules_tokens  # noqa: E402, F401  (their rows join TABLE)


def rule_classes() -> tuple[type, ...]:
    """Module classes with a row: the tracer keeps them as leaves."""
    return tuple(t for t in TABLE if isinstance(t, type))


def target_name(t: Any) -> str:
    """How docs/import.md writes a row's target: nn.Conv2d, F.relu, torch.cat, Tensor.mean,
    operator.add, aten.conv2d.default."""
    if isinstance(t, str):
        return "Tensor." + t.removeprefix("method:")
    if isinstance(t, type):
        mod = t.__module__
        return f"nn.{t.__name__}" if mod.startswith("torch.nn") else (
            f"{mod.rsplit('.', 1)[-1]}.{t.__name__}")
    if isinstance(t, torch._ops.OpOverload):
        return str(t)
    if t in vars(operator).values() and getattr(operator, t.__name__, None) is t:
        return f"operator.{t.__name__}"
    if getattr(F, getattr(t, "__name__", ""), None) is t:
        return f"F.{t.__name__}"
    return f"torch.{t.__name__}"
