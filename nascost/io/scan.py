"""Scanning: candidates are generated, scored and filtered chunk by chunk in the kernels.

A ``Scanner`` turns checked options into kernel calls over ranges of positions (ids, or
sample indices) and hands back ``Block``s: the kept rows of one chunk, as contiguous
column arrays ready to become Arrow columns without a copy. ``stream`` is the public face.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from nascost.io import schema as R
from nascost.io.options import ScanOptions, scan_options
from nascost.kernels import filter as F
from nascost.kernels.api import engine_tables
from nascost.kernels.jit import set_threads
from nascost.kernels.rng import seed_key
from nascost.kernels.separable import SeparableTables, fix_status_serial

_EMPTY_U64 = np.empty(0, dtype=np.uint64)


@dataclass
class Block:
    """The kept rows of positions [start, stop), in position order. Genes and metrics are
    row-major, as the kernels write them; ``to_batch`` turns rows into Arrow columns."""

    start: int
    stop: int
    index: np.ndarray  # uint64 positions: ids, or sample indices
    ids: np.ndarray | None  # uint64 ids of sampled rows (where the space has ids)
    genes: np.ndarray  # (rows, n_genes) uint8
    metrics: np.ndarray  # (rows, 4) int64: params, macs, flops, activations
    status: np.ndarray  # int8

    @property
    def rows(self) -> int:
        return int(self.index.shape[0])

    @property
    def scanned(self) -> int:
        return self.stop - self.start

    def columns(self, order: np.ndarray | None = None,
                buffers: dict | None = None) -> list[np.ndarray]:
        """One contiguous array per column in schema order, rows in ``order`` (a
        permutation of the rows) or as they are. ``buffers`` (a dict kept by the caller)
        lends memory for the columns across calls: the arrays are valid until the next
        call with the same dict."""
        m = self.rows if order is None else int(order.shape[0])
        g = self.genes.shape[1]
        if buffers is None:
            buffers = {}
        if buffers.get("cap", -1) < m:
            buffers.update(cap=m, index=np.empty(m, np.uint64), ids=np.empty(m, np.uint64),
                           genes=np.empty((g, m), np.uint8), metrics=np.empty((4, m), np.int64),
                           status=np.empty(m, np.int8))
        index = buffers["index"][:m]
        ids = buffers["ids"][:m] if self.ids is not None else None
        genes = buffers["genes"][:, :m]
        metrics = buffers["metrics"][:, :m]
        status = buffers["status"][:m]
        F.gather_columns(_NO_ORDER if order is None else order, order is not None,
                         self.index, _EMPTY_U64 if ids is None else self.ids, self.genes,
                         self.metrics, self.status, index, _EMPTY_U64 if ids is None else ids,
                         genes, metrics, status)
        cols = [index] + ([ids] if ids is not None else [])
        return cols + list(genes) + list(metrics) + [status]

    def to_batch(self, schema: pa.Schema, order: np.ndarray | None = None,
                 buffers: dict | None = None) -> pa.RecordBatch:
        cols = self.columns(order, buffers)
        arrays = [R.arrow_column(a, f) for a, f in zip(cols, schema, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


_NO_ORDER = np.empty(0, dtype=np.int64)


def concat(blocks: list[Block]) -> Block:
    if len(blocks) == 1:
        return blocks[0]
    ids = None if blocks[0].ids is None else np.concatenate([b.ids for b in blocks])
    return Block(blocks[0].start, blocks[-1].stop,
                 np.concatenate([b.index for b in blocks]), ids,
                 np.concatenate([b.genes for b in blocks]),
                 np.concatenate([b.metrics for b in blocks]),
                 np.concatenate([b.status for b in blocks]))


def flops_order(block: Block) -> np.ndarray:
    """The order of the rows by (flops, position): a stable sort, since blocks hold rows in
    position order. Safe to call from a writer thread (serial kernel)."""
    return F.argsort_stable(np.ascontiguousarray(block.metrics[:, 2]))


def _first_segments(gstride: np.ndarray, meta: np.ndarray, n_genes: int):
    """For the incremental odometer: per gene j, the first segment that reads a gene >= j
    (n_seg if none); per segment k, the largest gene read by segments 0..k (-1 if none).
    A segment's table row depends on its own genes and on the state coming in, which
    depends only on the genes of the segments before it."""
    n_seg = meta.shape[0]
    seg_max = np.full(n_seg, -1, dtype=np.int64)
    for k in range(n_seg):
        gp, gc = int(meta[k, 0]), int(meta[k, 1])
        if gc:
            seg_max[k] = int(gstride[gp:gp + gc, 0].max())
    pmax = np.maximum.accumulate(seg_max) if n_seg else seg_max
    first = np.full(n_genes, n_seg, dtype=np.int64)
    for j in range(n_genes):
        hits = np.nonzero(seg_max >= j)[0]
        if hits.size:
            first[j] = hits[0]
    return first, pmax


class Scanner:
    """Kernel calls over position ranges for one (space, options)."""

    def __init__(self, space, options: ScanOptions):
        R.check_gene_names(space)
        self.space = space
        self.options = options
        self.mode = options.mode
        self.program = space.program
        self.tables = engine_tables(self.program, options.convention, options.engine)
        self.cards = np.ascontiguousarray(self.program.cards, dtype=np.int64)
        g = space.n_genes
        self.with_ids = self.mode == "sample" and space.has_ids
        seed = options.seed if self.mode == "sample" else 0
        self.key = np.uint64(seed_key(np.uint64(seed)))
        # strides of the mixed-radix ids, saturated at 2**64 - 1 (jumps past them end a task)
        strides = np.zeros(g, dtype=np.uint64)
        saturated = np.zeros(g, dtype=np.bool_)
        s = 1
        for j in range(g - 1, -1, -1):
            strides[j] = min(s, R_U64_MAX)
            saturated[j] = s > R_U64_MAX
            s *= int(self.cards[j])
        self.strides, self.saturated = strides, saturated
        if self.tables is not None:
            self.firstseg, self.pmaxgene = _first_segments(self.tables.gstride,
                                                           self.tables.meta, g)
        self.metadata = R.build_metadata(space, options)
        self.schema = R.result_schema(space, self.mode, self.metadata)
        self._scratch: tuple | None = None

    def _buffers(self, count: int):
        cap = max(1, min(self.options.chunk_size, self.options.count))
        if self._scratch is None or self._scratch[0].shape[0] < count:
            cap = max(cap, count)
            self._scratch = (
                np.empty(cap, np.uint64),
                np.empty(cap, np.uint64) if self.with_ids else _EMPTY_U64,
                np.empty((cap, self.space.n_genes), np.uint8),
                np.empty((cap, 4), np.int64),
                np.empty(cap, np.int8),
            )
        return self._scratch

    def scan(self, start: int, count: int) -> Block:
        """Score positions [start, start + count) and keep the rows within budget."""
        o = self.options
        mode = 0 if self.mode == "ids" else 1
        counts = np.zeros(F.n_tasks(count), dtype=np.int64)
        b_index, b_ids, b_genes, b_metrics, b_status = self._buffers(count)
        previous = set_threads(o.threads) if o.threads is not None else None
        try:
            if self.tables is not None:
                t = self.tables
                F.scan_tables(mode, self.key, np.uint64(start), count, self.cards, self.strides,
                              self.saturated, self.firstseg, self.pmaxgene, t.gstride, t.meta,
                              t.rows, o.batch, o.bounds, o.include_invalid, self.with_ids,
                              b_index, b_ids, b_genes, b_metrics, b_status, counts)
            else:
                p = self.program
                F.scan_interpreter(mode, self.key, np.uint64(start), count, self.cards, p.ins,
                                   p.ex, p.aux, o.convention.op_weights, p.n_regs, o.batch,
                                   o.bounds, o.include_invalid, self.with_ids, b_index, b_ids,
                                   b_genes, b_metrics, b_status, counts)
            n = int(counts.sum())
            if o.include_invalid and isinstance(self.tables, SeparableTables):
                self._fix_status(b_genes, b_status, counts)
            if n == count and count > 0:
                # every row kept: the scratch is already compact; hand it over whole
                self._scratch = None
                return Block(start, start + count, b_index[:n],
                             b_ids[:n] if self.with_ids else None, b_genes[:n], b_metrics[:n],
                             b_status[:n])
            index = np.empty(n, np.uint64)
            ids = np.empty(n, np.uint64) if self.with_ids else None
            genes = np.empty((n, self.space.n_genes), np.uint8)
            metrics = np.empty((n, 4), np.int64)
            status = np.empty(n, np.int8)
            F.compact(counts, F.TASK, b_index, b_ids, b_genes, b_metrics, b_status, index,
                      _EMPTY_U64 if ids is None else ids, genes, metrics, status)
        finally:
            if previous is not None:
                set_threads(previous)
        return Block(start, start + count, index, ids, genes, metrics, status)

    def _fix_status(self, b_genes, b_status, counts) -> None:
        """The first failing layer's status for the kept rows of separable tables (their
        lookups only know that some group failed); each task's rows start at its offset."""
        t, p, o = self.tables, self.program, self.options
        for k in np.nonzero(counts)[0]:
            a = int(k) * F.TASK
            b = a + int(counts[k])
            fix_status_serial(t.gstride, t.meta, t.fail, t.exact, p.ins, p.ex, p.aux,
                              o.convention.op_weights, p.n_regs, b_genes[a:b], o.batch,
                              b_status[a:b])

    def blocks(self, ranges: Iterable[tuple[int, int]]) -> Iterator[Block]:
        """Blocks of at most chunk_size positions over the given ranges, in order."""
        step = self.options.chunk_size
        for a, b in ranges:
            pos = a
            while pos < b:
                n = min(step, b - pos)
                yield self.scan(pos, n)
                pos += n


