"""The DARTS cell space: ``darts-cifar10`` and ``darts-imagenet``.

The evaluation networks of DARTS (Liu, Simonyan & Yang, ICLR 2019), as quark0/darts builds them
in cnn/model.py (``NetworkCIFAR``, ``NetworkImageNet``, ``Cell``) from the ops of
cnn/operations.py:

- ``darts-cifar10``: C = 36, 20 cells, 32x32 input, 10 classes (train.py's defaults). Stem
  conv3x3 3 -> 3C (no bias) + BN; cells 6 and 13 (layers // 3, 2 * layers // 3) are reduction
  cells and double C; global average pooling, linear.
- ``darts-imagenet``: the mobile setting, C = 48, 14 cells, 224x224 input, 1000 classes
  (train_imagenet.py). stem0 = conv3x3 s2 3 -> C/2 + BN + ReLU + conv3x3 s2 C/2 -> C + BN;
  stem1 = ReLU + conv3x3 s2 C -> C + BN; cells 4 and 9 are reduction cells; the first cell's
  s0 is stem0's output (``reduction_prev = True``); AvgPool2d(7), linear.

The auxiliary head is not part of the networks: it only runs in training, and DARTS' parameter
counts leave it out (``count_parameters_in_MB`` skips names containing "auxiliary"). Drop-path
costs nothing at inference.

A cell reads s0 and s1: ``preprocess0`` is ``FactorizedReduce(C_pp, C)`` after a reduction
cell, else ReLU-conv1x1-BN; ``preprocess1`` is ReLU-conv1x1-BN. Node k (2..5) sums two edges,
each op(state[input]) over the states 0..k-1; the cell returns the concatenation of nodes
2..5 (4C channels). In a reduction cell an edge reading state 0 or 1 has stride 2.

Genes: for the normal and then the reduction cell, for node 2..5, for its edge 0 and 1: the
input state (``normal_n3_in0`` in 0..2) and the op (``normal_n3_op0``), over ``OPS``:
``max_pool_3x3`` (MaxPool2d(3, s, 1)), ``avg_pool_3x3`` (AvgPool2d(3, s, 1,
count_include_pad=False)), ``skip_connect`` (identity, or ``FactorizedReduce(C, C)`` with
stride 2), ``sep_conv_3x3`` / ``sep_conv_5x5`` (twice ReLU, depthwise kxk, conv1x1, BN; the
first with the stride), ``dil_conv_3x3`` / ``dil_conv_5x5`` (ReLU, depthwise kxk with
dilation 2, conv1x1, BN). ``none`` is not an op of derived genotypes. Every normal cell shares
the normal genes, every reduction cell the reduction genes. Swapping a node's two edges gives
the same network (the gene rows differ: the order is the genotype's).

``FactorizedReduce(C_in, C_out)``: ReLU, then conv1x1 stride 2 (C_out / 2) on it and conv1x1
stride 2 (C_out / 2) on it cropped by ``x[:, :, 1:, 1:]``, concatenated, BN.

Encodings (codec ``darts``): ``space.encode(genotype)`` takes a DARTS ``Genotype`` (its
namedtuple, a dict with its four fields, or its printed text as in cnn/genotypes.py);
``space.decode(genes)`` gives a ``Genotype`` whose repr is DARTS' text.
"""

from __future__ import annotations

import ast
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from nascost.space.builder import Gene, SpaceBuilder
from nascost.space.space import Space
from nascost.spaces.codecs import Codec, register_codec

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
       "dil_conv_3x3", "dil_conv_5x5")  # cnn/genotypes.py PRIMITIVES without 'none'
CELLS = ("normal", "reduce")
NODES = (2, 3, 4, 5)
CONCAT = [2, 3, 4, 5]
CODEC = "darts"


def gene_names() -> list[str]:
    return [f"{cell}_n{k}_{kind}{j}" for cell in CELLS for k in NODES for j in (0, 1)
            for kind in ("in", "op")]


