"""query, summary, pareto and plot over a result dataset, against numpy on the same rows."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nascost
from nascost.io.options import OptionError
from nascost.kernels.pareto import front_mask, front_mask_reference


@pytest.fixture(scope="module")
def mbv2_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("r") / "mbv2"
    nascost.write_dataset("mbv2-style", d, sample=60_000, seed=3, max_flops="400M",
                          chunk_size=20_000, row_group_size=4096)
    return d


@pytest.fixture(scope="module")
def nb201_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("r") / "nb201"
    nascost.write_dataset("nb201-cifar10", d, all=True, include_invalid=True)
    return d


@pytest.fixture(scope="module")
def mbv2_all(mbv2_dir):
    t = nascost.open_results(mbv2_dir).to_table()
    return {c: t.column(c).to_numpy() for c in t.column_names}


def test_query_budget_equals_numpy(mbv2_dir, mbv2_all):
    t = nascost.query(mbv2_dir, max_flops="200M", min_params="2.5M")
    keep = (mbv2_all["flops"] <= 200_000_000) & (mbv2_all["params"] >= 2_500_000)
    expected = np.sort(mbv2_all["sample_index"][keep])
    np.testing.assert_array_equal(t.column("sample_index").to_numpy(), expected)  # by position
    assert t.schema.metadata[b"nascost"]


def test_query_where_uses_choice_values(mbv2_dir, mbv2_all):
    t = nascost.query(mbv2_dir, where=["resolution==192", "s1_depth>=3", "activations<8M"])
    # the gene columns hold the choice values themselves
    keep = ((mbv2_all["resolution"] == 192) & (mbv2_all["s1_depth"] >= 3)
            & (mbv2_all["activations"] < 8_000_000))
    assert t.num_rows == keep.sum() > 0
    with pytest.raises(OptionError, match="'7' is not a choice of gene 'resolution'"):
        nascost.query(mbv2_dir, where="resolution==7")
    with pytest.raises(OptionError, match="cannot read 'nonsense'"):
        nascost.query(mbv2_dir, where="nonsense")


def test_query_where_with_operator_like_gene_names(nb201_dir):
    t = nascost.query(nb201_dir, where="1<-0==nor_conv_3x3,skip_connect", include_invalid=True)
    assert set(t.column("1<-0").to_pylist()) == {"nor_conv_3x3", "skip_connect"}
    assert t.num_rows == 2 * 5**5


def test_query_top_and_sort(mbv2_dir, mbv2_all):
    t = nascost.query(mbv2_dir, top=7, sort="-params", max_flops="300M")
    keep = mbv2_all["flops"] <= 300_000_000
    order = np.lexsort((mbv2_all["sample_index"][keep], -mbv2_all["params"][keep]))
    np.testing.assert_array_equal(t.column("sample_index").to_numpy(),
                                  mbv2_all["sample_index"][keep][order][:7])
    t2 = nascost.query(mbv2_dir, top=5)  # default order with top: flops
    assert t2.column("flops").to_pylist() == sorted(mbv2_all["flops"])[:5]
    with pytest.raises(OptionError, match="sort: unknown column 'size'"):
        nascost.query(mbv2_dir, sort="size")


def test_summary_quantiles_are_exact(mbv2_dir, mbv2_all, nb201_dir):
    s = nascost.summary(mbv2_dir)
    assert s["rows"] == s["valid"] == mbv2_all["flops"].size
    for col in ("params", "macs", "flops", "activations"):
        x = mbv2_all[col]
        m = s["metrics"][col]
        assert m["min"] == x.min() and m["max"] == x.max()
        for p in (1, 10, 25, 50, 75, 90, 99):
            assert m[f"p{p}"] == np.quantile(x, p / 100, method="lower"), (col, p)
        assert m["mean"] == pytest.approx(x.mean())
    h = s["histogram"]
    assert sum(h["counts"]) == s["valid"] and h["edges"][0] == mbv2_all["flops"].min()
    s2 = nascost.summary(nb201_dir)
    assert s2["rows"] == 15625 and sum(s2["status"].values()) == 15625


def test_exact_quantiles_refine_crowded_bins(mbv2_dir, monkeypatch):
    from nascost.analytics import summary as S

    monkeypatch.setattr(S, "COLLECT_CAP", 10)
    monkeypatch.setattr(S, "FINE_BINS", 4)
    ds = nascost.open_results(mbv2_dir)
    x = ds.to_table(columns=["params"]).column("params").to_numpy()
    n, q = S.exact_quantiles(ds, "params", (0.0, 0.3, 0.5, 0.999, 1.0))
    assert n == x.size
    for k, v in q.items():
        assert v == np.quantile(x, k, method="lower")


def test_pareto_front_equals_the_definition(mbv2_dir, mbv2_all, tmp_path):
    front = nascost.pareto(mbv2_dir, minimize="flops,params", out=tmp_path / "front.parquet")
    objs = np.stack([mbv2_all["flops"], mbv2_all["params"]])
    mask = front_mask(objs)
    assert set(front.column("sample_index").to_pylist()) == set(
        mbv2_all["sample_index"][mask].tolist())
    assert np.all(np.diff(front.column("flops").to_numpy()) >= 0)
    assert np.all(np.diff(front.column("params").to_numpy()) <= 0)
    back = pq.read_table(tmp_path / "front.parquet")
    assert back.equals(front) and nascost.results_info(tmp_path / "front.parquet")["space"]
    # three objectives, one maximised
    f3 = nascost.pareto(mbv2_dir, minimize=["flops", "params"], maximize="activations")
    m3 = front_mask(np.stack([mbv2_all["flops"], mbv2_all["params"], -mbv2_all["activations"]]))
    assert f3.num_rows == m3.sum()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.lists(
    st.lists(st.integers(0, 6), min_size=k, max_size=k), min_size=0, max_size=60)))
def test_pareto_kernel_property(rows):
    objs = np.array(rows, dtype=np.int64).T if rows else np.zeros((2, 0), np.int64)
    np.testing.assert_array_equal(front_mask(objs), front_mask_reference(objs))


def test_pareto_is_streamed_batch_by_batch(mbv2_dir, mbv2_all, monkeypatch):
    from nascost.analytics import pareto as P

    monkeypatch.setattr(P, "BATCH", 1000)  # many merges of partial fronts
    small = P.pareto(mbv2_dir, minimize="flops,params")
    mask = front_mask(np.stack([mbv2_all["flops"], mbv2_all["params"]]))
    assert small.num_rows == mask.sum()


def test_plot_writes_an_image(mbv2_dir, tmp_path):
    pytest.importorskip("matplotlib")
    out = nascost.plot(mbv2_dir, tmp_path / "p.png", budget="300M", y_budget="4M")
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
    out2 = nascost.plot(mbv2_dir, tmp_path / "p.svg", x="macs", y="activations", log=True,
                        front=False)
    assert out2.exists()


def test_plot_without_matplotlib_says_what_to_install(mbv2_dir, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install 'nascost\[plot\]'"):
        nascost.plot(mbv2_dir, tmp_path / "p.png")
