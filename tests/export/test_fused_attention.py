"""What FlopCounterMode counts for PyTorch's fused attention paths on the CPU (torch 2.13),
against nascost's attention op, whose export is built from Linear modules and explicit
matmuls so that every tool sees it (docs/conventions.md, "Attention").

These pin the measured behaviour: if a torch release starts counting its fused kernels, the
asserts that say "0" fail and the docs need updating."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from nascost.export import to_torch
from nascost.reference import resolve
from nascost.space.builder import SpaceBuilder

N_GRID, D, HEADS = 4, 64, 4  # 16 tokens + a class token


def _space():
    b = SpaceBuilder("attn")
    b.input(D, N_GRID, N_GRID)
    b.layer("to_tokens", "tok")
    b.layer("class_token", "cls")
    b.layer("attention", "attn", heads=HEADS)
    return b.build()


def _flops(model, x, grad: bool = False) -> int:
    counter = FlopCounterMode(display=False)
    with torch.set_grad_enabled(grad), counter:
        model(x)
    return counter.get_total_flops()


class _MHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.m = nn.MultiheadAttention(D, HEADS, batch_first=True)

    def forward(self, x):
        return self.m(x, x, x, need_weights=False)[0]


class _SDPA(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, D))


def test_fused_paths_against_the_attention_op():
    space = _space()
    layer = resolve(space, []).layers[-1]
    linear, products = layer.terms["attn_linear_mac"], layer.macs - layer.terms["attn_linear_mac"]
    x = torch.randn(1, N_GRID * N_GRID + 1, D)

    ours = to_torch(space, []).eval()
    assert _flops(ours, ours.example_input(1)) == 2 * layer.macs  # everything counted

    mha = _MHA().eval()
    assert sum(p.numel() for p in mha.parameters()) == layer.params  # same parameters
    assert _flops(mha, x) == 0  # eval + no_grad: aten._native_multi_head_attention, no formula
    assert _flops(mha, x, grad=True) == 2 * linear  # projections only: CPU SDPA counts 0
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):  # the products run as counted bmm
            assert _flops(mha, x) == 2 * layer.macs
    finally:
        torch.backends.mha.set_fastpath_enabled(True)

    sdpa = _SDPA().eval()
    assert _flops(sdpa, x) == 2 * linear  # q@k^T and attn@v inside SDPA: 0 on the CPU
    with sdpa_kernel(SDPBackend.MATH):
        assert _flops(sdpa, x) == 2 * (linear + products)
