"""Conventions as data: presets, custom tables, the full table in to_dict, the docs table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nascost
from nascost.rules import conventions as C
from nascost.rules import ops
from nascost.space.builder import SpaceBuilder

DOCS = Path(__file__).resolve().parents[2] / "docs" / "conventions.md"
PRESET_NAMES = ["seed", "macs", "torch", "thop", "fvcore", "ptflops", "ptflops_aten", "nb201",
                "ofa"]


def test_the_presets():
    assert list(C.PRESETS) == PRESET_NAMES
    for name in PRESET_NAMES:
        c = C.resolve(name)
        assert c.name == name and c.description == C.DESCRIPTIONS[name]
        assert name in C.SOURCES
        assert all(isinstance(w, int) and w >= 0 for w in c.weights.values())
    # aliases of the same rules under the names people know them by
    # (their hooks see Conv2d and Linear modules: attention's projections, not its matmuls)
    modules = ("conv_mac", "conv_bias", "linear_mac", "linear_bias", "attn_linear_mac",
               "attn_linear_bias")
    aten = C.PRESETS["ptflops_aten"]
    assert C.PRESETS["nb201"] == {t: aten[t] for t in modules if t in aten}
    assert C.PRESETS["ofa"] == {t: C.PRESETS["macs"][t] for t in modules
                                if t in C.PRESETS["macs"]}
    assert C.PRESETS["torch"] == {t: 2 * w for t, w in C.PRESETS["macs"].items()}


def test_every_term_is_emitted_by_one_op():
    emitted = [t for code in range(ops.N_OPCODES) for t in C.op_terms(code) if t is not None]
    assert set(emitted) == set(C.TERM_NAMES)  # none orphaned
    # a term is emitted by one op, or by ops that compute the same thing (BatchNorm over
    # maps and tokens; full and window attention)
    shared = {t for t in emitted if emitted.count(t) > 1}
    assert shared == {"batchnorm", "batchnorm_affine", *C._ATTN_TERMS}
    assert C.term_op("batchnorm_affine") == "batchnorm2d"
    assert C.term_op("maxpool_in") == "maxpool2d"
    with pytest.raises(KeyError, match="unknown term"):
        C.term_op("nope")


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_to_dict_carries_the_full_table_and_round_trips(name, tmp_path):
    c = C.resolve(name)
    d = c.to_dict()
    assert set(d) == {"name", "description", "weights"}
    assert list(d["weights"]) == list(C.TERM_NAMES)  # every term, zeros included
    assert json.loads(json.dumps(d)) == d
    assert C.resolve(d) == c
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(d))
    assert C.resolve(str(path)) == c
    assert C.resolve(path).op_weights.tolist() == c.op_weights.tolist()


def test_custom_tables():
    flat = C.resolve({"conv_mac": 2, "relu": 1})
    assert flat.name == "custom" and flat.weights["conv_mac"] == 2 and flat.weights["mul"] == 0
    based = C.resolve({"name": "thop+relu", "base": "thop", "weights": {"relu": 1}})
    assert based.weights == {**C.resolve("thop").weights, "relu": 1}
    assert "thop" in based.description
    assert C.resolve(based) is based


def test_custom_table_from_a_file_is_named_after_it(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"conv_mac": 1, "batchnorm": 3}))
    c = C.resolve(str(path))
    assert c.name == "mine" and c.weights["batchnorm"] == 3


@pytest.mark.parametrize("bad, match", [
    ({"conv_mac": -1}, "non-negative integer"),
    ({"conv_mac": 1.5}, "non-negative integer"),
    ({"conv_mac": True}, "non-negative integer"),
    ({"maxpool_window": 1}, "unknown terms"),
    ({"base": "nope"}, "unknown convention"),
    ({"weights": {"conv_mac": 1}, "relu": 1}, "unexpected keys"),
    ({"weights": [1, 2]}, "must be an object"),
])
def test_bad_tables_are_rejected(bad, match):
    with pytest.raises((ValueError, KeyError), match=match):
        C.resolve(bad)


def test_bad_names_and_files(tmp_path):
    with pytest.raises(ValueError, match="unknown convention 'nope'"):
        C.resolve("nope")
    path = tmp_path / "broken.json"
    path.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        C.resolve(str(path))
    path.write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        C.resolve(str(path))


def test_docs_hold_the_generated_table():
    text = DOCS.read_text()
    assert C.markdown_table() in text
    for name in PRESET_NAMES:
        assert f"| `{name}` |" in text  # each preset has its row of notes


def tiny_space():
    b = SpaceBuilder("tiny")
    b.input(3, 8, 8)
    b.conv2d("conv", 4, 3, padding=1, bias=True)  # 4x8x8: MACs 3*3*3*4*64 = 6,912
    b.batchnorm2d("bn", affine=False)  # 256 elements, no affine
    b.op("relu", "act")  # 256
    b.maxpool2d("pool", 2)  # 4x4x4 = 64 out, 256 in
    b.op("global_avgpool", "gap")  # 4 out, 64 in
    b.op("flatten", "flat")
    b.linear("fc", 10)  # 40 MACs, 10 bias
    return b.build()


@pytest.mark.parametrize("name, flops", [
    # conv 2*6,912 + BN 4*256 + relu 256 + pool 64 + gap 4 + fc 2*40
    ("seed", 13_824 + 1_024 + 256 + 64 + 4 + 80),
    ("macs", 6_912 + 40),
    ("torch", 2 * (6_912 + 40)),
    # conv 6,912 + BN 2*256 (no affine) + gap 64 + 4 + fc 40
    ("thop", 6_912 + 512 + 68 + 40),
    # conv 6,912 + BN 256 + gap 64 + fc 40
    ("fvcore", 6_912 + 256 + 64 + 40),
    # conv 6,912 + bias 256 + BN 256 + relu 2*256 + pool 2*256 + gap 2*64 + fc 40 + 10
    ("ptflops", 6_912 + 256 + 256 + 512 + 512 + 128 + 50),
    ("ptflops_aten", 6_912 + 256 + 50),
    ("nb201", 6_912 + 256 + 50),
    ("ofa", 6_912 + 40),
])
def test_golden_values(name, flops):
    space = tiny_space()
    got = space.score_arrays(np.zeros((1, 0), np.uint8), convention=name, batch=3)
    assert int(got["flops"][0]) == 3 * flops
    assert int(got["macs"][0]) == 3 * (6_912 + 40)


def test_seed_worked_example():
    # ../shared/RULES.md: Conv2d(3, 16, 3, padding=1) on 1x3x32x32: 448 params, 884,736 FLOPs
    b = SpaceBuilder("rules")
    b.input(3, 32, 32)
    b.conv2d("conv", 16, 3, padding=1)
    got = b.build().score_arrays(np.zeros((1, 0), np.uint8))
    assert (int(got["params"][0]), int(got["flops"][0])) == (448, 884_736)


# NAS-Bench-201 publishes FLOPs 7.78305 .. 220.11969 M over its CIFAR-10 networks (see
# tests/spaces/test_builtin_spaces.py for where): the 'nb201' preset gives exactly these.
def test_nb201_preset_gives_the_published_range():
    s = nascost.load_space("nb201-cifar10")
    big = s.score_arrays(s.named("all_nor_conv_3x3")[None], "nb201")["flops"][0]
    small = s.score_arrays(s.named("all_skip_connect")[None], "nb201")["flops"][0]
    assert round(int(big) / 1e6, 5) == 220.11969
    assert round(int(small) / 1e6, 5) == 7.78305


def test_ofa_and_macs_agree_with_the_macs_column():
    s = nascost.load_space("mbv2-style")
    rows = s.sample(50, seed=2)
    for name in ("macs", "ofa"):
        got = s.score_arrays(rows, name)
        np.testing.assert_array_equal(got["flops"], got["macs"])
