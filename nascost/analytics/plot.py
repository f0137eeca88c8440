"""A picture of a results dataset: density of two columns, budget lines, the Pareto front.

matplotlib is an optional extra: pip install 'nascost[plot]'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from nascost.analytics.pareto import pareto
from nascost.io import schema as R
from nascost.io.options import OptionError, option_name
from nascost.io.reader import open_results, results_info
from nascost.io.verify import check_dataset
from nascost.units import format_count, parse_count

SCATTER_MAX = 50_000  # more valid rows than this: a hexbin of all of them


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'nascost[plot]'") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot(path: str | Path, out: str | Path, *, x: str = "flops", y: str = "params",
         budget: Any = None, y_budget: Any = None, front: bool = True, log: bool = False,
         style: str = "python", force: bool = False) -> Path:
    """Draw y against x for the valid rows of the results in ``path`` into ``out`` (the
    format from its suffix: .png, .svg, .pdf): a scatter for up to 50,000 rows, else a
    hexbin of all rows; a vertical line at ``budget`` (on x) and a horizontal one at
    ``y_budget``; the Pareto front of (x, y) minimised, as a step line. Returns ``out``.
    """
    plt = _matplotlib()
    check_dataset(path, force=force)  # refuse (or, forced, warn) if it is damaged
    dataset = open_results(path)
    for what, col in (("x", x), ("y", y)):
        if col not in dataset.schema.names or col in (R.STATUS,):
            raise OptionError(option_name(what, style), (
                f"unknown column {col!r}; use params, macs, flops, activations or a gene"))
    bx = None if budget is None else _count(budget, "budget", style)
    by = None if y_budget is None else _count(y_budget, "y_budget", style)
    info = results_info(path)
    table = dataset.to_table(columns=[x, y], filter=pc.field(R.STATUS) == 0)
    xs = table.column(x).to_numpy()
    ys = table.column(y).to_numpy()
    fig, ax = plt.subplots(figsize=(7.5, 5.5), dpi=120)
    if xs.size <= SCATTER_MAX:
        ax.scatter(xs, ys, s=4, alpha=0.4, linewidths=0, label=f"{xs.size:,} candidates")
    elif xs.size:
        hb = ax.hexbin(xs, ys, gridsize=120, bins="log", mincnt=1, cmap="viridis",
                       xscale="log" if log else "linear", yscale="log" if log else "linear")
        fig.colorbar(hb, ax=ax, label="candidates (log scale)")
        ax.plot([], [], " ", label=f"{xs.size:,} candidates")
    if front and xs.size and x != y:
        f = pareto(path, minimize=[x, y], style=style, force=True)  # checked above
        fx, fy = f.column(x).to_numpy(), f.column(y).to_numpy()
        ax.step(fx, fy, where="post", color="crimson", lw=1.5, marker="o", ms=2.5,
                label=f"Pareto front ({f.num_rows} rows)")
    if bx is not None:
        ax.axvline(bx, color="black", ls="--", lw=1, label=f"{x} budget {format_count(bx)}")
    if by is not None:
        ax.axhline(by, color="dimgray", ls=":", lw=1, label=f"{y} budget {format_count(by)}")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: format_count(v, 3)))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: format_count(v, 3)))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    conv = info["convention"].name
    ax.set_title(f"{info['space'].name}: {y} vs {x} (convention {conv}, batch {info['batch']})",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out)
    plt.close(fig)
    return out


def _count(value: Any, what: str, style: str) -> int:
    name = option_name(what, style)
    try:
        return parse_count(value, name)
    except ValueError as e:
        raise OptionError(name, str(e).split(": ", 1)[-1]) from None

