"""Timing a candidate: its real torch modules (the export) run in order, each intermediate
value freed after its last reader, with a timestamp where one top-level block ends and the
next begins (blocks timed in context), or end to end.

Warm-up runs are discarded; statistics are medians. Threads are pinned for the duration.
The clock is the process's CPU time by default ("cpu"): on a shared machine the wall clock
also counts the time other processes hold the core, which a long end-to-end run always pays
and a short block rarely does, so wall-clock blocks and networks do not add up there. On a
dedicated device "wall" measures the same thing and is what a deployment sees.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import numpy as np

from nascost.program import program as P

CLOCKS = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}


def clock_of(name: str):
    if name not in CLOCKS:
        raise ValueError(f"clock must be one of {set(CLOCKS)}. Got {name!r} instead.")
    return CLOCKS[name]


def node_of_layers(program) -> dict[str, int]:
    """{spec layer name: index of its top-level node}."""
    out = {}
    for j, (a, b) in enumerate(program.top):
        for i in range(a, b):
            li = int(program.ins[i, P.C_LAYER])
            if li >= 0:
                out[program.layer_names[li]] = j
    return out


class Runner:
    """One candidate's network, run layer by layer (no value outlives its last reader)."""

    def __init__(self, space, genes_row, *, batch: int = 1, dtype: str = "float32",
                 nodes: dict[str, int] | None = None, clock: str = "cpu"):
        import torch

        from nascost.export._torch_net import CandidateNet
        from nascost.reference.walk import resolve
        from nascost.rules import status

        r = resolve(space, genes_row)
        if r.status != status.OK:
            raise ValueError(f"candidate {list(map(int, genes_row))} of space {space.name!r} "
                             f"is invalid (layer {r.failed_layer!r}); it cannot be timed")
        self.dtype = getattr(torch, dtype)
        self.clock = clock_of(clock)
        net = CandidateNet(r, dtype=self.dtype).eval()
        nodes = node_of_layers(space.program) if nodes is None else nodes
        self.n_nodes = len(space.program.top)
        last: dict[str, int] = {}
        for k, layer in enumerate(r.layers):
            for v in layer.inputs:
                last[v] = k
        self.plan = []
        for k, layer in enumerate(r.layers):
            free = tuple(v for v in set(layer.inputs) if last[v] == k and v != r.output)
            self.plan.append((net.layers[net.layer_keys[layer.name]], tuple(layer.inputs),
                              layer.name, nodes[layer.name], free))
        self.output = r.output
        self.net = net
        self.x = torch.randn((batch, *r.input_shape), dtype=self.dtype)

    def run(self):
        """One forward pass, end to end."""
        import torch

        with torch.inference_mode():
            values = {"input": self.x}
            for mod, ins, name, _node, free in self.plan:
                values[name] = mod(*(values[i] for i in ins))
                for v in free:
                    del values[v]
            return values[self.output]

    def run_nodes(self) -> np.ndarray:
        """One forward pass; (n_nodes,) int64 nanoseconds spent in each top-level node."""
        import torch

        clock = self.clock
        times = np.zeros(self.n_nodes, dtype=np.int64)
        with torch.inference_mode():
            values = {"input": self.x}
            cur = self.plan[0][3] if self.plan else 0
            t0 = clock()
            for mod, ins, name, node, free in self.plan:
                if node != cur:
                    t = clock()
                    times[cur] += t - t0
                    t0, cur = t, node
                values[name] = mod(*(values[i] for i in ins))
                for v in free:
                    del values[v]
            times[cur] += clock() - t0
        return times


def repeat(fn: Callable[[], object], warmup: int, repeats: int,
           clock: Callable[[], int] = time.perf_counter_ns) -> list:
    """Call fn warmup times (discarded), then repeats times; returns the repeats' values:
    fn's return value when it is an array of times, else the elapsed nanoseconds."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = clock()
        v = fn()
        dt = clock() - t
        out.append(v if isinstance(v, np.ndarray) else dt)
    return out


def median_ns(values) -> int:
    return int(round(float(np.median(np.asarray(values, dtype=np.float64)))))


@contextlib.contextmanager
def pinned(threads: int) -> Iterator[None]:
    """torch on ``threads`` threads and this process on as many cores, restored after."""
    import torch

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1. Got {threads!r} instead.")
    old_threads = torch.get_num_threads()
    old_aff = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    torch.set_num_threads(threads)
    if old_aff is not None and len(old_aff) >= threads:
        os.sched_setaffinity(0, sorted(old_aff)[:threads])
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        if old_aff is not None:
            os.sched_setaffinity(0, old_aff)
