"""The transformer and hybrid built-in spaces through nascost's own ``to_torch`` export.

For one-candidate spaces and random candidates of the NAS spaces, the exported model has
nascost's parameters, every layer's output shape (``layer_shapes``) and nascost's MACs as
FlopCounterMode total // 2 with attention as counted matmuls (transformer_refs_common).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_transformer_spaces import NAS_SPACES, nascost_params_macs, rows_of
from torch.utils.flop_counter import FlopCounterMode
from transformer_refs_common import counted_attention, n_params

from nascost.export import layer_shapes, to_torch
from nascost.reference.walk import resolve
from nascost.spaces import load_builtin


def check_to_torch(s, row) -> None:
    r = resolve(s, row)
    model = to_torch(s, row, device="meta")
    model.eval()
    x = torch.empty(1, *s.input_shape(row), device="meta")
    with torch.no_grad(), counted_attention(), FlopCounterMode(display=False) as fc:
        shapes = layer_shapes(model, x)
    assert shapes == {layer.name: layer.out_shape for layer in r.layers}
    got = (n_params(model), fc.get_total_flops() // 2)
    assert got == nascost_params_macs(s, row), s.genes_to_values(row) if s.n_genes else s.name


@pytest.mark.parametrize("name", ["vit_b_32", "convnext_tiny", "swin_t", "deit_tiny"])
def test_one_candidate_spaces_match_to_torch(name):
    s = load_builtin(name)
    check_to_torch(s, np.zeros(0, dtype=np.uint8))


@pytest.mark.parametrize("name", NAS_SPACES)
def test_random_candidates_match_to_torch(name):
    s = load_builtin(name)
    for row in rows_of(name)[:2]:
        check_to_torch(s, row)
