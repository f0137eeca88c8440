"""A run killed with SIGKILL at random moments and resumed ends with exactly the rows of an
uninterrupted run: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nascost

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

ROOT = Path(__file__).resolve().parents[2]


def _score(args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "nascost", "score", *args, "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _ids(path: Path, column: str) -> np.ndarray:
    return nascost.open_results(path).to_table(columns=[column]).column(column).to_numpy()


@pytest.mark.parametrize("args, options, column", [
    (["mbv2-style", "--sample", "300k", "--seed", "11", "--max-flops", "350M",
      "--chunk-size", "15000"], dict(sample=300_000, seed=11, max_flops="350M"),
     "sample_index"),
    (["resnet-style", "--all", "--max-flops", "3G", "--chunk-size", "20000"],
     dict(all=True, max_flops="3G"), "id"),
])
def test_sigkill_at_random_moments_then_resume(tmp_path, args, options, column):
    expected = np.sort(np.concatenate([b.column(column).to_numpy()
                                       for b in nascost.stream(args[0], **options)]))
    rng = random.Random(f"{args[0]}-kill")
    target = tmp_path / "killed"
    mid_run = 0
    for attempt in range(3):
        proc = _score([*args, "--out", str(target)] + (["--resume"] if attempt else []))
        if attempt == 0:
            time.sleep(rng.uniform(0.1, 1.5))  # anywhere, start-up included
        else:  # right after one to three more parts land, while the next are being written
            goal = len(list(target.glob("part-*.parquet"))) + rng.randint(1, 3)
            while proc.poll() is None and len(list(target.glob("part-*.parquet"))) < goal:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            mid_run += attempt > 0
        proc.wait(timeout=60)
        if proc.returncode not in (0, -signal.SIGKILL):
            pytest.fail(f"exit {proc.returncode}: {proc.stderr.read().decode()}")
    final = _score([*args, "--out", str(target), "--resume"])
    assert final.wait(timeout=120) == 0, final.stderr.read().decode()
    got = _ids(target, column)
    assert mid_run >= 1
    assert got.size == np.unique(got).size, "duplicated rows"
    np.testing.assert_array_equal(np.sort(got), expected)
    assert nascost.results_info(target)["complete"] is True
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]
