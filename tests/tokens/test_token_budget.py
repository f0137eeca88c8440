"""Budget analytics on a token space (bounds, count, sample_within) against brute-force
enumeration of every candidate: a ViT chain of 104,976 gene arrays."""

from __future__ import annotations

import numpy as np
from token_spaces import vit_chain  # tests/tokens is on sys.path

from nascost.budget import bounds, count, sample_within

METRICS = ("params", "macs", "flops", "activations")


def _brute(space, convention):
    g = space.ids_to_genes(np.arange(space.size, dtype=np.uint64))
    out = space.score_arrays(g, convention=convention)
    ok = out["status"] == 0
    can, idx = np.unique(space.canonical(g[ok]), axis=0, return_index=True)
    sel = np.flatnonzero(ok)[idx]
    return can, {m: out[m][sel] for m in METRICS}


def test_bounds_count_and_sampling_equal_enumeration():
    space = vit_chain(depth=3, resolution=(32, 48))
    for convention in ("macs", "thop"):
        can, cost = _brute(space, convention)
        b = bounds(space, convention)
        for m in METRICS:
            assert (b[m]["min"], b[m]["max"]) == (cost[m].min(), cost[m].max()), m
        cap_p = int(np.median(cost["params"]))
        cap_f = int(np.percentile(cost["flops"], 70))
        want = int(((cost["params"] <= cap_p) & (cost["flops"] <= cap_f)).sum())
        c = count(space, convention=convention, max_params=cap_p, max_flops=cap_f)
        assert c.exact and c.low == c.high == want
    genes = sample_within(space, 200, seed=1, convention="macs", max_params=cap_p)
    out = space.score_arrays(genes, convention="macs")
    assert (out["status"] == 0).all() and (out["params"] <= cap_p).all()
    assert (space.canonical(genes) == genes).all()
