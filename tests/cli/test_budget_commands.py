"""The bounds, count, histogram and sample commands."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import nascost
from nascost.cli.main import main
from nascost.io.schema import genes_of


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_bounds_prints_extremes_and_witnesses(capsys):
    code, out, err = run(capsys, "bounds", "nb201-cifar10")
    assert code == 0, err
    b = nascost.load_space("nb201-cifar10").bounds()
    assert f"{b['flops']['min']:,}" in out and f"{b['flops']['max']:,}" in out
    genes = ",".join(str(int(x)) for x in b["flops"]["max_genes"])
    assert f"max flops: {genes}" in out


def test_bounds_of_a_separable_space(capsys):
    # DARTS is not a chain of blocks; its costs add up over the cells' edges (exact bounds)
    code, out, err = run(capsys, "bounds", "darts-cifar10")
    assert code == 0, err
    assert "1,370,134" in out and "5,144,086" in out  # params min, max (catalog.json)
    code, out, err = run(capsys, "spaces")
    assert code == 0 and "not a chain" not in out
    assert "1.37M-5.144M" in out


def test_count_exact_and_bounded(capsys):
    code, out, err = run(capsys, "count", "nb201-cifar10", "--max-flops", "100M",
                         "--min-params", "200k")
    assert code == 0, err
    c = nascost.load_space("nb201-cifar10").count(max_flops=100_000_000, min_params=200_000)
    assert f"count: {c.low:,}  (exact" in out
    code, out, err = run(capsys, "count", "mbv2-style", "--max-flops", "300M")
    assert code == 0, err
    assert "certified bounds, gap" in out and "time:" in out


def test_count_rejects_bad_budgets(capsys):
    code, out, err = run(capsys, "count", "nb201-cifar10", "--max-flops", "lots")
    assert code == 2 and "--max-flops" in err
    code, out, err = run(capsys, "count", "nb201-cifar10", "--max-flops", "1M",
                         "--min-flops", "2M")
    assert code == 2 and "above max_flops" in err


def test_histogram_table_and_plot(capsys, tmp_path):
    code, out, err = run(capsys, "histogram", "nb201-cifar10", "--bins", "5")
    assert code == 0, err
    assert "15,625 valid canonical candidates (exact" in out
    assert len([ln for ln in out.splitlines() if "%" in ln]) == 5
    pytest.importorskip("matplotlib")
    png = tmp_path / "h.png"
    code, out, err = run(capsys, "histogram", "nb201-cifar10", "--bins", "7", "-o", png)
    assert code == 0, err
    assert png.stat().st_size > 1000


def test_histogram_plot_without_matplotlib(capsys, tmp_path, monkeypatch):
    real = builtins.__import__

    def no_mpl(name, *a, **k):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    code, out, err = run(capsys, "histogram", "nb201-cifar10", "--bins", "3", "-o",
                         tmp_path / "h.png")
    assert code == 2 and "pip install 'nascost[plot]'" in err


def test_sample_writes_parquet_with_metadata(capsys, tmp_path):
    f = tmp_path / "s.parquet"
    code, out, err = run(capsys, "sample", "nb201-cifar10", "-n", "2k", "--max-flops", "100M",
                         "--seed", "4", "--out", f)
    assert code == 0, err
    assert "acceptance rate" in out
    t = pq.read_table(f)
    assert t.num_rows == 2000 and (np.array(t.column("flops")) <= 100_000_000).all()
    meta = json.loads(t.schema.metadata[b"nascost"])
    assert meta["run"]["budget"] == {"max_flops": 100_000_000} and meta["run"]["seed"] == 4
    space = nascost.load_space("nb201-cifar10")
    genes = genes_of(t, space)
    np.testing.assert_array_equal(genes, space.sample_within(2000, seed=4,
                                                             max_flops=100_000_000))
    # refuses to overwrite
    code, out, err = run(capsys, "sample", "nb201-cifar10", "-n", "10", "--out", f)
    assert code == 2 and "--force" in err


def test_sample_stratified_and_infeasible(capsys, tmp_path):
    code, out, err = run(capsys, "sample", "nb201-cifar10", "-n", "300", "--stratify",
                         "flops:3", "--out", tmp_path / "s.csv")
    assert code == 0, err
    assert out.count("flops ") >= 3
    code, out, err = run(capsys, "sample", "nb201-cifar10", "-n", "10", "--max-flops", "1M",
                         "--out", tmp_path / "t.parquet")
    assert code == 2 and "no valid candidate meets the budget" in err and "flops" in err


def test_budget_keys_of_the_cli_match_the_library():
    from nascost.budget import BUDGET_KEYS
    from nascost.cli import budget_args

    assert budget_args.BUDGET_KEYS == BUDGET_KEYS


def test_count_prints_a_sampled_estimate_for_wide_bounds(capsys):
    code, out, err = run(capsys, "count", "ofa-mbv3-w1.0", "--max-flops", "400M",
                         "--max-params", "5M", "--samples", "100k", "--time-limit", "0.3")
    assert code == 0, err
    assert "certified bounds" in out
    assert "estimate: " in out and "100,000 uniform draws" in out and "not certified" in out
    code, out, err = run(capsys, "count", "ofa-mbv3-w1.0", "--max-flops", "400M",
                         "--max-params", "5M", "--samples", "0", "--time-limit", "0.3")
    assert code == 0 and "estimate" not in out


def test_sample_write_is_atomic(capsys, tmp_path, monkeypatch):
    """A write that fails half way leaves neither a truncated FILE nor a temporary file, and
    an existing FILE (--force) stays as it was."""
    import pyarrow.parquet as pq_mod

    out = tmp_path / "s.parquet"
    code, _, err = run(capsys, "sample", "nb201-cifar10", "-n", "50", "--max-flops", "100M",
                       "--out", out)
    assert code == 0, err
    before = out.read_bytes()
    real = pq_mod.write_table

    def broken(table, where, **kw):
        real(table.slice(0, 5), where, **kw)  # some bytes reach the disk, then it fails
        raise OSError("disk full")

    monkeypatch.setattr(pq_mod, "write_table", broken)
    code, _, err = run(capsys, "sample", "nb201-cifar10", "-n", "80", "--max-flops", "100M",
                       "--out", out, "--force")
    assert code != 0 and "disk full" in err
    assert out.read_bytes() == before
    fresh = tmp_path / "t.parquet"
    code, _, err = run(capsys, "sample", "nb201-cifar10", "-n", "80", "--max-flops", "100M",
                       "--out", fresh)
    assert code != 0 and not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet"]


def test_count_says_when_the_certified_bounds_are_far_apart(capsys):
    # three bounded metrics in a short time: the lower bound is far below the upper one;
    # the line says so instead of printing a gap of millions of percent
    import re

    code, out, err = run(capsys, "count", "ofa-mbv3-w1.0", "--max-flops", "400M",
                         "--max-params", "5M", "--max-macs", "190M", "--time-limit", "0.2",
                         "--samples", "20k")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("count:"))
    gaps = [float(g.replace(",", "")) for g in re.findall(r"gap ([\d,.]+)%", line)]
    assert all(g <= 1000 for g in gaps), line
    assert gaps or "times low" in line or "no certified lower bound yet" in line
    assert "estimate: " in out
