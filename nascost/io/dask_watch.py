"""A local Dask cluster exits with its client (``nascost score --dask local:N``).

The workers of a LocalCluster are processes of their own: when the client is killed
(SIGKILL: no cleanup runs), they used to stay alive, and could go on writing parts into the
output directory. Each worker runs a watcher thread that polls the client process (by pid and
start time, so a reused pid does not fool it); once the client is gone the worker kills its
nanny process, if it has one (it would start a new worker), and exits at once. A part being
written then stays a temporary (deleted by the next run); one renamed within the last poll
is adopted (and verified) by --resume, exactly as after a local kill.

Workers of a real cluster (``--dask tcp://...``) belong to whoever started them and are not
watched: the scheduler drops a lost client's tasks, and a part renamed by a task that was
already running is adopted or deleted by the next run, as above. Imported only with Dask.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import suppress

import psutil
from distributed import WorkerPlugin

POLL = 0.2  # seconds between checks of the client process


class ExitWithClient(WorkerPlugin):
    """Registered by nascost.io.distributed.connect on every worker of a local cluster."""

    name = "nascost-exit-with-client"

    def __init__(self, client_pid: int, poll: float = POLL):
        self.client_pid = client_pid
        self.poll = poll

    def setup(self, worker) -> None:
        threading.Thread(target=watch, args=(self.client_pid, self.poll), daemon=True,
                         name="nascost-exit-with-client").start()


def gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def watch(client_pid: int, poll: float) -> None:
    """Return only by ending this process, once the client process is gone."""
    parent = os.getppid()
    try:
        client = psutil.Process(client_pid)
        nanny = parent != client_pid and psutil.Process(parent).ppid() == client_pid
    except psutil.NoSuchProcess:
        client, nanny = None, False
    while client is not None and not gone(client):
        time.sleep(poll)
    if nanny:  # a nanny process would start a new worker: it goes first
        with suppress(OSError):
            os.kill(parent, getattr(signal, "SIGKILL", signal.SIGTERM))
    os._exit(70)
