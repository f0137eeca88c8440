"""ProxylessNAS's ImageNet search space (Cai, Zhu & Han, ICLR 2019).

The super-network of mit-han-lab/proxylessnas, search/models/super_nets/super_proxyless.py
(``SuperProxylessNASNets``) with the defaults of search/imagenet_arch_search.py:

- first conv: 3x3 stride 2 to ``make_divisible(32 w, 8)``, no bias, BN, ReLU6;
- first block: ``3x3_MBConv1`` to ``make_divisible(16 w, 8)`` (depthwise 3x3 + BN + ReLU6,
  1x1 project + BN), no shortcut;
- 21 searched blocks: stages of 4, 4, 4, 4, 4, 1 blocks with widths 24, 40, 80, 96, 192, 320
  (times w, made divisible by 8) and first strides 2, 2, 2, 1, 2, 1. Each block picks one of
  ``3x3_MBConv3``, ``3x3_MBConv6``, ``5x5_MBConv3``, ``5x5_MBConv6``, ``7x7_MBConv3``,
  ``7x7_MBConv6`` and, where the block has an identity shortcut (stride 1 and equal widths:
  every block but a stage's first), ``Zero`` (the block is skipped: its output is its input).
  ``KxK_MBConvE`` is search/modules/layers.py's ``MBInvertedConvLayer``: 1x1 expand to
  ``round(C_in * E)`` (no rounding to 8) + BN + ReLU6, KxK depthwise (padding K // 2) + BN +
  ReLU6, 1x1 project + BN, plus the identity where the block has one;
- feature mix layer: 1x1 conv to 1280 (``make_divisible(1280 w, 8)`` if w > 1) + BN + ReLU6,
  global average pooling, linear classifier to 1000.

One gene per searched block, ``sN_bJ_op``, whose choices are the op names above; the input is
224x224. 6**6 * 7**15 candidates.

The released models (mit-han-lab/proxylessnas proxyless_nas/model_zoo.py) were not all searched
with these widths. Their architectures (osmr/imgclsmob pytorch/pytorchcv/models/proxylessnas.py
``get_proxylessnas``, transcribed from the official net configs) give two more built-ins:

- ``proxylessnas-mobile``: stage widths 32, 40, 80, 96, 192, 320 (the width of the 56x56
  stage is 32 in the released mobile model), named candidate ``proxyless_mobile``;
- ``proxylessnas-gpu``: the default widths times w = 1.35 (first conv 40, first block 24,
  stages 32, 56, 112, 128, 256, 432, feature mix 1728), named candidate ``proxyless_gpu``.

``proxyless_cpu`` and ``proxyless_mobile_14`` have stage widths that no single multiplier of
these stage widths gives, so no built-in space holds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from nascost.space.builder import SpaceBuilder
from nascost.space.space import Space
from nascost.spaces._common import make_divisible
from nascost.spaces.ofa import inverted_residual

__all__ = ["build", "CONV_CANDIDATES", "ZERO", "RELEASED"]

NAME = "proxylessnas"
CONV_CANDIDATES = ("3x3_MBConv3", "3x3_MBConv6", "5x5_MBConv3", "5x5_MBConv6", "7x7_MBConv3",
                   "7x7_MBConv6")
ZERO = "Zero"
WIDTH_STAGES = (24, 40, 80, 96, 192, 320)
N_CELL_STAGES = (4, 4, 4, 4, 4, 1)
STRIDE_STAGES = (2, 2, 2, 1, 2, 1)
RESOLUTION = 224
NUM_CLASSES = 1000


def _op(name: str) -> tuple[int, int]:
    """'5x5_MBConv6' -> (kernel 5, expand 6)."""
    k, e = name.split("_MBConv")
    return int(k.split("x")[0]), int(e)


def build(width_stages: Sequence[int] = WIDTH_STAGES, width_mult: float = 1.0, *,
          name: str = NAME) -> Space:
    """The search space for the given stage widths and width multiplier."""
    if len(width_stages) != len(N_CELL_STAGES):
        raise ValueError(f"The 'width_stages' of the ProxylessNAS space must list "
                         f"{len(N_CELL_STAGES)} widths. Got {list(width_stages)!r} instead.")
    input_channel = make_divisible(32 * width_mult, 8)
    first_cell = make_divisible(16 * width_mult, 8)
    widths = [make_divisible(w * width_mult, 8) for w in width_stages]
    last_channel = make_divisible(1280 * width_mult, 8) if width_mult > 1.0 else 1280

    b = SpaceBuilder(name, description=(
        f"ProxylessNAS ImageNet search space (stage widths {list(widths)}): one of six MBConv "
        "blocks, or Zero where the block has a shortcut, for each of 21 blocks"))
    cells = []  # (gene, stride, width, shortcut)
    feature = first_cell
    for i, (width, n, s) in enumerate(zip(widths, N_CELL_STAGES, STRIDE_STAGES, strict=True),
                                      start=1):
        for j in range(n):
            stride = s if j == 0 else 1
            shortcut = stride == 1 and feature == width
            ops = CONV_CANDIDATES + ((ZERO,) if shortcut else ())
            gene = b.gene(f"s{i}_b{j}_op", ops, doc=f"block {j} of stage {i}")
            cells.append((f"s{i}_b{j}", gene, stride, width, shortcut))
            feature = width
    b.input(channels=3, height=RESOLUTION, width=RESOLUTION)

    b.conv2d("first_conv", out_channels=input_channel, kernel=3, stride=2, padding=1,
             bias=False)
    b.batchnorm2d("first_bn")
    b.op("relu6", "first_act")
    with b.block("s0_b0"):
        inverted_residual(b, "s0_b0", kernel=3, expand=None, stride=1, act="relu6",
                          out_channels=first_cell)
    for p, gene, stride, width, shortcut in cells:
        with b.choice(p, gene) as c:
            for op in gene.choices:
                with c.option():
                    if op == ZERO:
                        continue  # an empty option: the block's output is its input
                    k, e = _op(op)
                    q = f"{p}_k{k}e{e}"
                    with b.block(q):
                        inverted_residual(b, q, kernel=k, expand=e, stride=stride,
                                          act="relu6", out_channels=width, residual=shortcut,
                                          divisor=0)
    b.conv2d("feature_mix_conv", out_channels=last_channel, kernel=1, bias=False)
    b.batchnorm2d("feature_mix_bn")
    b.op("relu6", "feature_mix_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)

    genes = b.to_spec()["genes"]
    for label, arch in RELEASED.items():
        if arch["widths"] == (input_channel, first_cell, *widths, last_channel):
            ops = [op for stage in arch["ops"] for op in stage]
            b.name_candidate(label, [g["choices"].index(op) for g, op in
                                     zip(genes, ops, strict=True)])
    return b.build()


def _ops(kernels, expands, residuals) -> list[list[str]]:
    """imgclsmob's per-stage kernel / expand / residual lists -> op names per stage."""
    return [[f"{k}x{k}_MBConv{e}" if r else ZERO for k, e, r in zip(ks, es, rs, strict=True)]
            for ks, es, rs in zip(kernels, expands, residuals, strict=True)]


