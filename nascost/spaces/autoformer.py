"""AutoFormer's supernets (Chen et al., ICCV 2021) as search spaces: ``autoformer-tiny``,
``autoformer-small``, ``autoformer-base``.

From microsoft/Cream AutoFormer (model/supernet_transformer.py, model/module/*.py, run with
``--change_qkv --gp``): a 16x16 patch conv (bias) to the embed dim, a class token and an
absolute positional embedding; ``depth`` pre-norm layers, layer i with its own number of heads
(64 features per head: qkv Linear D -> 3 * 64 * heads with bias, proj 64 * heads -> D) and MLP
ratio (fc1 D -> int(D * ratio), GELU, fc2 back to D); a final LayerNorm, the mean over the
tokens, a 1000-class Linear. 224 x 224 inputs.

Genes (experiments/supernet/supernet-{T,S,B}.yaml, SEARCH_SPACE): ``embed_dim`` (one for all
layers), ``depth``, and per layer ``lI_heads`` and ``lI_mlp_ratio``; the layers past the
chosen depth are skipped. The released subnets (experiments/subnet/AutoFormer-{T,S,B}.yaml,
RETRAIN) are named candidates ``AutoFormer-T``, ``AutoFormer-S``, ``AutoFormer-B``.

Where this differs from the code, and why:
- supernet-T.yaml lists MLP ratios 3.5 and 4, but the released AutoFormer-T uses 3.0 in three
  layers: the tiny space includes 3.0 so that the released model is one of its candidates.
- The released models were trained with ``--relative_position``: per layer, 2-D relative
  position tables for k and v (4 x 30 x 64 = 7,680 parameters) and two more matmuls of
  heads * N^2 * 64 MACs. The ``attention`` op has no such field yet, so these spaces count
  AutoFormer without them (its default, ``relative_position=False``). AutoFormer-T's published
  5.7M (paper) / 5.8M (README) is this count (5,768,104); S and B's published 22.9M / 53.7M
  include the tables (22,891,432 and 53,691,688 by tests/spaces/transformer_refs_vit.py).
- ``gp`` averages the patch tokens only (``x[:, 1:].mean(1)``); ``mean`` here averages all
  tokens. Neither has parameters or MACs.
"""

from __future__ import annotations

from functools import partial

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.transformer_blocks import NUM_CLASSES, encoder_block, patch_embed

HEAD_DIM = 64  # change_qkv: sample_q_embed_dim = 64 * heads
PATCH = 16

# experiments/supernet/supernet-{T,S,B}.yaml SEARCH_SPACE (tiny: 3.0 added, see above)
SPACES_DEF = {
    "autoformer-tiny": {"embed_dim": (192, 216, 240), "depth": (12, 13, 14),
                        "num_heads": (3, 4), "mlp_ratio": (3.0, 3.5, 4.0)},
    "autoformer-small": {"embed_dim": (320, 384, 448), "depth": (12, 13, 14),
                         "num_heads": (5, 6, 7), "mlp_ratio": (3.0, 3.5, 4.0)},
    "autoformer-base": {"embed_dim": (528, 576, 624), "depth": (14, 15, 16),
                        "num_heads": (9, 10), "mlp_ratio": (3.0, 3.5, 4.0)},
}

# experiments/subnet/AutoFormer-{T,S,B}.yaml RETRAIN: (space, embed_dim, heads, mlp ratios)
SUBNETS = {
    "AutoFormer-T": ("autoformer-tiny", 192, (3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3),
                     (3.5, 3.5, 3.0, 3.5, 3.0, 3.0, 4.0, 4.0, 3.5, 4.0, 3.5, 4.0, 3.5)),
    "AutoFormer-S": ("autoformer-small", 384, (6, 6, 5, 7, 5, 5, 5, 6, 6, 7, 7, 6, 7),
                     (3.0, 3.5, 3.0, 3.5, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.5, 4.0)),
    "AutoFormer-B": ("autoformer-base", 576, (9, 9, 9, 9, 9, 10, 9, 9, 10, 9, 10, 9, 9, 10),
                     (3.5, 3.5, 4.0, 3.5, 4.0, 3.5, 3.5, 3.0, 4.0, 4.0, 3.0, 4.0, 3.0, 3.5)),
}


def build(name: str) -> Space:
    d = SPACES_DEF[name]
    b = SpaceBuilder(name, description=(
        f"AutoFormer supernet ({name[len('autoformer-'):]}, microsoft/Cream AutoFormer): "
        f"embed dim {list(d['embed_dim'])}, depth {list(d['depth'])}, per-layer heads "
        f"{list(d['num_heads'])} (64 features each) and MLP ratio {list(d['mlp_ratio'])}; "
        "absolute positional embedding, mean-token head (224x224, 1000 classes)"))
    embed = b.gene("embed_dim", d["embed_dim"], doc="embedding dimension of every layer")
    depth = b.gene("depth", d["depth"], doc="number of transformer layers")
    layers = []
    for i in range(max(d["depth"])):
        heads = b.gene(f"l{i}_heads", d["num_heads"], doc=f"attention heads of layer {i}")
        ratio = b.gene(f"l{i}_mlp_ratio", d["mlp_ratio"], doc=f"MLP ratio of layer {i}")
        layers.append((heads, ratio))
    b.input(channels=3, height=224, width=224)
    patch_embed(b, embed, PATCH)
    for i, (heads, ratio) in enumerate(layers):
        when = None if i < min(d["depth"]) else depth >= i + 1
        x = b.last
        encoder_block(b, f"l{i}", heads=heads, head_dim=HEAD_DIM,
                      mlp_hidden=b.channels_of(x, times=ratio), when=when)
    b.layer("layernorm", "norm")
    b.layer("mean", "gp")
    b.linear("head", out_features=NUM_CLASSES)
    for cand, (space, dim, heads, ratios) in SUBNETS.items():
        if space == name:
            b.name_candidate(cand, _subnet_genes(d, dim, heads, ratios))
    return b.build()


def _subnet_genes(d: dict, dim: int, heads: tuple, ratios: tuple) -> list[int]:
    genes = [d["embed_dim"].index(dim), d["depth"].index(len(heads))]
    for i in range(max(d["depth"])):
        h, r = (heads[i], ratios[i]) if i < len(heads) else (d["num_heads"][0],
                                                            d["mlp_ratio"][0])
        genes += [d["num_heads"].index(h), d["mlp_ratio"].index(r)]
    return genes


SPACES = {name: partial(build, name) for name in SPACES_DEF}
