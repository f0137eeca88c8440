"""The reference against the compiled kernels: exact equality of every count, the status and
the live genes, on random candidates of randomly generated spaces (seeded, deterministic)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from nascost.reference import count, live_genes
from nascost.space.builder import SpaceBuilder

N_SPACES = 40
N_CANDIDATES = 40
ACTS = ["relu", "relu6", "sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "gelu",
        "identity", "zero"]


class _Gen:
    """A random space: blocks with conditions, choices (some options empty), residual adds,
    SE products, concats, pooling and a head; fields are literals, genes or channels_of."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.b = SpaceBuilder(f"random{seed}")
        self.n = 0
        b = self.b
        self.kernel = b.gene("kernel", [1, 3, 5])
        self.width = b.gene("width", [4, 6, 8, 16])
        self.depth = b.gene("depth", [1, 2, 3])
        self.stride = b.gene("stride", [1, 2])
        self.ratio = b.gene("ratio", ["1/2", 1, "3/2", 4])
        self.res = b.gene("res", [5, 8, 12, 16])
        self.ops = b.gene("op", ["a", "b", "c"])
        self.flag = b.gene("flag", [0, 1])

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def channels(self, scope: list[str]):
        r = self.rnd.random()
        if r < 0.3:
            return self.rnd.choice([4, 8, 12])
        if r < 0.6:
            return self.width
        times = self.rnd.choice([1, 2, "1/3", 0.25, self.ratio])
        return SpaceBuilder.channels_of(
            self.rnd.choice(scope), times=times, round=self.rnd.choice(["none", "floor",
                                                                        "round", "ceil"]),
            divisor=self.rnd.choice([0, 0, 4, 8]), min=self.rnd.choice([0, 1, 1]))

    def layer(self, scope: list[str]) -> None:
        b, rnd = self.b, self.rnd
        kind = rnd.choice(["conv", "conv", "conv", "bn", "act", "act", "pool", "add", "mul",
                           "concat", "block", "block", "choice", "dw", "flat"])
        if kind == "conv":
            k = rnd.choice([1, 3, self.kernel])
            pad = self.kernel.map(lambda v: v // 2) if k is self.kernel else rnd.choice([0, 1])
            out = b.conv2d(self.name("conv"), self.channels(scope), k,
                           stride=rnd.choice([1, 1, self.stride]), padding=pad,
                           dilation=rnd.choice([1, 1, 2]), groups=rnd.choice([1, 1, 2]),
                           bias=rnd.random() < 0.5)
        elif kind == "dw":
            last = b.last
            out = b.conv2d(self.name("dw"), SpaceBuilder.channels_of(last), 3, padding=1,
                           groups=SpaceBuilder.channels_of(last), bias=False)
        elif kind == "flat":  # a flat value mid-network: later 4-D ops get BAD_RANK
            b.op("flatten", self.name("flat"))
            out = b.linear(self.name("fc"), self.channels(scope))
        elif kind == "bn":
            out = b.batchnorm2d(self.name("bn"), affine=rnd.random() < 0.7)
        elif kind == "act":
            out = b.op(rnd.choice(ACTS), self.name("act"))
        elif kind == "pool":
            k = rnd.choice([2, 3, [2, 3]])
            p = rnd.choice([0, 1, 1, 2])  # 2: POOL_PADDING
            ceil = rnd.random() < 0.5
            if rnd.random() < 0.5:
                out = b.maxpool2d(self.name("max"), k, stride=rnd.choice([None, 1, 2]),
                                  padding=p, ceil_mode=ceil)
            else:
                out = b.avgpool2d(self.name("avg"), k, stride=rnd.choice([None, 1, 2]),
                                  padding=p, ceil_mode=ceil)
        elif kind == "add":
            ins = [b.last] + rnd.sample(scope, min(len(scope), rnd.choice([1, 2])))
            out = b.op("add", self.name("add"), input=ins)
        elif kind == "mul":
            last = b.last
            g = b.op("global_avgpool", self.name("gap"))
            scope.append(g)
            s = b.op("sigmoid", self.name("gate"))
            scope.append(s)
            out = b.op("mul", self.name("mul"), input=rnd.choice([[last, s], [s, last]]))
        elif kind == "concat":
            out = b.op("concat", self.name("cat"), input=[b.last, rnd.choice(scope)])
        elif kind == "block":
            cond = rnd.choice([None, self.depth >= 2, self.depth >= 3, self.flag.eq(1),
                               self.ops.isin(["a", "c"]), {"gene": "ratio", "ne": 1}])
            out = self.name("blk")
            with b.block(out, when=cond):
                self.sequence(list(scope), rnd.randint(1, 3))
        else:
            out = self.name("choice")
            with b.choice(out, self.ops) as c:
                for _ in range(3):
                    with c.option():
                        if rnd.random() < 0.75:
                            self.sequence(list(scope), rnd.randint(1, 2))
        scope.append(out)

    def sequence(self, scope: list[str], n: int) -> None:
        for _ in range(n):
            self.layer(scope)

    def build(self):
        b, rnd = self.b, self.rnd
        b.input(rnd.choice([3, 4, self.width]), self.res, self.res)
        self.sequence(["input"], rnd.randint(3, 8))
        if rnd.random() < 0.7:
            b.op("global_avgpool", self.name("gap"))
            b.op("flatten", self.name("flat"))
            b.linear(self.name("fc"), rnd.choice([10, self.width]), bias=rnd.random() < 0.5)
            if rnd.random() < 0.3:
                b.op(rnd.choice(ACTS), self.name("act"))
        elif rnd.random() < 0.3:
            b.op("flatten", self.name("flat"))
            b.op("relu", self.name("act"))
        return b.build()


@pytest.mark.parametrize("convention", ["seed", {"conv_mac": 2, "conv_bias": 1, "linear_bias": 1,
                                                 "maxpool_in": 1, "zero": 1,
                                                 "global_pool_in": 1, "avgpool_in": 1,
                                                 "batchnorm_affine": 1}])
@pytest.mark.parametrize("engine", ["interpreter", "tables"])
def test_reference_equals_kernels(convention, engine):
    seen_status = set()
    for seed in range(N_SPACES):
        space = _Gen(seed).build()
        genes = space.sample(N_CANDIDATES, seed=seed)
        batch = 1 + seed % 3
        got = space.score_arrays(genes, convention=convention, batch=batch, engine=engine)
        live = space.live_genes(genes)
        for i, row in enumerate(genes):
            ref = count(space, row, convention=convention, batch=batch)
            seen_status.add(ref["status"])
            ker = {k: int(v[i]) for k, v in got.items()}
            assert ker == ref, (seed, row.tolist())
            assert live[i].tolist() == live_genes(space, row), (seed, row.tolist())
    assert {0, 1, 3, 4, 5, 6} <= seen_status  # valid and failing candidates were both compared


def test_canonical_equals_kernels():
    from nascost.reference import canonical

    for seed in range(10):
        space = _Gen(seed).build()
        genes = space.sample(20, seed=seed)
        np.testing.assert_array_equal(
            space.canonical(genes), np.stack([canonical(space, row) for row in genes]))
