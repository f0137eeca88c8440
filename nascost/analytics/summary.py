"""Summaries of a results dataset: counts, exact quantiles, status counts, a histogram.

Quantiles are exact and memory stays flat whatever the size: one pass for the counts and
the range, one for a fine histogram, one to collect the values of the few bins that hold
the quantiles (repeated inside a bin in the rare case it holds too many values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nascost.io import schema as R
from nascost.io.reader import open_results, results_info
from nascost.io.verify import check_dataset
from nascost.kernels import stats as K

QUANTILES = (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
FINE_BINS = 1 << 16
COLLECT_CAP = 1 << 22
BATCH = 1 << 20


def _columns(dataset, names: list[str], filt):
    """The numpy arrays of ``names``, batch by batch, over the rows that pass ``filt``
    (None: every row; ``pc.field("status") == 0``: the valid rows; other expressions go
    through pyarrow's dataset scanner).

    The parts are read one file at a time with ``ParquetFile.iter_batches``: the dataset
    scanner holds a few hundred MiB of read-ahead buffers on a large dataset whatever its
    settings, this holds a batch. Row groups whose status statistics show them all valid
    are read without their status column; those with no valid row are skipped."""
    valid_only = filt is not None and filt.equals(pc.field(R.STATUS) == 0)
    files = getattr(dataset, "files", None)
    fs = getattr(dataset, "filesystem", None)
    if (filt is not None and not valid_only) or files is None or fs is None:
        for batch in dataset.to_batches(columns=names, filter=filt, batch_size=BATCH):
            yield [batch.column(i).to_numpy() for i in range(len(names))]
        return
    k = len(names)
    for path in files:
        with fs.open_input_file(path) as f:
            pf = pq.ParquetFile(f)
            if not valid_only:
                for batch in pf.iter_batches(batch_size=BATCH, columns=names):
                    yield [batch.column(i).to_numpy() for i in range(k)]
                continue
            clean, mixed = _split_row_groups(pf.metadata,
                                             pf.schema_arrow.get_field_index(R.STATUS))
            if clean:
                for batch in pf.iter_batches(batch_size=BATCH, row_groups=clean,
                                             columns=names):
                    yield [batch.column(i).to_numpy() for i in range(k)]
            if mixed:
                with_status = names if R.STATUS in names else [*names, R.STATUS]
                j = with_status.index(R.STATUS)
                for batch in pf.iter_batches(batch_size=BATCH, row_groups=mixed,
                                             columns=with_status):
                    keep = batch.column(j).to_numpy() == 0
                    cols = [batch.column(i).to_numpy() for i in range(k)]
                    if not keep.all():
                        cols = [c[keep] for c in cols]
                    yield cols


def _split_row_groups(md, col: int) -> tuple[list[int], list[int]]:
    """The row groups of a file whose status statistics (column ``col``) show every row
    valid, and those that may hold both valid and other rows (no statistics: read and
    filter); row groups with no valid row are left out. (Not ``md.schema``: it makes a
    reference cycle that keeps each file's metadata, ~0.2 MiB, until the next collection.)"""
    clean, mixed = [], []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        if rg.num_rows == 0:
            continue
        st = rg.column(col).statistics
        if st is None or not st.has_min_max or st.null_count != 0:
            mixed.append(g)
        elif st.min == 0 == st.max:
            clean.append(g)
        elif st.min <= 0 <= st.max:
            mixed.append(g)
    return clean, mixed


def exact_quantiles(dataset, column: str, qs, filt=None) -> tuple[int, dict[float, int]]:
    """(n, {q: value}) with value the element of 0-based rank floor(q * (n - 1)) of the
    sorted column (numpy's method='lower'), computed in a few passes."""
    n, lo, hi = 0, None, None
    for (x,) in _columns(dataset, [column], filt):
        if x.size:
            n += x.size
            lo = int(x.min()) if lo is None else min(lo, int(x.min()))
            hi = int(x.max()) if hi is None else max(hi, int(x.max()))
    if n == 0:
        return 0, {}
    ranks = {q: int(np.floor(q * (n - 1))) for q in qs}
    out: dict[float, int] = {}
    # each pending rank: (rank within [a, b], a, b, how many values lie in [a, b])
    pending = {q: (r, lo, hi, n) for q, r in ranks.items()}
    while pending:
        groups: dict[tuple[int, int, int], list[float]] = {}
        for q, (_, a, b, total) in pending.items():
            groups.setdefault((a, b, total), []).append(q)
        nxt = {}
        for (a, b, total), group in groups.items():
            if a == b:
                for q in group:
                    out[q] = a
                continue
            width = -(-(b - a + 1) // FINE_BINS)
            counts = np.zeros(FINE_BINS, np.int64)
            for (x,) in _columns(dataset, [column], filt):
                K.histogram(x, a, width, counts)
            # the bins reach past b (up to a + FINE_BINS * width - 1) and, inside a crowded
            # bin, the values just above b were counted too: the last bin that meets
            # [a, b] holds what the others leave of the values in [a, b]
            used = -(-(b - a + 1) // width)
            counts[used:] = 0
            counts[used - 1] = total - int(counts[:used - 1].sum())
            cum = np.cumsum(counts)
            for q in group:
                r = pending[q][0]
                k = int(np.searchsorted(cum, r, side="right"))
                before = int(cum[k - 1]) if k else 0
                blo = a + k * width
                bhi = min(b, blo + width - 1)
                inside = int(counts[k])
                if inside <= COLLECT_CAP:
                    vals = np.empty(inside, np.int64)
                    m = 0
                    for (x,) in _columns(dataset, [column], filt):
                        m = K.collect(x, blo, bhi, vals, m)
                    if m != inside:
                        raise RuntimeError(f"{column}: {m} values in [{blo}, {bhi}] on the "
                                           f"collecting pass, {inside} on the counting pass "
                                           "(the dataset changed while it was read?)")
                    vals.sort()
                    out[q] = int(vals[r - before])
                else:
                    nxt[q] = (r - before, blo, bhi, inside)
        pending = nxt
    return n, out


def summary(path: str | Path, *, bins: int = 20, force: bool = False) -> dict[str, Any]:
    """Counts, exact min/quantiles/max of each count column over the valid rows, counts
    per status, and a histogram of flops (``bins`` equal-width bins over the valid rows).

    Returns a dict: rows, valid, status ({name: count}), metrics ({column: {"min", "p1",
    "p10", "p25", "p50", "p75", "p90", "p99", "max", "mean"}}), histogram ({"column",
    "edges", "counts"}), info (from results_info).
    """
    check_dataset(path, force=force)  # refuse (or, forced, warn) if it is damaged
    dataset = open_results(path)
    info = results_info(path)
    rows = dataset.count_rows()
    status_counts: dict[int, int] = {}
    for (st,) in _columns(dataset, [R.STATUS], None):
        vals, cnt = np.unique(st, return_counts=True)
        for v, c in zip(vals.tolist(), cnt.tolist(), strict=False):
            status_counts[v] = status_counts.get(v, 0) + c
    names = info["status_codes"]
    valid = pc.field(R.STATUS) == 0
    metrics = {}
    for col in R.VALUES:
        n, qv = exact_quantiles(dataset, col, (0.0, *QUANTILES, 1.0), valid)
        if n == 0:
            metrics[col] = {}
            continue
        total = 0
        for (x,) in _columns(dataset, [col], valid):
            total += int(x.sum(dtype=np.int64)) if x.size else 0
        m = {"min": qv[0.0]}
        m.update({f"p{round(q * 100)}": qv[q] for q in QUANTILES})
        m["max"] = qv[1.0]
        m["mean"] = total / n
        metrics[col] = m
    hist = {"column": "flops", "edges": [], "counts": []}
    f = metrics.get("flops")
    if f:
        lo, hi = f["min"], f["max"]
        width = max(1, -(-(hi - lo + 1) // bins))
        counts = np.zeros(bins, np.int64)
        for (x,) in _columns(dataset, ["flops"], valid):
            K.histogram(x, lo, width, counts)
        used = max(1, -(-(hi - lo + 1) // width))
        hist = {"column": "flops", "edges": [lo + k * width for k in range(used + 1)],
                "counts": counts[:used].tolist()}
    return {
        "rows": rows,
        "valid": status_counts.get(0, 0),
        "status": {names.get(k, f"unknown({k})"): v for k, v in sorted(status_counts.items())},
        "metrics": metrics,
        "histogram": hist,
        "info": info,
    }
