"""explain(): a candidate's cost terms under several conventions, and `nascost explain`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nascost
from nascost.analytics.explain import explain
from nascost.cli.main import main
from nascost.reference import resolve
from nascost.rules.conventions import PRESETS


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", nascost.list_spaces())
def test_totals_equal_score_on_every_space(name):
    space = nascost.load_space(name)
    row = space.sample(1, seed=4)[0] if space.n_genes else np.zeros(0, np.uint8)
    e = explain(space, row, list(PRESETS), batch=2)
    got = {p: space.score_arrays(row[None], convention=p, batch=2, engine="interpreter")
           for p in PRESETS}
    assert e.status == int(got["seed"]["status"][0])
    for p in PRESETS:
        assert e.totals[p] == int(got[p]["flops"][0]), p
    assert e.macs == int(got["seed"]["macs"][0]) and e.params == int(got["seed"]["params"][0])


def test_quantities_are_the_reference_terms():
    space = nascost.load_space("nb201-cifar10")
    row = [0, 1, 2, 3, 4, 0]
    e = explain(space, row, ["seed", "ptflops"], batch=3)
    want: dict[tuple[str, str], int] = {}
    for layer in resolve(space, row).layers:
        for term, q in layer.terms.items():
            want[(layer.op, term)] = want.get((layer.op, term), 0) + 3 * q
    assert {(r.op, r.term): r.quantity for r in e.rows} == want
    for r in e.rows:
        assert r.flops == {n: r.weights[n] * r.quantity for n in ("seed", "ptflops")}


def test_differences_add_up_and_name_the_causes():
    space = nascost.load_space("mobilenet_v2")
    e = explain(space, [], ["thop", "macs"])
    diffs = e.differences("thop", "macs")
    assert sum(d for _, d in diffs) == e.totals["thop"] - e.totals["macs"]
    # thop charges BatchNorm 2 + 2 (affine) per element and the global pool; macs neither
    assert [(r.op, r.term) for r, _ in diffs] == [
        ("batchnorm2d", "batchnorm"), ("batchnorm2d", "batchnorm_affine"),
        ("global_avgpool", "global_pool_in"), ("global_avgpool", "global_pool_out")]
    assert e.op_totals()["conv2d"] == {"thop": 299_494_272, "macs": 299_494_272}
    with pytest.raises(KeyError, match="not in this explanation"):
        e.differences("thop", "torch")


def test_custom_and_repeated_conventions():
    space = nascost.load_space("resnet18")
    e = explain(space, [], ["thop", {"name": "thop", "base": "thop", "relu": 1}])
    assert e.names == ("thop", "thop#2")
    relu = next(r for r in e.rows if r.term == "relu")
    assert relu.differs and relu.flops["thop"] == 0 and relu.flops["thop#2"] == relu.quantity
    d = e.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["conventions"][1]["weights"]["relu"] == 1


def test_invalid_candidate_and_bad_input():
    from nascost.space.builder import SpaceBuilder

    b = SpaceBuilder("bad")
    k = b.gene("k", [3, 9])
    b.input(3, 4, 4)
    b.conv2d("conv", 8, k)
    space = b.build()
    e = explain(space, [1], ["seed"])
    assert e.status == 5 and e.failed_layer == "conv" and e.rows == ()
    assert explain(space, [0], ["seed"]).status == 0
    with pytest.raises(ValueError, match="at least one convention"):
        explain(space, [0], [])
    with pytest.raises(ValueError, match="one candidate"):
        explain(space, [[0], [1]], ["seed"])


def test_cli_explain(capsys):
    code, out, err = run(capsys, "explain", "mobilenet_v2", "--conventions", "macs,thop,torch")
    assert code == 0, err
    assert "totals: macs 300,774,272, thop 327,550,720, torch 601,548,544" in out
    assert "thop - macs = +26.78M (+8.9%): batchnorm2d.batchnorm +13.36M" in out
    assert "torch - macs = +300.8M (+100.0%): conv2d.conv_mac +299.5M, linear.linear_mac" in out
    header = next(line for line in out.splitlines() if line.startswith("op class"))
    assert header.split() == ["op", "class", "term", "layers", "quantity", "macs", "thop",
                              "torch"]


@pytest.mark.parametrize("name", ["nb201-cifar10", "resnet-style", "mbv2-style"])
def test_cli_explain_any_space_default_conventions(capsys, name):
    genes = ",".join(str(g) for g in nascost.load_space(name).sample(1, seed=5)[0])
    code, out, err = run(capsys, "explain", name, "--genes", genes)
    assert code == 0, err
    assert "totals: seed " in out and "ptflops" in out


def test_cli_explain_json_and_errors(capsys, tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"conv_mac": 3}))
    code, out, _ = run(capsys, "explain", "resnet18", "--conventions", f"seed,{path}", "--json")
    assert code == 0
    d = json.loads(out)
    assert [c["name"] for c in d["conventions"]] == ["seed", "mine"]
    assert d["totals"]["mine"] == 3 * d["macs"] - 3 * 512_000  # fc MACs weigh 0 in 'mine'
    code, _, err = run(capsys, "explain", "resnet18", "--conventions", "nope")
    assert code == 2 and "unknown convention 'nope'" in err
    code, _, err = run(capsys, "explain", "resnet18", "--conventions", ",")
    assert code == 2 and "at least one convention" in err
