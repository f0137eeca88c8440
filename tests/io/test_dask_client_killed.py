"""Issue 14: after a SIGKILL of the client of a `--dask local:N` run, its nanny and worker
processes stayed alive (3 of 3 trials) and could go on writing parts. They now exit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
CLIENT = """
import sys, time
from nascost.io.distributed import connect
with connect("local:2") as client:
    client.wait_for_workers(2, timeout=120)
    print("ready", flush=True)
    time.sleep(600)
"""


def test_a_killed_client_takes_its_local_cluster_down():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CLIENT], stdout=subprocess.PIPE, text=True,
                            env=env)
    kids: list[psutil.Process] = []
    try:
        assert proc.stdout.readline().strip() == "ready"
        kids = psutil.Process(proc.pid).children(recursive=True)
        assert len(kids) >= 2, [k.cmdline() for k in kids]  # the two workers (and nannies)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.monotonic()
        _, alive = psutil.wait_procs(kids, timeout=20)
        assert not alive, [(p.pid, " ".join(p.cmdline())[:80]) for p in alive]
        assert time.monotonic() - t0 < 20
    finally:  # whatever happened, leave no process of this test behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in kids:
            with contextlib.suppress(psutil.NoSuchProcess):
                k.kill()
