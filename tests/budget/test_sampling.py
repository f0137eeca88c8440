"""Sampling within a budget: exactly uniform over the valid canonical candidates in budget
(chi-square over every one of them), per-bin uniformity when stratified, errors that state
the space's range, and budgets that keep a tiny share of a large space."""

from __future__ import annotations

import math

import numpy as np
import pytest
from budget_spaces import brute, depth_space, in_budget  # tests/budget is on sys.path

import nascost
from nascost.budget import BudgetError
from nascost.budget import sampling as SM


def chi2_pvalue(counts: np.ndarray, expected: np.ndarray) -> float:
    """Upper tail of the chi-square statistic (Wilson-Hilferty normal approximation)."""
    stat = float(((counts - expected) ** 2 / expected).sum())
    k = counts.shape[0] - 1
    z = ((stat / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


def index_of(rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Position of each row in ref (rows sorted lexicographically); -1 if absent."""
    cards = np.maximum(ref.max(axis=0), rows.max(axis=0)).astype(np.int64) + 1

    def key(a):
        k = np.zeros(a.shape[0], dtype=np.int64)
        for j in range(a.shape[1]):
            k = k * cards[j] + a[:, j]
        return k

    kr = key(ref)
    kx = key(rows)
    pos = np.searchsorted(kr, kx)
    pos = np.minimum(pos, kr.shape[0] - 1)
    return np.where(kr[pos] == kx, pos, -1)


@pytest.fixture(scope="module")
def nb201():
    space = nascost.load_space("nb201-cifar10")
    return space, *brute(space)


@pytest.mark.parametrize("target", [SM.TARGET_BUCKETS, 8])
def test_uniform_over_every_candidate_in_budget(nb201, monkeypatch, target):
    # target 8: coarse buckets, many proposals rejected at the budget's edge; still uniform
    space, ref, cost = nb201
    monkeypatch.setattr(SM, "TARGET_BUCKETS", target)
    budget = {"max_flops": 120_000_000, "min_params": 300_000}
    inside = in_budget(cost, **budget)
    n_in = int(inside.sum())
    n = 30 * n_in
    genes, info = space.sample_within(n, seed=7, return_info=True, **budget)
    assert genes.shape == (n, space.n_genes) and genes.dtype == np.uint8
    idx = index_of(genes, ref)
    assert (idx >= 0).all() and inside[idx].all()
    counts = np.bincount(idx, minlength=ref.shape[0])[inside]
    assert chi2_pvalue(counts, np.full(n_in, n / n_in)) > 1e-4
    if target == 8:
        assert info.proposed > info.accepted  # the rejection step did work
    assert 0 < info.acceptance <= 1


def test_stratified_is_uniform_within_each_bin(nb201):
    space, ref, cost = nb201
    genes, info = space.sample_within(20_000, seed=3, stratify="flops:4", return_info=True,
                                      max_flops="300M")
    assert len(info.strata) == 4
    idx = index_of(genes, ref)
    pos = 0
    for lo, hi, n in info.strata:
        part = idx[pos:pos + n]
        pos += n
        f = cost[part, 2]
        assert ((f >= lo) & (f <= hi)).all()
        members = np.flatnonzero((cost[:, 2] >= lo) & (cost[:, 2] <= hi))
        counts = np.bincount(part, minlength=ref.shape[0])[members]
        assert chi2_pvalue(counts, np.full(members.shape[0], n / members.shape[0])) > 1e-4
    assert sorted(n for *_, n in info.strata) in ([5000] * 4,)


def test_infeasible_budget_states_the_range(nb201):
    space, ref, cost = nb201
    with pytest.raises(BudgetError) as e:
        space.sample_within(10, max_flops=1000)
    msg = str(e.value)
    assert "flops" in msg and f"{int(cost[:, 2].min()):,}" in msg
    assert f"{int(cost[:, 2].max()):,}" in msg
    # jointly infeasible: each bound alone is feasible
    with pytest.raises(BudgetError):
        space.sample_within(10, max_flops=int(cost[:, 2].min()),
                            min_params=int(cost[:, 0].max()))


def test_deterministic_and_independent_of_threads(nb201):
    from nascost.kernels.jit import max_threads, set_threads

    space = nb201[0]
    a = space.sample_within(5000, seed=11, max_flops="150M")
    b = space.sample_within(5000, seed=11, max_flops="150M")
    c = space.sample_within(5000, seed=12, max_flops="150M")
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    if max_threads() > 1:
        prev = set_threads(1)
        try:
            np.testing.assert_array_equal(space.sample_within(5000, seed=11, max_flops="150M"),
                                          a)
        finally:
            set_threads(prev)


def test_several_bounded_metrics(nb201):
    space, ref, cost = nb201
    budget = {"max_flops": 200_000_000, "max_params": 800_000, "min_macs": 30_000_000}
    genes = space.sample_within(3000, seed=1, **budget)
    idx = index_of(genes, ref)
    assert (idx >= 0).all() and in_budget(cost[idx], **budget).all()


@pytest.mark.parametrize("name", ["mbv2-style", "ofa-mbv3-w1.0"])
def test_tiny_share_of_a_large_space(name):
    space = nascost.load_space(name)
    b = space.bounds()["flops"]
    x = b["min"] + (b["max"] - b["min"]) // 50
    c = space.count(max_flops=x)
    assert c.high / c.total < 1e-5  # at most 1e-5 of the space is in budget
    genes, info = space.sample_within(20_000, seed=5, max_flops=x, return_info=True)
    out = space.score_arrays(genes)
    assert (out["status"] == 0).all() and (out["flops"] <= x).all()
    np.testing.assert_array_equal(space.canonical(genes), genes)
    assert info.acceptance > 0.9
    assert len(np.unique(genes, axis=0)) > 19_000


def test_no_budget_is_uniform_over_canonical_candidates():
    space = depth_space()
    ref, cost = brute(space)
    assert ref.shape[0] < space.size  # dead genes: raw arrays repeat candidates
    n = 30 * ref.shape[0]
    genes = space.sample_within(n, seed=2)
    idx = index_of(genes, ref)
    assert (idx >= 0).all()
    counts = np.bincount(idx, minlength=ref.shape[0])
    assert chi2_pvalue(counts, np.full(ref.shape[0], n / ref.shape[0])) > 1e-4


def test_edge_sizes(nb201):
    space = nb201[0]
    assert space.sample_within(0, max_flops="100M").shape == (0, space.n_genes)
    assert space.sample_within(3, stratify="flops:5").shape == (3, space.n_genes)
    with pytest.raises(ValueError, match="n must be"):
        space.sample_within(-1)
    with pytest.raises(ValueError, match="stratify"):
        space.sample_within(10, stratify="flops")


@pytest.mark.parametrize("budget", [
    {"max_flops": 150_000_000, "max_activations": 1_500_000},
    {"max_params": 600_000, "min_activations": 1_600_000, "min_macs": 30_000_000},
])
def test_sampled_count_estimate_is_unbiased(nb201, budget):
    """The estimate from uniform draws agrees with brute force within a few standard errors,
    and the standard error is the estimates' real spread over seeds."""
    from nascost.budget import chain_of
    from nascost.budget.budget import parse_budget

    space, ref, cost = nb201
    truth = int(in_budget(cost, **budget).sum())
    chain = chain_of(space)
    cons = parse_budget(budget)
    big = SM.estimate_count(chain, cons, 200_000, seed=1)
    assert 0 < big.accepted < big.draws == 200_000 and big.stderr > 0
    assert abs(big.estimate - truth) <= 5 * big.stderr, (big, truth)
    small = [SM.estimate_count(chain, cons, 1000, seed=s) for s in range(40)]
    est = np.array([s.estimate for s in small])
    se = np.mean([s.stderr for s in small])
    assert 0.6 < est.std() / se < 1.5
    assert abs(est.mean() - truth) <= 5 * se / math.sqrt(len(small))
    again = SM.estimate_count(chain, cons, 1000, seed=3)
    assert again == small[3]  # a pure function of the seed
    # one bounded metric whose buckets are exact: every draw is in budget, no error
    one = SM.estimate_count(chain, parse_budget({"max_params": 400_000}), 1000, seed=0)
    assert one.accepted == one.draws and one.stderr == 0.0
    assert one.estimate == int(in_budget(cost, max_params=400_000).sum())


@pytest.mark.parametrize("buckets", [16, 64])
def test_sampled_estimate_with_the_lower_set_as_control(buckets):
    """Given the set a certified lower bound counted (rounded-up buckets that fit), the
    draws only estimate the band beyond it: still unbiased, with a smaller error."""
    from nascost.budget import chain_of
    from nascost.budget import counting as C
    from nascost.budget.budget import parse_budget

    space = depth_space()
    ref, cost = brute(space)
    budget = {"max_flops": int(np.quantile(cost[:, 2], 0.6)),
              "max_params": int(np.quantile(cost[:, 0], 0.7))}
    truth = int(in_budget(cost, **budget).sum())
    chain = chain_of(space)
    cons = parse_budget(budget)
    ext = C.extremes_for(chain)
    red = C._reduce(cons, ext)
    dims = sorted(red)
    point = [red[m][1] for m in dims]
    widths = [C.choose_width(ext.reduced[:, m], p, buckets)
              for m, p in zip(dims, point, strict=True)]
    low, _ = C.window_count(chain, ext.reduced, dims, widths, point, True)
    assert 0.5 * truth < low < truth  # a lower bound, not the count
    lower = {"dims": dims, "widths": widths, "point": point, "count": low, "margin": 0.0}
    cv = SM.estimate_count(chain, cons, 200_000, seed=1, lower=lower)
    plain = SM.estimate_count(chain, cons, 200_000, seed=1)
    assert cv.control and not plain.control
    assert abs(cv.estimate - truth) <= 5 * cv.stderr, (cv, truth)
    assert 0 < cv.stderr < plain.stderr
    small = [SM.estimate_count(chain, cons, 1000, seed=s, lower=lower) for s in range(40)]
    est = np.array([s.estimate for s in small])
    se = np.mean([s.stderr for s in small])
    assert 0.6 < est.std() / se < 1.5
    assert abs(est.mean() - truth) <= 5 * se / math.sqrt(len(small))


def test_sampled_estimate_counts_canonical_candidates():
    space = depth_space()
    ref, cost = brute(space)
    budget = {"max_flops": int(np.quantile(cost[:, 2], 0.6)),
              "min_params": int(np.quantile(cost[:, 0], 0.3))}
    from nascost.budget import chain_of
    from nascost.budget.budget import parse_budget

    truth = int(in_budget(cost, **budget).sum())
    s = SM.estimate_count(chain_of(space), parse_budget(budget), 100_000, seed=4)
    assert abs(s.estimate - truth) <= 5 * s.stderr, (s, truth)


def test_count_adds_a_sampled_estimate_where_bounds_stay_wide():
    space = nascost.load_space("ofa-mbv3-w1.0")
    c = space.count(max_flops="400M", max_params="5M", time_limit=0.3)
    assert not c.exact and c.gap > 1e-3 and c.sampled is not None
    assert c.sampled.draws == nascost.budget.SAMPLES and c.sampled.primary in METRIC_NAMES
    s = c.sampled
    assert c.low - 5 * s.stderr <= s.estimate <= c.high + 5 * s.stderr
    assert s.control  # max bounds only: the draws estimate the band beyond the lower set
    assert c.low <= c.estimate <= c.high and c.stderr == s.stderr
    assert c.stderr < 0.003 * c.estimate  # 262,144 draws: a small fraction of the gap
    box = space.count(max_flops="600M", min_flops="300M", max_params="6M", time_limit=0.3)
    assert box.sampled is not None and not box.sampled.control  # a min bound: plain draws
    assert box.low - 5 * box.stderr <= box.sampled.estimate <= box.high + 5 * box.stderr
    off = space.count(max_flops="400M", max_params="5M", time_limit=0.3, samples=0)
    assert off.sampled is None and off.stderr is None
    one = space.count(max_flops="400M")  # within tol: no draws
    assert one.sampled is None
    exact = nascost.load_space("nb201-cifar10").count(max_flops="100M", max_params="1M")
    assert exact.exact and exact.stderr == 0.0 and exact.estimate == exact.low
    with pytest.raises(ValueError, match="samples"):
        space.count(max_flops="400M", samples=-1)


METRIC_NAMES = ("params", "macs", "flops", "activations")
