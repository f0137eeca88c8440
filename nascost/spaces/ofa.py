"""Once-for-All: the MobileNetV3 and ProxylessNAS spaces of OFA's released supernets.

``ofa-mbv3-w1.0`` and ``ofa-mbv3-w1.2`` are the sub-networks of OFA's
``ofa_mbv3_d234_e346_k357_w1.0`` / ``_w1.2`` (``OFAMobileNetV3``), ``ofa-proxyless-w1.3`` those
of ``ofa_proxyless_d234_e346_k357_w1.3`` (``OFAProxylessNASNets``), exactly as
``get_active_subnet`` builds them (mit-han-lab/once-for-all, files
ofa/imagenet_classification/elastic_nn/networks/ofa_mbv3.py and ofa_proxyless.py,
elastic_nn/modules/dynamic_layers.py ``DynamicMBConvLayer``, networks/mobilenet_v3.py and
proxyless_nets.py, ofa/utils/layers.py and pytorch_modules.py). ``ofa-resnet50`` is in
nascost.spaces.ofa_resnet; the ``ofa`` codec (OFA's own arch dicts) in
nascost.spaces.ofa_codec.

Genes: ``resolution`` (128, 132, ..., 224 by default: OFA samples resolutions in steps of 4;
``build_mbv3(resolutions=...)`` takes any others), then per stage ``sN_depth`` (2, 3, 4) and
per block ``sN_bJ_kernel`` (3, 5, 7) and ``sN_bJ_expand`` (3, 4, 6). OFA's flat block index
is (N - 1) * 4 + J. Blocks past a stage's depth are skipped, so their genes are dead.

OFAMobileNetV3 (width multiplier w; every width is OFA's ``make_divisible(c * w, 8)``, the
TF/torchvision rule, of the base widths 16, 16, 24, 40, 80, 112, 160, 960, 1280):

- first conv: 3x3 stride 2, no bias, BN, h-swish;
- first block: MBConv with expand ratio 1 (3x3 depthwise + BN + ReLU, 1x1 project + BN) and an
  identity shortcut (its input and output widths are equal for w = 1.0 and 1.2);
- five stages of up to 4 dynamic MBConv blocks, strides 2, 2, 2, 1, 2, activations ReLU, ReLU,
  h-swish, h-swish, h-swish, squeeze-excite in stages 2, 4 and 5. A block is 1x1 expand (no
  bias) + BN + act, kxk depthwise (padding k // 2) + BN + act, [SE], 1x1 project + BN, plus
  the identity when the stride is 1 and the widths match (every block but a stage's first).
  Its middle width is ``make_divisible(round(C_in * e), 8)`` (``active_middle_channel``);
  SE is global mean -> 1x1 conv to ``make_divisible(mid // 4, 8)`` with bias -> ReLU -> 1x1
  conv back with bias -> h-sigmoid -> multiply;
- final expand layer: 1x1 conv to 960 w (no bias) + BN + h-swish; global average pooling;
- feature mix layer: 1x1 conv to 1280 w, no bias, no BN, h-swish; linear classifier to 1000
  (with bias; OFA's dropout costs nothing).

OFAProxylessNASNets (w = 1.3; base widths 32, 16, 24, 40, 80, 96, 192, 320, 1280): first conv
3x3 s2 + BN + ReLU6, first block MBConv e1 3x3 without shortcut, six stages (strides 2, 2, 2,
1, 2, 1) of up to 4, 4, 4, 4, 4 and exactly 1 blocks (ReLU6, no SE; the last stage's block has
kernel and expand genes but no depth gene: OFA forces its depth to 1), feature mix 1x1 conv
to 1280 w + BN + ReLU6, global average pooling, linear classifier.

Named candidates: ``max`` (kernel 7, expand 6, depth 4 everywhere, at the largest resolution)
and ``min`` (3, 3, 2, at the smallest), and the OFA specialized networks whose configurations
are public (SPECIALIZED).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space
from nascost.spaces._common import make_divisible

__all__ = ["build_mbv3", "build_proxyless", "inverted_residual", "RESOLUTIONS", "SPECIALIZED",
           "at_resolution", "arch_genes", "score_arch"]

CODEC = "ofa"
RESOLUTIONS = tuple(range(128, 225, 4))  # 128, 132, ..., 224
KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
NUM_CLASSES = 1000
DIVISOR = 8  # MyNetwork.CHANNEL_DIVISIBLE
ACT = {"relu": "relu", "relu6": "relu6", "h_swish": "hardswish"}

# OFAMobileNetV3.__init__
MBV3_BASE_WIDTHS = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
MBV3_STRIDES = (1, 2, 2, 2, 1, 2)
MBV3_ACTS = ("relu", "relu", "relu", "h_swish", "h_swish", "h_swish")
MBV3_SE = (False, False, True, False, True, True)
# OFAProxylessNASNets.__init__ ("ProxylessNAS Stage Width")
PROXYLESS_BASE_WIDTHS = (32, 16, 24, 40, 80, 96, 192, 320, 1280)
PROXYLESS_STRIDES = (2, 2, 2, 1, 2, 1)
PROXYLESS_BLOCKS = (4, 4, 4, 4, 4, 1)

# OFA specialized networks (README "OFA Specialized Sub-nets") whose architecture is public, as
# OFA arch dicts. ks / e list all 20 blocks; entries of blocks past a stage's depth are dead
# and written as 3.
SPECIALIZED: dict[str, dict[str, dict[str, Any]]] = {
    # Alibaba-MIIL/ImageNet21K, src_files/models/ofa/specialized_models_configs/
    # flops@595M_top1@80.0_finetune@75/net.config (OFA's net.config, the blocks as
    # MBInvertedConvLayer entries) and run.config ("image_size": 236); widths 24, 32, 48, 96,
    # 136, 192, 1152, 1536: the w1.2 supernet.
    "ofa-mbv3-w1.2": {
        "flops@595M_top1@80.0_finetune@75": {
            "ks": [3, 5, 3, 3, 5, 5, 3, 5, 7, 5, 3, 5, 3, 5, 7, 3, 3, 3, 5, 3],
            "e": [3, 4, 3, 3, 4, 4, 6, 3, 6, 6, 3, 4, 6, 6, 6, 4, 6, 6, 6, 3],
            "d": [3, 4, 4, 4, 4],
            "r": [236],
        },
    },
    # open-mmlab/mmrazor, configs/nas/mmcls/onceforall/OFA_SUBNET_NOTE8_LAT22.yaml and
    # OFA_SUBNET_NOTE8_LAT31.yaml: the subnets "converted from the repo" (first_channels 16,
    # last_channels 1280: the w1.0 supernet). Per block the yaml's expand_ratio and
    # kernel_size; its separate expand_ratio_se keys are not used (OFA's SE width follows the
    # block's middle width).
    "ofa-mbv3-w1.0": {
        "note8_lat@22ms_top1@70.4_finetune@25": {
            "ks": [3, 3, 3, 3, 5, 5, 3, 3, 7, 3, 3, 3, 5, 3, 3, 3, 3, 7, 3, 3],
            "e": [3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3, 3, 3, 4, 3, 3, 6, 6, 3, 3],
            "d": [2, 2, 2, 2, 2],
            "r": [140],
        },
        "note8_lat@31ms_top1@72.8_finetune@25": {
            "ks": [5, 3, 3, 3, 5, 5, 3, 3, 3, 3, 5, 3, 3, 5, 7, 3, 3, 3, 5, 5],
            "e": [3, 3, 3, 3, 4, 3, 3, 3, 4, 4, 4, 3, 4, 3, 4, 3, 6, 3, 3, 3],
            "d": [2, 2, 3, 3, 4],
            "r": [152],
        },
    },
}


def _act(name: str) -> str:
    return ACT[name]


def inverted_residual(b: SpaceBuilder, p: str, *, kernel: Gene | int, expand: Gene | None,
                      stride: int, act: str, out_channels: int, se: bool = False,
                      residual: bool = False, divisor: int = DIVISOR) -> str:
    """One MBConv block (OFA's MBConvLayer / ProxylessNAS's MBInvertedConvLayer) inside the
    current scope, reading the scope's last value.

    The middle width is ``round(C_in * expand)``, made divisible by ``divisor`` (OFA's dynamic
    layers) unless ``divisor`` is 0 (ProxylessNAS's search space); ``expand=None`` is expand
    ratio 1 (no expansion conv). Returns the block's output value.
    """
    src = b.last
    if expand is None:
        mid_src = src
    else:
        b.conv2d(f"{p}_expand_conv", out_channels=b.channels_of(
            src, times=expand, round="round", divisor=divisor), kernel=1, bias=False)
        b.batchnorm2d(f"{p}_expand_bn")
        mid_src = b.op(act, f"{p}_expand_act")
    mid = b.channels_of(mid_src)
    padding = kernel.map(lambda k: k // 2) if isinstance(kernel, Gene) else kernel // 2
    b.conv2d(f"{p}_dw_conv", out_channels=mid, kernel=kernel, stride=stride, padding=padding,
             groups=mid, bias=False)
    b.batchnorm2d(f"{p}_dw_bn")
    x = b.op(act, f"{p}_dw_act")
    if se:  # OFA's SEModule: mean, reduce (bias), ReLU, expand (bias), h-sigmoid, x * y
        b.op("global_avgpool", f"{p}_se_pool")
        b.conv2d(f"{p}_se_reduce", out_channels=b.channels_of(
            x, times="1/4", round="floor", divisor=DIVISOR), kernel=1, bias=True)
        b.op("relu", f"{p}_se_relu")
        b.conv2d(f"{p}_se_expand", out_channels=b.channels_of(x), kernel=1, bias=True)
        gate = b.op("hardsigmoid", f"{p}_se_gate")
        b.op("mul", f"{p}_se_mul", input=[x, gate])
    b.conv2d(f"{p}_project_conv", out_channels=out_channels, kernel=1, bias=False)
    out = b.batchnorm2d(f"{p}_project_bn")
    if residual:  # ResidualBlock: conv(x) + shortcut(x)
        out = b.op("add", f"{p}_add", input=[out, src])
    return out


def _resolution_gene(b: SpaceBuilder, resolutions: Iterable[int]) -> Gene:
    given = list(resolutions)
    values = sorted({int(r) for r in given})
    if not values or values[0] < 32:
        raise ValueError(f"The 'resolutions' of an OFA space must be ints >= 32. Got "
                         f"{given!r} instead.")
    return b.gene("resolution", values, doc="input height and width")


def _stage_genes(b: SpaceBuilder, n_blocks: Iterable[int]) -> list[tuple[Gene | None, list]]:
    """Per stage: its depth gene (None for a fixed stage) and (kernel, expand) per block."""
    stages = []
    for i, n in enumerate(n_blocks, start=1):
        depth = b.gene(f"s{i}_depth", DEPTHS, doc=f"blocks in stage {i}") if n > 1 else None
        blocks = [(b.gene(f"s{i}_b{j}_kernel", KERNELS, doc="depthwise kernel size"),
                   b.gene(f"s{i}_b{j}_expand", EXPANDS, doc="expand ratio"))
                  for j in range(n)]
        stages.append((depth, blocks))
    return stages


def _when(depth: Gene | None, j: int) -> dict | None:
    """Blocks up to the smallest depth always run; block j needs depth >= j + 1."""
    return None if depth is None or j < min(DEPTHS) else depth >= j + 1


def _dynamic_stages(b: SpaceBuilder, stages, widths, strides, acts, ses, in_width: int) -> None:
    """The dynamic MBConv stages (get_active_subnet: ResidualBlock(MBConvLayer, shortcut))."""
    feature = in_width
    for i, ((depth, blocks), width, s, act, se) in enumerate(
            zip(stages, widths, strides, acts, ses, strict=True), start=1):
        for j, (k, e) in enumerate(blocks):
            stride = s if j == 0 else 1
            with b.block(f"s{i}_b{j}", when=_when(depth, j)):
                inverted_residual(b, f"s{i}_b{j}", kernel=k, expand=e, stride=stride,
                                  act=_act(act), out_channels=width, se=se,
                                  residual=stride == 1 and feature == width)
            feature = width


def build_mbv3(width: float = 1.0, resolutions: Iterable[int] = RESOLUTIONS, *,
               name: str | None = None) -> Space:
    """The sub-networks of ``OFAMobileNetV3(width_mult=width, ks_list=[3, 5, 7],
    expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])`` at the given input resolutions."""
    name = name or f"ofa-mbv3-w{width}"
    widths = [make_divisible(c * width, DIVISOR) for c in MBV3_BASE_WIDTHS]
    input_channel, first_block, *stage_widths, final_expand, last_channel = widths
    b = SpaceBuilder(name, codec=CODEC, description=(
        f"Once-for-All MobileNetV3 sub-networks (ofa_mbv3_d234_e346_k357_w{width}): "
        "resolution, per-stage depth, per-block kernel size and expand ratio"))
    res = _resolution_gene(b, resolutions)
    stages = _stage_genes(b, [4] * 5)
    b.input(channels=3, height=res, width=res)

    b.conv2d("first_conv", out_channels=input_channel, kernel=3, stride=2, padding=1,
             bias=False)
    b.batchnorm2d("first_bn")
    b.op("hardswish", "first_act")
    with b.block("s0_b0"):  # MBConvLayer(expand_ratio=1), identity shortcut if widths match
        inverted_residual(b, "s0_b0", kernel=3, expand=None, stride=MBV3_STRIDES[0],
                          act=_act(MBV3_ACTS[0]), out_channels=first_block, se=MBV3_SE[0],
                          residual=input_channel == first_block)
    _dynamic_stages(b, stages, stage_widths, MBV3_STRIDES[1:], MBV3_ACTS[1:], MBV3_SE[1:],
                    first_block)
    b.conv2d("final_expand_conv", out_channels=final_expand, kernel=1, bias=False)
    b.batchnorm2d("final_expand_bn")
    b.op("hardswish", "final_expand_act")
    b.op("global_avgpool", "pool")
    b.conv2d("feature_mix_conv", out_channels=last_channel, kernel=1, bias=False)
    b.op("hardswish", "feature_mix_act")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)
    _name_candidates(b, name)
    return b.build()


def build_proxyless(width: float = 1.3, resolutions: Iterable[int] = RESOLUTIONS, *,
                    name: str | None = None) -> Space:
    """The sub-networks of ``OFAProxylessNASNets(width_mult=width, ks_list=[3, 5, 7],
    expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])`` at the given input resolutions."""
    name = name or f"ofa-proxyless-w{width}"
    widths = [make_divisible(c * width, DIVISOR) for c in PROXYLESS_BASE_WIDTHS]
    input_channel, first_block, *stage_widths, last_channel = widths
    b = SpaceBuilder(name, codec=CODEC, description=(
        f"Once-for-All ProxylessNAS sub-networks (ofa_proxyless_d234_e346_k357_w{width}): "
        "resolution, per-stage depth, per-block kernel size and expand ratio"))
    res = _resolution_gene(b, resolutions)
    stages = _stage_genes(b, PROXYLESS_BLOCKS)
    b.input(channels=3, height=res, width=res)

    b.conv2d("first_conv", out_channels=input_channel, kernel=3, stride=2, padding=1,
             bias=False)
    b.batchnorm2d("first_bn")
    b.op("relu6", "first_act")
    with b.block("s0_b0"):  # ResidualBlock(MBConvLayer(expand_ratio=1), None)
        inverted_residual(b, "s0_b0", kernel=3, expand=None, stride=1, act="relu6",
                          out_channels=first_block)
    n = len(stage_widths)
    _dynamic_stages(b, stages, stage_widths, PROXYLESS_STRIDES, ["relu6"] * n, [False] * n,
                    first_block)
    b.conv2d("feature_mix_conv", out_channels=last_channel, kernel=1, bias=False)
    b.batchnorm2d("feature_mix_bn")
    b.op("relu6", "feature_mix_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)
    _name_candidates(b, name)
    return b.build()


def _name_candidates(b: SpaceBuilder, name: str) -> None:
    """max / min sub-networks and the public specialized nets that fit this build."""
    from nascost.spaces.ofa_codec import mbconv_values

    genes = b.to_spec()["genes"]
    choices = {g["name"]: g["choices"] for g in genes}
    n_blocks = sum(1 for g in genes if g["name"].endswith("_kernel"))
    n_stages = sum(1 for g in genes if g["name"].endswith("_kernel") and "_b0_" in g["name"])
    res = choices["resolution"]
    for label, k, e, d, r in (("max", 7, 6, 4, max(res)), ("min", 3, 3, 2, min(res))):
        arch = {"ks": [k] * n_blocks, "e": [e] * n_blocks, "d": [d] * n_stages, "r": r}
        b.name_candidate(label, _indices(genes, mbconv_values(genes, arch)))
    for label, arch in SPECIALIZED.get(name, {}).items():
        if arch["r"][0] in res:
            b.name_candidate(label, _indices(genes, mbconv_values(genes, arch)))


def _indices(genes: list[dict], values: dict[str, Any]) -> list[int]:
    return [g["choices"].index(values[g["name"]]) for g in genes]


SPACES = {
    "ofa-mbv3-w1.0": lambda: build_mbv3(1.0),
    # the resolutions of the w1.0 space plus 236, the input of the released
    # flops@595M_top1@80.0_finetune@75 (OFA's README trains the w1.2 supernet at 160 - 224)
    "ofa-mbv3-w1.2": lambda: build_mbv3(1.2, RESOLUTIONS + (236,)),
    "ofa-proxyless-w1.3": lambda: build_proxyless(1.3),
}


# -- released networks at any resolution ---------------------------------------------------------
def _builders() -> dict:
    from nascost.spaces import ofa_resnet

    return {
        "ofa-mbv3-w1.0": lambda r, name: build_mbv3(1.0, r, name=name),
        "ofa-mbv3-w1.2": lambda r, name: build_mbv3(1.2, r, name=name),
        "ofa-proxyless-w1.3": lambda r, name: build_proxyless(1.3, r, name=name),
        "ofa-resnet50": lambda r, name: ofa_resnet.build(r, name=name),
    }


@functools.lru_cache(maxsize=32)
def _derived(name: str, resolutions: tuple[int, ...]) -> Space:
    builders = _builders()
    if name not in builders:
        raise ValueError(f"The OFA space must be one of {sorted(builders)}. Got {name!r} "
                         "instead.")
    return builders[name](resolutions, f"{name}@r{'-'.join(str(r) for r in resolutions)}")


def at_resolution(name: str, resolutions: int | Iterable[int]) -> Space:
    """The built-in OFA space ``name`` with other input resolutions (its other genes
    unchanged), named ``name@r<resolutions>``: OFA's released networks also run at 228,
    236, 240 or 260, outside the 128-224 its supernets sample. Built once per argument."""
    rs = [resolutions] if isinstance(resolutions, (int, np.integer)) else list(resolutions)
    return _derived(name, tuple(sorted({int(r) for r in rs})))


def _arch_resolution(arch: Any) -> int:
    r = arch.get("r") if isinstance(arch, dict) else None
    if isinstance(r, (list, tuple)) and len(r) == 1:
        r = r[0]
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)):
        raise ValueError(f"The 'r' entry of an OFA arch dict must be an int or a list of one "
                         f"int. Got {r!r} instead.")
    return int(r)


def arch_genes(name: str, arch: dict) -> tuple[Space, np.ndarray]:
    """(space, genes row) of an OFA arch dict at its own resolution ``arch["r"]``: the
    built-in space ``name`` where that resolution is one of its choices, else the space
    ``at_resolution(name, r)``."""
    from nascost.spaces import load_builtin

    r = _arch_resolution(arch)
    space = load_builtin(name)
    if r not in space.choices[space.gene_names.index("resolution")]:
        space = at_resolution(name, r)
    return space, space.encode(arch)


def score_arch(name: str, arch: dict, convention: Any = "seed", batch: int = 1
               ) -> dict[str, int]:
    """Params, MACs, FLOPs, activations and status of one OFA arch dict (a released
    network) in the family of the built-in space ``name``, at whatever resolution it runs:
    ``score_arch("ofa-mbv3-w1.2", {"ks": [...], "e": [...], "d": [...], "r": 260})``."""
    space, row = arch_genes(name, arch)
    out = space.score_arrays(row[None], convention=convention, batch=batch)
    return {k: int(v[0]) for k, v in out.items()}
