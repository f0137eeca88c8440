"""nascost lut build / validate and the --latency options, on a tiny space (real timing,
checked for mechanics only)."""

from __future__ import annotations

from nascost.cli.main import main
from nascost.latency.table import read_table
from tests.budget.budget_spaces import depth_space


def test_lut_build_validate_and_budget(tmp_path, capsys):
    space = depth_space()
    spec = tmp_path / "space.json"
    spec.write_text(space.to_json())
    lut = tmp_path / "lut.parquet"
    assert main(["lut", "build", str(spec), "--out", str(lut), "--repeats", "2", "--warmup",
                 "0", "--no-progress"]) == 0
    assert "blocks of depths timed in context" in capsys.readouterr().out
    table = read_table(lut)
    assert table.meta["space_hash"] == space.hash and len(table) > 0
    assert (table.median_ns > 0).all() and (table.repeats >= 2).all()
    assert main(["lut", "validate", str(spec), str(lut), "--n", "8", "--repeats", "2",
                 "--warmup", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| raw table |" in out and "| FLOPs |" in out and "resolution" in out
    assert main(["bounds", str(spec), "--latency", str(lut)]) == 0
    assert "latency (approx)" in capsys.readouterr().out
    assert main(["count", str(spec), "--latency", str(lut), "--max-latency", "10s"]) == 0
    assert "latency <= 10s" in capsys.readouterr().out


def test_max_latency_needs_a_table(tmp_path, capsys):
    spec = tmp_path / "space.json"
    spec.write_text(depth_space().to_json())
    assert main(["count", str(spec), "--max-latency", "15ms"]) == 2
    assert "need --latency FILE" in capsys.readouterr().err
    assert main(["count", str(spec), "--latency", "x.parquet", "--max-latency", "15 parsecs"]) == 2
    assert "cannot read '15 parsecs' as a time" in capsys.readouterr().err
