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


FORMATS = (".png", ".pdf", ".svg")
LABELS = {"flops": "FLOPs", "params": "Parameters", "macs": "MACs",
          "activations": "Activations"}


def plural(n: int, word: str) -> str:
    """'1 row', '2 rows'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def axis_label(column: str) -> str:
    """A paper's axis label: FLOPs, Parameters, MACs (the units are in the tick labels)."""
    return LABELS.get(column, column)


def count_formatter(plt):
    """Tick labels with readable units (400M, 1.2G), never a bare 1e19 offset."""
    return plt.FuncFormatter(lambda v, _: format_count(v, 3))


def parse_size(size: Any, style: str = "python") -> tuple[float, float]:
    """'6x4' or (6, 4): a figure size in inches."""
    try:
        w, h = (size.lower().split("x") if isinstance(size, str) else size)
        w, h = float(w), float(h)
    except (ValueError, TypeError):
        w = h = -1.0
    if not (0 < w <= 100 and 0 < h <= 100):
        raise OptionError(option_name("size", style),
                          f"expected WIDTHxHEIGHT in inches, e.g. 6x4. Got {size!r}.")
    return w, h


def plot(path: str | Path, out: str | Path, *, x: str = "flops", y: str = "params",
         budget: Any = None, y_budget: Any = None, front: bool = True, log: bool = False,
         dpi: int = 200, size: Any = (6.0, 4.0), title: str | None = None,
         style: str = "python", force: bool = False) -> Path:
    """Draw y against x for the valid rows of the results in ``path`` into ``out`` (the
    format from its suffix: .png, or vector .svg, .pdf): a scatter for up to 50,000 rows,
    else a hexbin of all rows; the Pareto front of (x, y) minimised on top, with markers
    (front rows tied in both columns are one point labelled with their count); the run's
    own budget and ``budget`` (on x) / ``y_budget`` as lines; the legend outside the data.
    Returns ``out``.
    """
    plt = _matplotlib()
    from matplotlib import patheffects

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise OptionError(option_name("out", style),
                          f"must end in {', '.join(FORMATS)}. Got {str(out)!r}.")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 2400:
        raise OptionError(option_name("dpi", style), f"must be 10 to 2400. Got {dpi!r}.")
    figsize = parse_size(size, style)
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
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
    if xs.size <= SCATTER_MAX:
        ax.scatter(xs, ys, s=5, alpha=0.35, linewidths=0, color="tab:blue", zorder=1,
                   rasterized=True, label=f"{xs.size:,} candidates")
    elif xs.size:
        hb = ax.hexbin(xs, ys, gridsize=100, bins="log", mincnt=1, cmap="viridis",
                       xscale="log" if log else "linear", yscale="log" if log else "linear",
                       zorder=1, rasterized=True)
        fig.colorbar(hb, ax=ax, label="candidates per cell (log scale)", pad=0.02)
        ax.plot([], [], " ", label=f"{xs.size:,} candidates")
    if front and xs.size and x != y:
        _draw_front(ax, pareto(path, minimize=[x, y], style=style, force=True), x, y, patheffects)
    run_budget = info["run"].get("budget", {})
    for key, value in sorted(run_budget.items()):
        side, metric = key.split("_", 1)
        label = f"run's budget: {axis_label(metric)} {'≤' if side == 'max' else '≥'} " \
                f"{format_count(value)}"
        if metric == x:
            ax.axvline(value, color="dimgray", ls="-.", lw=1, zorder=2, label=label)
        elif metric == y:
            ax.axhline(value, color="dimgray", ls="-.", lw=1, zorder=2, label=label)
    if bx is not None:
        ax.axvline(bx, color="black", ls="--", lw=1, zorder=2,
                   label=f"{axis_label(x)} budget {format_count(bx)}")
    if by is not None:
        ax.axhline(by, color="black", ls=":", lw=1, zorder=2,
                   label=f"{axis_label(y)} budget {format_count(by)}")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(count_formatter(plt))
        axis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    if title is None:
        title = (f"{info['space'].name} (convention {info['convention'].name}, "
                 f"batch {info['batch']})")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, lw=0.5)
    # below the axes, outside the data (constrained layout keeps it clear of the labels)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2 if figsize[0] >= 5 else 1,
               fontsize=7, frameon=False)
    fig.savefig(out, format=out.suffix.lower()[1:], bbox_inches="tight")
    plt.close(fig)
    return out


def _draw_front(ax, f, x: str, y: str, patheffects) -> None:
    """The front as a step line with a marker per distinct point, drawn last; tied rows (equal
    in x and y) are one marker with their count next to it."""
    import numpy as np

    fx, fy = f.column(x).to_numpy(), f.column(y).to_numpy()
    pts, counts = np.unique(np.stack([fx, fy], axis=1), axis=0, return_counts=True)
    outline = [patheffects.withStroke(linewidth=3, foreground="white")]
    ax.step(pts[:, 0], pts[:, 1], where="post", color="crimson", lw=1.3, zorder=4,
            path_effects=outline)
    ax.scatter(pts[:, 0], pts[:, 1], s=18, color="crimson", edgecolors="white",
               linewidths=0.7, zorder=5,
               label=f"Pareto front ({plural(len(pts), 'point')}, "
                     f"{plural(f.num_rows, 'row')})")
    for (px, py), c in zip(pts, counts, strict=True):
        if c > 1:
            ax.annotate(f"×{c}", (px, py), textcoords="offset points", xytext=(4, 4),
                        fontsize=6, color="crimson", zorder=6, path_effects=outline)


def _count(value: Any, what: str, style: str) -> int:
    name = option_name(what, style)
    try:
        return parse_count(value, name)
    except ValueError as e:
        raise OptionError(name, str(e).split(": ", 1)[-1]) from None

