"""space.scorer: the NAS-loop entry point gives the same numbers as score, fills `out` in
place, and still names the row and gene of a bad index."""

from __future__ import annotations

import numpy as np
import pytest

import nascost
from nascost.kernels.api import empty_outputs


@pytest.mark.parametrize("name", ["mbv2-style", "nb201-cifar10"])
def test_scorer_equals_score(name):
    space = nascost.load_space(name)
    f = space.scorer(convention="macs", batch=2)
    for n in (1, 100, 5000):  # serial and parallel kernels
        genes = space.sample(n, seed=n)
        got = f(genes)
        ref = space.score_arrays(genes, convention="macs", batch=2, engine="interpreter")
        for k in ref:
            np.testing.assert_array_equal(got[k], ref[k])


def test_scorer_fills_out_in_place_and_checks_input():
    space = nascost.load_space("mbv2-style")
    f = space.scorer()
    genes = space.sample(100, seed=3)
    out = empty_outputs(100)
    arrays = {k: v for k, v in out.items()}
    res = f(genes, out)
    assert all(res[k] is arrays[k] for k in arrays)
    assert np.array_equal(out["flops"], space.score_arrays(genes)["flops"])
    bad = genes.copy()
    bad[7, 2] = 9
    with pytest.raises(ValueError, match=r"row 7, gene 's1_depth'"):
        f(bad)
    with pytest.raises(ValueError, match=r"out\['params'\] must be .* of 10 rows"):
        f(genes[:10], out)
    # other integer dtypes and lists are accepted (and checked)
    assert np.array_equal(f(genes.astype(np.int64))["flops"], out["flops"])
