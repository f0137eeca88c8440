"""Hypothesis strategies: a random token or transformer op with random fields on a random
input (tests/tokens is on sys.path under pytest)."""

from __future__ import annotations

from hypothesis import strategies as st

from nascost.space.builder import SpaceBuilder

TOKEN_KINDS = ("to_tokens", "to_map", "patch_merge", "class_token", "token_select", "mean",
               "layernorm", "groupnorm", "batchnorm1d", "softmax", "dropout", "drop_path",
               "attention", "window_attention", "matmul", "param", "upsample", "linear",
               "gelu")


@st.composite
def token_op_space(draw, kinds=TOKEN_KINDS):
    """(kind, Space): an input map, the views an op needs (to_tokens, ...) and the op."""
    kind = draw(st.sampled_from(kinds))
    d = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12]))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    if kind == "groupnorm":  # torch (training mode) rejects a group of one value
        h = max(h, 2)
    b = SpaceBuilder(f"one-{kind}")
    b.input(d, h, w)
    rank = draw(st.sampled_from(["map", "tokens", "flat"]))

    def tokens():
        b.layer("to_tokens", "tok")
        if draw(st.booleans()):
            b.layer("class_token", "cls", tokens=draw(st.integers(1, 2)))  # no grid now

    def value(kind_rank):
        if kind_rank == "tokens":
            tokens()
        elif kind_rank == "flat":
            b.op("flatten", "flat")

    if kind == "to_tokens":
        b.layer("to_tokens", "op")
    elif kind == "to_map":
        b.layer("to_tokens", "tok")
        n = h * w
        pair = draw(st.sampled_from([(0, 0), (w, h), (n, 1), (1, n)]))
        b.layer("to_map", "op", height=pair[0], width=pair[1])
    elif kind == "patch_merge":
        tokens()
        b.layer("patch_merge", "op")
    elif kind == "class_token":
        tokens()
        b.layer("class_token", "op", tokens=draw(st.integers(1, 3)))
    elif kind == "token_select":
        tokens()
        b.layer("token_select", "op", index=draw(st.integers(0, h * w - 1)))
    elif kind == "mean":
        value(draw(st.sampled_from(["map", "tokens"])))
        b.layer("mean", "op")
    elif kind == "layernorm":
        value(rank)
        b.layer("layernorm", "op", affine=draw(st.booleans()), bias=draw(st.booleans()))
    elif kind == "groupnorm":
        g = draw(st.sampled_from([x for x in (1, 2, 3, 4) if d % x == 0]))
        b.layer("groupnorm", "op", groups=g, affine=draw(st.booleans()))
    elif kind == "batchnorm1d":
        value(draw(st.sampled_from(["tokens", "flat"])))
        b.layer("batchnorm1d", "op", affine=draw(st.booleans()))
    elif kind == "softmax":
        value(rank)
        b.layer("softmax", "op")
    elif kind in ("dropout", "drop_path", "gelu"):
        value(rank)
        b.layer(kind, "op")
    elif kind == "linear":
        value(draw(st.sampled_from(["tokens", "flat"])))
        b.linear("op", draw(st.integers(1, 9)), bias=draw(st.booleans()))
    elif kind == "attention":
        variant = draw(st.sampled_from(["self", "cross", "partition"]))
        if variant == "partition":
            b.layer("to_tokens", "tok")  # the unfolding needs the grid
        else:
            tokens()
        x = b.last
        kv = None
        if variant == "cross":  # cross / reduced attention: kv of other tokens and width
            kv = b.linear("kv_src", draw(st.integers(1, 6)), input="tok")
        heads = draw(st.integers(1, 3))
        head_dim = draw(st.sampled_from([0, 1, 2, 3])) if d % heads == 0 else \
            draw(st.integers(1, 3))
        proj = draw(st.booleans())
        out = draw(st.sampled_from([0, 5])) if proj else 0
        extra = {}
        if variant == "partition":  # MobileViT's unfolding
            extra["partition"] = [draw(st.sampled_from([p for p in (1, 2, 3) if h % p == 0])),
                                  draw(st.sampled_from([p for p in (1, 2, 3) if w % p == 0]))]
        b.layer("attention", "op", input=[x, kv] if kv else x, heads=heads,
                head_dim=head_dim, qkv_bias=draw(st.booleans()), proj=proj,
                proj_bias=draw(st.booleans()), out_features=out, **extra)
    elif kind == "window_attention":
        b.layer("to_tokens", "tok")
        heads = draw(st.integers(1, 3))
        head_dim = 0 if d % heads == 0 and draw(st.booleans()) else draw(st.integers(1, 3))
        b.layer("window_attention", "op", heads=heads, head_dim=head_dim,
                window=[draw(st.integers(1, 4)), draw(st.integers(1, 4))],
                shift=[draw(st.integers(0, 2)), draw(st.integers(0, 2))],
                qkv_bias=draw(st.booleans()), proj_bias=draw(st.booleans()),
                rel_pos_bias=draw(st.booleans()))
    elif kind == "matmul":
        tokens()
        x = b.last
        b.layer("matmul", "scores", input=[x, x], transpose_b=True)  # (N, D) @ (N, D)^T
        if draw(st.booleans()):
            b.layer("matmul", "op", input=["scores", x])  # (N, N) @ (N, D)
    elif kind == "param":
        value(rank)
        x = b.last
        shape = draw(st.sampled_from(["full", "channels", "scalar"]))
        b.layer("param", "p", shape=shape)
        b.op(draw(st.sampled_from(["add", "mul"])) if shape == "full" else "mul", "op",
             input=[x, "p"])
    elif kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        extra = {"align_corners": draw(st.booleans())} if mode == "bilinear" else {}
        if draw(st.booleans()):
            b.layer("upsample", "op", mode=mode,
                    scale=[draw(st.integers(1, 3)), draw(st.integers(1, 3))], **extra)
        else:
            b.layer("upsample", "op", mode=mode,
                    size=[draw(st.integers(1, 9)), draw(st.integers(1, 9))], **extra)
    return kind, b.build()
