"""Issue 16: options checked before the warm-up, one results format (sample's file read by every
analytics command), I/O errors exit 1 naming the file, "compiled" said only when numba compiled."""

from __future__ import annotations

import pytest

import nascost
from nascost.cli import cmd_score
from nascost.cli.main import main
from nascost.io.schema import genes_of


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_warmup(monkeypatch):
    """Fail if a command gets as far as loading kernels or building tables."""
    def boom(*a, **k):
        raise AssertionError("warmed up before checking the options")
    monkeypatch.setattr(cmd_score, "_warm", boom)
    monkeypatch.setattr("nascost.kernels.tables._load_or_build", boom)


def test_bad_options_are_reported_before_the_warm_up(tmp_path, capsys, no_warmup):
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.txt").write_text("mine")
    afile = tmp_path / "afile"
    afile.write_text("")
    cases = [
        (["--all", "--out", full], "is not empty"),
        (["--sample", "0", "--out", tmp_path / "a"], "--sample"),
        (["--all", "--out", afile], "is not a directory"),
        (["--all", "--out", tmp_path / "b", "--chunk-size", "0"], "--chunk-size"),
    ]
    for extra, words in cases:
        code, out, err = run(capsys, "score", "nb201-cifar10", *extra, "--no-progress")
        assert code == 2 and words in err, (extra, err)


def test_a_mismatched_resume_is_reported_before_the_warm_up(tmp_path, capsys, monkeypatch):
    d = tmp_path / "d"
    assert run(capsys, "score", "nb201-cifar10", "--ids", "0:500", "--out", d,
               "--no-progress")[0] == 0
    monkeypatch.setattr(cmd_score, "_warm", lambda *a: (_ for _ in ()).throw(AssertionError))
    code, out, err = run(capsys, "score", "nb201-cifar10", "--ids", "0:600", "--out", d,
                         "--resume", "--no-progress")
    assert code == 2 and "differs from the run being resumed" in err


def test_warm_start_does_not_say_compiled(tmp_path, capsys):
    run(capsys, "score", "nb201-cifar10", "--ids", "0:10", "--out", tmp_path / "a",
        "--no-progress")
    code, out, err = run(capsys, "score", "nb201-cifar10", "--ids", "0:10", "--out",
                         tmp_path / "b", "--no-progress")
    assert code == 0 and "compiled" not in err


def test_startup_line_names_what_took_the_time():
    line = cmd_score.startup_line(3.0, [], {"event": "miss", "seconds": 2.5})
    assert "built the cost tables in 2.5 s" in line and "compiled" not in line
    assert "loaded the kernels from numba's cache" in line
    line = cmd_score.startup_line(9.0, ["f", "g"], {"event": "hit", "seconds": 0.01})
    assert line.startswith("start-up 9.0 s: compiled 2 kernels")
    assert "loaded the cost tables from the cache" in line
    assert cmd_score.startup_line(0.5, [], {"event": "hit", "seconds": 0.0}) is None


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "s.parquet"
    assert main(["sample", "mbv2-style", "-n", "300", "--max-flops", "400M", "--seed", "1",
                 "--out", str(out)]) == 0
    return out


def test_sample_output_is_read_by_every_analytics_command(sampled, tmp_path, capsys):
    info = nascost.results_info(sampled)
    assert info["run"]["mode"] == "sample_within" and info["rows"] == 300
    table = nascost.open_results(sampled).to_table()
    assert table.num_rows == 300
    assert max(table.column("flops").to_pylist()) <= 400_000_000
    # the stored genes score to the stored metrics: the file is what nascost score writes
    space = info["space"]
    again = space.score_arrays(genes_of(table, space))
    assert again["flops"].tolist() == table.column("flops").to_pylist()
    code, out, err = run(capsys, "summary", sampled)
    assert code == 0 and "300 drawn uniformly within the budget" in out, err
    code, out, err = run(capsys, "query", sampled, "--max-flops", "300M", "--top", "3")
    assert code == 0, err
    code, out, err = run(capsys, "pareto", sampled, "--out", tmp_path / "f.parquet")
    assert code == 0 and "Pareto front" in out, err
    code, out, err = run(capsys, "plot", sampled, "-o", tmp_path / "p.png")
    assert code == 0 and (tmp_path / "p.png").stat().st_size > 0, err


@pytest.mark.parametrize("argv", [
    ["sample", "nb201-cifar10", "-n", "5", "--out", "{ro}/s.parquet"],
    ["pareto", "{res}", "--out", "{ro}/f.parquet"],
    ["plot", "{res}", "-o", "{ro}/p.png"],
])
def test_io_errors_exit_1_and_name_the_file(argv, sampled, tmp_path, capsys):
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:  # root writes anywhere but in /proc
        ro = "/proc"
    try:
        code, out, err = run(capsys, *[a.format(ro=ro, res=sampled) for a in argv])
    finally:
        (tmp_path / "ro").chmod(0o700)
    assert code == 1, err
    assert ".tmp" not in err and f"cannot write {ro}/" in err, err


def test_an_output_under_a_file_is_refused_before_any_work(sampled, capsys, no_warmup):
    for argv in (["sample", "nb201-cifar10", "-n", "5", "--out", f"{sampled}/s.parquet"],
                 ["pareto", sampled, "--out", f"{sampled}/f.parquet"],
                 ["plot", sampled, "-o", f"{sampled}/p.png"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and "is a file" in err, err


@pytest.mark.parametrize("argv, words", [
    (["show", "no/such/space.json"], "space file not found: no/such/space.json"),
    (["score", "mbv2-style", "--sample", "5", "--max-flops", "-5", "--out", "x"],
     "--max-flops: '-5' is negative"),
    (["score", "mbv2-style", "--sample", "5", "--max-flops", "1G", "--min-flops", "2G",
      "--out", "x"], "--min-flops: 2G is larger than --max-flops (1G)"),
])
def test_messages_name_the_problem_plainly(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and words in err, err


def test_show_says_which_candidate_and_counts_read_naturally(capsys, tmp_path):
    code, out, err = run(capsys, "show", "resnet18")
    assert code == 0 and "(0 genes, 1 gene array)" in out
    assert "candidate: the only one" in out
    code, out, err = run(capsys, "show", "nb201-cifar10")
    assert "candidate: every gene at its first choice (index 0)" in out
    code, out, err = run(capsys, "show", "nb201-cifar10", "--id", "7")
    assert "candidate: id 7" in out
    code, out, err = run(capsys, "score", "nb201-cifar10", "--ids", "0:10", "--out",
                         tmp_path / "d", "--no-progress")
    assert "in 1 part file ->" in out
