"""Small token spaces the token tests and the bench share (tests/tokens is on sys.path)."""

from __future__ import annotations

from nascost.space.builder import SpaceBuilder


def vit_chain(name: str = "vit-chain", depth: int = 4, embed=(96, 192), heads=(2, 3, 4),
              ratios=(2, 3, 4), resolution=(32, 64), patch: int = 8, classes: int = 10):
    """A ViT/AutoFormer-like chain: patch embedding, class token, positional embedding,
    ``depth`` optional pre-norm blocks with a heads and an MLP-ratio gene each, then the
    class-token head. The embedding width is one gene read by every block."""
    b = SpaceBuilder(name)
    res = b.gene("resolution", list(resolution))
    dim = b.gene("embed", list(embed))
    d = b.gene("depth", list(range(1, depth + 1)))
    b.input(channels=3, height=res, width=res)
    b.conv2d("patch", out_channels=dim, kernel=patch, stride=patch)
    b.layer("to_tokens", "tok")
    b.layer("class_token", "cls")
    b.layer("param", "pos", shape="full")
    b.op("add", "embed_sum", input=["cls", "pos"])
    b.layer("dropout", "pos_drop")
    prev = "pos_drop"
    for i in range(depth):
        h = b.gene(f"heads{i}", list(heads))
        r = b.gene(f"ratio{i}", list(ratios))
        with b.block(f"blk{i}", when=d >= i + 1, input=prev):
            b.layer("layernorm", f"b{i}_ln1")
            b.layer("attention", f"b{i}_attn", heads=h, head_dim=32)
            b.layer("drop_path", f"b{i}_dp1")
            b.op("add", f"b{i}_res1", input=[prev, f"b{i}_dp1"])
            b.layer("layernorm", f"b{i}_ln2")
            b.linear(f"b{i}_fc1", out_features=b.channels_of(f"b{i}_res1", times=r))
            b.op("gelu", f"b{i}_act")
            b.linear(f"b{i}_fc2", out_features=b.channels_of(f"b{i}_res1"))
            b.layer("drop_path", f"b{i}_dp2")
            b.op("add", f"b{i}_res2", input=[f"b{i}_res1", f"b{i}_dp2"])
        prev = f"blk{i}"
    b.layer("layernorm", "norm", input=prev)
    b.layer("token_select", "cls_out")
    b.linear("head", out_features=classes)
    return b.build()
