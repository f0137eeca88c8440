"""Validating a latency table: random candidates timed end to end, interleaved, against the
table's sums; the error, rank correlations (and FLOPs' as the baseline), where the additive
model errs, and corrections fitted on one half and tested on the other (reported apart from
the raw table)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nascost.latency import keys as K
from nascost.latency.table import LatencyTable, resolve_table


@dataclass
class Validation:
    n: int
    predicted_us: np.ndarray
    measured_us: np.ndarray
    flops: np.ndarray
    resolution: np.ndarray
    rows: dict  # predictor name -> accuracy figures
    by_resolution: list = field(default_factory=list)  # (resolution, n, median signed error)
    by_block_type: list = field(default_factory=list)  # (type, blocks, fitted us per block)


def accuracy(pred: np.ndarray, meas: np.ndarray) -> dict:
    """Median and p95 absolute % error, share within +-10%, Kendall tau, Spearman rho."""
    from scipy import stats

    err = np.abs(pred - meas) / meas * 100
    return {"median_ape": float(np.median(err)), "p95_ape": float(np.percentile(err, 95)),
            "within_10": float(np.mean(err <= 10.0)),
            "kendall_tau": float(stats.kendalltau(pred, meas).statistic),
            "spearman_rho": float(stats.spearmanr(pred, meas).statistic)}


def ranks_only(x: np.ndarray, meas: np.ndarray) -> dict:
    from scipy import stats

    return {"kendall_tau": float(stats.kendalltau(x, meas).statistic),
            "spearman_rho": float(stats.spearmanr(x, meas).statistic)}


def block_type(key: str) -> str:
    """A block's type: its op sequence (shapes dropped), e.g. conv2d-batchnorm2d-relu6."""
    return "-".join(part.split(":", 1)[0] for part in key.split("|"))


def _type_counts(space, genes: np.ndarray, table: LatencyTable):
    """(n, t) blocks of each type per candidate, and the type names."""
    hs = K.hashes_of(space.program, genes)
    types: dict[str, int] = {}
    by_hash = table.by_hash
    counts = []
    for row in hs:
        c: dict[int, int] = {}
        for h in row.tolist():
            if h <= 1:
                continue
            t = types.setdefault(block_type(table.keys[by_hash[h]]), len(types))
            c[t] = c.get(t, 0) + 1
        counts.append(c)
    out = np.zeros((genes.shape[0], len(types)), dtype=np.float64)
    for i, c in enumerate(counts):
        for t, v in c.items():
            out[i, t] = v
    return out, list(types)


def validate(space, latency, n: int = 200, *, threads: int = 1, batch: int = 1,
             repeats: int = 20, warmup: int = 5, seed: int = 1, progress: bool = False,
             clock: str | None = None, timer=None) -> Validation:
    """Time n random valid candidates end to end and compare with the table's predictions.
    ``timer(space, genes_row) -> list of ns`` replaces the torch timing (tests)."""
    from nascost.latency.scoring import score_latency
    from nascost.latency.timing import Runner, pinned, repeat

    if isinstance(n, bool) or not isinstance(n, int) or n < 4:
        raise ValueError(f"n must be an integer >= 4. Got {n!r} instead.")
    from nascost.latency.timing import clock_of

    table = resolve_table(space, latency)
    clock = clock or table.meta.get("clock", "cpu")  # the table's own clock by default
    tick = clock_of(clock)
    genes = _valid_sample(space, n, seed)
    scored = score_latency(space, genes, table)
    pred = scored["latency_us"]
    if timer is None:
        def timer(sp, g):
            r = Runner(sp, g, batch=batch, clock=clock)
            return repeat(r.run, warmup, repeats, clock=tick)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit="cand", desc="timing candidates end to end")
    meas = np.zeros(n)
    with pinned(threads):
        for i in range(n):
            meas[i] = float(np.median(timer(space, genes[i]))) / 1e3
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    res = np.array([space.input_shape(g)[1] for g in genes])
    return summarize(space, table, genes, pred, meas, scored["flops"], res)


def _valid_sample(space, n: int, seed: int) -> np.ndarray:
    out = []
    s = seed
    while sum(x.shape[0] for x in out) < n and s < seed + 50:
        g = space.sample(4 * n, seed=s)
        ok = space.score_arrays(g)["status"] == 0
        out.append(g[ok])
        s += 1
    g = np.concatenate(out)[:n] if out else np.zeros((0, space.n_genes), np.uint8)
    if g.shape[0] < n:
        raise ValueError(f"space {space.name!r}: found only {g.shape[0]} valid candidates "
                         f"of {n}")
    return g


def summarize(space, table, genes, pred, meas, flops, res) -> Validation:
    n = genes.shape[0]
    rows = {"raw table": accuracy(pred, meas), "FLOPs": ranks_only(flops.astype(float), meas)}
    half = np.arange(n) % 2 == 0  # fit on even rows, test on odd ones
    test = ~half
    # one scale factor (least squares through the origin), fitted on half
    a = float(np.dot(pred[half], meas[half]) / max(np.dot(pred[half], pred[half]), 1e-12))
    rows["table x scale (fit on half, tested on the other)"] = accuracy(a * pred[test],
                                                                        meas[test])
    rows["raw table on the same half"] = accuracy(pred[test], meas[test])
    # per block type: residual = sum over types of count * correction (least squares)
    counts, types = _type_counts(space, genes, table)
    X = np.concatenate([counts, np.ones((n, 1))], axis=1)
    beta, *_ = np.linalg.lstsq(X[half], meas[half] - pred[half], rcond=None)
    rows["table + per-block-type correction (fit on half)"] = accuracy(
        pred[test] + X[test] @ beta, meas[test])
    by_type = sorted(((t, int(counts[:, i].sum()), float(beta[i]))
                      for i, t in enumerate(types)), key=lambda r: -abs(r[2] * r[1]))
    by_type.append(("(constant per network)", n, float(beta[-1])))
    signed = (pred - meas) / meas * 100
    by_res = [(int(r), int((res == r).sum()), float(np.median(signed[res == r])))
              for r in np.unique(res)]
    return Validation(n, pred, meas, np.asarray(flops), res, rows, by_res, by_type)
