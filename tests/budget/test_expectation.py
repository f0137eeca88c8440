"""Expected cost under independent categorical genes: exact against brute force (numpy and
torch, batched), and its gradient."""

from __future__ import annotations

import numpy as np
import pytest
from budget_spaces import METRICS, chain_spaces, depth_space  # tests/budget on sys.path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nascost
from nascost.budget.chain import NoValidCandidate


def brute_expectation(space, probs):
    """Sum over every raw gene array of its probability times its metrics (invalid: 0)."""
    g = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    out = space.score_arrays(g)
    p = np.ones(space.size)
    for j in range(space.n_genes):
        p *= probs[j][g[:, j]]
    e = {m: float((p * out[m]).sum()) for m in METRICS}
    e["p_valid"] = float(p[out["status"] == 0].sum())
    return e


def random_probs(rng, cards):
    return [rng.dirichlet(np.full(int(c), 0.7)) for c in cards]


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(chain_spaces(max_size=2000), st.integers(0, 2**32 - 1))
def test_expected_cost_equals_brute_force(space, seed):
    probs = random_probs(np.random.default_rng(seed), space.cardinalities)
    try:
        e = space.expected_cost(probs)
    except NoValidCandidate:
        return
    ref = brute_expectation(space, probs)
    for k in (*METRICS, "p_valid"):
        assert e[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-9), k


def test_batch_and_padded_array_forms():
    space = depth_space()
    rng = np.random.default_rng(0)
    batch = [random_probs(rng, space.cardinalities) for _ in range(3)]
    stacked = [np.stack([b[j] for b in batch]) for j in range(space.n_genes)]
    e = space.expected_cost(stacked)
    assert e["flops"].shape == (3,)
    for i, probs in enumerate(batch):
        one = space.expected_cost(probs)
        ref = brute_expectation(space, probs)
        assert e["flops"][i] == pytest.approx(one["flops"], rel=1e-13)
        assert one["flops"] == pytest.approx(ref["flops"], rel=1e-12)
    width = int(space.cardinalities.max())
    padded = np.zeros((3, space.n_genes, width))
    for j in range(space.n_genes):
        padded[:, j, :space.cardinalities[j]] = stacked[j]
    e2 = space.expected_cost(padded)
    np.testing.assert_allclose(e2["params"], e["params"], rtol=1e-13)


def test_one_hot_probs_give_the_candidate_cost():
    space = nascost.load_space("mbv2-style")
    row = space.named("mobilenet_v2")
    probs = [np.eye(int(c))[int(v)] for c, v in zip(space.cardinalities, row, strict=True)]
    e = space.expected_cost(probs)
    out = space.score_arrays(row)
    for m in METRICS:
        assert e[m] == pytest.approx(float(out[m][0]), rel=1e-15)


def test_torch_gradient_matches_brute_force():
    torch = pytest.importorskip("torch")
    space = depth_space()
    rng = np.random.default_rng(1)
    logits = [torch.tensor(rng.normal(size=int(c)), requires_grad=True)
              for c in space.cardinalities]
    probs = [torch.softmax(x, 0) for x in logits]
    e = space.expected_cost(probs)
    e["flops"].backward()
    # brute force in torch: sum over raw arrays of prod(probs) * flops
    g = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    flops = torch.tensor(space.score_arrays(g)["flops"], dtype=torch.float64)
    logits2 = [x.detach().clone().requires_grad_(True) for x in logits]
    p = torch.ones(space.size, dtype=torch.float64)
    for j, x in enumerate(logits2):
        p = p * torch.softmax(x, 0)[torch.as_tensor(g[:, j].astype(np.int64))]
    ref = (p * flops).sum()
    ref.backward()
    assert e["flops"].item() == pytest.approx(ref.item(), rel=1e-12)
    for a, b in zip(logits, logits2, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-6)


def test_bad_probs_are_rejected():
    space = depth_space()
    good = [np.full(int(c), 1 / int(c)) for c in space.cardinalities]
    with pytest.raises(ValueError, match="one probability vector per gene"):
        space.expected_cost(good[:-1])
    bad = list(good)
    bad[0] = np.array([0.7, 0.7])
    with pytest.raises(ValueError, match="sum to 1"):
        space.expected_cost(bad)
    bad[0] = np.array([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="choices"):
        space.expected_cost(bad)