# osmr/imgclsmob, pytorch/pytorchcv/models/proxylessnas.py get_proxylessnas(): per stage of the
# searched blocks (its stages 2-5 regrouped into our six stages), kernel sizes, expand ratios and
# 'residuals' (0: the block is Zero); widths: first conv, first block, six stages, feature mix.
RELEASED = {
    "proxyless_mobile": {
        "widths": (32, 16, 32, 40, 80, 96, 192, 320, 1280),
        "ops": _ops([[5, 3, 3, 3], [7, 3, 5, 5], [7, 5, 5, 5], [5, 5, 5, 5], [7, 7, 7, 7], [7]],
                    [[3, 3, 3, 3], [3, 3, 3, 3], [6, 3, 3, 3], [6, 3, 3, 3], [6, 6, 3, 3], [6]],
                    [[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1]]),
    },
    "proxyless_gpu": {
        "widths": (40, 24, 32, 56, 112, 128, 256, 432, 1728),
        "ops": _ops([[5, 3, 3, 3], [7, 3, 3, 3], [7, 5, 5, 5], [5, 3, 3, 5], [7, 7, 7, 5], [7]],
                    [[3, 3, 3, 3], [3, 3, 3, 3], [6, 3, 3, 3], [6, 3, 3, 3], [6, 6, 6, 6], [6]],
                    [[1, 0, 0, 0], [1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1], [1]]),
    },
}

SPACES = {
    NAME: build,
    "proxylessnas-mobile": lambda: build((32, 40, 80, 96, 192, 320),
                                         name="proxylessnas-mobile"),
    "proxylessnas-gpu": lambda: build(width_mult=1.35, name="proxylessnas-gpu"),
}