R_U64_MAX = (1 << 64) - 1


def as_space(space: Any):
    """A Space, a built-in space's name or a space JSON file."""
    from nascost.space.space import Space

    if isinstance(space, Space):
        return space
    if isinstance(space, (str, Path)):
        from nascost import load_space

        return load_space(space)
    raise TypeError(f"space must be a Space, a built-in space name or a JSON path. "
                    f"Got {type(space).__name__}.")


def stream(space: Any, **options: Any) -> Iterator[pa.RecordBatch]:
    """Score candidates of ``space`` chunk by chunk, yielding the rows within budget.

    Options (keyword-only, as on the command line): exactly one of ``all=True``,
    ``sample=N`` (with ``seed``) or ``ids="A:B"`` / ``(a, b)`` / ``range(a, b)``; budgets
    ``max_flops``, ``min_flops``, ``max_params``, ``min_params``, ``max_macs``, ``min_macs``
    (ints or strings with units: "400M", "5.3e6", "1.2G"); ``convention``, ``batch``,
    ``threads``, ``chunk_size`` (positions scored per kernel call), ``include_invalid``
    (also keep candidates whose status is not 0) and ``engine``.

    Each record batch holds the kept rows of one chunk in position order (chunks that keep
    nothing are skipped); its schema carries the same metadata as the files
    ``write_dataset`` writes. The options are checked before this returns.
    Sample ``i`` has the same genes for a given seed whatever the chunk size or threads.
    """
    sp = as_space(space)
    scanner = Scanner(sp, scan_options(sp, **options))
    return _batches(scanner)


def _batches(scanner: Scanner) -> Iterator[pa.RecordBatch]:
    o = scanner.options
    for block in scanner.blocks([(o.start, o.stop)]):
        if block.rows:
            yield block.to_batch(scanner.schema)


def sample_genes(space: Any, seed: int, indices: Any) -> np.ndarray:
    """The genes (n x n_genes uint8) that sample indices draw with ``seed`` in scans."""
    from nascost.kernels.rng import draw_genes

    sp = as_space(space)
    idx = np.atleast_1d(np.asarray(indices, dtype=np.uint64))
    cards = np.ascontiguousarray(sp.program.cards, dtype=np.int64)
    key = np.uint64(seed_key(np.uint64(seed)))
    out = np.empty((idx.shape[0], sp.n_genes), np.uint8)
    for r in range(idx.shape[0]):
        draw_genes(key, idx[r], cards, out[r])
    return out
