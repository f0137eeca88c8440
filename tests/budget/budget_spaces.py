"""Small synthetic chain spaces for the budget tests, and brute-force references."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from nascost import SpaceBuilder

METRICS = ("params", "macs", "flops", "activations")


@st.composite
def chain_spaces(draw, max_size: int = 4000):
    """A chain of blocks: a resolution gene, a width multiplier read by every block (carried
    in the chain's state), per-block kernel and width genes, optional blocks under a depth
    gene (their genes dead when off), a choice of op per block, and now and then a layer
    that fails for some candidates (spatial collapse, groups that do not divide)."""
    b = SpaceBuilder("synthetic")
    res = b.gene("res", draw(st.sampled_from([[8, 12], [6, 16, 32], [4, 9]])))
    wm = b.gene("wm", draw(st.sampled_from([[1], [1, 2], [1, 2, 3]])))
    n_blocks = draw(st.integers(1, 4))
    depth = b.gene("depth", [1, 2, 3]) if n_blocks >= 2 and draw(st.booleans()) else None
    genes = []
    for i in range(n_blocks):
        k = b.gene(f"k{i}", draw(st.sampled_from([[1, 3], [3, 5, 7], [1]])))
        c = b.gene(f"c{i}", draw(st.sampled_from([[4, 8], [4, 6, 8], [2]])))
        op = b.gene(f"op{i}", ["relu", "none", "pool"]) if draw(st.booleans()) else None
        genes.append((k, c, op))
    b.input(3, res, res)
    b.conv2d("stem", out_channels=wm.map(lambda v: 4 * v), kernel=3, padding=1, bias=False)
    for i, (k, c, op) in enumerate(genes):
        when = None
        if depth is not None and i >= 1:
            when = depth >= i + 1
        with b.block(f"b{i}", when=when) as blk:
            stride = draw(st.sampled_from([1, 1, 2]))
            b.conv2d(f"b{i}_conv", out_channels=c.map(lambda v: v), kernel=k,
                     padding=k.map(lambda v: v // 2), stride=stride,
                     bias=draw(st.booleans()))
            b.batchnorm2d(f"b{i}_bn")
            if draw(st.booleans()):  # depthwise with groups that may not divide
                b.conv2d(f"b{i}_dw", out_channels=SpaceBuilder.channels_of(f"b{i}_bn"),
                         kernel=3, padding=1,
                         groups=draw(st.sampled_from([1, 2, 3])), bias=False)
            if op is not None:
                with b.choice(f"b{i}_op", op) as ch:
                    with ch.option():
                        b.op("relu", f"b{i}_relu")
                    with ch.option():
                        pass
                    with ch.option():
                        b.maxpool2d(f"b{i}_pool", kernel=3, stride=2)
            b.conv2d(f"b{i}_proj", out_channels=wm.map(lambda v: 4 * v), kernel=1)
            if stride == 1 and draw(st.booleans()) and op is None:
                b.op("add", f"b{i}_add", input=[blk.input, f"b{i}_proj"])
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", out_features=10)
    space = b.build()
    if space.size > max_size:
        from hypothesis import assume

        assume(False)
    return space


def brute(space, convention="seed"):
    """(canonical genes of the valid candidates, their metrics (n, 4)), by enumeration."""
    g = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    out = space.score_arrays(g, convention=convention)
    ok = out["status"] == 0
    can = space.canonical(g[ok])
    u, idx = np.unique(can, axis=0, return_index=True)
    sel = np.flatnonzero(ok)[idx]
    cost = np.stack([out[m][sel] for m in METRICS], axis=1)
    return u, cost


def in_budget(cost, **budget):
    ok = np.ones(cost.shape[0], dtype=bool)
    for key, v in budget.items():
        side, m = key.split("_", 1)
        col = cost[:, METRICS.index(m)]
        ok &= (col <= v) if side == "max" else (col >= v)
    return ok


def depth_space():
    """Two stages of up to three blocks (depth 1..3, kernel and width per block): the genes
    of blocks past a stage's depth are dead, so raw gene arrays over-weight shallow stages."""
    b = SpaceBuilder("depths")
    res = b.gene("res", [8, 16])
    stages = []
    for s in range(2):
        d = b.gene(f"s{s}_depth", [1, 2, 3])
        blocks = [(b.gene(f"s{s}_b{j}_k", [1, 3]), b.gene(f"s{s}_b{j}_c", [4, 8]))
                  for j in range(3)]
        stages.append((d, blocks))
    b.input(3, res, res)
    b.conv2d("stem", out_channels=8, kernel=3, padding=1)
    for s, (d, blocks) in enumerate(stages):
        for j, (k, c) in enumerate(blocks):
            with b.block(f"s{s}_b{j}", when=None if j == 0 else d >= j + 1):
                b.conv2d(f"s{s}_b{j}_conv", out_channels=c, kernel=k,
                         padding=k.map(lambda v: v // 2), stride=2 if j == 0 else 1)
                b.op("relu", f"s{s}_b{j}_act")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", out_features=10)
    return b.build()
