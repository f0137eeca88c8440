"""The transformer and hybrid built-in spaces against PyTorch and the published numbers.

1. One-candidate spaces (torchvision ViT, ConvNeXt, Swin; DeiT): nascost's params and MACs
   equal the independent references (tests/spaces/transformer_refs_*.py, written from the
   published code) and the published numbers (test_transformer_refs.py has the sources).
2. Random candidates of the NAS spaces (AutoFormer T/S/B, nasvit-style) equal the
   independent model (nascost's own ``to_torch`` export: test_transformer_export.py).
3. The kernels equal the slow reference walk on random candidates.
MACs are FlopCounterMode // 2 with attention as counted matmuls (transformer_refs_common).
"""

from __future__ import annotations

import numpy as np
import pytest
import transformer_refs_conv as conv_refs
import transformer_refs_hybrid as hybrid_refs
import transformer_refs_vit as vit_refs
from test_transformer_refs import AUTOFORMER, DEIT, TORCHVISION
from transformer_refs_common import macs, n_params, on_meta

from nascost.reference.walk import count, resolve
from nascost.spaces import autoformer, load_builtin, nasvit_style

SEED = 2026
NAS_SPACES = ("autoformer-tiny", "autoformer-small", "autoformer-base", "nasvit-style")
N_RANDOM = {"autoformer-tiny": 4, "autoformer-small": 3, "autoformer-base": 2,
            "nasvit-style": 6}


def nascost_params_macs(space, row) -> tuple[int, int]:
    c = count(space, row, "macs")
    assert c["status"] == 0
    return c["params"], c["macs"]


def reference_model(name: str, space, row):
    """The independent model of a candidate of a built-in transformer space."""
    if name in TORCHVISION:
        build = vit_refs.vit if name.startswith("vit") else (
            conv_refs.convnext if name.startswith("convnext") else conv_refs.swin)
        return on_meta(build, name)
    if name in vit_refs.DEIT_CONFIGS:
        return on_meta(vit_refs.deit, name)
    v = space.genes_to_values(row)
    if name.startswith("autoformer"):
        depth = v["depth"]
        heads = [v[f"l{i}_heads"] for i in range(depth)]
        ratios = [v[f"l{i}_mlp_ratio"] for i in range(depth)]
        return on_meta(vit_refs.AutoFormer, v["embed_dim"], heads, ratios, relative=False,
                       image=224)
    cnn = [[(v[f"s{i}_b{j}_kernel"], v[f"s{i}_b{j}_expand"]) for j in range(v[f"s{i}_depth"])]
           for i in (1, 2, 3)]
    tst = [(v[f"t{i}_width"], [v[f"t{i}_b{j}_mlp_ratio"] for j in range(v[f"t{i}_depth"])])
           for i in (4, 5)]
    return on_meta(hybrid_refs.HybridNet, cnn, tst)


def rows_of(name: str) -> np.ndarray:
    s = load_builtin(name)
    return s.sample(N_RANDOM[name], seed=SEED)


# --- 1. one-candidate spaces -----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_spaces_are_the_published_models(name):
    s = load_builtin(name)
    assert s.n_genes == 0
    params, gmacs = TORCHVISION[name]
    got = nascost_params_macs(s, [])
    assert got[0] == params  # torchvision's num_params
    assert f"{got[1] / 1e9:.3f}" == f"{gmacs:.3f}"  # torchvision's _ops, to its digits
    model = reference_model(name, s, [])
    assert got == (n_params(model), macs(model))


@pytest.mark.parametrize("name", sorted(DEIT))
def test_deit_spaces(name):
    s = load_builtin(name)
    model = reference_model(name, s, [])
    got = nascost_params_macs(s, [])
    assert got == (n_params(model), macs(model))
    mparams, gmacs = DEIT[name]
    digits = len(mparams.partition(".")[2])
    assert got[0] // 10 ** (6 - digits) == int(mparams.replace(".", ""))  # paper: truncated
    assert f"{got[1] / 1e9:.1f}" == gmacs


# --- 2. NAS spaces -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAS_SPACES)
def test_random_candidates_match_independent_models(name):
    s = load_builtin(name)
    for row in rows_of(name):
        model = reference_model(name, s, row)
        assert nascost_params_macs(s, row) == (n_params(model), macs(model, s.input_shape(row))), \
            s.genes_to_values(row)


@pytest.mark.parametrize("cand", sorted(autoformer.SUBNETS))
def test_autoformer_released_subnets(cand):
    space = autoformer.SUBNETS[cand][0]
    s = load_builtin(space)
    row = s.named(cand)
    model = on_meta(vit_refs.autoformer, cand, False)  # without relative position tables
    assert nascost_params_macs(s, row) == (n_params(model), macs(model))
    relative, mparams = AUTOFORMER[cand]
    if not relative:  # AutoFormer-T: its published figure is the count without the tables
        assert f"{nascost_params_macs(s, row)[0] / 1e6:.1f}" == mparams


def test_autoformer_depth_switches_later_layers_off():
    s = load_builtin("autoformer-tiny")
    row = s.genes_from_values({"depth": 12})
    live = dict(zip(s.gene_names, s.live_genes(row), strict=True))
    assert live["l11_heads"] and not live["l12_heads"] and not live["l13_mlp_ratio"]
    names = [x.name for x in resolve(s, row).layers]
    assert sum(n.endswith("_attn") for n in names) == 12


def test_nasvit_style_token_counts_follow_resolution():
    s = load_builtin("nasvit-style")
    for res, n4 in ((192, 144), (224, 196), (256, 256)):
        row = s.genes_from_values({"resolution": res})
        layers = {x.name: x for x in resolve(s, row).layers}
        assert layers["t4_tokens"].out_shape == (n4, s.genes_to_values(row)["t4_width"])
    assert nasvit_style.HEAD_DIM == 32


# --- 3. kernels vs the reference walk ---------------------------------------------------------
@pytest.mark.parametrize("name", NAS_SPACES + ("swin_t", "convnext_tiny", "vit_b_16"))
def test_kernel_scores_match_reference(name):
    s = load_builtin(name)
    rows = s.sample(8, seed=SEED) if s.n_genes else np.zeros((1, 0), dtype=np.uint8)
    for conv in ("seed", "torch", "fvcore"):
        out = s.score_arrays(rows, conv, batch=2)
        for k, row in enumerate(rows):
            want = count(s, row, conv, batch=2)
            got = {key: int(out[key][k]) for key in want}
            assert got == want, (conv, k)


# --- budget analytics on autoformer-tiny ----------------------------------------------------
def test_autoformer_tiny_bounds_count_sample_within():
    s = load_builtin("autoformer-tiny")
    b = s.bounds()
    rows = s.sample(2000, seed=SEED)
    out = s.score_arrays(rows, "seed")
    assert b["params"]["min"] <= out["params"].min() <= out["params"].max() <= b["params"]["max"]
    for m in ("params", "macs"):
        for end in ("min", "max"):
            assert count(s, b[m][f"{end}_genes"], "seed")[m] == b[m][end]
    limit = int(np.median(out["params"]))
    c = s.count(max_params=limit)
    assert c.exact and 0 < c.low < s.size
    picks = s.sample_within(200, seed=1, max_params=limit)
    assert (s.score_arrays(picks, "seed")["params"] <= limit).all()
