"""Issue 14: the Python API range-checks ``batch`` as the CLI does (1 to 2**40, same words):
score(batch=2**63) raised OverflowError; layers(batch=10**15) raised where score gave
status 7."""

from __future__ import annotations

import numpy as np
import pytest

import nascost
from nascost.io.options import scan_options


@pytest.fixture(scope="module")
def space():
    return nascost.load_space("resnet-style")


@pytest.mark.parametrize("batch, words", [
    (2**63, "must be <= 1099511627776"), (10**15, "must be <= 1099511627776"),
    (2**40 + 1, "must be <= 1099511627776"), (0, "must be >= 1"), (-3, "must be >= 1"),
    (1.5, "expected an integer"), (True, "expected an integer"), ("8", "expected an integer"),
])
def test_every_entry_point_checks_batch(space, batch, words):
    g = space.sample(3, seed=0)
    for call in (lambda: space.score(g, batch=batch), lambda: space.score_arrays(g, batch=batch),
                 lambda: space.layers(g[0], batch=batch), lambda: space.scorer(batch=batch)):
        with pytest.raises(ValueError, match=f"^batch: {words}"):
            call()


def test_same_words_as_the_cli_option(space):
    with pytest.raises(ValueError) as api:
        space.score(space.sample(1), batch=2**41)
    with pytest.raises(ValueError) as cli:
        scan_options(space, sample=1, batch=2**41, style="cli")
    assert str(cli.value) == "--" + str(api.value)


def test_largest_batch_scores_and_layers_agree(space):
    g = space.sample(4, seed=1)
    got = space.score_arrays(g, batch=2**40)
    assert set(got["status"].tolist()) == {7}  # every count times 2**40 passes 2**62
    table = space.layers(g[0], batch=2**40)
    assert table.num_rows > 0
    assert 7 in table.column("status").to_pylist()  # the rows past int64: overflow, 0
    ok = space.layers(g[0], batch=1)
    assert set(ok.column("status").to_pylist()) == {0}
    assert sum(ok.column("macs").to_pylist()) == int(space.score_arrays(g[:1])["macs"][0])
    assert np.all(space.score_arrays(g, batch=1)["status"] == 0)
