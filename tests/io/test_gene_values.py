"""Gene columns hold choice values (dictionary-encoded): pyarrow, pandas, Polars and DuckDB
filter by the values `nascost query --where` uses and agree row for row; datasets written
before (format version 1: uint8 choice indices) are still read and filtered."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import nascost
from nascost.analytics.query import query
from nascost.io import schema as R
from nascost.io.schema import genes_of


@pytest.fixture(scope="module")
def nb201(tmp_path_factory):
    d = tmp_path_factory.mktemp("gv") / "nb"
    nascost.write_dataset("nb201-cifar10", d, all=True, chunk_size=4000)
    return d


@pytest.fixture(scope="module")
def mbv2(tmp_path_factory):
    d = tmp_path_factory.mktemp("gv") / "mb"
    nascost.write_dataset("mbv2-style", d, sample=3000, seed=2, chunk_size=1000)
    return d


def _ids_where(space, genes, j, keep):
    """The truth from the genes themselves: the rows whose gene j's choice value is kept."""
    vals = np.array([keep(space.choices[j][k]) for k in genes[:, j]])
    return vals


def test_four_readers_agree_on_a_string_gene(nb201):
    space = nascost.load_space("nb201-cifar10")
    files = sorted(str(p) for p in nb201.glob("part-*.parquet"))
    gene = space.gene_names[0]  # '1<-0'
    truth = space.genes_to_ids(space.ids_to_genes(np.arange(space.size, dtype=np.uint64)))
    genes = space.ids_to_genes(truth)
    want = set(truth[_ids_where(space, genes, 0, lambda v: v == "nor_conv_3x3")].tolist())
    assert len(want) == 3125
    got_arrow = set(nascost.open_results(nb201).to_table(
        filter=pc.field(gene) == "nor_conv_3x3").column("id").to_pylist())
    df = pd.concat([pd.read_parquet(f) for f in files])
    got_pandas = set(df[df[gene] == "nor_conv_3x3"]["id"].tolist())
    got_polars = set(pl.read_parquet(files).filter(pl.col(gene) == "nor_conv_3x3")["id"]
                     .to_list())
    rel = duckdb.sql(f"select id from read_parquet({files}) where \"{gene}\" = 'nor_conv_3x3'")
    got_duck = {r[0] for r in rel.fetchall()}
    got_query = set(query(nb201, where=f"{gene}==nor_conv_3x3").column("id").to_pylist())
    assert want == got_arrow == got_pandas == got_polars == got_duck == got_query


def test_four_readers_agree_on_numeric_genes(mbv2):
    space = nascost.load_space("mbv2-style")
    files = sorted(str(p) for p in mbv2.glob("part-*.parquet"))
    table = nascost.open_results(mbv2).to_table()
    genes = genes_of(table, space)
    j = space.gene_names.index("s1_depth")
    e = next(k for k, c in enumerate(space.choices) if isinstance(c[0], float))
    ename = space.gene_names[e]
    evalue = space.choices[e][1]
    idx = table.column("sample_index").to_numpy()
    want = set(idx[(np.array(space.choices[j])[genes[:, j]] == 3)
                   & (np.array(space.choices[e])[genes[:, e]] == evalue)].tolist())
    assert 0 < len(want) < table.num_rows
    got_arrow = set(nascost.open_results(mbv2).to_table(
        filter=(pc.field("s1_depth") == 3) & (pc.field(ename) == evalue))
        .column("sample_index").to_pylist())
    df = pd.concat([pd.read_parquet(f) for f in files])
    got_pandas = set(df[(df.s1_depth == 3) & (df[ename] == evalue)].sample_index.tolist())
    got_polars = set(pl.read_parquet(files).filter(
        (pl.col("s1_depth") == 3) & (pl.col(ename) == evalue))["sample_index"].to_list())
    rel = duckdb.sql(f"select sample_index from read_parquet({files}) "
                     f"where s1_depth = 3 and \"{ename}\" = {evalue}")
    got_duck = {r[0] for r in rel.fetchall()}
    got_query = set(query(mbv2, where=["s1_depth==3", f"{ename}=={evalue}"])
                    .column("sample_index").to_pylist())
    assert want == got_arrow == got_pandas == got_polars == got_duck == got_query
    # and ranges: s1_depth >= 3
    got = set(query(mbv2, where="s1_depth>=3").column("sample_index").to_pylist())
    assert got == {r[0] for r in duckdb.sql(
        f"select sample_index from read_parquet({files}) where s1_depth >= 3").fetchall()}


def test_old_datasets_with_indices_are_still_read(mbv2, tmp_path):
    """Rewrite the dataset as format version 1 wrote it (uint8 indices) and query it."""
    space = nascost.load_space("mbv2-style")
    old = tmp_path / "old"
    old.mkdir()
    for f in sorted(mbv2.glob("part-*.parquet")):
        t = pq.read_table(f)
        md = dict(t.schema.metadata)
        info = json.loads(md[R.KEY])
        info["format_version"] = 1
        md[R.KEY] = json.dumps(info).encode()
        g = genes_of(t, space)
        cols = {n: (pa.array(g[:, space.gene_names.index(n)], pa.uint8())
                    if n in space.gene_names else t.column(n)) for n in t.schema.names}
        pq.write_table(pa.table(cols).replace_schema_metadata(md), old / f.name,
                       compression="zstd")
    new_rows = query(mbv2, where=["s1_depth==3"]).column("sample_index").to_pylist()
    old_t = query(old, where=["s1_depth==3"], force=True)  # parts rewritten: no manifest
    assert sorted(old_t.column("sample_index").to_pylist()) == sorted(new_rows)
    np.testing.assert_array_equal(genes_of(old_t, space)[:, space.gene_names.index("s1_depth")],
                                  np.full(old_t.num_rows, space.choices[
                                      space.gene_names.index("s1_depth")].index(3)))
    assert nascost.results_info(old)["rows"] == 3000
    # the values cost about what the indices did: Parquet stores each row group's
    # dictionary once and the rows as small dictionary indices
    size = sum(f.stat().st_size for f in mbv2.glob("part-*.parquet"))
    size_old = sum(f.stat().st_size for f in old.glob("part-*.parquet"))
    assert size <= 1.1 * size_old, (size, size_old)


def test_a_value_that_is_not_a_choice_is_named():
    with pytest.raises(ValueError, match="not one of the choices"):
        R.gene_indices(pa.array([3, 9]), [1, 2, 3])
