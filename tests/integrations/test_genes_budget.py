"""The framework-free core of the adapters: genes <-> decision values, budget margins."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from tiny_spaces import grouped_space  # tests/integrations is on sys.path

import nascost
from nascost.integrations.budget import BudgetCheck
from nascost.integrations.genes import options, row_from_values, values_from_row


@pytest.mark.parametrize("name", ["mbv2-style", "nb201-cifar10", "ofa-mbv3-w1.0"])
def test_values_round_trip(name):
    space = nascost.load_space(name)
    genes = space.sample(200, seed=1)
    for row in genes:
        values = values_from_row(space, row)
        # the values are the spec's choices, named by the genes
        assert values == space.genes_to_values(row)
        assert np.array_equal(row_from_values(space, values), row)
    assert list(options(space)) == space.gene_names


def test_values_keep_types_apart():
    b = nascost.SpaceBuilder("types")
    g = b.gene("x", [1, 1.0, "1"])
    b.input(channels=3, height=8, width=8)
    b.conv2d("c", out_channels=g.map(lambda v: 4), kernel=1)
    space = b.build()
    assert [int(row_from_values(space, {"x": v})[0]) for v in (1, 1.0, "1")] == [0, 1, 2]


def test_values_errors_name_the_gene():
    space = grouped_space()
    good = values_from_row(space, np.zeros(space.n_genes, np.uint8))
    with pytest.raises(KeyError, match="'width'"):
        row_from_values(space, {k: v for k, v in good.items() if k != "width"})
    with pytest.raises(ValueError, match="7 is not one of the choices of gene 'width'"):
        row_from_values(space, {**good, "width": 7})
    # renamed decisions
    labels = {"width": "mix/out"}
    renamed = {("mix/out" if k == "width" else k): v for k, v in good.items()}
    assert np.array_equal(row_from_values(space, renamed, labels), np.zeros(4, np.uint8))


def test_margins_are_score_margins():
    space = nascost.load_space("mbv2-style")
    genes = space.sample(500, seed=2)
    t = space.score(genes)
    flops = t.column("flops").to_numpy().astype(np.float64)
    params = t.column("params").to_numpy().astype(np.float64)
    check = BudgetCheck(space, max_flops="300M", min_params="3M")
    assert check.names == ["params >= 3M", "flops <= 300M", "valid"]
    m = check.margins(genes)
    assert np.array_equal(m[:, 0], 3_000_000 - params)
    assert np.array_equal(m[:, 1], flops - 300_000_000)
    assert np.array_equal(m[:, 2], np.zeros(500))
    rel = BudgetCheck(space, max_flops="300M", min_params="3M", relative=True).margins(genes)
    assert np.allclose(rel[:, 1], flops / 300e6 - 1)
    feasible = (flops <= 300e6) & (params >= 3e6)
    assert np.array_equal(check.feasible(genes), feasible)
    assert 0 < feasible.sum() < 500


def test_invalid_candidates_are_flagged():
    space = grouped_space()
    genes = np.array([[0, 1, 1, 0], [0, 0, 1, 0]], np.uint8)  # width 6, groups 4: invalid
    st = space.score(genes).column("status").to_numpy()
    assert st.tolist()[0] != 0 and st.tolist()[1] == 0
    check = BudgetCheck(space, max_flops=10**9)
    m = check.margins(genes)
    assert m[0, -1] == 1.0 and m[1, -1] == 0.0
    assert check.feasible(genes).tolist() == [False, True]
    assert check.costs(genes[0], ("flops", "params")) == (float("inf"), float("inf"))


def test_bad_budget_is_an_error():
    space = grouped_space()
    with pytest.raises(TypeError, match="max_flop"):
        BudgetCheck(space, max_flop=3)
    with pytest.raises(ValueError, match="min_flops"):
        BudgetCheck(space, max_flops=3, min_flops=5)


def test_import_costs_nothing_and_missing_framework_says_what_to_install():
    code = ("import sys, nascost, nascost.integrations; "
            "s = nascost.load_space('nb201-cifar10'); s.score(s.sample(3)); "
            "print(sorted(m for m in ('optuna', 'syne_tune', 'nni') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    code = ("import sys; sys.modules['optuna'] = None\n"
            "import nascost\nfrom nascost.integrations.optuna import constraints\n"
            "try:\n    constraints(nascost.load_space('nb201-cifar10'), max_flops=1)\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "pip install 'nascost[optuna]'" in out
