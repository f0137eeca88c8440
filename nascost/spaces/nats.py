"""``nats-sss-cifar10``: the NATS-Bench size search space (``sss``) on CIFAR-10.

NATS-Bench (Dong, Liu, Musial & Gabrys, TPAMI 2021) trains every network
``get_cell_based_tiny_net({"name": "infer.shape.tiny", "channels": "c0:c1:c2:c3:c4",
"genotype": TOPOLOGY, "num_classes": 10})`` (D-X-Y/AutoDL-Projects exps/NATS-Bench/main-sss.py),
the ``DynamicShapeTinyNet`` of lib/models/shape_infers/InferTinyCellNet.py. Five channel
numbers give N = len(channels) // 3 = 1 cell per stage, and each channel gene sets one layer
(cell or residual block) of the skeleton:

- ``c0``: the stem (conv3x3 3 -> c0, no bias, + BN) and cell 0 (``InferCell(c0 -> c0)``);
- ``c1``: residual block 1 (``ResNetBasicblock(c0 -> c1, stride 2)``);
- ``c2``: cell 2 (``InferCell(c1 -> c2)``);
- ``c3``: residual block 3 (``ResNetBasicblock(c2 -> c3, stride 2)``);
- ``c4``: cell 4 (``InferCell(c3 -> c4)``), then BN + ReLU, global pooling, linear(c4 -> 10).

Each gene picks one of 8, 16, ..., 64 (``get_search_spaces("sss", "nats-bench")``): 8**5 =
32768 candidates. The cell topology is fixed to ``TOPOLOGY``, the NAS-Bench-201 architecture
9930. In ``InferCell(C_in, C_out)`` the three edges from node 0 map C_in -> C_out and the
others C_out -> C_out (lib/models/cell_infers/cells.py): ``nor_conv_3x3`` is ReLU-conv3x3-BN;
``skip_connect`` is the identity when C_in == C_out and otherwise ``FactorizedReduce(C_in,
C_out, stride=1)`` = conv1x1 (no bias, no ReLU) + BN (lib/models/cell_operations.py). The
residual blocks are NAS-Bench-201's (``nb201.resnet_basicblock``).

Encodings (codec ``nats-sss``): ``space.encode("64:64:64:64:64")`` / ``space.decode(genes)``;
``index_to_genes`` / ``genes_to_index`` convert the benchmark's index, which is nascost's id
(exps/NATS-Bench/sss-collect.py ``traverse_net``: every combination, c0 slowest, no shuffle).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space
from nascost.spaces import nb201
from nascost.spaces.codecs import Codec, register_codec

NAME = "nats-sss-cifar10"
CHANNELS = (8, 16, 24, 32, 40, 48, 56, 64)
N_LAYERS = 5
GENE_NAMES = tuple(f"c{i}" for i in range(N_LAYERS))
TOPOLOGY = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
            "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
NUM_CLASSES = 10
RESOLUTION = 32
N_ARCHS = len(CHANNELS) ** N_LAYERS  # 32768
CODEC = "nats-sss"
_LAYER_DOC = (
    "stem and cell 0 (c0 -> c0)",
    "residual block 1 (c0 -> c1, stride 2)",
    "cell 2 (c1 -> c2)",
    "residual block 3 (c2 -> c3, stride 2)",
    "cell 4 (c3 -> c4) and the classifier input",
)


# --- the channel string "c0:c1:c2:c3:c4" -----------------------------------------------------
def channels_from_string(text: str) -> list[int]:
    if not isinstance(text, str):
        raise TypeError(f"a NATS-Bench size architecture is a str like '64:64:64:64:64'. "
                        f"Got {type(text)}.")
    parts = text.strip().split(":")
    if len(parts) != N_LAYERS or not all(p.isdigit() for p in parts):
        raise ValueError(f"a NATS-Bench size architecture is {N_LAYERS} channel numbers joined "
                         f"by ':'. Got {text!r} instead.")
    chans = [int(p) for p in parts]
    for i, c in enumerate(chans):
        if c not in CHANNELS:
            raise ValueError(f"channel c{i} of {text!r} must be one of {set(CHANNELS)}. "
                             f"Got {c} instead.")
    return chans


def _check_space(space: Space) -> None:
    if space.gene_names != list(GENE_NAMES) or any(c != list(CHANNELS) for c in space.choices):
        raise ValueError(f"space {space.name!r} is not a NATS-Bench size space (genes "
                         f"{list(GENE_NAMES)}, each over {list(CHANNELS)})")


def _encode(space: Space, text: Any) -> np.ndarray:
    _check_space(space)
    return space.genes_from_values(channels_from_string(text))


def _decode(space: Space, row: np.ndarray) -> str:
    _check_space(space)
    return ":".join(str(CHANNELS[int(g)]) for g in row)


register_codec(Codec(CODEC, _encode, _decode))


def index_to_genes(space: Space, index: Any) -> np.ndarray:
    """Genes of the benchmark's architecture ``index`` (= nascost's id)."""
    _check_space(space)
    idx = np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"benchmark indices must be integers. Got dtype {idx.dtype}.")
    flat = idx.reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= N_ARCHS):
        bad = flat[(flat < 0) | (flat >= N_ARCHS)][0]
        raise ValueError(f"a NATS-Bench size index must be in 0..{N_ARCHS - 1}. Got {bad}.")
    rows = space.ids_to_genes(flat.astype(np.uint64))
    return rows[0] if idx.ndim == 0 else rows


def genes_to_index(space: Space, genes: Any) -> Any:
    _check_space(space)
    single = np.asarray(genes).ndim == 1
    out = space.genes_to_ids(space.check_genes(genes)).astype(np.int64)
    return int(out[0]) if single else out


# --- layers ----------------------------------------------------------------------------------
def _skip(b: SpaceBuilder, p: str, src: str, c_in: Gene | None, c_out: Gene) -> str:
    """skip_connect from node 0: Identity if C_in == C_out else FactorizedReduce(stride 1).

    C_in == C_out compares two genes; a choice on c_in holds, for each of its values v, a
    conv1x1 + BN block that runs only when c_out != v (a skipped block is its input).
    """
    if c_in is None:  # the same gene on both sides: always the identity
        return b.op("identity", f"{p}_skip", input=src)
    with b.choice(p, gene=c_in, input=src) as c:
        for v in CHANNELS:
            with c.option():
                with b.block(f"{p}_fr{v}", when={"gene": c_out.name, "ne": v}):
                    b.conv2d(f"{p}_fr{v}_conv", out_channels=c_out, kernel=1, bias=False)
                    b.batchnorm2d(f"{p}_fr{v}_bn")
    return p


def _cell(b: SpaceBuilder, p: str, c_in: Gene | None, c_out: Gene) -> str:
    """``InferCell(TOPOLOGY, C_in, C_out, stride 1)``; ``c_in`` None means C_in is c_out."""
    values = nb201.arch_to_values(TOPOLOGY)
    with b.block(p) as blk:
        nodes = [blk.input]
        for to in (1, 2, 3):
            outs = []
            for frm in range(to):
                op = values[nb201.edge_gene_name(to, frm)]
                e = f"{p}_e{to}{frm}"
                if op == "nor_conv_3x3":
                    outs.append(nb201.relu_conv_bn(b, f"{e}_conv3x3", c_out, 3,
                                                   input=nodes[frm]))
                elif op == "skip_connect":
                    outs.append(_skip(b, e, nodes[frm], c_in if frm == 0 else None, c_out))
                else:  # the fixed topology uses only these two ops
                    raise AssertionError(op)
            nodes.append(outs[0] if len(outs) == 1 else b.op("add", f"{p}_node{to}",
                                                             input=outs))
    return p


def build() -> Space:
    b = SpaceBuilder(NAME, codec=CODEC, description=(
        "NATS-Bench size search space on CIFAR-10 (32x32 input, 10 classes): the "
        "'infer.shape.tiny' network (DynamicShapeTinyNet, one cell per stage) with the "
        "topology of NAS-Bench-201 architecture 9930; the channels of its five layers"))
    c = [b.gene(n, CHANNELS, doc=f"channels of {d}") for n, d in zip(GENE_NAMES, _LAYER_DOC,
                                                                     strict=True)]
    b.input(channels=3, height=RESOLUTION, width=RESOLUTION)
    b.conv2d("stem_conv", out_channels=c[0], kernel=3, padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    _cell(b, "cell0", None, c[0])
    nb201.resnet_basicblock(b, "reduce1", c[1])
    _cell(b, "cell2", c[1], c[2])
    nb201.resnet_basicblock(b, "reduce3", c[3])
    _cell(b, "cell4", c[3], c[4])
    b.batchnorm2d("lastact_bn")
    b.op("relu", "lastact_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)
    for cand, text in NAMED.items():
        b.name_candidate(cand, [CHANNELS.index(v) for v in channels_from_string(text)])
    return b.build()


NAMED = {
    "largest": "64:64:64:64:64",  # benchmark index 32767
    "smallest": "8:8:8:8:8",  # benchmark index 0
}

SPACES = {NAME: build}
