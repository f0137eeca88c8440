"""Budget queries over a results dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from nascost.analytics.filters import budget_expression, combine, where_expression
from nascost.io import schema as R
from nascost.io.options import OptionError, option_name
from nascost.io.reader import open_results, results_info
from nascost.io.verify import check_dataset


def index_of(schema: pa.Schema) -> str:
    return R.SAMPLE_INDEX if R.SAMPLE_INDEX in schema.names else R.ID


def query(path: str | Path, *, max_flops: Any = None, min_flops: Any = None,
          max_params: Any = None, min_params: Any = None, max_macs: Any = None,
          min_macs: Any = None, where: Any = None, sort: str | None = None,
          top: int | None = None, columns: list[str] | None = None,
          include_invalid: bool = False, style: str = "python",
          force: bool = False) -> pa.Table:
    """The rows of the results in ``path`` within budget, as a pyarrow.Table.

    Budgets are counts (ints or strings with units: "400M"); ``where`` is a clause or a list
    of clauses ``NAME OP VALUE`` (``"s1_depth==3"``, ``"1<-0==nor_conv_3x3"``,
    ``"activations<20M"``); gene clauses take choice values. ``sort`` names a column
    (prefix ``-`` for descending; ties are broken by the row's position in the scan);
    ``top`` keeps the first K rows of that order (default order: flops when ``top`` is
    given, else the position in the scan). Invalid rows (status != 0) are left out
    unless ``include_invalid``. The result carries the dataset's metadata.
    """
    check_dataset(path, force=force)  # refuse (or, forced, warn) if it is damaged
    dataset = open_results(path)
    schema = dataset.schema
    space = results_info(path)["space"]
    budget = {"max_flops": max_flops, "min_flops": min_flops, "max_params": max_params,
              "min_params": min_params, "max_macs": max_macs, "min_macs": min_macs}
    expr, _ = budget_expression(budget, include_invalid=include_invalid, style=style)
    expr = combine(expr, where_expression(where, space, schema, style))
    idx = index_of(schema)
    key, descending = _sort_key(sort if sort is not None else ("flops" if top else idx),
                                schema, style)
    order = [(key, "descending" if descending else "ascending")]
    if key != idx:
        order.append((idx, "ascending"))
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise OptionError(option_name("columns", style), f"unknown columns {unknown}")
        cols = list(dict.fromkeys(list(columns) + [k for k, _ in order]))
    else:
        cols = schema.names
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise OptionError(option_name("top", style), f"must be an integer >= 1. Got {top!r}.")
        table = _top_k(dataset, expr, cols, order, top)
    else:
        table = dataset.to_table(columns=cols, filter=expr)
        table = table.take(pc.sort_indices(table, sort_keys=order))
    if columns is not None:
        table = table.select(list(columns))
    return table.replace_schema_metadata(schema.metadata)


def _sort_key(sort: str, schema: pa.Schema, style: str) -> tuple[str, bool]:
    descending = sort.startswith("-")
    key = sort[1:] if descending else sort
    if key not in schema.names:
        raise OptionError(option_name("sort", style), (
            f"unknown column {key!r}; sort by one of params, macs, flops, activations, "
            f"{index_of(schema)} or a gene"))
    return key, descending


def _top_k(dataset, expr, cols: list[str], order: list, k: int) -> pa.Table:
    """The first k rows in the given order, one record batch at a time (flat memory)."""
    best: pa.Table | None = None
    for batch in dataset.to_batches(columns=cols, filter=expr):
        if batch.num_rows == 0:
            continue
        t = pa.Table.from_batches([batch])
        if best is not None:
            t = pa.concat_tables([best, t])
        if t.num_rows > k:
            t = t.take(pc.select_k_unstable(t, k, sort_keys=order))
        best = t
    if best is None:
        return dataset.schema.empty_table().select(cols)
    return best.take(pc.sort_indices(best, sort_keys=order))
