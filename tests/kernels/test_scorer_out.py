"""Issue 14: scorer(genes, out=...) checks every out array (presence, dtype, length,
contiguity, writability) before a kernel writes there: a short array corrupted the heap, an
int32 one wrapped silently, a float64 one was accepted, a missing key raised a bare KeyError."""

from __future__ import annotations

import numpy as np
import pytest

import nascost
from nascost.kernels.api import empty_outputs

N = 200


@pytest.fixture(scope="module", params=["nb201-cifar10", "resnet-style"])
def scorer_and_genes(request):
    space = nascost.load_space(request.param)
    return space, space.scorer(), space.sample(N, seed=1)


def _bad_outs():
    def with_(key, arr):
        out = empty_outputs(N)
        out[key] = arr
        return out

    missing = empty_outputs(N)
    del missing["activations"]
    readonly = empty_outputs(N)
    readonly["macs"].setflags(write=False)
    return [
        ("short flops", with_("flops", np.empty(N // 2, np.int64)), r"'flops'.*Got shape"),
        ("empty status", with_("status", np.empty(0, np.int8)), r"'status'.*Got shape"),
        ("int32 flops", with_("flops", np.empty(N, np.int32)), r"'flops'.*Got dtype int32"),
        ("float64 macs", with_("macs", np.empty(N, np.float64)), r"'macs'.*dtype float64"),
        ("int64 status", with_("status", np.empty(N, np.int64)), r"'status'.*int8"),
        ("big-endian params", with_("params", np.empty(N, ">i8")), r"'params'.*dtype"),
        ("strided params", with_("params", np.empty(2 * N, np.int64)[::2]), "non-contiguous"),
        ("2-D acts", with_("activations", np.empty((N, 1), np.int64)), r"Got shape \(200, 1\)"),
        ("list", with_("params", [0] * N), "Got list"),
        ("read-only macs", readonly, "read-only"),
        ("missing key", missing, r"out has no 'activations'"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_outs())),
                         ids=[c[0] for c in _bad_outs()])
def test_bad_out_arrays_raise_before_any_write(scorer_and_genes, case):
    space, f, genes = scorer_and_genes
    _, out, message = _bad_outs()[case]
    before = {k: np.array(v, copy=True) for k, v in out.items()}
    with pytest.raises(ValueError, match=message):
        f(genes, out)
    for k, v in out.items():  # nothing was written
        np.testing.assert_array_equal(np.asarray(v), before[k])


def test_not_a_dict(scorer_and_genes):
    _, f, genes = scorer_and_genes
    with pytest.raises(ValueError, match="out must be a dict"):
        f(genes, list(empty_outputs(N).values()))


def test_good_out_is_filled_like_score(scorer_and_genes):
    space, f, genes = scorer_and_genes
    out = empty_outputs(N)
    res = f(genes, out)
    assert res is out
    ref = space.score_arrays(genes)
    for k in ref:
        np.testing.assert_array_equal(out[k], ref[k])
