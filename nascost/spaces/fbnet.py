"""``fbnet``: the FBNet search space (Wu et al., CVPR 2019, "FBNet: Hardware-Aware Efficient
ConvNet Design via Differentiable Neural Architecture Search").

Macro-architecture (the paper's Table 1), input 224x224:

    input        block       f     n   s
    224x224x3    3x3 conv    16    1   2
    112x112x16   TBS         16    1   1
    112x112x16   TBS         24    4   2
    56x56x24     TBS         32    4   2
    28x28x32     TBS         64    4   2
    14x14x64     TBS         112   4   1
    14x14x112    TBS         184   4   2
    7x7x184      TBS         352   1   1
    7x7x352      1x1 conv    head  1   1
    7x7xhead     7x7 avgpool, then fc to 1000

Each of the 22 TBS ("to be searched") layers picks one of the paper's nine blocks (Table 2):
``k3_e1``, ``k3_e1_g2``, ``k3_e3``, ``k3_e6``, ``k5_e1``, ``k5_e1_g2``, ``k5_e3``, ``k5_e6``,
``skip``. The blocks are those of facebookresearch/maskrcnn-benchmark,
maskrcnn_benchmark/modeling/backbone/fbnet_builder.py (``IRFBlock``, ``PRIMITIVES``
``ir_kK_eE`` and ``ir_kK_s2`` for the g2 blocks, ``Identity``, ``ConvBNRelu``):

- ``kK_eE``: 1x1 conv to ``C_in * E`` (no bias; present even for E = 1) + BN + ReLU, KxK
  depthwise conv (stride s, padding K // 2) + BN + ReLU, 1x1 conv to C_out + BN, plus the input
  when the stride is 1 and C_in == C_out;
- ``kK_e1_g2``: the same with both 1x1 convs in 2 groups and a channel shuffle (2 groups)
  after the first one;
- ``skip``: the identity, or, where the layer changes the stride or the width (the first layer
  of a stage, and the 112 and 352 layers), a 1x1 conv (stride s, no bias) + BN + ReLU.

The stem (3x3 conv stride 2, no bias, + BN + ReLU) and head (1x1 conv + BN + ReLU, global
average pooling, linear with bias) are fixed. The head's width is a gene, ``head_channels``
(1504 or 1984), which the paper does not search: the released FBNet-A uses 1504 and FBNet-B and
FBNet-C 1984 (facebookresearch/mobile-vision, mobile_cv/arch/fbnet_v2/
fbnet_modeldef_cls_fbnet.py). The 22 layer genes are ``lN`` (N = 1..22). 2 * 9**22 candidates.

Named candidates: ``fbnet_a``, ``fbnet_b``, ``fbnet_c``, the block choices of
mobile-vision's model definitions (their ``ir_kK_g2`` blocks are expansion-1 group blocks,
the paper's ``kK_e1_g2``). FBNet-A reproduces the paper's 4.3M parameters and 249M
multiply-adds; these definitions of B and C do not reproduce the paper's B and C (4.5M / 295M,
5.5M / 375M): tests/spaces/test_fbnet.py lists what they give under each block variant.
"""

from __future__ import annotations

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space

__all__ = ["build", "BLOCKS", "LAYERS", "NAMED"]

NAME = "fbnet"
RESOLUTION = 224
NUM_CLASSES = 1000
STEM = 16
HEAD_CHANNELS = (1504, 1984)
# the paper's Table 2: name -> (kernel, expansion, groups); None is 'skip'
BLOCKS: dict[str, tuple[int, int, int] | None] = {
    "k3_e1": (3, 1, 1),
    "k3_e1_g2": (3, 1, 2),
    "k3_e3": (3, 3, 1),
    "k3_e6": (3, 6, 1),
    "k5_e1": (5, 1, 1),
    "k5_e1_g2": (5, 1, 2),
    "k5_e3": (5, 3, 1),
    "k5_e6": (5, 6, 1),
    "skip": None,
}
# Table 1: (f, n, s) per TBS stage
STAGES = ((16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2), (352, 1, 1))
# (width, stride) of each of the 22 layers
LAYERS = tuple((f, s if j == 0 else 1) for f, n, s in STAGES for j in range(n))


