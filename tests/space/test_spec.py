"""Space specs: validation lists every problem with its path; JSON round trips; stable hash."""

from __future__ import annotations

import json

import pytest

import nascost
from nascost import Space, SpaceBuilder, SpaceError


def _tiny() -> SpaceBuilder:
    b = SpaceBuilder("tiny")
    r = b.gene("resolution", [16, 32])
    k = b.gene("kernel", [3, 5])
    d = b.gene("depth", [1, 2])
    b.input(channels=3, height=r, width=r)
    b.conv2d("stem", out_channels=8, kernel=k, padding=k.map(lambda v: v // 2), bias=False)
    with b.block("extra", when=d >= 2) as blk:
        b.conv2d("extra.conv", out_channels=8, kernel=3, padding=1)
        b.op("add", "extra.add", [blk.input, "extra.conv"])
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b


def test_json_round_trip_keeps_hash():
    space = _tiny().build()
    again = Space.from_json(space.to_json())
    assert again.hash == space.hash
    assert again.to_json() == space.to_json()
    # layout (indent) does not change the canonical form
    assert Space.from_json(space.to_json(indent=2)).hash == space.hash


def test_hash_ignores_defaults_written_out():
    spec = _tiny().to_spec()
    explicit = json.loads(json.dumps(spec))
    explicit["layers"][0]["dilation"] = 1  # the default, written explicitly
    explicit["layers"][0]["groups"] = 1
    assert Space.from_spec(explicit).hash == Space.from_spec(spec).hash


def test_hash_changes_with_content():
    spec = _tiny().to_spec()
    other = json.loads(json.dumps(spec))
    other["layers"][0]["out_channels"] = 16
    assert Space.from_spec(other).hash != Space.from_spec(spec).hash


def test_every_problem_is_listed_with_its_path():
    spec = _tiny().to_spec()
    spec["layers"][0]["kernel"] = {"gene": "nope"}
    spec["layers"][1]["layers"][0]["stride"] = 0
    spec["layers"].insert(2, {"op": "softmax2d", "name": "mystery"})
    spec["layers"][-1]["out_features"] = -3
    with pytest.raises(SpaceError) as err:
        Space.from_spec(spec)
    problems = err.value.problems
    assert len(problems) == 4, problems
    text = str(err.value)
    assert "layers[0] (stem).kernel: refers to gene 'nope'" in text
    assert "layers[1] (extra).layers[0] (extra.conv).stride: must be >= 1. Got 0" in text
    assert "unknown op 'softmax2d'" in text  # never a silent zero
    assert "(fc).out_features: must be >= 1. Got -3" in text


def test_scope_of_block_values():
    spec = _tiny().to_spec()
    spec["layers"][2]["in"] = "extra.conv"  # a value local to the block
    with pytest.raises(SpaceError, match="not a value defined before this layer in its scope"):
        Space.from_spec(spec)


def test_bad_json_and_unknown_space():
    with pytest.raises(SpaceError, match="not valid JSON"):
        Space.from_json("{nope")
    with pytest.raises(KeyError, match="unknown space 'no-such-space'"):
        nascost.load_space("no-such-space")


def test_load_space_from_path(tmp_path):
    space = _tiny().build()
    path = tmp_path / "tiny.json"
    path.write_text(space.to_json(indent=1))
    assert nascost.load_space(path).hash == space.hash


def test_choice_needs_one_option_per_choice():
    b = SpaceBuilder("c")
    g = b.gene("op", ["a", "b", "c"])
    b.input(3, 8, 8)
    with b.choice("edge", g) as ch:
        with ch.option():
            b.op("relu", "r")
        with ch.option():
            b.op("identity", "i")
    with pytest.raises(SpaceError, match="must be a list of 3 layer lists"):
        b.build()


def test_duplicate_names_and_genes():
    spec = _tiny().to_spec()
    spec["genes"].append({"name": "kernel", "choices": [1]})
    spec["layers"][-1]["name"] = "stem"
    with pytest.raises(SpaceError) as err:
        Space.from_spec(spec)
    assert any("gene name 'kernel' is used twice" in p for p in err.value.problems)
    assert any("the name 'stem' is used twice" in p for p in err.value.problems)
