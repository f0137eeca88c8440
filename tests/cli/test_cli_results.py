"""The score, query, summary, pareto and plot commands."""

from __future__ import annotations

import json

import pytest

import nascost
from nascost.cli.main import main


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli") / "res"
    assert main(["score", "mbv2-style", "--sample", "20k", "--seed", "1", "--max-flops", "300M",
                 "--out", str(d), "--chunk-size", "8000", "--no-progress"]) == 0
    return d


def test_score_prints_a_summary(tmp_path, capsys):
    code, out, err = run(capsys, "score", "nb201-cifar10", "--all", "--max-flops", "100M",
                         "--out", tmp_path / "d", "--no-progress")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("scanned   15,625 candidates in")
    assert lines[1].startswith("kept ") and "in 1 part file ->" in lines[1]
    assert lines[2].startswith("flops     min ") and "median" in lines[2]
    assert lines[3].startswith("params    min ")
    rows = nascost.open_results(tmp_path / "d").count_rows()
    assert f"kept      {rows:,} rows" in out


@pytest.mark.parametrize("argv, words", [
    (["nospace", "--sample", "5"], "unknown space 'nospace'"),
    (["mbv2-style", "--sample", "5", "--max-flops", "4OOM"], "--max-flops: cannot read '4OOM'"),
    (["mbv2-style", "--sample", "5", "--max-flops", "1G", "--min-flops", "2G"],
     "--min-flops: 2G is larger than --max-flops (1G)"),
    (["mbv2-style", "--sample", "5", "--all"], "--all: not allowed with argument --sample"),
    (["mbv2-style", "--sample", "5", "--resume", "--overwrite"],
     "--overwrite: not allowed with argument --resume"),
    (["mbv2-style", "--ids", "0:5", "--seed", "3"], "--seed: only applies to --sample"),
    (["mbv2-style"], "--all: say which candidates to score"),
    (["mbv2-style", "--all"], "--all: space 'mbv2-style' has 3.191e+23 candidates"),
    (["mbv2-style", "--ids", "9:3"], "--ids: the range 9:3 is empty"),
    (["mbv2-style", "--sample", "5", "--batch", "0"], "--batch: must be >= 1"),
    (["mbv2-style", "--sample", "5", "--threads", "999"], "--threads: must be <="),
    (["mbv2-style", "--sample", "5", "--convention", "nope"], "--convention: unknown"),
])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(tmp_path, capsys, argv, words):
    out_dir = tmp_path / "d"
    code, out, err = run(capsys, "score", *argv, "--out", out_dir, "--no-progress")
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert words in err and err.startswith("nascost score: error: ")
    assert not out_dir.exists()


def test_argparse_errors_are_one_line_too(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["score", "mbv2-style", "--sample", "5", "--out", str(tmp_path / "d"),
              "--all"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "--all: not allowed with argument --sample" in err


def test_non_empty_out_is_refused(scored, capsys):
    code, out, err = run(capsys, "score", "mbv2-style", "--sample", "20k", "--out", scored,
                         "--no-progress")
    assert code == 2 and "--out: " in err and "--resume" in err and "--overwrite" in err


def test_resume_of_a_finished_run(scored, capsys):
    code, out, err = run(capsys, "score", "mbv2-style", "--sample", "20k", "--seed", "1",
                         "--max-flops", "300M", "--out", scored, "--resume", "--no-progress")
    assert code == 0 and out.startswith("scanned   0 candidates") and "(resumed)" in out
    code, out, err = run(capsys, "score", "mbv2-style", "--sample", "20k", "--seed", "2",
                         "--max-flops", "300M", "--out", scored, "--resume", "--no-progress")
    assert code == 2 and "--seed: differs from the run being resumed" in err


def test_query_formats(scored, capsys):
    code, out, err = run(capsys, "query", scored, "--max-flops", "150M", "--top", "3",
                         "--sort", "params")
    assert code == 0 and out.splitlines()[0].split()[:4] == ["sample_index", "params", "macs",
                                                             "flops"]
    assert out.strip().endswith("3 rows")
    code, out, _ = run(capsys, "query", scored, "--max-flops", "150M", "--format", "csv")
    lines = out.strip().splitlines()
    n = nascost.query(scored, max_flops="150M").num_rows
    assert len(lines) == n + 1 and lines[0].startswith('"sample_index","resolution"')
    code, out, _ = run(capsys, "query", scored, "--max-flops", "150M", "--format", "json",
                       "--where", "resolution==160")
    rows = [json.loads(x) for x in out.strip().splitlines()]
    assert rows and all(r["flops"] <= 150_000_000 for r in rows)
    code, out, _ = run(capsys, "query", scored)  # long results: the first rows and a note
    assert "more rows" in out
    code, out, err = run(capsys, "query", scored, "--max-flops", "12Q")
    assert code == 2 and "--max-flops: cannot read '12Q'" in err


def test_query_sort_descending_as_a_separate_argument(scored, capsys):
    # `--sort -params`: argparse alone would read "-params" as an option
    want = nascost.query(scored, max_flops="150M").column("params").to_numpy()
    for argv in (["--sort", "-params"], ["--sort=-params"]):
        code, out, err = run(capsys, "query", scored, "--max-flops", "150M", "--top", "3",
                             "--format", "json", *argv)
        assert code == 0, err
        got = [json.loads(x)["params"] for x in out.strip().splitlines()]
        assert got == sorted(want.tolist(), reverse=True)[:3]


def test_query_of_a_missing_directory(tmp_path, capsys):
    code, out, err = run(capsys, "query", tmp_path / "none")
    assert code == 2 and "no results at" in err


def test_summary(scored, capsys):
    code, out, err = run(capsys, "summary", scored)
    assert code == 0, err
    assert "mbv2-style" in out and "sample of 20,000 (seed 1)" in out
    assert "budget max_flops=300M" in out and "status: ok" in out
    assert "p50" in out and "flops histogram" in out and "#" in out


def test_pareto(scored, tmp_path, capsys):
    code, out, err = run(capsys, "pareto", scored, "--minimize", "flops,params")
    assert code == 0, err
    n = nascost.pareto(scored).num_rows
    assert out.strip().endswith(f"{n:,} rows")
    code, out, err = run(capsys, "pareto", scored, "--out", tmp_path / "f.parquet")
    assert code == 0 and (tmp_path / "f.parquet").exists()
    code, out, err = run(capsys, "pareto", scored, "--minimize", "flops,speed")
    assert code == 2 and "--minimize: unknown column 'speed'" in err


def test_plot(scored, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    code, out, err = run(capsys, "plot", scored, "-o", tmp_path / "p.png", "--budget", "250M")
    assert code == 0, err
    assert (tmp_path / "p.png").stat().st_size > 10_000
