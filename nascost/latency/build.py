"""Building a latency table on this machine: the distinct blocks of a space, candidates that
contain every one of them, and each block timed in context (inside those candidates' forward
passes), resumably.

Why in context: blocks timed alone on a warm random input sum to 25-28% less than the whole
network (docs/latency.md). Timing each block between timestamps of a full forward pass that
frees values after their last reader charges it for what it costs inside a network: cold
inputs, allocation, the framework's dispatch between layers.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nascost.latency import keys as K
from nascost.latency.table import LatencyTable, base_meta, device_description

log = logging.getLogger(__name__)

MAX_ENTRIES = 20_000  # distinct blocks past which a table is refused (timing would take hours)


@dataclass
class Blocks:
    """The distinct blocks of a space: hash, key, and one gene row that contains each."""

    hashes: np.ndarray  # (n,) uint64
    keys: list[str]
    nodes: np.ndarray  # (n,) top-level node of the representative
    fine: object  # the per-node cost tables (for completing candidates)
    reps: list  # (segment, row) of the representative in the per-node tables


def _fine_tables(program):
    from nascost.kernels.tables import _build
    from nascost.program.segments import segment
    from nascost.rules.conventions import resolve

    tables = _build(program, resolve("macs"), segment(program, list(program.top)))
    if tables is None:
        raise ValueError("this space does not factor into per-block tables small enough to "
                         "enumerate its blocks; latency tables need a chain of blocks")
    return tables


def distinct_blocks(space, max_entries: int = MAX_ENTRIES) -> Blocks:
    """Every distinct block configuration the space can produce (ValueError past
    ``max_entries``, naming the count)."""
    program = space.program
    fine = _fine_tables(program)
    seen: dict[int, tuple[int, int, int]] = {}
    row_genes = {}
    for k, _first, genes, ok in K.table_row_genes(program, fine):
        seg = fine.segs[k]
        ids, nodes = K.nodes_array(program, seg.start, seg.end)
        h = K.hashes_of(program, genes, seg.end, nodes)
        for j in range(ids.shape[0]):
            col = h[:, j]
            uniq, idx = np.unique(col[ok], return_index=True)
            rows = np.flatnonzero(ok)[idx]
            for hv, r in zip(uniq.tolist(), rows.tolist(), strict=True):
                if hv > 1 and hv not in seen:
                    seen[hv] = (k, r, int(ids[j]))
        row_genes[k] = genes
    if len(seen) > max_entries:
        raise ValueError(f"space {space.name!r} has {len(seen):,} distinct blocks; a latency "
                         f"table holds at most {max_entries:,} (max_entries): time a smaller "
                         "space, or fix some genes")
    hashes = np.array(list(seen), dtype=np.uint64)
    keys = [K.node_key(program, row_genes[k][r], node) for k, r, node in seen.values()]
    return Blocks(hashes, keys, np.array([v[2] for v in seen.values()], dtype=np.int64), fine,
                  [(k, r) for k, r, _ in seen.values()])


def covering_candidates(space, blocks: Blocks, seed: int = 0) -> np.ndarray:
    """Valid gene rows that together contain every distinct block: for each block not yet
    contained, a path to its representative row, completed by random valid rows."""
    from nascost.kernels.tables import T_NEXT, T_STATUS

    program = space.program
    fine = blocks.fine
    rng = np.random.default_rng(seed)
    rows = np.asarray(fine.rows, dtype=np.int64)
    prefix = {k: g for k, _, g, _ in K.table_row_genes(program, fine)}
    covered: set[int] = set()
    out = []
    for (k, r), h in zip(blocks.reps, blocks.hashes.tolist(), strict=True):
        if h in covered:
            continue
        g = prefix[k][r].copy()
        state = int(rows[int(fine.meta[k, 2]) + r, T_NEXT])
        for j in range(k + 1, len(fine.segs)):
            first, per = int(fine.meta[j, 2]), int(fine.meta[j, 3])
            cand = first + state * per + np.arange(per)
            ok = cand[rows[cand, T_STATUS] == 0]
            if ok.size == 0:
                break
            pick = int(rng.choice(ok))
            seg = fine.segs[j]
            if seg.genes:
                g[list(seg.genes)] = K._combination(np.array([pick - first - state * per]),
                                                    [int(program.cards[x])
                                                     for x in seg.genes])[0]
            state = int(rows[pick, T_NEXT])
        else:
            hs = K.hashes_of(program, g[None, :])[0]
            covered.update(int(x) for x in hs)
            out.append(g)
            continue
        raise ValueError(f"block {blocks.keys[blocks.hashes.tolist().index(h)]!r} has no "
                         "valid completion into a whole candidate")
    return np.array(out, dtype=np.uint8).reshape(-1, program.n_genes)


def _load_partial(path: Path, settings: dict) -> dict:
    if not path.exists():
        return {"done": 0, "obs": {}}
    state = json.loads(path.read_text())
    if state.get("settings") != settings:
        raise ValueError(f"{path} records a build with other settings "
                         f"({state.get('settings')}); delete it or use the same options")
    return {"done": int(state["done"]), "obs": {int(k): v for k, v in state["obs"].items()}}


def _save_partial(path: Path, settings: dict, done: int, obs: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"settings": settings, "done": done,
                               "obs": {str(k): v for k, v in obs.items()}}))
    tmp.replace(path)


def build_table(space, out: str | Path, *, backend: str = "torch", threads: int = 1,
                batch: int = 1, repeats: int = 20, warmup: int = 5, seed: int = 0,
                max_entries: int = MAX_ENTRIES, progress: bool = False, clock: str = "cpu",
                timer=None) -> LatencyTable:
    """Time every distinct block of ``space`` in context and write the table to ``out``.

    An interrupted build leaves ``out.partial`` (the candidates timed so far): the same call
    continues from there. ``timer(space, genes_row) -> (repeats, n_nodes) ns`` replaces the
    torch timing (tests of the mechanics)."""
    if backend != "torch":
        if backend == "onnxruntime":
            raise ValueError("the onnxruntime backend is not available in this version: "
                             "use --backend torch")
        raise ValueError(f"backend must be one of {{'torch', 'onnxruntime'}}. Got "
                         f"{backend!r} instead.")
    for name, v, lo in (("repeats", repeats, 1), ("warmup", warmup, 0), ("batch", batch, 1),
                        ("threads", threads, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}. Got {v!r} instead.")
    from nascost.latency.timing import clock_of

    clock_of(clock)
    out = Path(out)
    t_start = time.perf_counter()
    blocks = distinct_blocks(space, max_entries)
    cands = covering_candidates(space, blocks, seed)
    settings = {"space_hash": space.hash, "backend": backend, "threads": threads,
                "batch": batch, "repeats": repeats, "warmup": warmup, "seed": seed,
                "clock": clock}
    partial = out.with_name(out.name + ".partial")
    state = _load_partial(partial, settings)
    obs: dict[int, list] = state["obs"]  # hash -> [[median, q1, q3, repeats], ...]
    if timer is None:
        timer = _torch_timer(batch, warmup, repeats, clock)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(cands), initial=state["done"], unit="cand",
                   desc=f"timing {len(blocks.keys)} blocks")
    from nascost.latency.timing import pinned

    c = state["done"]
    try:
        with pinned(threads):
            _time_all(space, cands, c, timer, obs, bar, partial, settings)
    except BaseException:  # interrupted: keep what was timed (the next call resumes)
        if bar is not None:
            bar.close()
        raise
    if bar is not None:
        bar.close()
    table = _table_from(space, blocks, obs, settings, len(cands),
                        time.perf_counter() - t_start)
    table.write(out)
    partial.unlink(missing_ok=True)
    return table


def _time_all(space, cands, start, timer, obs, bar, partial, settings) -> None:
    """Time candidates start.. in order, saving the observations every few seconds and when
    interrupted."""
    last_save = time.perf_counter()
    done = start
    try:
        for c in range(start, len(cands)):
            times = np.asarray(timer(space, cands[c]), dtype=np.int64)
            hs = K.hashes_of(space.program, cands[c][None, :])[0]
            for j, h in enumerate(hs.tolist()):
                if h <= 1:
                    continue
                q1, med, q3 = np.percentile(times[:, j], [25, 50, 75])
                obs.setdefault(h, []).append([float(med), float(q1), float(q3),
                                              int(times.shape[0])])
            done = c + 1
            if bar is not None:
                bar.update(1)
            if time.perf_counter() - last_save > 5:
                _save_partial(partial, settings, done, obs)
                last_save = time.perf_counter()
    finally:
        _save_partial(partial, settings, done, obs)


def _table_from(space, blocks: Blocks, obs: dict, settings: dict, n_cands: int,
                seconds: float) -> LatencyTable:
    n = len(blocks.keys)
    med = np.zeros(n, dtype=np.int64)
    spread = np.zeros(n, dtype=np.int64)
    reps = np.zeros(n, dtype=np.int64)
    for i, h in enumerate(blocks.hashes.tolist()):
        o = np.asarray(obs.get(h, []), dtype=np.float64)
        if o.size == 0:
            raise ValueError(f"block {blocks.keys[i]!r} was never timed")
        med[i] = int(round(float(np.median(o[:, 0]))))
        spread[i] = int(round(float(np.median(o[:, 2] - o[:, 1]))))
        reps[i] = int(o[:, 3].sum())
    meta = base_meta(space, source="measured", method="in-context",
                     device=device_description(settings["backend"], settings["threads"],
                                               settings["batch"]),
                     warmup=settings["warmup"], repeats=settings["repeats"],
                     clock=settings["clock"],
                     candidates_timed=n_cands, build_seconds=round(seconds, 1))
    return LatencyTable(list(blocks.keys), med, spread, reps, meta=meta)


def _torch_timer(batch: int, warmup: int, repeats: int, clock: str):
    from nascost.latency.timing import Runner, node_of_layers, repeat

    cache: dict = {}

    def timer(space, genes_row):
        nodes = cache.setdefault(space.hash, node_of_layers(space.program))
        r = Runner(space, genes_row, batch=batch, nodes=nodes, clock=clock)
        return np.stack(repeat(r.run_nodes, warmup, repeats))

    return timer
