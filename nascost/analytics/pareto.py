"""Pareto fronts of a results dataset (the kernel is nascost.kernels.pareto)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nascost.analytics.filters import budget_expression, combine, where_expression
from nascost.analytics.query import index_of
from nascost.io import schema as R
from nascost.io.options import OptionError, option_name
from nascost.io.reader import open_results, results_info
from nascost.io.verify import check_dataset
from nascost.kernels.pareto import front_mask

BATCH = 1 << 21


def _objectives(names: Sequence[str] | str | None, schema: pa.Schema, what: str,
                style: str) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    allowed = [n for n in schema.names if n not in (R.STATUS, R.ID, R.SAMPLE_INDEX)]
    for n in names:
        if n not in allowed:
            raise OptionError(option_name(what, style), (
                f"unknown column {n!r}; objectives are params, macs, flops, activations or "
                "a gene"))
    return list(names)


def pareto(path: str | Path, *, minimize: Sequence[str] | str = ("flops", "params"),
           maximize: Sequence[str] | str | None = None, where=None, out: str | Path | None = None,
           style: str = "python", force: bool = False, **budget) -> pa.Table:
    """The Pareto front of the valid rows over the objectives (a pyarrow.Table with every
    column, sorted by the objectives, then by position). ``minimize`` and ``maximize`` take
    column names (a list or "flops,params"). Budgets (``max_flops=...``) and ``where``
    restrict the rows first. Rows equal in every objective are all kept. With ``out``, the
    front is also written to that Parquet (or .csv) file, metadata included.

    Memory stays flat: the front is merged one record batch at a time.
    """
    check_dataset(path, force=force)  # refuse (or, forced, warn) if it is damaged
    dataset = open_results(path)
    schema = dataset.schema
    lo = _objectives(minimize, schema, "minimize", style)
    hi = _objectives(maximize, schema, "maximize", style)
    if not lo and not hi:
        raise OptionError(option_name("minimize", style), "name at least one objective")
    both = set(lo) & set(hi)
    if both:
        raise OptionError(option_name("maximize", style),
                          f"{sorted(both)} cannot be both minimised and maximised")
    objs = lo + hi
    sign = np.array([1] * len(lo) + [-1] * len(hi), dtype=np.int64)
    idx = index_of(schema)
    unknown = sorted(set(budget) - {"max_flops", "min_flops", "max_params", "min_params",
                                    "max_macs", "min_macs"})
    if unknown:
        raise TypeError(f"pareto() got unexpected keyword arguments {unknown}")
    expr, _ = budget_expression(budget, style=style)
    space = results_info(path)["space"]
    expr = combine(expr, where_expression(where, space, schema, style))
    cols = list(dict.fromkeys(objs + [idx]))
    front_vals = np.empty((len(objs), 0), np.int64)
    front_idx = np.empty(0, np.uint64)
    for batch in dataset.to_batches(columns=cols, filter=expr, batch_size=BATCH):
        if batch.num_rows == 0:
            continue
        vals = np.stack([batch.column(c).to_numpy().astype(np.int64) for c in objs])
        vals *= sign[:, None]
        vals = np.concatenate([front_vals, vals], axis=1)
        ids = np.concatenate([front_idx, batch.column(idx).to_numpy()])
        keep = front_mask(vals)
        front_vals, front_idx = vals[:, keep], ids[keep]
    table = dataset.to_table(filter=combine(expr, pc.field(idx).isin(pa.array(front_idx))))
    order = [(c, "descending" if c in hi else "ascending") for c in objs] + [(idx, "ascending")]
    table = table.take(pc.sort_indices(table, sort_keys=order))
    md = dict(schema.metadata or {})
    md.pop(R.KEY_PART, None)
    table = table.replace_schema_metadata(md)
    if out is not None:
        write_table(table, out)
    return table


def write_table(table: pa.Table, out: str | Path) -> None:
    """Parquet (metadata kept) or, for a .csv name, CSV."""
    out = Path(out)
    if out.suffix.lower() == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, out)
    else:
        pq.write_table(table, out, compression="zstd")
