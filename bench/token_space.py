"""Write an AutoFormer-Tiny-shaped supernet spec for the throughput bench (until the built-in
`autoformer-tiny` exists): patch embedding, class token, positional embedding, 12..14
pre-norm blocks with a heads gene (3, 4; head_dim 64) and an MLP-ratio gene (3.5, 4) each,
one embedding width gene (192, 216, 240) read by every block, class-token head.

    python bench/token_space.py            # writes bench/out/autoformer-like-tiny.json
    python bench/throughput.py --space bench/out/autoformer-like-tiny.json
"""

from __future__ import annotations

from pathlib import Path

from nascost.space.builder import SpaceBuilder


def autoformer_like(depths=(12, 13, 14), embeds=(192, 216, 240), heads=(3, 4),
                    ratios=(3.5, 4.0), name="autoformer-like-tiny"):
    b = SpaceBuilder(name)
    dim = b.gene("embed_dim", list(embeds))
    depth = b.gene("depth", list(depths))
    b.input(channels=3, height=224, width=224)
    b.conv2d("patch_embed", out_channels=dim, kernel=16, stride=16)
    b.layer("to_tokens", "tokens")
    b.layer("class_token", "cls")
    b.layer("param", "pos_embed", shape="full")
    b.op("add", "embedded", input=["cls", "pos_embed"])
    prev = "embedded"
    for i in range(max(depths)):
        h = b.gene(f"heads_{i}", list(heads))
        r = b.gene(f"mlp_ratio_{i}", list(ratios))
        with b.block(f"block_{i}", when=depth >= i + 1, input=prev):
            b.layer("layernorm", f"b{i}_ln1")
            b.layer("attention", f"b{i}_attn", heads=h, head_dim=64)
            b.op("add", f"b{i}_res1", input=[prev, f"b{i}_attn"])
            b.layer("layernorm", f"b{i}_ln2")
            b.linear(f"b{i}_fc1", out_features=b.channels_of(f"b{i}_res1", times=r))
            b.op("gelu", f"b{i}_gelu")
            b.linear(f"b{i}_fc2", out_features=b.channels_of(f"b{i}_res1"))
            b.op("add", f"b{i}_res2", input=[f"b{i}_res1", f"b{i}_fc2"])
        prev = f"block_{i}"
    b.layer("layernorm", "norm", input=prev)
    b.layer("token_select", "cls_token")
    b.linear("head", out_features=1000)
    return b.build()


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "out" / "autoformer-like-tiny.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    space = autoformer_like()
    out.write_text(space.to_json(indent=1))
    print(f"wrote {out} ({space.n_genes} genes, {space.size:,} gene arrays)")
