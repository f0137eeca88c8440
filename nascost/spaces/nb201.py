"""NAS-Bench-201 (the NATS-Bench topology search space) on its three datasets.

``nb201-cifar10``, ``nb201-cifar100`` and ``nb201-imagenet16-120`` are the networks that
NAS-Bench-201 (Dong & Yang, ICLR 2020) and NATS-Bench's topology space (``tss``) train and
measure: the ``TinyNetwork`` of D-X-Y/AutoDL-Projects (lib/models/cell_infers/tiny_network.py,
the ``InferCell`` of cells.py and the ops of lib/models/cell_operations.py) with C = 16, N = 5,
on 32x32 inputs with 10 or 100 classes, or 16x16 inputs with 120 classes (ImageNet16-120).
The benchmark's ``cifar10-valid`` and ``cifar10`` entries are the same network.

- stem: conv3x3 3 -> 16 (padding 1, no bias) + BN;
- three stages of N = 5 cells with 16, 32, 64 channels, separated by a ResNet basic block with
  stride 2 (ReLU-conv3x3 s2-BN, ReLU-conv3x3-BN, shortcut AvgPool2d(2, 2) + conv1x1 without
  bias, summed; no ReLU after the sum);
- BN + ReLU, global average pooling, linear to the classes.

A cell has 4 nodes; node 0 is the cell input and node j is the sum over i < j of
op_{j<-i}(node i); the cell returns node 3. The six edges are the genes, in the order of the
benchmark's architecture string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: ``1<-0``, ``2<-0``,
``2<-1``, ``3<-0``, ``3<-1``, ``3<-2``. Each picks one of ``none`` (zero: ``x.mul(0.)``),
``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3`` (ReLU -> conv, no bias ->
BN with affine parameters), ``avg_pool_3x3`` (AvgPool2d(3, stride 1, padding 1,
count_include_pad=False); C_in == C_out so no preprocessing conv). All 15 cells share the
genotype. Each space has 5**6 = 15625 candidates, as the benchmark.

Encodings (codec ``nb201``): ``space.encode(arch_str)`` / ``space.decode(genes)`` convert the
benchmark's architecture strings. ``index_to_genes`` / ``genes_to_index`` convert the
benchmark's own architecture index (``api.query_index_by_arch``), see ``benchmark_order``.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import numpy as np

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.codecs import Codec, register_codec

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), arch-string order
C = 16
N = 5
# space name -> (classes, input resolution, the benchmark's dataset name)
DATASETS = {
    "nb201-cifar10": (10, 32, "CIFAR-10"),
    "nb201-cifar100": (100, 32, "CIFAR-100"),
    "nb201-imagenet16-120": (120, 16, "ImageNet16-120"),
}
NAME = "nb201-cifar10"  # the first of the family (kept for existing imports)
NUM_CLASSES, RESOLUTION, _ = DATASETS[NAME]
N_ARCHS = len(OPS) ** len(EDGES)  # 15625
CODEC = "nb201"


def edge_gene_name(to: int, frm: int) -> str:
    return f"{to}<-{frm}"


GENE_NAMES = tuple(edge_gene_name(t, f) for t, f in EDGES)


# --- architecture strings ---------------------------------------------------------------------
def arch_to_values(arch: str) -> dict[str, str]:
    """``|nor_conv_3x3~0|+|...`` -> {gene name: op}, the benchmark's architecture string.

    Each of the six edges must appear exactly once (in any order within its node, as the
    benchmark's ``str2structure`` accepts), with one of the five ops.
    """
    if not isinstance(arch, str):
        raise TypeError(f"a NAS-Bench-201 architecture string is a str. Got {type(arch)}.")
    nodes = arch.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"not a NAS-Bench-201 architecture string (3 nodes joined by '+'): "
                         f"{arch!r}")
    values: dict[str, str] = {}
    for to, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise ValueError(f"node {to} of {arch!r} must be written |op~i|...|")
        for item in (x for x in node.split("|") if x):
            parts = item.split("~")
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValueError(f"edge {item!r} of {arch!r} must be written op~i")
            op, frm = parts[0], int(parts[1])
            if op not in OPS:
                raise ValueError(f"edge {item!r} of {arch!r}: the op must be one of "
                                 f"{set(OPS)}. Got {op!r} instead.")
            if frm >= to:
                raise ValueError(f"edge {item!r} of {arch!r}: node {to} reads nodes 0..{to - 1}")
            name = edge_gene_name(to, frm)
            if name in values:
                raise ValueError(f"edge {name} appears twice in {arch!r}")
            values[name] = op
    missing = [g for g in GENE_NAMES if g not in values]
    if missing:
        raise ValueError(f"edges {missing} are missing from {arch!r} (NAS-Bench-201 strings "
                         f"list every edge, 'none' included)")
    return values


def values_to_arch(values: dict[str, str]) -> str:
    nodes = []
    for to in (1, 2, 3):
        nodes.append("|" + "|".join(f"{values[edge_gene_name(to, f)]}~{f}"
                                    for f in range(to)) + "|")
    return "+".join(nodes)


def _check_space(space: Space) -> None:
    if space.gene_names != list(GENE_NAMES) or any(c != list(OPS) for c in space.choices):
        raise ValueError(f"space {space.name!r} is not a NAS-Bench-201 cell space (genes "
                         f"{list(GENE_NAMES)}, each over {list(OPS)})")


def _encode(space: Space, arch: Any) -> np.ndarray:
    _check_space(space)
    return space.genes_from_values(arch_to_values(arch))


def _decode(space: Space, row: np.ndarray) -> str:
    _check_space(space)
    return values_to_arch(space.genes_to_values(row))


register_codec(Codec(CODEC, _encode, _decode))


# --- the benchmark's architecture index -------------------------------------------------------
@cache
def benchmark_order() -> np.ndarray:
    """``order[index]`` is the nascost id (mixed radix, last edge fastest) of the benchmark's
    architecture ``index``: the order of ``meta_archs`` in the NAS-Bench-201 / NATS-Bench
    (tss) files.

    The benchmark files store that list; the code that made it is in D-X-Y/AutoDL-Projects,
    exps/NAS-Bench-201/main.py ``generate_meta_info`` and exps/NATS-Bench/tss-collect.py
    ``traverse_net``: ``archs = CellStructure.gen_all(ops, 4, False)`` (lib/models/
    cell_searchs/genotypes.py: every combination, node 1's edge slowest, 3<-2 fastest, ops in
    the order of ``OPS``; this is nascost's id order), then ``random.seed(88);
    random.shuffle(archs)``. CPython's Mersenne Twister and ``shuffle`` reproduce it; the
    tests pin the entries that the authors pinned or published (indices 0, 1, 9, 123, 9930).
    """
    order = list(range(N_ARCHS))
    random.Random(88).shuffle(order)  # = random.seed(88); random.shuffle(archs)
    out = np.array(order, dtype=np.uint64)
    out.setflags(write=False)
    return out


@cache
def _inverse_order() -> np.ndarray:
    inv = np.empty(N_ARCHS, dtype=np.int64)
    inv[benchmark_order().astype(np.int64)] = np.arange(N_ARCHS, dtype=np.int64)
    inv.setflags(write=False)
    return inv


def index_to_genes(space: Space, index: Any) -> np.ndarray:
    """Genes of the benchmark's architecture ``index`` (an int -> one row; an array -> rows)."""
    _check_space(space)
    idx = np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"benchmark indices must be integers. Got dtype {idx.dtype}.")
    flat = idx.reshape(-1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= N_ARCHS):
        bad = flat[(flat < 0) | (flat >= N_ARCHS)][0]
        raise ValueError(f"a NAS-Bench-201 index must be in 0..{N_ARCHS - 1}. Got {bad}.")
    rows = space.ids_to_genes(benchmark_order()[flat])
    return rows[0] if idx.ndim == 0 else rows


def genes_to_index(space: Space, genes: Any) -> Any:
    """The benchmark's architecture index of each genes row (an int for a single row)."""
    _check_space(space)
    single = np.asarray(genes).ndim == 1
    ids = space.genes_to_ids(space.check_genes(genes)).astype(np.int64)
    out = _inverse_order()[ids]
    return int(out[0]) if single else out


# --- layers ----------------------------------------------------------------------------------
def relu_conv_bn(b: SpaceBuilder, p: str, out_channels: Any, kernel: int, stride: int = 1,
                 input: str | None = None) -> str:
    """``ReLUConvBN``: ReLU -> conv (padding kernel // 2, no bias) -> BN (affine)."""
    b.op("relu", f"{p}_act", input=input)
    b.conv2d(f"{p}_conv", out_channels=out_channels, kernel=kernel, stride=stride,
             padding=kernel // 2, bias=False)
    return b.batchnorm2d(f"{p}_bn")


def resnet_basicblock(b: SpaceBuilder, p: str, out_channels: Any) -> str:
    """``ResNetBasicblock(C_in, C_out, stride=2)`` of cell_operations.py."""
    with b.block(p) as blk:
        relu_conv_bn(b, f"{p}_a", out_channels, 3, stride=2)
        main = relu_conv_bn(b, f"{p}_b", out_channels, 3)
        b.avgpool2d(f"{p}_down_pool", kernel=2, stride=2, padding=0, input=blk.input)
        short = b.conv2d(f"{p}_down_conv", out_channels=out_channels, kernel=1, bias=False)
        b.op("add", f"{p}_add", input=[short, main])
    return p


def _edge(b: SpaceBuilder, p: str, gene: Gene, src: str, channels: int) -> str:
    """op_{j<-i}(node i) with C_in == C_out: a choice over the five ops, reading ``src``."""
    with b.choice(p, gene=gene, input=src) as c:
        for op in OPS:
            with c.option():
                if op == "none":
                    b.op("zero", f"{p}_zero")
                elif op == "skip_connect":
                    b.op("identity", f"{p}_skip")
                elif op in ("nor_conv_1x1", "nor_conv_3x3"):
                    k = 1 if op == "nor_conv_1x1" else 3
                    relu_conv_bn(b, f"{p}_conv{k}x{k}", channels, k)
                else:  # avg_pool_3x3
                    b.avgpool2d(f"{p}_avgpool", kernel=3, stride=1, padding=1,
                                count_include_pad=False)
    return p


def _cell(b: SpaceBuilder, p: str, genes: dict[tuple[int, int], Gene], channels: int) -> None:
    with b.block(p) as blk:
        nodes = [blk.input]
        for to in (1, 2, 3):
            outs = [_edge(b, f"{p}_e{to}{frm}", genes[(to, frm)], nodes[frm], channels)
                    for frm in range(to)]
            if len(outs) == 1:
                nodes.append(outs[0])
            else:
                nodes.append(b.op("add", f"{p}_node{to}", input=outs))


def _build(name: str) -> Space:
    classes, resolution, dataset = DATASETS[name]
    b = SpaceBuilder(name, codec=CODEC, description=(
        f"NAS-Bench-201 / NATS-Bench topology cell space on {dataset} "
        f"({resolution}x{resolution} input, {classes} classes): the benchmark's TinyNetwork "
        "(C=16, N=5), one op per cell edge over none, skip_connect, nor_conv_1x1, "
        "nor_conv_3x3, avg_pool_3x3"))
    genes = {(to, frm): b.gene(edge_gene_name(to, frm), OPS, doc=f"op on the edge node {frm} -> "
                                                                    f"node {to}")
             for to, frm in EDGES}
    b.input(channels=3, height=resolution, width=resolution)
    b.conv2d("stem_conv", out_channels=C, kernel=3, padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    for stage, mult in enumerate((1, 2, 4)):
        if stage > 0:
            resnet_basicblock(b, f"reduce{stage}", C * mult)
        for k in range(N):
            _cell(b, f"cell{stage}_{k}", genes, C * mult)
    b.batchnorm2d("lastact_bn")
    b.op("relu", "lastact_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=classes)

    for cand, arch in NAMED_ARCHS.items():
        values = arch_to_values(arch)
        b.name_candidate(cand, [OPS.index(values[g]) for g in GENE_NAMES])
    return b.build()


def build() -> Space:
    """``nb201-cifar10``."""
    return _build("nb201-cifar10")


NAMED_ARCHS = {
    # the largest candidate (every edge a 3x3 conv) and the smallest one with parameters only
    # outside the cells (every edge parameter-free)
    "all_nor_conv_3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                        "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "all_skip_connect": "|skip_connect~0|+|skip_connect~0|skip_connect~1|"
                        "+|skip_connect~0|skip_connect~1|skip_connect~2|",
    # ResNet_CODE ("resnet") of lib/models/cell_searchs/genotypes.py: two stacked 3x3 convs
    # plus a skip, a ResNet basic block as a cell
    "resnet": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
    # benchmark index 9930, the best architecture on CIFAR-100 (validation set) according to
    # exps/NATS-Bench/main-sss.py, which fixes it as the topology of the NATS size space
    "best_cifar100": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                     "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
}


SPACES = {name: (lambda name=name: _build(name)) for name in DATASETS}