# --- genotypes ---------------------------------------------------------------------------------
def _eval_node(node: ast.AST) -> Any:
    """A literal, or ``range(a, b)`` (DARTS writes ``normal_concat=range(2, 6)``)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and not node.keywords):
        return list(range(*(ast.literal_eval(a) for a in node.args)))
    return ast.literal_eval(node)


def parse_genotype(text: str) -> Genotype:
    """``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...)``, as
    DARTS prints it and writes it in cnn/genotypes.py (no code is run)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"not a DARTS Genotype text: {e}") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
            and tree.func.id == "Genotype"):
        raise ValueError("a DARTS Genotype text must be a call Genotype(normal=..., "
                         "normal_concat=..., reduce=..., reduce_concat=...)")
    fields = dict(zip(Genotype._fields, tree.args, strict=False))
    for kw in tree.keywords:
        if kw.arg not in Genotype._fields or kw.arg in fields:
            raise ValueError(f"Genotype field {kw.arg!r} is unknown or given twice")
        fields[kw.arg] = kw.value
    missing = [f for f in Genotype._fields if f not in fields]
    if missing:
        raise ValueError(f"Genotype fields {missing} are missing")
    try:
        return Genotype(**{k: _eval_node(v) for k, v in fields.items()})
    except (ValueError, TypeError, SyntaxError) as e:
        raise ValueError(f"Genotype fields must be literals or range(): {e}") from None


def as_genotype(native: Any) -> Genotype:
    """A Genotype from a Genotype-like object (any object with the four fields, such as
    DARTS' own namedtuple), a dict of the four fields, or its text."""
    if isinstance(native, str):
        return parse_genotype(native)
    if isinstance(native, dict):
        missing = [f for f in Genotype._fields if f not in native]
        if missing:
            raise ValueError(f"a DARTS genotype dict needs the fields {missing}")
        return Genotype(**{f: native[f] for f in Genotype._fields})
    if all(hasattr(native, f) for f in Genotype._fields):
        return Genotype(**{f: getattr(native, f) for f in Genotype._fields})
    raise TypeError(f"expected a DARTS Genotype (namedtuple, dict or text). Got {type(native)}.")


