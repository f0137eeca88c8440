"""The examples run end to end with small settings; each re-scores the candidates it
reports and exits non-zero if one breaks the budget (checked here too from its output)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "budget held" in p.stdout and "BROKEN" not in p.stdout
    return p.stdout


@pytest.mark.filterwarnings("ignore")
def test_optuna_nsga2():
    out = run("optuna_nsga2.py", "--space", "mbv2-style", "--max-flops", "250M", "--trials",
              "40", "--population", "10")
    assert "NOT accuracy" in out
    rows = re.findall(r"^\s+\d+\s+[\d.]+\s+\S+\s+([\d.]+)M$", out, re.M)
    assert rows and all(float(f) <= 250 for f in rows)


def test_evolution():
    out = run("evolution.py", "--space", "ofa-mbv3-w1.0", "--max-flops", "250M",
              "--population", "128", "--batch", "64", "--generations", "5")
    assert "candidates evaluated: 320" in out and "/s" in out
    assert "NOT accuracy" in out


def test_darts_relaxation():
    out = run("darts_relaxation.py", "--space", "nb201-cifar10", "--max-flops", "60M",
              "--steps", "25", "--lr", "0.3")
    flops = re.search(r"params \S+, flops ([\d.]+)M \(budget 60M\)", out)
    assert flops and float(flops.group(1)) <= 60
    assert "stand-in" in out
