"""nascost show / spaces: the per-layer table and totals; one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

from nascost.cli.main import main


def test_show_resnet18(capsys):
    assert main(["show", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "64x112x112" in out
    # torchvision's published resnet18: 11,689,512 parameters, 1.814 G multiply-accumulates
    assert "params 11,689,512; MACs 1,814,073,344" in out
    assert "11.69M params" in out


def test_show_by_genes_and_named(capsys):
    assert main(["show", "nb201-cifar10", "--genes", "3,3,3,3,3,3", "--convention", "macs",
                 "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "input: 2x3x32x32" in out and "convention: macs" in out
    assert main(["show", "mbv2-style", "--named", "mobilenet_v2"]) == 0
    assert "params 3,504,872; MACs 300,774,272" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_code_2(capsys):
    assert main(["show", "no-such-space"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown space 'no-such-space'" in err[0]
    assert main(["show", "nb201-cifar10", "--genes", "1,2"]) == 2
    assert "--genes needs 6 values" in capsys.readouterr().err
    assert main(["show", "nb201-cifar10", "--genes", "9,0,0,0,0,0"]) == 2
    assert "gene '1<-0'" in capsys.readouterr().err


def test_spaces_lists_builtins(capsys):
    import nascost

    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    for name in nascost.list_spaces():
        assert name in out


def test_console_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "nascost", "show", "resnet18"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "11,689,512" in r.stdout
