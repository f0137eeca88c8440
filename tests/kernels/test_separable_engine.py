"""The separable engine (per-group cost tables, nascost.kernels.separable) equals the
interpreter and the slow reference, statuses included: on random candidates of both DARTS
spaces, on every candidate of random cell spaces (hypothesis, the budget tests' generator),
and on a space whose groups fail with different statuses in an interleaved order."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import nascost
from nascost import SpaceBuilder
from nascost.kernels import api
from nascost.kernels import separable as SEP
from nascost.reference import walk
from nascost.rules import conventions as conv
from nascost.rules import status as S

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "budget"))
from test_separable import cell_spaces  # noqa: E402  (the budget tests' generator)

KEYS = ("params", "macs", "flops", "activations", "status")


def _engines_agree(space, genes, convention="seed", batch=1, tables=None):
    """Separable (parallel and serial kernels) vs interpreter, every array."""
    c = conv.resolve(convention)
    tables = tables or SEP.separable_for(space.program, c)
    assert tables is not None
    ref = space.score_arrays(genes, convention=convention, batch=batch, engine="interpreter")
    for n in (genes.shape[0], min(genes.shape[0], 100)):  # parallel, then serial kernels
        got = api.score_into(space.program, genes[:n], c, batch, api.empty_outputs(n), tables)
        for k in KEYS:
            np.testing.assert_array_equal(got[k], ref[k][:n], err_msg=f"{space.name} {k}")
    return ref


@pytest.mark.parametrize("name", ["darts-cifar10", "darts-imagenet"])
def test_darts_separable_equals_interpreter_and_reference(name):
    space = nascost.load_space(name)
    assert api.engine_name(space.scorer().tables) == "separable"  # auto picks it
    genes = space.sample(3000, seed=11)
    for convention, batch in (("seed", 1), ("fvcore", 3)):
        _engines_agree(space, genes, convention, batch)
    apart = SEP.build_separable(space.program, conv.resolve("seed"), merge_rows=1)
    assert apart.meta.shape[0] == 26  # 20 groups of one gene, 6 of two (32 genes)
    _engines_agree(space, genes, tables=apart)
    out = space.score_arrays(genes[:8])
    for i in range(8):  # the slow reference walks the spec, not the compiled program
        ref = walk.count(space, genes[i])
        assert {k: int(out[k][i]) for k in KEYS} == ref


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(cell_spaces())
def test_random_cell_spaces_every_candidate(space):
    tables = SEP.separable_for(space.program, conv.resolve("seed"))
    if tables is None:  # not separable into small groups: the interpreter scores it
        return
    genes = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    ref = _engines_agree(space, genes)
    _engines_agree(space, genes, tables=dataclasses.replace(tables, exact=False))
    apart = SEP.build_separable(space.program, conv.resolve("seed"), merge_rows=1)
    _engines_agree(space, genes, tables=apart)  # a segment per group
    for i in np.random.default_rng(0).choice(genes.shape[0], 3):
        assert walk.count(space, genes[i])["status"] == ref["status"][i]


def _fragile_cells():
    """Two edges per cell, three cells, all reading the same two op genes; an op of each
    fails (groups that do not divide; pooling padding too large) and every op keeps the
    shape, so the groups stay apart and their failures interleave in program order."""
    b = SpaceBuilder("fragile-cells")
    a = b.gene("a", ["conv", "bad_groups", "skip"])
    p = b.gene("p", ["pool", "bad_padding", "skip"])
    b.input(3, 8, 8)
    prev = b.conv2d("stem", out_channels=12, kernel=3, padding=1)
    for c in range(3):
        edges = [(a, "a"), (p, "p")] if c != 1 else [(p, "p"), (a, "a")]
        for gene, kind in edges:
            with b.choice(f"c{c}{kind}", gene=gene, input=prev) as ch:
                with ch.option():
                    if kind == "a":
                        b.conv2d(f"c{c}_conv", out_channels=12, kernel=1)
                    else:
                        b.maxpool2d(f"c{c}_pool", kernel=3, stride=1, padding=1)
                with ch.option():
                    if kind == "a":
                        b.conv2d(f"c{c}_g5", out_channels=12, kernel=1, groups=5)
                    else:
                        b.maxpool2d(f"c{c}_pad", kernel=3, stride=1, padding=2)
                with ch.option():
                    b.op("identity", f"c{c}{kind}_id")
            prev = f"c{c}{kind}"
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", out_features=10)
    return b.build()


def test_interleaved_failures_give_the_first_failing_layer():
    space = _fragile_cells()
    genes = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    ref = space.score_arrays(genes, engine="interpreter")
    for merge_rows in (1, 512):  # a segment per group, and the groups merged into one
        tables = SEP.build_separable(space.program, conv.resolve("seed"), merge_rows)
        assert tables is not None and tables.exact
        assert tables.meta.shape[0] == (2 if merge_rows == 1 else 1)
        _engines_agree(space, genes, tables=tables)
        _engines_agree(space, genes, tables=dataclasses.replace(tables, exact=False))
    # a=bad_groups fails in cell 0 before p's padding; p=bad_padding fails first otherwise
    assert set(ref["status"].tolist()) == {S.OK, S.GROUPS, S.POOL_PADDING}
    both = genes[(genes[:, 0] == 1) & (genes[:, 1] == 1)]
    assert (space.score_arrays(both)["status"] == S.POOL_PADDING).all() or \
        (space.score_arrays(both)["status"] == S.GROUPS).all()
    for i in range(genes.shape[0]):
        assert walk.count(space, genes[i]) == {k: int(ref[k][i]) for k in KEYS}


def test_stream_keeps_exact_statuses():
    space = _fragile_cells()
    ref = space.score_arrays(space.ids_to_genes(np.arange(space.size, dtype=np.uint64)),
                             engine="interpreter")
    for engine in ("separable", "interpreter"):
        rows = [b for b in nascost.stream(space, all=True, include_invalid=True,
                                          engine=engine, chunk_size=4)]
        status = np.concatenate([b.column("status").to_numpy() for b in rows])
        np.testing.assert_array_equal(status, ref["status"], err_msg=engine)


def test_engine_choice():
    c = conv.resolve("seed")
    mbv2 = nascost.load_space("mbv2-style").program
    assert api.engine_name(api.engine_tables(mbv2, c, "auto")) == "tables"
    assert api.engine_name(api.engine_tables(mbv2, c, "interpreter")) == "interpreter"
    with pytest.raises(ValueError, match="do not add up"):
        api.engine_tables(mbv2, c, "separable")
    nb201 = nascost.load_space("nb201-cifar10").program  # separable too: explicit request
    assert api.engine_name(api.engine_tables(nb201, c, "separable")) == "separable"


def test_darts_streams_equal_the_interpreter():
    # the scan kernels' incremental odometer over id ranges, and samples, with budgets
    space = nascost.load_space("darts-imagenet")
    start = 123_456_789_012_345
    for opts in ({"ids": (start, start + 3000)}, {"sample": 3000, "seed": 7},
                 {"ids": (start, start + 3000), "max_flops": "900M"}):
        got = [pa_rows(nascost.stream(space, engine=e, chunk_size=1000, **opts))
               for e in ("auto", "interpreter")]
        assert got[0][0].shape[0] > 0
        for a, b in zip(got[0], got[1], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=str(opts))


def pa_rows(batches):
    """(genes, metrics) of a stream's record batches, concatenated."""
    import pyarrow as pa

    t = pa.Table.from_batches(list(batches))
    cols = [c for c in t.column_names if c not in ("params", "macs", "flops", "activations",
                                                   "status", "id", "index", "sample")]
    genes = np.stack([t.column(c).to_numpy() for c in cols], axis=1)
    metrics = np.stack([t.column(c).to_numpy() for c in ("params", "macs", "flops",
                                                         "activations", "status")], axis=1)
    return genes, metrics
