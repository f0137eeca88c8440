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


def swin_hybrid_chain(name: str = "swin-hybrid"):
    """A Swin-like and hybrid chain: a conv stem with BatchNorm, then tokens through
    (shifted) window attention with window, heads and MLP genes, patch merging, a detour
    back to a map (to_map, upsample, GroupNorm, conv, to_tokens), layer scale, and a
    mean-token head."""
    b = SpaceBuilder(name)
    res = b.gene("resolution", [28, 32, 40])
    dim = b.gene("dim", [8, 12, 16])
    win = b.gene("window", [2, 3, 4])
    up = b.gene("upsample", ["nearest", "bilinear"])
    b.input(channels=3, height=res, width=res)
    b.conv2d("stem", out_channels=dim, kernel=4, stride=4, bias=False)
    b.batchnorm2d("stem_bn")
    b.layer("to_tokens", "tok")
    b.layer("layernorm", "tok_ln")
    prev = "tok_ln"
    for i in range(3):
        heads = b.gene(f"heads{i}", [1, 2, 4])
        ratio = b.gene(f"ratio{i}", [2, 4])
        with b.block(f"blk{i}", input=prev):
            b.layer("layernorm", f"b{i}_ln1")
            b.layer("window_attention", f"b{i}_attn", heads=heads, window=win,
                    shift=0 if i % 2 == 0 else win.map(lambda v: v // 2))
            b.layer("param", f"b{i}_gamma", shape="channels")
            b.op("mul", f"b{i}_scaled", input=[f"b{i}_attn", f"b{i}_gamma"])
            b.layer("drop_path", f"b{i}_dp")
            b.op("add", f"b{i}_res1", input=[prev, f"b{i}_dp"])
            b.layer("layernorm", f"b{i}_ln2")
            b.linear(f"b{i}_fc1", out_features=b.channels_of(f"b{i}_res1", times=ratio))
            b.op("gelu", f"b{i}_act")
            b.linear(f"b{i}_fc2", out_features=b.channels_of(f"b{i}_res1"))
            b.op("add", f"b{i}_res2", input=[f"b{i}_res1", f"b{i}_fc2"])
        prev = f"blk{i}"
        if i == 0:
            b.layer("patch_merge", "merge", input=prev)
            b.layer("layernorm", "merge_ln")
            b.linear("merge_fc", out_features=b.channels_of("blk0", times=2), bias=False)
            prev = "merge_fc"
    b.layer("to_map", "map", input=prev)
    b.layer("upsample", "up", mode=up, scale=2)
    b.layer("groupnorm", "gn", groups=2)
    b.conv2d("fuse", out_channels=b.channels_of("gn"), kernel=3, padding=1, stride=2)
    b.layer("to_tokens", "tok2")
    b.layer("softmax", "gate")
    b.op("mul", "gated", input=["tok2", "gate"])
    b.layer("mean", "pooled")
    b.layer("batchnorm1d", "head_bn")
    b.linear("head", out_features=10)
    return b.build()