def _block(b: SpaceBuilder, p: str, spec: tuple[int, int, int] | None, c_in: int, c_out: int,
           stride: int) -> None:
    src = b.last
    if spec is None:  # skip: maskrcnn-benchmark's Identity
        if stride != 1 or c_in != c_out:
            b.conv2d(f"{p}_conv", out_channels=c_out, kernel=1, stride=stride, bias=False)
            b.batchnorm2d(f"{p}_bn")
            b.op("relu", f"{p}_act")
        return
    k, e, g = spec
    mid = c_in * e
    b.conv2d(f"{p}_pw_conv", out_channels=mid, kernel=1, groups=g, bias=False)
    b.batchnorm2d(f"{p}_pw_bn")
    b.op("relu", f"{p}_pw_act")
    if g > 1:
        b.layer("channel_shuffle", f"{p}_shuffle", groups=g)
    b.conv2d(f"{p}_dw_conv", out_channels=mid, kernel=k, stride=stride, padding=k // 2,
             groups=mid, bias=False)
    b.batchnorm2d(f"{p}_dw_bn")
    b.op("relu", f"{p}_dw_act")
    b.conv2d(f"{p}_pwl_conv", out_channels=c_out, kernel=1, groups=g, bias=False)
    out = b.batchnorm2d(f"{p}_pwl_bn")
    if stride == 1 and c_in == c_out:
        b.op("add", f"{p}_add", input=[out, src])


def build(*, name: str = NAME) -> Space:
    b = SpaceBuilder(name, description=(
        "FBNet search space (ImageNet 224x224): one of nine blocks for each of 22 layers, and "
        "the head width of the released models"))
    genes = [b.gene(f"l{i}", tuple(BLOCKS), doc=f"block of layer {i} ({f} channels, stride {s})")
             for i, (f, s) in enumerate(LAYERS, start=1)]
    head = b.gene("head_channels", HEAD_CHANNELS, doc="width of the last 1x1 conv (not searched)")
    b.input(channels=3, height=RESOLUTION, width=RESOLUTION)

    b.conv2d("stem_conv", out_channels=STEM, kernel=3, stride=2, padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    b.op("relu", "stem_act")
    c_in = STEM
    for i, (gene, (c_out, stride)) in enumerate(zip(genes, LAYERS, strict=True), start=1):
        with b.choice(f"l{i}", gene) as c:
            for op, spec in BLOCKS.items():
                with c.option():
                    _block(b, f"l{i}_{op}", spec, c_in, c_out, stride)
        c_in = c_out
    b.conv2d("head_conv", out_channels=head, kernel=1, bias=False)
    b.batchnorm2d("head_bn")
    b.op("relu", "head_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)

    choices = b.to_spec()["genes"]
    for label, (ops, h) in NAMED.items():
        b.name_candidate(label, [choices[j]["choices"].index(v) for j, v in
                                 enumerate([*ops, h])])
    return b.build()


# facebookresearch/mobile-vision, mobile_cv/arch/fbnet_v2/fbnet_modeldef_cls_fbnet.py
# MODEL_ARCH_FBNET: per layer ir_kK with e1/e3/e6 (ir_kK_g2 = kK_e1_g2), skip; last conv_k1.
NAMED: dict[str, tuple[tuple[str, ...], int]] = {
    "fbnet_a": (("skip",
                 "k3_e3", "k3_e1", "skip", "skip",
                 "k5_e6", "k3_e3", "k5_e1", "k3_e3",
                 "k5_e6", "k5_e3", "k5_e1_g2", "k5_e6",
                 "k3_e6", "k5_e1_g2", "k5_e3", "k3_e1_g2",
                 "k5_e6", "k5_e6", "k5_e3", "k5_e6",
                 "k5_e6"), 1504),
    "fbnet_b": (("k3_e1",
                 "k3_e6", "k5_e1", "k3_e1", "k3_e1",
                 "k5_e6", "k5_e3", "k3_e6", "k5_e6",
                 "k5_e6", "k5_e6", "skip", "k5_e3",
                 "k5_e6", "k3_e1", "k5_e1", "k5_e3",
                 "k5_e6", "k5_e1", "k5_e6", "k5_e6",
                 "k3_e6"), 1984),
    "fbnet_c": (("k3_e1",
                 "k3_e6", "skip", "k3_e1", "k3_e1",
                 "k5_e6", "k5_e3", "k5_e6", "k3_e6",
                 "k5_e6", "k5_e3", "k5_e6", "k5_e6",
                 "k5_e6", "k5_e6", "k5_e6", "k5_e3",
                 "k5_e6", "k5_e6", "k5_e6", "k5_e6",
                 "k3_e6"), 1984),
}

SPACES = {NAME: build}
