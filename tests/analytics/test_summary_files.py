"""The summary reads the parts file by file (not through pyarrow's dataset scanner): its
results on a dataset of several parts holding valid and invalid rows equal numpy's."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import nascost
from nascost import SpaceBuilder
from nascost.analytics import summary as S
from nascost.io import schema as R

QS = (0.0, 0.01, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0)


def _space() -> nascost.Space:
    """59,049 candidates; some collapse (stride 2 on a tiny input), some have groups that
    do not divide their channels: three statuses."""
    b = SpaceBuilder("fragile-small")
    r = b.gene("resolution", [8, 32, 64])
    b.input(3, r, r)
    for i in range(4):
        k = b.gene(f"k{i}", [1, 3, 5])
        c = b.gene(f"c{i}", [8, 12, 16])
        b.conv2d(f"conv{i}", c, k, stride=2 if i % 2 == 0 else 1)
        b.op("relu", f"relu{i}")
    g = b.gene("groups", [1, 3, 4])
    b.conv2d("grouped", 24, 1, groups=g)
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("r") / "mixed"
    nascost.write_dataset(_space(), d, ids=(0, 40_000), include_invalid=True,
                          chunk_size=7000, row_group_size=1000)
    return d


@pytest.fixture(scope="module")
def mixed_all(mixed_dir):
    t = nascost.open_results(mixed_dir).to_table()
    return {c: t.column(c).to_numpy() for c in t.column_names}


def test_the_dataset_has_every_kind_of_row_group(mixed_dir, mixed_all):
    files = nascost.open_results(mixed_dir).files
    assert len(files) >= 4
    clean = mixed = skipped = 0
    for f in files:
        pf = pq.ParquetFile(f)
        c, m = S._split_row_groups(pf.metadata, pf.schema_arrow.get_field_index(R.STATUS))
        clean, mixed = clean + len(c), mixed + len(m)
        skipped += pf.metadata.num_row_groups - len(c) - len(m)
    assert clean and mixed and skipped
    st = mixed_all[R.STATUS]
    assert 0 < (st == 0).sum() < st.size and len(np.unique(st)) >= 3


@pytest.mark.parametrize("valid", [True, False])
def test_columns_give_the_scanners_rows(mixed_dir, valid):
    ds = nascost.open_results(mixed_dir)
    filt = pc.field(R.STATUS) == 0 if valid else None
    names = ["flops", "params", R.STATUS]
    got = [np.concatenate(c) for c in zip(*S._columns(ds, names, filt), strict=True)]
    want = ds.to_table(columns=names, filter=filt)
    order_got = np.lexsort(got)
    order_want = np.lexsort([want.column(c).to_numpy() for c in names])
    for k, c in enumerate(names):
        np.testing.assert_array_equal(got[k][order_got], want.column(c).to_numpy()[order_want])


@pytest.mark.parametrize("crowded", [False, True])
def test_exact_quantiles_over_valid_rows_equal_numpy(mixed_dir, mixed_all, crowded,
                                                     monkeypatch):
    if crowded:  # tiny bins and cap: the refinement inside a bin runs
        monkeypatch.setattr(S, "COLLECT_CAP", 10)
        monkeypatch.setattr(S, "FINE_BINS", 4)
    ds = nascost.open_results(mixed_dir)
    ok = mixed_all[R.STATUS] == 0
    for col in R.VALUES:
        for filt, keep in ((pc.field(R.STATUS) == 0, ok), (None, np.ones_like(ok))):
            x = mixed_all[col][keep]
            n, q = S.exact_quantiles(ds, col, QS, filt)
            assert n == x.size
            for k, v in q.items():
                assert v == np.quantile(x, k, method="lower"), (col, k, filt)


def test_other_filters_still_work(mixed_dir, mixed_all):
    ds = nascost.open_results(mixed_dir)
    med = int(np.median(mixed_all["flops"]))
    x = mixed_all["params"][mixed_all["flops"] > med]
    n, q = S.exact_quantiles(ds, "params", (0.0, 0.5, 1.0), pc.field("flops") > med)
    assert n == x.size > 0
    assert q == {k: np.quantile(x, k, method="lower") for k in (0.0, 0.5, 1.0)}


def test_summary_of_valid_and_invalid_rows(mixed_dir, mixed_all):
    s = nascost.summary(mixed_dir)
    st = mixed_all[R.STATUS]
    ok = st == 0
    assert s["rows"] == st.size and s["valid"] == ok.sum()
    assert sorted(s["status"].values()) == sorted(np.unique(st, return_counts=True)[1])
    for col in R.VALUES:
        x = mixed_all[col][ok]
        m = s["metrics"][col]
        assert m["min"] == x.min() and m["max"] == x.max()
        for p in (1, 10, 25, 50, 75, 90, 99):
            assert m[f"p{p}"] == np.quantile(x, p / 100, method="lower"), (col, p)
        assert m["mean"] == pytest.approx(x.mean())
    assert sum(s["histogram"]["counts"]) == ok.sum()
