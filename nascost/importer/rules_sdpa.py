"""Hand-written attention as timm writes it, folded into one nascost ``attention`` layer.

    qkv = self.qkv(x).reshape(B, N, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)          # or qkv[0], qkv[1], qkv[2]
    x = F.scaled_dot_product_attention(q, k, v)
    x = x.transpose(1, 2).reshape(B, N, heads * head_dim)

The qkv linear layer is taken into the attention (proj=False; the output projection stays
its own linear layer): the same params and MACs as PyTorch's math kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from nascost.importer.convert import Ctx, Spatial, Unsupported, Val
from nascost.importer.rules import _dim, row

_PATTERN = ("x.reshape(B, N, 3, heads, head_dim).permute(2, 0, 3, 1, 4), q, k, v = "
            "qkv.unbind(0), F.scaled_dot_product_attention(q, k, v), .transpose(1, 2)"
            ".reshape(B, N, heads * head_dim)")


@dataclass(frozen=True)
class Heads:
    """A step of the pattern: stage 'qkv' (B, N, 3, h, hd), 'qkv_p' permuted (3, B, h, N, hd),
    'part' one of q, k, v (``part`` 0, 1, 2), 'out' sdpa's (B, h, N, hd), 'out_t' (B, N, h, hd)."""

    src: Val
    heads: int
    stage: str
    part: int = -1

    def __repr__(self) -> str:
        return f"a multi-head view ({self.stage}) of {self.src.name}; nascost reads {_PATTERN}"

    def reshape_to(self, ctx: Ctx, out: tuple) -> Val:
        if self.stage == "out_t" and len(out) == 3:
            return self.src
        raise Unsupported(f"reshapes {self!r} to {out}")

    def transpose_dims(self, ctx: Ctx, d0: int, d1: int) -> Heads:
        if self.stage == "out" and {_dim(d0, 4), _dim(d1, 4)} == {1, 2}:
            return Heads(self.src, self.heads, "out_t")
        raise Unsupported(f"transposes {self!r} ({d0}, {d1})")

    def index(self, ctx: Ctx, idx: Any) -> Heads:
        if self.stage == "qkv_p" and isinstance(idx, int) and 0 <= idx < 3:
            return Heads(self.src, self.heads, "part", idx)
        raise Unsupported(f"indexes {self!r} with {idx!r}")


def qkv_view(x: Val, out: tuple) -> Heads | None:
    """x.reshape(B, N, 3, heads, head_dim) of a (B, N, 3 * heads * head_dim) tensor."""
    if x.rank == 3 and len(out) == 5 and out[1] == x.shape[0] and out[2] == 3 and (
            3 * out[3] * out[4] == x.shape[1]):
        return Heads(x, int(out[3]), "qkv")
    return None


@row("method:permute", torch.permute)
def permute(ctx: Ctx, input: Any, *dims: Any) -> Heads | Val:
    d = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if isinstance(input, Spatial) and tuple(_dim(int(i), 3) for i in d) == (0, 2, 1):
        return ctx.emit("to_tokens", [input.src], suffix="to_tokens")  # torchvision's ViT
    if isinstance(input, Heads) and input.stage == "qkv" and tuple(
            _dim(int(i), 5) for i in d) == (2, 0, 3, 1, 4):
        return Heads(input.src, input.heads, "qkv_p")
    raise Unsupported(f"permutes a tensor {tuple(d)}; nascost reads a permute only in "
                      f"x.flatten(2).permute(0, 2, 1) (to_tokens) and in {_PATTERN}")


@row("method:unbind", torch.unbind)
def unbind(ctx: Ctx, input: Any, dim: int = 0) -> tuple:
    if isinstance(input, Heads) and input.stage == "qkv_p" and dim == 0:
        return tuple(Heads(input.src, input.heads, "part", i) for i in range(3))
    raise Unsupported(f"unbinds a tensor along dim {dim}; nascost reads it only in {_PATTERN}")


@row(F.scaled_dot_product_attention)
def sdpa(ctx: Ctx, query: Any, key: Any, value: Any, attn_mask: Any = None,
         dropout_p: float = 0.0, is_causal: bool = False, scale: Any = None,
         enable_gqa: bool = False) -> Heads:
    parts = (query, key, value)
    if not all(isinstance(p, Heads) and p.stage == "part" for p in parts) or (
            [p.part for p in parts] != [0, 1, 2] or len({p.src for p in parts}) != 1):
        raise Unsupported(f"its q, k, v are not the three parts of one qkv projection: {_PATTERN}")
    if attn_mask is not None or is_causal:
        raise Unsupported("an attention mask has no nascost field")
    src = query.src
    prod = ctx.producers.get(src.name)
    if prod is None or prod[0]["op"] != "linear" or len(prod[1].users) != 1:
        raise Unsupported(f"the qkv tensor {src.name} is not the output of a linear layer read "
                          "only by the attention")
    lin = prod[0]
    ctx.drop(lin)
    heads = query.heads
    inner = src.shape[1] // 3
    n = src.shape[0]
    out = ctx.emit("attention", [Val(lin["in"], ())], shape=(n, inner), suffix="attention",
                   heads=heads, head_dim=inner // heads, qkv_bias=bool(lin.get("bias", True)),
                   proj=False, proj_bias=False)
    return Heads(out, heads, "out")
