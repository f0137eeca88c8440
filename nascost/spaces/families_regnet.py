"""``regnetx``: torchvision's RegNetX models (400MF .. 32GF) as a space.

Written from torchvision/models/regnet.py (pytorch/vision). Each RegNetX is generated from
five numbers ``(depth, w_0, w_a, w_m, group_width)`` by ``BlockParams.from_init_params``:
``block_widths = round(w_0 * w_m ** round(log((arange(depth) * w_a + w_0) / w_0) /
log(w_m)) / 8) * 8``, consecutive equal widths form a stage, and
``_adjust_widths_groups_compatibilty`` makes each stage width a multiple of its group width
(``min(group_width, width)``, ``_make_divisible``). torchvision does this in float32 torch
arithmetic; :func:`block_params` does the same in float32 numpy (the tests check it against
torch's own ops for every model).

The genes: ``arch``, one of torchvision's seven RegNetX models, and ``resolution``. Every
model has four stages; the space has, per stage, as many blocks as the deepest model, and
each block's widths and groups are per-``arch`` value tables (blocks past a model's depth are
skipped). The network: 3x3 stride-2 conv to 32 + BN + ReLU; four stages of residual
bottleneck blocks (bottleneck multiplier 1, no squeeze-and-excitation), the first with stride
2; global average pooling and a 1000-class linear layer. A block: 1x1 conv + BN + ReLU, 3x3
group conv (``width // group_width`` groups, the stride) + BN + ReLU, 1x1 conv + BN, added to
the input (through a 1x1 conv with the stride + BN when the width or the stride changes),
then ReLU. Every conv has no bias.

Named candidates: torchvision's ``regnet_x_400mf`` .. ``regnet_x_32gf`` (224 x 224).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from nascost.space.space import Space
from nascost.spaces._common import make_divisible
from nascost.spaces.families_common import Family, classifier_head, conv_bn, when_arg

NAME = "regnetx"
RESOLUTIONS = (160, 192, 224, 256, 288)
STEM = 32
# torchvision regnet_x_*: depth, w_0, w_a, w_m, group_width
CONFIGS = {
    "400mf": (22, 24, 24.48, 2.54, 16),
    "800mf": (16, 56, 35.73, 2.28, 16),
    "1_6gf": (18, 80, 34.01, 2.25, 24),
    "3_2gf": (25, 88, 26.31, 2.25, 48),
    "8gf": (23, 80, 49.56, 2.88, 120),
    "16gf": (22, 216, 55.59, 2.1, 128),
    "32gf": (23, 320, 69.86, 2.0, 168),
}
ARCHS = tuple(CONFIGS)
NAMED = {f"regnet_x_{a}": {"arch": a, "resolution": 224} for a in ARCHS}


@cache
def block_params(depth: int, w_0: int, w_a: float, w_m: float,
                 group_width: int) -> tuple[tuple[int, int, int], ...]:
    """Per stage (depth, width, group width), as torchvision's
    ``BlockParams.from_init_params`` (bottleneck multiplier 1) computes them, in float32."""
    f32 = np.float32
    widths_cont = np.arange(depth, dtype=np.int64).astype(f32) * f32(w_a) + f32(w_0)
    capacity = np.round(np.log(widths_cont / f32(w_0)) / f32(math.log(w_m)))
    block_widths = (np.round(f32(w_0) * np.power(f32(w_m), capacity) / f32(8)) * f32(8))
    block_widths = [int(w) for w in block_widths.astype(np.int32)]
    # stages: runs of equal block widths
    stages: list[list[int]] = []
    for w in block_widths:
        if stages and stages[-1][0] == w:
            stages[-1][1] += 1
        else:
            stages.append([w, 1])
    out = []
    for w, d in stages:
        g = min(group_width, w)  # _adjust_widths_groups_compatibilty, multiplier 1
        out.append((d, int(make_divisible(w, g)), g))
    return tuple(out)


def stages_of(arch: str) -> tuple[tuple[int, int, int], ...]:
    return block_params(*CONFIGS[arch])


def build(fixed: Mapping[str, Any] | None = None, name: str = NAME,
          description: str | None = None) -> Space:
    f = Family(name, description or (
        "torchvision RegNetX 400MF .. 32GF (ImageNet, 1000 classes): model x resolution"),
        fixed)
    b = f.b
    arch = f.knob("arch", ARCHS, "torchvision's regnet_x_<arch> (depth, w_0, w_a, w_m, "
                                 "group width)")
    res = f.knob("resolution", RESOLUTIONS, "input height and width")
    n_stages = {len(stages_of(a)) for a in ARCHS}
    if n_stages != {4}:
        raise AssertionError(f"RegNetX models with {n_stages} stages")

    b.input(channels=3, height=res.field(), width=res.field())
    conv_bn(b, "stem", STEM, 3, stride=2, act="relu")
    for s in range(4):
        width = arch.field(lambda a, s=s: stages_of(a)[s][1])
        groups = arch.field(lambda a, s=s: stages_of(a)[s][1] // stages_of(a)[s][2])
        for j in range(max(stages_of(a)[s][0] for a in arch.choices)):
            cond = True if j == 0 else arch.when(lambda a, s=s, j=j: stages_of(a)[s][0] > j)
            if cond is False:
                continue
            p = f"block{s + 1}_{j}"
            stride = 2 if j == 0 else 1
            with b.block(p, when=when_arg(cond)) as blk:
                conv_bn(b, f"{p}_a", width, 1, act="relu")
                conv_bn(b, f"{p}_b", width, 3, stride=stride, groups=groups, act="relu")
                main = conv_bn(b, f"{p}_c", width, 1)
                short = blk.input
                if j == 0:  # stride 2: torchvision's projection
                    short = conv_bn(b, f"{p}_proj", width, 1, stride=2, input=blk.input)
                b.op("add", f"{p}_add", input=[short, main])
                b.op("relu", f"{p}_relu")
    classifier_head(b)
    return f.finish(NAMED)


SPACES = {NAME: build}
