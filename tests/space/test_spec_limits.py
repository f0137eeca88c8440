"""Issue 14: every spec integer is bounded at validation (no int64 wrap, no OverflowError at
the first score), every bad space file is a SpaceError, one bad gene is reported once."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nascost
from nascost import Space, SpaceError
from nascost.reference import count

MAX_VALUE = 2**31 - 1  # nascost.space.spec.MAX_VALUE (docs/space-format.md, "Limits")
MAX_DEPTH = 64  # nascost.space.spec.MAX_DEPTH


def test_documented_bounds():
    from nascost.space import spec

    assert (spec.MAX_VALUE, spec.MAX_DEPTH) == (MAX_VALUE, MAX_DEPTH)


def _conv_spec(**conv) -> dict:
    layer = {"op": "conv2d", "name": "conv", "out_channels": 8, "kernel": 3, **conv}
    return {"name": "one", "input": {"channels": 3, "height": 32, "width": 32}, "genes": [],
            "layers": [layer]}


def _both(space: Space, genes=None, batch: int = 1) -> list[dict]:
    """The interpreter's, the table engine's and the reference's counts of one candidate."""
    g = np.zeros((1, space.n_genes), np.uint8) if genes is None else np.array([genes], np.uint8)
    out = [count(space, g[0], batch=batch)]
    for engine in ("interpreter", "auto"):
        got = space.score_arrays(g, batch=batch, engine=engine)
        out.append({k: int(v[0]) for k, v in got.items()})
    return out


@pytest.mark.parametrize("field", ["padding", "dilation", "kernel", "stride",
                                   "out_channels"])
@pytest.mark.parametrize("value", [2**31, 2**62, 2**63 - 8, 2**63 - 1, 2**63, 2**64])
def test_field_past_the_bound_is_rejected(field, value):
    # before: 2**63 - 1 padding scored status 0 with an 8x30x30 output (int64 wrap), 2**63
    # raised OverflowError in the compiler
    with pytest.raises(SpaceError, match=rf"layers\[0\] \(conv\)\.{field}: must be <= "):
        Space.from_spec(_conv_spec(**{field: value}))


@pytest.mark.parametrize("field", ["padding", "dilation", "kernel", "stride",
                                   "out_channels"])
def test_field_at_the_bound_scores_like_the_reference(field):
    space = Space.from_spec(_conv_spec(**{field: MAX_VALUE}))
    ref, *kernels = _both(space)
    assert all(k == ref for k in kernels)
    # 2**31 - 1 padding: an 8 x 2**32 x 2**32 output passes 2**62; a 2**31 - 1 kernel (or
    # dilation) collapses the 32x32 input
    expected = {"padding": 7, "dilation": 5, "kernel": 5, "stride": 0, "out_channels": 0}
    assert ref["status"] == expected[field]


def test_gene_values_times_min_divisor_input_are_bounded():
    big = 2**63
    spec = _conv_spec()
    spec["genes"] = [{"name": "w", "choices": [8, 2**31]}, {"name": "r", "choices": [1, 2]}]
    spec["layers"][0]["out_channels"] = {"gene": "w"}
    spec["layers"].append({"op": "conv2d", "name": "c2", "kernel": 1, "out_channels": {
        "channels_of": "conv", "times": big, "min": big, "divisor": big}})
    spec["layers"].append({"op": "conv2d", "name": "c3", "kernel": 1, "out_channels": {
        "channels_of": "conv", "times": {"gene": "r", "values": [1, f"1/{big}"]}}})
    spec["input"]["height"] = big
    with pytest.raises(SpaceError) as e:
        Space.from_spec(spec)
    text = str(e.value)
    assert "layers[0] (conv).out_channels: gene 'w' choice" in text
    assert "layers[1] (c2).out_channels: 'times'" in text
    assert "layers[2] (c3).out_channels: ratio" in text
    assert "input.height: must be <= 2147483647" in text


def test_min_and_divisor_past_the_bound():
    spec = _conv_spec()
    spec["layers"].append({"op": "conv2d", "name": "c2", "kernel": 1, "out_channels": {
        "channels_of": "conv", "min": 2**63}})
    with pytest.raises(SpaceError, match=r"c2\)\.out_channels: 'min' must be an integer from 0"):
        Space.from_spec(spec)


def test_integer_gene_choices_must_fit_64_bits():
    spec = _conv_spec()
    spec["genes"] = [{"name": "g", "choices": [1, 2**64]}]
    with pytest.raises(SpaceError, match=r"genes\[0\] \(g\): integer choices must fit"):
        Space.from_spec(spec)


def test_overflow_before_a_later_failure_is_overflow_in_both_engines():
    # the first conv's output (2**31 - 1 channels of (32 + 2**21)^2) passes 2**62; the next
    # layer's groups do not divide. The kernels stop at the first layer (overflow); the
    # reference used to report the later failure (groups, status 3)
    spec = _conv_spec(kernel=1, padding=2**20, out_channels=MAX_VALUE)
    spec["layers"].append({"op": "conv2d", "name": "c2", "kernel": 1, "out_channels": 3,
                           "groups": 2})
    ref, *kernels = _both(Space.from_spec(spec))
    assert ref["status"] == 7
    assert all(k == ref for k in kernels)


