"""``nb201-cifar10``: the NAS-Bench-201 cell space on CIFAR-10 (32x32 input, 10 classes).

The networks are those NAS-Bench-201 trains and measures (Dong & Yang, ICLR 2020; the
``TinyNetwork`` of D-X-Y/AutoDL-Projects, lib/models/cell_infers/tiny_network.py, with the
``InferCell`` of cells.py and the ops of lib/models/cell_operations.py), with C = 16, N = 5:

- stem: conv3x3 3 -> 16 (padding 1, no bias) + BN;
- three stages of N = 5 cells with 16, 32, 64 channels, separated by a ResNet basic block with
  stride 2 (ReLU-conv3x3 s2-BN, ReLU-conv3x3-BN, shortcut AvgPool2d(2, 2) + conv1x1 without
  bias, summed; no ReLU after the sum);
- BN + ReLU, global average pooling, linear to 10 classes.

A cell has 4 nodes; node 0 is the cell input and node j is the sum over i < j of
op_{j<-i}(node i); the cell returns node 3. The six edges are the genes, in the order of the
benchmark's architecture string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: ``1<-0``, ``2<-0``,
``2<-1``, ``3<-0``, ``3<-1``, ``3<-2``. Each picks one of ``none`` (zero: ``x.mul(0.)``),
``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3`` (ReLU -> conv, no bias ->
BN with affine parameters), ``avg_pool_3x3`` (AvgPool2d(3, stride 1, padding 1,
count_include_pad=False); C_in == C_out so no preprocessing conv). All 15 cells share the
genotype. The space has 5**6 = 15625 candidates, as the benchmark.
"""

from __future__ import annotations

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space

NAME = "nb201-cifar10"
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), arch-string order
C = 16
N = 5
NUM_CLASSES = 10
RESOLUTION = 32


def edge_gene_name(to: int, frm: int) -> str:
    return f"{to}<-{frm}"


def arch_to_values(arch: str) -> dict[str, str]:
    """``|nor_conv_3x3~0|+|...`` -> {gene name: op}, the benchmark's architecture string."""
    values: dict[str, str] = {}
    for to, node in enumerate(arch.strip().split("+"), start=1):
        for item in (x for x in node.split("|") if x):
            op, frm = item.split("~")
            values[edge_gene_name(to, int(frm))] = op
    if set(values) != {edge_gene_name(t, f) for t, f in EDGES}:
        raise ValueError(f"not a NAS-Bench-201 architecture string: {arch!r}")
    return values


def values_to_arch(values: dict[str, str]) -> str:
    nodes = []
    for to in (1, 2, 3):
        nodes.append("|" + "|".join(f"{values[edge_gene_name(to, f)]}~{f}"
                                    for f in range(to)) + "|")
    return "+".join(nodes)


def _edge(b: SpaceBuilder, p: str, gene: Gene, src: str, channels: int) -> str:
    """op_{j<-i}(node i): a choice over the five ops, reading ``src``."""
    with b.choice(p, gene=gene, input=src) as c:
        for op in OPS:
            with c.option():
                if op == "none":
                    b.op("zero", f"{p}_zero")
                elif op == "skip_connect":
                    b.op("identity", f"{p}_skip")
                elif op in ("nor_conv_1x1", "nor_conv_3x3"):
                    k = 1 if op == "nor_conv_1x1" else 3
                    tag = f"conv{k}x{k}"
                    b.op("relu", f"{p}_{tag}_act")
                    b.conv2d(f"{p}_{tag}", out_channels=channels, kernel=k, padding=k // 2,
                             bias=False)
                    b.batchnorm2d(f"{p}_{tag}_bn")
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


def _reduction(b: SpaceBuilder, p: str, channels: int) -> None:
    """ResNetBasicblock(C_in, C_out, stride=2)."""
    with b.block(p) as blk:
        b.op("relu", f"{p}_a_act")
        b.conv2d(f"{p}_a_conv", out_channels=channels, kernel=3, stride=2, padding=1, bias=False)
        b.batchnorm2d(f"{p}_a_bn")
        b.op("relu", f"{p}_b_act")
        b.conv2d(f"{p}_b_conv", out_channels=channels, kernel=3, stride=1, padding=1, bias=False)
        main = b.batchnorm2d(f"{p}_b_bn")
        b.avgpool2d(f"{p}_down_pool", kernel=2, stride=2, padding=0, input=blk.input)
        short = b.conv2d(f"{p}_down_conv", out_channels=channels, kernel=1, bias=False)
        b.op("add", f"{p}_add", input=[short, main])


def build() -> Space:
    b = SpaceBuilder(NAME, description=(
        "NAS-Bench-201 cell space on CIFAR-10: the benchmark's TinyNetwork (C=16, N=5), "
        "one op per cell edge over none, skip_connect, nor_conv_1x1, nor_conv_3x3, "
        "avg_pool_3x3"))
    genes = {(to, frm): b.gene(edge_gene_name(to, frm), OPS, doc=f"op on the edge node {frm} -> "
                                                                    f"node {to}")
             for to, frm in EDGES}
    b.input(channels=3, height=RESOLUTION, width=RESOLUTION)
    b.conv2d("stem_conv", out_channels=C, kernel=3, padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    for stage, mult in enumerate((1, 2, 4)):
        if stage > 0:
            _reduction(b, f"reduce{stage}", C * mult)
        for k in range(N):
            _cell(b, f"cell{stage}_{k}", genes, C * mult)
    b.batchnorm2d("lastact_bn")
    b.op("relu", "lastact_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=NUM_CLASSES)

    names = [edge_gene_name(t, f) for t, f in EDGES]
    for name, arch in NAMED_ARCHS.items():
        values = arch_to_values(arch)
        b.name_candidate(name, [OPS.index(values[g]) for g in names])
    return b.build()


NAMED_ARCHS = {
    # the largest candidate (every edge a 3x3 conv) and the smallest one with parameters only
    # outside the cells (every edge parameter-free)
    "all_nor_conv_3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                        "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "all_skip_connect": "|skip_connect~0|+|skip_connect~0|skip_connect~1|"
                        "+|skip_connect~0|skip_connect~1|skip_connect~2|",
}


SPACES = {"nb201-cifar10": build}
