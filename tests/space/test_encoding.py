"""Encoding: ids <-> genes, out-of-range errors, uniform sampling, canonical forms."""

from __future__ import annotations

import numpy as np
import pytest

import nascost
from nascost import SpaceBuilder
from nascost.io.schema import genes_of


def _chain() -> nascost.Space:
    b = SpaceBuilder("chain")
    r = b.gene("resolution", [8, 16, 24])
    b.input(3, r, r)
    b.conv2d("stem", 8, 3, padding=1)
    for s in range(2):
        d = b.gene(f"s{s}.depth", [1, 2, 3])
        for i in range(3):
            k = b.gene(f"s{s}.b{i}.kernel", [1, 3, 5])
            e = b.gene(f"s{s}.b{i}.expand", [1, 2])
            with b.block(f"s{s}.b{i}", when=(d >= i + 1) if i else None) as blk:
                b.conv2d(f"s{s}.b{i}.pw", b.channels_of(blk.input, times=e), 1)
                b.conv2d(f"s{s}.b{i}.dw", b.channels_of(f"s{s}.b{i}.pw"), k,
                         padding=k.map(lambda v: v // 2),
                         groups=b.channels_of(f"s{s}.b{i}.pw"))
                b.conv2d(f"s{s}.b{i}.pl", 8, 1)
                b.op("add", f"s{s}.b{i}.add", [blk.input, f"s{s}.b{i}.pl"])
    return b.build()


def _python_id(cards, row):
    v = 0
    for c, g in zip(cards, row, strict=True):
        v = v * int(c) + int(g)
    return v


def test_ids_round_trip_and_match_python():
    space = _chain()
    assert space.size == 3 * (3 * 6**3) ** 2
    ids = np.array([0, 1, 2, 17, space.size - 1, space.size // 2], dtype=np.uint64)
    genes = space.ids_to_genes(ids)
    assert genes.dtype == np.uint8 and genes.shape == (6, space.n_genes)
    np.testing.assert_array_equal(space.genes_to_ids(genes), ids)
    for i, row in zip(ids, genes, strict=True):
        assert _python_id(space.cardinalities, row) == int(i)
    # the last gene varies fastest
    np.testing.assert_array_equal(genes[1] - genes[0], np.eye(space.n_genes, dtype=np.uint8)[-1])


def test_id_range_odometer_matches_ids_to_genes():
    from nascost.kernels.encoding import fill_id_range

    space = _chain()
    start = 123_457
    out = np.empty((5000, space.n_genes), dtype=np.uint8)
    fill_id_range(start, out, space.cardinalities)
    np.testing.assert_array_equal(out, space.ids_to_genes(np.arange(start, start + 5000)))


def test_ids_of_a_space_larger_than_2_64_name_its_first_candidates(tmp_path):
    """mbv2-style has 3.2e23 candidates: ids below 2**64 decode (as --ids scores them);
    genes_to_ids still refuses (a candidate's id may not fit)."""
    from nascost.io.reader import open_results
    from nascost.io.writer import write_dataset

    space = nascost.load_space("mbv2-style")
    assert not space.has_ids
    ids = np.array([0, 5, 10**18, 2**64 - 1], dtype=np.uint64)
    genes = space.ids_to_genes(ids)
    for i, row in zip(ids, genes, strict=True):
        assert _python_id(space.cardinalities, row) == int(i)
    write_dataset(space, tmp_path / "r", ids="1000000000000000000:1000000000000000003")
    tab = open_results(tmp_path / "r").to_table().sort_by("id")
    got = genes_of(tab, space)  # the columns hold choice values
    np.testing.assert_array_equal(got, space.ids_to_genes(np.arange(3, dtype=np.uint64)
                                                          + np.uint64(10**18)))
    with pytest.raises(ValueError, match="more than a uint64 id"):
        space.genes_to_ids(genes)
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        space.ids_to_genes([2**64])


def test_out_of_range_gene_names_row_and_gene():
    space = _chain()
    genes = space.sample(5, seed=1)
    genes[3, 4] = 7
    with pytest.raises(ValueError, match=r"row 3, gene 's0.b1.kernel' \(column 4\): choice "
                                         r"index 7 is out of range; it must be in 0..2"):
        space.score(genes)
    with pytest.raises(ValueError, match="row 0, gene 'resolution'"):
        space.score(np.array([-1] + [0] * (space.n_genes - 1)))
    with pytest.raises(ValueError, match=r"genes must have shape \(n, 15\)"):
        space.score(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="out of range"):
        space.ids_to_genes([space.size])


def test_sample_is_deterministic_and_uniform():
    space = _chain()
    a = space.sample(30_000, seed=7)
    np.testing.assert_array_equal(a, space.sample(30_000, seed=7))
    assert not np.array_equal(a, space.sample(30_000, seed=8))
    for j, card in enumerate(space.cardinalities):
        freq = np.bincount(a[:, j], minlength=card) / len(a)
        assert np.all(np.abs(freq - 1 / card) < 0.02)


def test_sample_equals_the_streamed_samples():
    from nascost.io.scan import sample_genes

    space = _chain()
    np.testing.assert_array_equal(space.sample(300, seed=5),
                                  sample_genes(space, 5, np.arange(300)))


def test_canonical_zeroes_genes_of_switched_off_blocks():
    space = _chain()
    row = space.genes_from_values({"resolution": 16, "s0.depth": 1, "s0.b1.kernel": 5,
                                   "s0.b2.expand": 2, "s1.depth": 3, "s1.b2.kernel": 5})
    canon = space.canonical(row)
    values = dict(zip(space.gene_names, canon.tolist(), strict=True))
    # depth 1 switches s0.b1 and s0.b2 off: their genes are dead
    assert values["s0.b1.kernel"] == 0 and values["s0.b2.expand"] == 0
    assert values["s1.b2.kernel"] == 2  # live: s1 has depth 3
    # canonical candidates score the same and canonicalisation is idempotent
    genes = space.sample(2000, seed=3)
    canon = space.canonical(genes)
    np.testing.assert_array_equal(space.canonical(canon), canon)
    a, b = space.score_arrays(genes), space.score_arrays(canon)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_dead_genes_never_change_costs():
    space = _chain()
    genes = space.sample(500, seed=5)
    live = space.live_genes(genes)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, size=genes.shape) % space.cardinalities[None, :]
    mutated = np.where(live, genes, noise).astype(np.uint8)
    a, b = space.score_arrays(genes), space.score_arrays(mutated)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_values_and_genes_convert():
    space = _chain()
    row = space.sample(1, seed=2)[0]
    assert np.array_equal(space.genes_from_values(space.genes_to_values(row)), row)
    with pytest.raises(ValueError, match="gene 'resolution': 9 is not one of its choices"):
        space.genes_from_values({"resolution": 9})
