"""Budget analytics without enumeration: exact bounds, counts, histograms, uniform sampling
within a budget, expected cost and mutation within a budget.

Most spaces are chains of blocks whose costs add up. nascost.budget.chain turns the compiled
program into a layered graph whose paths are exactly the valid canonical candidates (dead
genes never duplicate a candidate); dynamic programming over that graph answers these
questions exactly where it can and with certified bounds where exact counts would cost too
much. Costs are per input sample (batch 1) under a counting convention (default "seed").

Budgets are keyword arguments: ``max_flops``, ``min_flops``, ``max_params``, ``min_params``,
``max_macs``, ``min_macs``, ``max_activations``, ``min_activations`` (inclusive; ints or
counts with units such as "400M").
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from nascost.budget.budget import BUDGET_KEYS, metric_index, parse_budget
from nascost.budget.chain import (
    _CACHE,
    MAX_STATES,
    METRICS,
    Chain,
    ChainError,
    NoValidCandidate,
    build_chain,
    carried_combos,
    chain_for,
)
from nascost.budget.counting import Count
from nascost.budget.histograms import Histogram
from nascost.budget.sampling import BudgetError, SampleInfo

__all__ = [
    "BUDGET_KEYS", "METRICS", "BudgetError", "ChainError", "Count", "Histogram", "SampleInfo",
    "bounds", "chain_of", "count", "expected_cost", "histogram", "mutate", "sample_within",
]

log = logging.getLogger(__name__)

SAMPLES = 1 << 18  # draws of a count's sampled estimate where its bounds stay wide
DRAW_SECONDS = 1e-6  # about what one draw costs (OFA: 0.13-0.27 s for 2**18), kept in reserve
ENUMERATE_MAX = 1 << 22  # a space that is not a chain is enumerated up to this many arrays

_WHOLE: dict = {}


def chain_of(space, convention: Any = "seed") -> Chain:
    """The chain of a space under a convention (built once per program and convention)."""
    from nascost.rules.conventions import resolve

    conv = resolve(convention)
    per = _CACHE.setdefault(space.program, {})
    if "carried" not in per:
        per["carried"] = carried_combos(space.program)
    if per["carried"] > MAX_STATES:  # genes shared by many blocks: separable first
        sep = _separable(space.program, conv)
        if sep is not None:
            return sep
    try:
        return chain_for(space.program, conv)
    except NoValidCandidate:
        raise
    except ChainError:
        sep = _separable(space.program, conv)
        if sep is not None:
            return sep
        if space.size > ENUMERATE_MAX:
            raise ChainError(
                f"space {space.name!r} does not decompose into a chain of small blocks (genes "
                f"shared by many blocks make the state too large), its costs do not add up "
                f"over small groups of genes, and its {space.size:.3g} gene arrays are too "
                "many to enumerate") from None
        key = ("whole",) + tuple(conv.op_weights.ravel().tolist())
        if key not in per:
            per[key] = build_chain(space.program, conv, whole=True)
        return per[key]


def _separable(program, conv) -> Chain | None:
    """The one-state chain of an additively separable program (nascost.budget.separable),
    built once per program and convention; None where the costs are not separable."""
    from nascost.budget.separable import separable_chain

    per = _CACHE.setdefault(program, {})
    key = ("separable",) + tuple(conv.op_weights.ravel().tolist())
    if key not in per:
        try:
            per[key] = separable_chain(program, conv)
        except NoValidCandidate:
            raise
        except ChainError:
            per[key] = None
    return per[key]


def bounds(space, convention: Any = "seed", latency: Any = None) -> dict:
    """{metric: {"min", "max", "min_genes", "max_genes"}} over the valid candidates, exact,
    with a canonical genes row attaining each (with a latency table, also "latency" in
    nanoseconds)."""
    from nascost.budget import counting as C

    out = C.bounds(chain_of(space, convention))
    if latency is not None:
        from nascost.latency.budget import latency_bounds

        out["latency"] = latency_bounds(space, latency, convention)
    return out


def _chain_cons(space, convention: Any, budget: dict):
    """The chain and the parsed budget; a latency table (latency=, max_latency=, ...) adds
    its column to the chain (nascost.latency.budget)."""
    if any(k in budget for k in ("latency", "max_latency", "min_latency")):
        from nascost.latency.budget import split_budget

        return split_budget(space, convention, budget)
    return chain_of(space, convention), parse_budget(budget)


def count(space, *, convention: Any = "seed", tol: float = 1e-3,
          time_limit: float | None = None, work: int | None = None,
          samples: int = SAMPLES, seed: int = 0, t0: float | None = None, **budget) -> Count:
    """The number of valid canonical candidates within the budget: exact, or certified
    bounds refined until (high - low) <= tol * low or the work budget ``work`` is spent
    (grid cells per DP state over the passes; default counting.WORK): deterministic, so the
    same call gives the same interval on any machine. ``time_limit`` (seconds from ``t0``,
    default the call's start; the draws below included) is an extra cap. Count.stopped_by
    says which ended it. Where the bounds stay wider than tol (several bounded metrics),
    ``samples`` uniform draws within the budget's primary metric also give an unbiased
    estimate with its standard error (Count.estimate, Count.stderr; samples=0 skips them):
    certified bounds plus that estimate are the answer for two or more bounded metrics."""
    import dataclasses
    import time

    t0 = time.perf_counter() if t0 is None else t0
    if work is None:
        from nascost.budget.counting import WORK as work
    if isinstance(work, bool) or not isinstance(work, (int, np.integer)) or work < 1:
        raise ValueError(f"work must be an integer >= 1. Got {work!r} instead.")
    if time_limit is not None and not time_limit >= 0:
        raise ValueError(f"time_limit must be a number of seconds >= 0. Got {time_limit!r}.")

    from nascost.budget import counting as C
    from nascost.budget.sampling import estimate_count

    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise ValueError(f"samples must be an integer >= 0. Got {samples!r} instead.")
    chain, cons = _chain_cons(space, convention, budget)
    # several bounded metrics: keep time for the draws within the limit
    limit = None
    if time_limit is not None:
        reserve = min(0.3 * time_limit, samples * DRAW_SECONDS) if len(cons) > 1 else 0.0
        limit = time_limit - reserve
    c = C.count(chain, cons, tol=tol, time_limit=limit, work=int(work), t0=t0)
    if c.exact or samples == 0 or c.high - c.low <= tol * max(c.low, 1):
        return c
    t = time.perf_counter()
    est = estimate_count(chain, cons, int(samples), seed, lower=c.detail.get("lower_set"))
    return dataclasses.replace(c, sampled=est, seconds=c.seconds + time.perf_counter() - t)


def histogram(space, metric: str = "flops", bins: Any = 50, *, convention: Any = "seed",
              tol: float = 1e-3, time_limit: float | None = None,
              work: int | None = None, latency: Any = None) -> Histogram:
    """Valid canonical candidates per bin of a metric over the whole space (equal-width bins
    from its min to its max, or the given integer edges): exact or certified bounds, refined
    within the work budget ``work`` (default counting.HIST_WORK; deterministic) and, when
    given, ``time_limit`` seconds. metric="latency" (nanoseconds) needs ``latency``, a
    latency table."""
    from nascost.budget import histograms as H

    if metric == "latency" or latency is not None:
        from nascost.latency.budget import LATENCY, split_budget

        if latency is None:
            raise ValueError("metric='latency' needs a latency table: pass latency=FILE")
        chain, _ = split_budget(space, convention, {"latency": latency})
        m = LATENCY if metric == "latency" else metric_index(metric)
        return H.histogram(chain, m, bins, tol=tol, time_limit=time_limit,
                           work=H.HIST_WORK if work is None else int(work))
    return H.histogram(chain_of(space, convention), metric_index(metric), bins, tol=tol,
                       time_limit=time_limit, work=H.HIST_WORK if work is None else int(work))


def sample_within(space, n: int, seed: int = 0, stratify: Any = None, *,
                  convention: Any = "seed", return_info: bool = False, **budget):
    """n canonical genes rows drawn uniformly from the valid candidates within the budget
    (with ``stratify="flops:10"``: n / 10 uniformly within each of 10 equal-width bins of
    flops over the budget's range). An infeasible budget raises BudgetError stating the
    space's range. With return_info, also a SampleInfo (proposals, acceptance rate)."""
    from nascost.budget import sampling as SM

    chain, cons = _chain_cons(space, convention, budget)
    genes, info = SM.sample_within(chain, n, cons, seed=seed, stratify=stratify)
    if info.proposed > info.accepted:
        log.info("sample_within: %d of %d proposals accepted (%.4f)", info.accepted,
                 info.proposed, info.acceptance)
    return (genes, info) if return_info else genes


def expected_cost(space, probs: Any, *, convention: Any = "seed") -> dict:
    """Exact expected params, macs, flops and activations when gene j is drawn from
    probs[j] independently (invalid candidates count 0; ``p_valid`` is their complement).
    probs: one probability vector per gene, a (batch, choices) array per gene, or an array
    (n_genes, max_choices) / (batch, n_genes, max_choices). numpy in: floats (or (batch,)
    arrays); torch tensors in: tensors, differentiable."""
    from nascost.budget.expectation import expected_cost as E

    return E(chain_of(space, convention), probs)


def mutate(space, genes: Any, rate: float, seed: int = 0, *, convention: Any = "seed",
           return_info: bool = False, **budget) -> np.ndarray:
    """One neighbour per row of genes: each gene redrawn with probability ``rate`` uniformly
    among its choices, canonicalised, conditioned on validity and the budget (exactly: a few
    direct tries, then a draw from the conditional distribution; no unbounded retries)."""
    from nascost.budget import sampling as SM

    cons = parse_budget(budget)
    ch = chain_of(space, convention)
    g = space.check_genes(genes)

    def score(x):
        return space.score_arrays(x, convention=convention)

    out, info = SM.mutate(ch, g, rate, seed, cons, score, space.canonical)
    if np.asarray(genes).ndim == 1:
        out = out[0]
    return (out, info) if return_info else out
