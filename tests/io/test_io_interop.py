"""The dataset read back by pyarrow, pandas, Polars and DuckDB: same rows, same answers."""

from __future__ import annotations

import numpy as np
import pytest

import nascost

BUDGET = 250_000_000


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("interop") / "mbv2"
    # several parts, a manifest and a lock file in the directory
    nascost.write_dataset("mbv2-style", d, sample=30_000, seed=8, max_flops="400M",
                          chunk_size=6000)
    return d


@pytest.fixture(scope="module")
def expected(result_dir):
    t = nascost.query(result_dir, max_flops=BUDGET)
    return t.num_rows, np.sort(t.column("sample_index").to_numpy()), \
        nascost.open_results(result_dir).count_rows()


def test_pyarrow(result_dir, expected):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    n, ids, total = expected
    d = ds.dataset(str(result_dir), format="parquet")  # the plain directory: _ and . skipped
    assert d.count_rows() == total
    t = d.to_table(filter=(ds.field("flops") <= BUDGET) & (ds.field("status") == 0))
    np.testing.assert_array_equal(np.sort(t.column("sample_index").to_numpy()), ids)
    assert pq.read_table(str(result_dir)).num_rows == total


def test_pandas(result_dir, expected):
    pd = pytest.importorskip("pandas")
    n, ids, total = expected
    df = pd.read_parquet(result_dir)
    assert len(df) == total and str(df["sample_index"].dtype) == "uint64"
    sel = df[(df["flops"] <= BUDGET) & (df["status"] == 0)]
    np.testing.assert_array_equal(np.sort(sel["sample_index"].to_numpy()), ids)


def test_polars(result_dir, expected):
    pl = pytest.importorskip("polars")
    n, ids, total = expected
    lf = pl.scan_parquet(str(result_dir / "*.parquet"))
    assert lf.select(pl.len()).collect().item() == total
    sel = lf.filter((pl.col("flops") <= BUDGET) & (pl.col("status") == 0)).collect()
    np.testing.assert_array_equal(np.sort(sel["sample_index"].to_numpy()), ids)


def test_duckdb(result_dir, expected):
    duckdb = pytest.importorskip("duckdb")
    n, ids, total = expected
    glob = str(result_dir / "*.parquet")
    con = duckdb.connect()
    assert con.execute(f"select count(*) from read_parquet('{glob}')").fetchone()[0] == total
    got = con.execute(f"select sample_index from read_parquet('{glob}') "
                      f"where flops <= {BUDGET} and status = 0 order by sample_index").fetchall()
    np.testing.assert_array_equal(np.array([r[0] for r in got], dtype=np.uint64), ids)
    meta = con.execute(f"select value from parquet_kv_metadata('{glob}') "
                       "where key = 'nascost' limit 1").fetchone()[0]
    assert b'"hash"' in meta