def genotype_to_values(native: Any) -> dict[str, Any]:
    """{gene name: value} of a genotype; every problem of a cell is reported at once."""
    g = as_genotype(native)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for cell in CELLS:
        edges = list(getattr(g, cell))
        concat = list(getattr(g, f"{cell}_concat"))
        if concat != CONCAT:
            problems.append(f"{cell}_concat must be {CONCAT} (the space's cells concatenate "
                            f"nodes 2..5). Got {concat} instead.")
        if len(edges) != 2 * len(NODES):
            problems.append(f"{cell}: the space's cells have {len(NODES)} nodes of 2 edges "
                            f"({2 * len(NODES)} (op, input) pairs). Got {len(edges)} instead.")
            continue
        for e, edge in enumerate(edges):
            k, j = NODES[e // 2], e % 2
            try:
                op, src = edge
            except (TypeError, ValueError):
                problems.append(f"{cell}[{e}]: an edge is an (op, input) pair. Got {edge!r}.")
                continue
            if op not in OPS:
                problems.append(f"{cell}[{e}] (node {k}): the op must be one of {set(OPS)}. "
                                f"Got {op!r} instead.")
            if not isinstance(src, (int, np.integer)) or isinstance(src, bool) \
                    or not 0 <= src < k:
                problems.append(f"{cell}[{e}] (node {k}): the input must be a state in "
                                f"0..{k - 1}. Got {src!r} instead.")
            values[f"{cell}_n{k}_op{j}"] = op
            values[f"{cell}_n{k}_in{j}"] = int(src) if isinstance(src, (int, np.integer)) \
                else src
    if problems:
        raise ValueError("not a genotype of the DARTS cell space:\n  " + "\n  ".join(problems))
    return values


def values_to_genotype(values: dict[str, Any]) -> Genotype:
    cells = {cell: [(values[f"{cell}_n{k}_op{j}"], int(values[f"{cell}_n{k}_in{j}"]))
                    for k in NODES for j in (0, 1)] for cell in CELLS}
    return Genotype(normal=cells["normal"], normal_concat=list(CONCAT),
                    reduce=cells["reduce"], reduce_concat=list(CONCAT))


def _check_space(space: Space) -> None:
    if space.gene_names != gene_names():
        raise ValueError(f"space {space.name!r} is not a DARTS cell space")


def _encode(space: Space, native: Any) -> np.ndarray:
    _check_space(space)
    return space.genes_from_values(genotype_to_values(native))


def _decode(space: Space, row: np.ndarray) -> Genotype:
    _check_space(space)
    return values_to_genotype(space.genes_to_values(row))


register_codec(Codec(CODEC, _encode, _decode))


# --- ops -------------------------------------------------------------------------------------
def _relu_conv_bn(b: SpaceBuilder, p: str, c: int, input: str) -> str:
    b.op("relu", f"{p}_act", input=input)
    b.conv2d(f"{p}_conv", out_channels=c, kernel=1, bias=False)
    return b.batchnorm2d(f"{p}_bn")


def _factorized_reduce(b: SpaceBuilder, p: str, c_out: int, input: str | None = None) -> str:
    """``FactorizedReduce(C_in, C_out)`` (C_out even)."""
    assert c_out % 2 == 0
    x = b.op("relu", f"{p}_act", input=input)
    a = b.conv2d(f"{p}_conv1", out_channels=c_out // 2, kernel=1, stride=2, bias=False, input=x)
    b.layer("crop", f"{p}_crop", input=x, top=1, left=1)
    d = b.conv2d(f"{p}_conv2", out_channels=c_out // 2, kernel=1, stride=2, bias=False)
    b.op("concat", f"{p}_cat", input=[a, d])
    return b.batchnorm2d(f"{p}_bn")


TAGS = {"max_pool_3x3": "max3", "avg_pool_3x3": "avg3", "skip_connect": "skip",
        "sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5", "dil_conv_3x3": "dil3",
        "dil_conv_5x5": "dil5"}  # short layer-name tags


def _op(b: SpaceBuilder, p: str, op: str, c: int, stride: int) -> None:
    """The layers of one op (reading the enclosing option's input), named p or p_*."""
    if op == "max_pool_3x3":
        b.maxpool2d(p, kernel=3, stride=stride, padding=1)
    elif op == "avg_pool_3x3":
        b.avgpool2d(p, kernel=3, stride=stride, padding=1, count_include_pad=False)
    elif op == "skip_connect":
        if stride == 1:
            b.op("identity", p)
        else:
            _factorized_reduce(b, p, c)
    elif op.startswith("sep_conv_"):
        k = int(op[-1])
        for i, s in ((1, stride), (2, 1)):
            b.op("relu", f"{p}_{i}_act")
            b.conv2d(f"{p}_{i}_dw", out_channels=c, kernel=k, stride=s, padding=k // 2,
                     groups=c, bias=False)
            b.conv2d(f"{p}_{i}_pw", out_channels=c, kernel=1, bias=False)
            b.batchnorm2d(f"{p}_{i}_bn")
    elif op.startswith("dil_conv_"):
        k = int(op[-1])
        b.op("relu", f"{p}_act")
        b.conv2d(f"{p}_dw", out_channels=c, kernel=k, stride=stride, padding=2 * (k // 2),
                 dilation=2, groups=c, bias=False)
        b.conv2d(f"{p}_pw", out_channels=c, kernel=1, bias=False)
        b.batchnorm2d(f"{p}_bn")
    else:
        raise AssertionError(op)


def _op_choice(b: SpaceBuilder, p: str, gene: Gene, src: str, c: int, stride: int) -> str:
    with b.choice(p, gene=gene, input=src) as ch:
        for op in OPS:
            with ch.option():
                _op(b, f"{p}_{TAGS[op]}", op, c, stride)
    return p


def _edge(b: SpaceBuilder, p: str, in_gene: Gene, op_gene: Gene, states: Sequence[str], c: int,
          reduction: bool) -> str:
    """op(states[input]): a choice of the input state, then of the op. In a reduction cell
    the op has stride 2 on states 0 and 1 and stride 1 on the others: one op choice for each,
    in blocks on the input gene (the second block is the first's output when skipped)."""
    with b.choice(f"{p}_src", gene=in_gene, input=states[0]) as ch:
        for i in range(len(states)):
            with ch.option():
                b.op("identity", f"{p}_src{i}", input=states[i])
    src = f"{p}_src"
    if not reduction:
        return _op_choice(b, f"{p}_op", op_gene, src, c, 1)
    if len(states) == 2:  # node 2: both inputs are the cell's inputs
        return _op_choice(b, f"{p}_op", op_gene, src, c, 2)
    with b.block(f"{p}_s2", when=in_gene.isin([0, 1]), input=src):
        _op_choice(b, f"{p}_s2op", op_gene, src, c, 2)
    with b.block(f"{p}_s1", when=in_gene >= 2, input=f"{p}_s2"):
        _op_choice(b, f"{p}_s1op", op_gene, src, c, 1)
    return f"{p}_s1"


def _cell(b: SpaceBuilder, p: str, genes: dict[str, Gene], kind: str, s0: str, s1: str, c: int,
          reduction_prev: bool) -> str:
    reduction = kind == "reduce"
    with b.block(p, input=s1):
        if reduction_prev:
            t0 = _factorized_reduce(b, f"{p}_pre0", c, input=s0)
        else:
            t0 = _relu_conv_bn(b, f"{p}_pre0", c, s0)
        t1 = _relu_conv_bn(b, f"{p}_pre1", c, s1)
        states = [t0, t1]
        for k in NODES:
            hs = [_edge(b, f"{p}_n{k}e{j}", genes[f"{kind}_n{k}_in{j}"],
                        genes[f"{kind}_n{k}_op{j}"], states, c, reduction) for j in (0, 1)]
            states.append(b.op("add", f"{p}_n{k}", input=hs))
        b.op("concat", f"{p}_out", input=[states[k] for k in CONCAT])
    return p


# --- networks --------------------------------------------------------------------------------
SETTINGS = {
    # name: (C, layers, resolution, classes, imagenet stem)
    "darts-cifar10": (36, 20, 32, 10, False),
    "darts-imagenet": (48, 14, 224, 1000, True),
}


def _genes(b: SpaceBuilder) -> dict[str, Gene]:
    genes = {}
    for name in gene_names():
        cell, node, kind = name.split("_")
        k = int(node[1:])
        if kind.startswith("in"):
            genes[name] = b.gene(name, list(range(k)), doc=f"{cell} cell, node {k}, edge "
                                 f"{kind[-1]}: the input state (0, 1: the cell inputs)")
        else:
            genes[name] = b.gene(name, OPS, doc=f"{cell} cell, node {k}, edge {kind[-1]}: the op")
    return genes


def _build(name: str) -> Space:
    c, layers, resolution, classes, imagenet = SETTINGS[name]
    setting = "mobile setting, " if imagenet else ""
    b = SpaceBuilder(name, codec=CODEC, description=(
        f"DARTS cell space, evaluation network of quark0/darts cnn/model.py ({setting}C={c}, "
        f"{layers} cells, {resolution}x{resolution} input, {classes} classes, no auxiliary "
        "head): the input and op of each edge of the normal and reduction cells"))
    genes = _genes(b)
    b.input(channels=3, height=resolution, width=resolution)
    if imagenet:
        b.conv2d("stem0_conv1", out_channels=c // 2, kernel=3, stride=2, padding=1, bias=False)
        b.batchnorm2d("stem0_bn1")
        b.op("relu", "stem0_act")
        b.conv2d("stem0_conv2", out_channels=c, kernel=3, stride=2, padding=1, bias=False)
        s0 = b.batchnorm2d("stem0_bn2")
        b.op("relu", "stem1_act")
        b.conv2d("stem1_conv", out_channels=c, kernel=3, stride=2, padding=1, bias=False)
        s1 = b.batchnorm2d("stem1_bn")
        c_curr, reduction_prev = c, True
    else:
        b.conv2d("stem_conv", out_channels=3 * c, kernel=3, padding=1, bias=False)
        s0 = s1 = b.batchnorm2d("stem_bn")
        c_curr, reduction_prev = c, False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c_curr *= 2
        out = _cell(b, f"cell{i}", genes, "reduce" if reduction else "normal", s0, s1, c_curr,
                    reduction_prev)
        s0, s1, reduction_prev = s1, out, reduction
    if imagenet:
        b.avgpool2d("global_pooling", kernel=7, input=s1)
    else:
        b.op("global_avgpool", "global_pooling", input=s1)
    b.op("flatten", "flatten")
    b.linear("classifier", out_features=classes)
    for cand, geno in GENOTYPES.items():
        values = genotype_to_values(geno)
        b.name_candidate(cand, [g.choices.index(values[n]) for n, g in genes.items()])
    return b.build()


# Published genotypes that fit the space (4 nodes, the 7 ops, concat 2..5), as printed in
# their repositories' genotypes.py. quark0/darts cnn/genotypes.py: DARTS_V1 (first-order
# search; the file's first version calls it DARTS) and DARTS_V2 (second order; DARTS =
# DARTS_V2); its NASNet and AmoebaNet have 5 nodes and ops outside the space (sep_conv_7x7,
# conv_7x1_1x7): the codec rejects them. chenxin061/pdarts genotypes.py: PDARTS.
# yuhuixu1993/PC-DARTS genotypes.py: PC_DARTS_cifar (searched on CIFAR-10) and PC_DARTS_image
# (searched on ImageNet). P-DARTS and PC-DARTS evaluate with DARTS' model.py.
GENOTYPES = {
    "DARTS_V1": Genotype(
        normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0), ("skip_connect", 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("max_pool_3x3", 0), ("max_pool_3x3", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("avg_pool_3x3", 0)],
        reduce_concat=[2, 3, 4, 5]),
    "DARTS_V2": Genotype(
        normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("skip_connect", 0),
                ("skip_connect", 0), ("dil_conv_3x3", 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("max_pool_3x3", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("max_pool_3x3", 1)],
        reduce_concat=[2, 3, 4, 5]),
    "PDARTS": Genotype(
        normal=[("skip_connect", 0), ("dil_conv_3x3", 1), ("skip_connect", 0),
                ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("sep_conv_3x3", 3),
                ("sep_conv_3x3", 0), ("dil_conv_5x5", 4)],
        normal_concat=range(2, 6),
        reduce=[("avg_pool_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_3x3", 0),
                ("dil_conv_5x5", 2), ("max_pool_3x3", 0), ("dil_conv_3x3", 1),
                ("dil_conv_3x3", 1), ("dil_conv_5x5", 3)],
        reduce_concat=range(2, 6)),
    "PC_DARTS_cifar": Genotype(
        normal=[("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 0),
                ("dil_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_3x3", 1),
                ("avg_pool_3x3", 0), ("dil_conv_3x3", 1)],
        normal_concat=range(2, 6),
        reduce=[("sep_conv_5x5", 1), ("max_pool_3x3", 0), ("sep_conv_5x5", 1),
                ("sep_conv_5x5", 2), ("sep_conv_3x3", 0), ("sep_conv_3x3", 3),
                ("sep_conv_3x3", 1), ("sep_conv_3x3", 2)],
        reduce_concat=range(2, 6)),
    "PC_DARTS_image": Genotype(
        normal=[("skip_connect", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 0),
                ("skip_connect", 1), ("sep_conv_3x3", 1), ("sep_conv_3x3", 3),
                ("sep_conv_3x3", 1), ("dil_conv_5x5", 4)],
        normal_concat=range(2, 6),
        reduce=[("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_5x5", 2),
                ("max_pool_3x3", 1), ("sep_conv_3x3", 2), ("sep_conv_3x3", 1),
                ("sep_conv_5x5", 0), ("sep_conv_3x3", 3)],
        reduce_concat=range(2, 6)),
}


SPACES = {name: (lambda name=name: _build(name)) for name in SETTINGS}
