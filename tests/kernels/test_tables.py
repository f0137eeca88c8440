"""The table engine's two row layouts: packed words (two additions per segment) and plain rows
give the same arrays, including statuses and overflow, on every built-in space."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import nascost
from nascost import SpaceBuilder
from nascost.kernels import api
from nascost.kernels import tables as T
from nascost.rules import conventions as conv
from nascost.rules import status as S


def _both(space, genes, convention="seed", batch=1):
    c = conv.resolve(convention)
    packed = T.tables_for(space.program, c)
    plain = dataclasses.replace(packed, words=T.NO_WORDS)
    out = []
    for tables in (packed, plain):
        for n in (genes.shape[0], min(genes.shape[0], 100)):  # parallel and serial kernels
            o = api.score_into(space.program, genes[:n], c, batch, api.empty_outputs(n), tables)
            out.append(o)
    return packed, out


@pytest.mark.parametrize("name", [n for n in nascost.list_spaces()
                                  if not n.startswith("darts")])
def test_packed_rows_equal_plain_rows(name):
    space = nascost.load_space(name)
    genes = space.sample(3000, seed=5)
    for convention in ("seed", "fvcore"):
        packed, (p_par, p_ser, q_par, q_ser) = _both(space, genes, convention, batch=2)
        for k in p_par:
            np.testing.assert_array_equal(p_par[k], q_par[k], err_msg=f"{name} {k}")
            np.testing.assert_array_equal(p_ser[k], q_ser[k], err_msg=f"{name} {k}")


def test_the_large_spaces_are_packed():
    for name in ("ofa-mbv3-w1.0", "mbv2-style", "nb201-cifar10", "fbnet", "proxylessnas"):
        tables = T.tables_for(nascost.load_space(name).program, conv.resolve("seed"))
        assert tables.words.shape == (tables.n_rows, 2), name


def test_packed_statuses_are_the_first_failing_layer():
    b = SpaceBuilder("fragile-chain")
    r = b.gene("resolution", [2, 32])
    g = b.gene("groups", [1, 3, 4])
    g2 = b.gene("groups2", [1, 5])
    b.input(3, r, r)
    b.conv2d("a", 12, 3, stride=2)  # collapses at resolution 2
    b.conv2d("b", 8, 1, groups=g)  # groups 3 do not divide 12
    b.conv2d("c", 10, 1, groups=g2)  # groups 5 do not divide 8
    space = b.build()
    genes = np.array(np.meshgrid([0, 1], [0, 1, 2], [0, 1], indexing="ij")).reshape(3, -1).T
    genes = np.ascontiguousarray(genes, dtype=np.uint8)
    packed, (p_par, p_ser, q_par, q_ser) = _both(space, genes)
    assert packed.words.shape[0] > 0
    ref = space.score_arrays(genes, engine="interpreter")
    for o in (p_par, p_ser, q_par, q_ser):
        for k in ref:
            np.testing.assert_array_equal(o[k], ref[k], err_msg=k)
    st = ref["status"].tolist()
    assert st[0] == S.COLLAPSED and S.GROUPS in st and S.OK in st


def test_packed_overflow_by_batch():
    space = nascost.load_space("mbv2-style")
    genes = space.sample(10, seed=1)
    one = space.score_arrays(genes)
    big = 2**62 // int(one["flops"].min()) + 1  # every candidate's flops pass 2**62
    _, outs = _both(space, genes, batch=big)
    for o in outs:
        assert (o["status"] == S.OVERFLOW).all() and (o["flops"] == 0).all()
