"""Budget filters and ``--where`` clauses as pyarrow expressions over a results dataset.

Expressions (not masks) let pyarrow skip the row groups whose statistics are out of budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from nascost.io import schema as R
from nascost.io.options import BUDGETS, OptionError, option_name
from nascost.units import format_count, parse_count

_OPS = ("==", "!=", "<=", ">=", "<", ">", "=")


def budget_expression(budget: dict[str, Any], *, include_invalid: bool = False,
                      style: str = "python") -> tuple[ds.Expression | None, dict[str, int]]:
    """(expression or None, the budget as exact integers); budget keys as in BUDGETS."""
    exprs = []
    exact: dict[str, int] = {}
    for key, value in budget.items():
        if value is None:
            continue
        name = option_name(key, style)
        try:
            v = parse_count(value, name)
        except ValueError as e:
            raise OptionError(name, str(e).split(": ", 1)[-1]) from None
        exact[key] = v
        col, side = BUDGETS[key]
        f = pc.field(col)
        exprs.append(f <= v if side == "max" else f >= v)
    for metric in ("flops", "params", "macs"):
        lo, hi = exact.get(f"min_{metric}"), exact.get(f"max_{metric}")
        if lo is not None and hi is not None and lo > hi:
            raise OptionError(option_name(f"min_{metric}", style), (
                f"{format_count(lo)} is larger than {option_name(f'max_{metric}', style)} "
                f"({format_count(hi)}): no row "
                "can satisfy both"))
    if not include_invalid:
        exprs.append(pc.field(R.STATUS) == 0)
    return _and(exprs), exact


def _and(exprs: list) -> ds.Expression | None:
    out = None
    for e in exprs:
        out = e if out is None else out & e
    return out


def combine(*exprs: ds.Expression | None) -> ds.Expression | None:
    return _and([e for e in exprs if e is not None])


def where_expression(clauses: Iterable[str] | str | None, space, columns,
                     style: str = "python") -> ds.Expression | None:
    """AND of clauses ``NAME OP VALUE``: NAME a gene (VALUE a choice value, or several
    joined by commas with == / !=) or a column (counts with units: flops<400M; status by
    name or code). ``columns`` is the dataset's schema (or its column names): gene columns
    hold choice values, or choice indices in files of format version 1."""
    if clauses is None:
        return None
    if isinstance(clauses, str):
        clauses = [clauses]
    indices = {f.name for f in columns if R.holds_indices(f.type)} \
        if isinstance(columns, pa.Schema) else set()
    names = list(columns.names) if isinstance(columns, pa.Schema) else list(columns)
    return _and([_clause(c, space, names, style, indices) for c in clauses])


def _clause(text: str, space, columns: list[str], style: str,
            indices: set[str] = frozenset()) -> ds.Expression:
    opt = option_name("where", style)
    s = text.strip()
    for name in sorted(columns, key=len, reverse=True):
        if not s.startswith(name):
            continue
        rest = s[len(name):].lstrip()
        for op in _OPS:
            if rest.startswith(op):
                value = rest[len(op):].strip()
                if not value:
                    raise OptionError(opt, f"{text!r} has no value after {op!r}")
                return _compare(name, "==" if op == "=" else op, value, space, opt, text,
                                name in indices)
    genes = ", ".join(space.gene_names[:6]) + (", ..." if space.n_genes > 6 else "")
    raise OptionError(opt, (
        f"cannot read {text!r}: expected NAME OP VALUE, with NAME a gene ({genes}) or a "
        f"column (params, macs, flops, activations, status, ...) and OP one of "
        "==, !=, <, <=, >, >="))


def _compare(name: str, op: str, value: str, space, opt: str, text: str,
             indices: bool = False) -> ds.Expression:
    f = pc.field(name)
    if name in space.gene_names:
        j = space.gene_names.index(name)
        choices = space.choices[j]
        # a gene column holds choice values (or, format version 1, choice indices)
        stored = list(range(len(choices))) if indices else R.gene_values(list(choices))
        if op in ("==", "!="):
            idx = [_choice_index(choices, v.strip(), name, opt) for v in value.split(",")]
            e = f.isin([stored[k] for k in idx])
            return ~e if op == "!=" else e
        try:
            x = float(value)
        except ValueError:
            raise OptionError(opt, f"{text!r}: {op} needs a number; gene {name!r} has "
                                   f"choices {choices}") from None
        if not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices):
            raise OptionError(opt, f"{text!r}: gene {name!r} has choices {choices}, which "
                                   f"cannot be compared with {op}")
        keep = [stored[k] for k, c in enumerate(choices) if _cmp(float(c), op, x)]
        return f.isin(keep)
    if name == R.STATUS:
        from nascost.rules import status as S

        codes = {v: k for k, v in S.NAMES.items()}
        v = codes.get(value)
        if v is None:
            try:
                v = int(value)
            except ValueError:
                raise OptionError(opt, f"{text!r}: status is a code or one of "
                                       f"{sorted(codes)}") from None
    else:
        try:
            v = parse_count(value, opt)
        except ValueError as e:
            raise OptionError(opt, f"{text!r}: {str(e).split(': ', 1)[-1]}") from None
    return {"==": f == v, "!=": f != v, "<": f < v, "<=": f <= v, ">": f > v,
            ">=": f >= v}[op]


def _cmp(a: float, op: str, b: float) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _choice_index(choices: list, value: str, gene: str, opt: str) -> int:
    for k, c in enumerate(choices):
        if str(c) == value:
            return k
    try:
        x = float(value)
        for k, c in enumerate(choices):
            if isinstance(c, (int, float)) and not isinstance(c, bool) and float(c) == x:
                return k
    except ValueError:
        pass
    raise OptionError(opt, f"{value!r} is not a choice of gene {gene!r}; its choices are "
                           f"{choices}")