def test_channels_of_past_the_bound_is_a_bad_field_in_both_engines():
    # (2**31 - 1) channels times 2**31 - 1 passes the field bound: status 2 (bad field), the
    # same in the kernels and the reference (they share the formula)
    spec = _conv_spec(kernel=1, out_channels=MAX_VALUE)
    spec["layers"].append({"op": "conv2d", "name": "c2", "kernel": 1, "out_channels": {
        "channels_of": "conv", "times": MAX_VALUE}})
    ref, *kernels = _both(Space.from_spec(spec))
    assert ref["status"] == 2
    assert all(k == ref for k in kernels)


@pytest.mark.parametrize("batch", [1, 2**40])
def test_large_valid_values_agree_with_the_reference(batch):
    # counts near 2**62: a wide linear head and a large input
    spec = {"name": "big", "input": {"channels": 3, "height": 2**15, "width": 2**15},
            "genes": [{"name": "w", "choices": [16, 2**20, MAX_VALUE]}],
            "layers": [
                {"op": "conv2d", "name": "c", "out_channels": {"gene": "w"}, "kernel": 1},
                {"op": "global_avgpool", "name": "p"}, {"op": "flatten", "name": "f"},
                {"op": "linear", "name": "fc", "out_features": MAX_VALUE}]}
    space = Space.from_spec(spec)
    for j in range(3):
        ref, *kernels = _both(space, [j], batch)
        assert all(k == ref for k in kernels), (j, ref, kernels)


def test_deep_nesting_is_a_space_error():
    # 500 nested blocks raised RecursionError
    spec = {"name": "deep", "input": {"channels": 3, "height": 8, "width": 8}, "genes": []}

    def nested(n: int) -> str:
        return (json.dumps(spec)[:-1] + ', "layers": '
                + "".join(f'[{{"block": "b{i}", "layers": ' for i in range(n))
                + '[{"op": "relu", "name": "r"}]' + "}]" * n + "}")

    with pytest.raises(SpaceError, match=f"nest more than {MAX_DEPTH} levels"):
        Space.from_json(nested(200))
    with pytest.raises(SpaceError, match="nest"):  # the parser or the checker says so
        Space.from_json(nested(500))
    with pytest.raises(SpaceError, match="nested too deeply"):
        Space.from_json("[" * 100_000 + "]" * 100_000)


def test_nesting_at_the_bound_loads():
    layers: list = [{"op": "relu", "name": "r"}]
    for i in range(MAX_DEPTH):
        layers = [{"block": f"b{i}", "layers": layers}]
    space = Space.from_spec({"name": "deep", "input": {"channels": 3, "height": 8, "width": 8},
                             "genes": [], "layers": layers})
    ref, *kernels = _both(space)
    assert all(k == ref for k in kernels)


def test_bad_files_are_space_errors_naming_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"name": "x\xff\xfe"}')
    with pytest.raises(SpaceError, match=r"bad\.json: not UTF-8 text"):
        nascost.load_space(bad)
    with pytest.raises(SpaceError, match=r"space file not found: .*missing\.json"):
        nascost.load_space(tmp_path / "missing.json")
    with pytest.raises(SpaceError, match="cannot read"):
        Space.from_file(tmp_path)
    huge = tmp_path / "huge.json"
    huge.write_text('{"name": ' + "1" * 5000 + "}")
    with pytest.raises(SpaceError, match="not valid JSON"):
        nascost.load_space(huge)
    nan = tmp_path / "nan.json"
    spec = {"name": "n", "input": {"channels": 3, "height": 8, "width": 8},
            "genes": [{"name": "g", "choices": [1, 2]}],
            "layers": [{"block": "b", "when": {"gene": "g", "ge": float("nan")},
                        "layers": [{"op": "relu", "name": "r"}]}]}
    nan.write_text(json.dumps(spec))
    with pytest.raises(SpaceError, match="finite"):
        nascost.load_space(nan)


def test_one_bad_gene_is_reported_once():
    spec = _conv_spec()
    spec["genes"] = [{"name": "width", "choices": [8, 16.5, True]}]
    spec["layers"] = [{"op": "conv2d", "name": f"c{i}", "kernel": 1,
                       "out_channels": {"gene": "width"}} for i in range(5)]
    spec["layers"].append({"block": "b", "when": {"gene": "width", "eq": 8},
                           "layers": [{"op": "relu", "name": "r"}]})
    with pytest.raises(SpaceError) as e:
        Space.from_spec(spec)
    assert len(e.value.problems) == 1, e.value.problems
    assert e.value.problems[0].startswith("genes[0] (width): choices must be")
    # an undefined gene is still reported where it is used
    spec["genes"] = []
    with pytest.raises(SpaceError, match="refers to gene 'width', which is not defined"):
        Space.from_spec(spec)
