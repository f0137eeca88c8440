"""Scans (nascost.stream): the kernels that generate, score and filter candidates, against
the slow path (Space.score_arrays on the same genes, filtered afterwards)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_helpers import assert_rows, fragile_space, reference, table_of, unfiltered

import nascost
from nascost.io.options import OptionError
from nascost.io.scan import sample_genes
from nascost.kernels.rng import reference_genes

FRAGILE = fragile_space()
MBV2 = nascost.load_space("mbv2-style")


@pytest.mark.parametrize("name", ["mbv2-style", "nb201-cifar10", "resnet-style"])
def test_sampler_matches_its_python_reference(name):
    space = nascost.load_space(name)
    idx = [0, 1, 2, 1000, 2**40 + 7, 2**64 - 1]
    genes = sample_genes(space, 2024, idx)
    for r, i in enumerate(idx):
        assert genes[r].tolist() == reference_genes(2024, i, space.cardinalities)


def test_sampler_is_uniform_per_gene():
    genes = sample_genes(MBV2, 3, np.arange(60_000))
    for j, card in enumerate(MBV2.cardinalities):
        counts = np.bincount(genes[:, j], minlength=card)
        expected = genes.shape[0] / card
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < 4 * card + 20, (MBV2.gene_names[j], counts)


def test_seeds_give_different_samples():
    a = sample_genes(MBV2, 1, np.arange(100))
    b = sample_genes(MBV2, 2, np.arange(100))
    assert (a != b).any(axis=1).all()


@pytest.mark.parametrize("space", [MBV2, FRAGILE], ids=["mbv2", "fragile"])
def test_sample_rows_equal_the_slow_path(space):
    table = table_of(nascost.stream(space, sample=5000, seed=9, chunk_size=1700))
    ref = reference(space, sample=5000, seed=9)
    assert_rows(table, ref, space, "sample_index")
    if space.has_ids:  # sampled rows carry their id
        ids = space.genes_to_ids(ref["genes"])
        order = np.argsort(table.column("sample_index").to_numpy())
        np.testing.assert_array_equal(table.column("id").to_numpy()[order], ids)


def test_rows_do_not_depend_on_chunk_size_threads_or_engine():
    budget = dict(max_flops="150M", min_params="2M")
    base = table_of(nascost.stream(MBV2, sample=20_000, seed=5, **budget))
    for kw in (dict(chunk_size=777), dict(chunk_size=20_000, threads=1),
               dict(chunk_size=4096, engine="interpreter")):
        other = table_of(nascost.stream(MBV2, sample=20_000, seed=5, **budget, **kw))
        assert other.equals(base), kw


@pytest.mark.parametrize("start", [0, 10**6, 2**40 + 12345, 2**64 - 30_000])
def test_id_ranges_with_budget_equal_the_slow_path(start):
    # budgets that reject partial sums early: the odometer jumps over whole blocks of ids
    ref_all = unfiltered(MBV2, ids=(start, start + 30_000))
    q = np.quantile(ref_all["flops"], [0.1, 0.5])
    for budget in ({}, {"max_flops": int(q[0])}, {"max_flops": int(q[1]), "min_flops": int(q[0])},
                   {"max_params": int(np.quantile(ref_all["params"], 0.3))}):
        table = table_of(nascost.stream(MBV2, ids=(start, start + 30_000), chunk_size=9000,
                                        **budget))
        assert_rows(table, reference(MBV2, scored=ref_all, budget=budget), MBV2, "id")


@pytest.mark.parametrize("include_invalid", [False, True])
@pytest.mark.parametrize("engine", ["auto", "interpreter"])
def test_invalid_candidates_and_status_pruning(include_invalid, engine):
    start = 1_234_567
    ref_all = unfiltered(FRAGILE, ids=(start, start + 40_000))
    assert len(set(ref_all["status"].tolist())) >= 3  # valid, collapsed, groups
    cut = int(np.quantile(ref_all["flops"][ref_all["status"] == 0], 0.4))
    for budget in ({}, {"max_flops": cut}, {"min_flops": cut}):
        table = table_of(nascost.stream(FRAGILE, ids=(start, start + 40_000), engine=engine,
                                        include_invalid=include_invalid, **budget))
        ref = reference(FRAGILE, scored=ref_all, budget=budget,
                        include_invalid=include_invalid)
        assert_rows(table, ref, FRAGILE, "id")


def test_all_enumerates_every_id_and_batch_scales_counts():
    space = nascost.load_space("nb201-cifar10")
    table = table_of(nascost.stream(space, all=True, batch=4, max_flops="400M"))
    ref = reference(space, ids=(0, space.size), batch=4, budget={"max_flops": 400_000_000})
    assert_rows(table, ref, space, "id")


def test_convention_changes_flops_only():
    a = table_of(nascost.stream(MBV2, sample=2000, convention="seed"))
    b = table_of(nascost.stream(MBV2, sample=2000, convention="macs"))
    assert a.column("params").equals(b.column("params"))
    np.testing.assert_array_equal(b.column("flops").to_numpy(), b.column("macs").to_numpy())


def test_batches_carry_the_schema_and_metadata():
    batch = next(nascost.stream(MBV2, sample=100))
    names = batch.schema.names
    assert names[0] == "sample_index" and names[1:50] == MBV2.gene_names
    assert names[-5:] == ["params", "macs", "flops", "activations", "status"]
    assert b"nascost" in batch.schema.metadata and b"nascost.space" in batch.schema.metadata
    ids_batch = next(nascost.stream("resnet-style", ids="0:1k"))
    assert ids_batch.schema.names[0] == "id" and str(ids_batch.schema.field("id").type) == "uint64"


@settings(max_examples=15, deadline=None)
@given(start=st.integers(0, FRAGILE.size - 3000), n=st.integers(1, 3000),
       q=st.floats(0, 1), side=st.sampled_from(["max_flops", "max_params", "min_macs"]),
       chunk=st.integers(100, 5000))
def test_property_filter_inside_equals_filter_after(start, n, q, side, chunk):
    ref_all = unfiltered(FRAGILE, ids=(start, start + n))
    metric = side.split("_")[1]
    values = ref_all[metric][ref_all["status"] == 0]
    budget = {side: int(np.quantile(values, q))} if values.size else {side: 0}
    table = table_of(nascost.stream(FRAGILE, ids=(start, start + n), chunk_size=chunk,
                                    **budget))
    assert_rows(table, reference(FRAGILE, scored=ref_all, budget=budget), FRAGILE, "id")


@pytest.mark.parametrize("kwargs, option, words", [
    (dict(), "all", "one of all, sample N or ids"),
    (dict(sample=10, ids="0:5"), "ids", "cannot be combined with sample"),
    (dict(ids="0:5", seed=3), "seed", "only applies to sample"),
    (dict(sample=10, max_flops="12XB"), "max_flops", "cannot read '12XB'"),
    (dict(sample=10, max_flops="400M", min_flops="1G"), "min_flops", "larger than max_flops"),
    (dict(sample=0), "sample", "must be >= 1"),
    (dict(ids="5:5"), "ids", "empty"),
    (dict(ids="0:2e30"), "ids", "past the last id"),
    (dict(all=True), "all", "more than a uint64 id"),
    (dict(sample=5, batch=0), "batch", "must be >= 1"),
    (dict(sample=5, chunk_size=0), "chunk_size", "must be >= 1"),
    (dict(sample=5, convention="nope"), "convention", "unknown convention"),
    (dict(sample=5, engine="gpu"), "engine", "must be one of"),
])
def test_bad_options_name_the_option(kwargs, option, words):
    with pytest.raises(OptionError) as e:
        nascost.stream(MBV2, **kwargs)
    assert e.value.option == option
    assert str(e.value).startswith(f"{option}: ") and words in str(e.value)
