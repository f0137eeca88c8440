"""Counting helpers shared by the independent transformer references in this folder.

Attention must run as counted matmuls: on the CPU FlopCounterMode has no formula for
``aten._scaled_dot_product_flash_attention_for_cpu`` and misses nn.MultiheadAttention's fast
path ``aten._native_multi_head_attention`` entirely (/work/shared/USER_NEEDS.md P25). Forcing the
MATH SDPA backend and switching the fast path off makes both run as bmm, which it counts.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


@contextlib.contextmanager
def counted_attention():
    """Attention as explicit, counted matmuls (MATH SDPA backend, no MHA fast path)."""
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs(model: nn.Module, shape: tuple[int, int, int] = (3, 224, 224), batch: int = 1) -> int:
    """FlopCounterMode total // 2 of one eval forward, attention counted (see module doc).

    Build the model under ``torch.device("meta")``: no arithmetic is done."""
    device = next(model.parameters()).device
    x = torch.empty((batch, *shape), device=device)
    model.eval()
    with torch.no_grad(), counted_attention(), FlopCounterMode(display=False) as fc:
        model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return total // 2


def on_meta(build, *args, **kwargs) -> nn.Module:
    """``build(*args, **kwargs)`` on the meta device (no memory, no initialisation cost)."""
    with torch.device("meta"):
        return build(*args, **kwargs)
