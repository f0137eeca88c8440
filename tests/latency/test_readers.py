"""OFA LUT YAML: nascost's blocks described with OFA's keys, read from a small file written
here in OFA's format (no downloaded data)."""

from __future__ import annotations

import numpy as np
import pytest

from nascost.latency.keys import node_key
from nascost.latency.readers import ofa_key, read_ofa_yaml
from nascost.spaces import load_builtin

# OFA MobileNetV3 (w1.0) at 224 with every kernel 3, expand 3, depth 2, written from the
# architecture (stem 16 s2; stages 24 s2 relu, 40 s2 relu+SE, 80 s2 hswish, 112 s1 hswish+SE,
# 160 s2 hswish+SE; head 960, 1280, 1000): mid channels = input channels x 3
OFA_KEYS = [
    "Conv-input:224x224x3-output:112x112x16",
    "expanded_conv-input:112x112x16-output:112x112x16-expand:16-kernel:3-stride:1-idskip:1-"
    "se:0-hs:0",
    "expanded_conv-input:112x112x16-output:56x56x24-expand:48-kernel:3-stride:2-idskip:0-se:0-"
    "hs:0",
    "expanded_conv-input:56x56x24-output:56x56x24-expand:72-kernel:3-stride:1-idskip:1-se:0-hs:0",
    "expanded_conv-input:56x56x24-output:28x28x40-expand:72-kernel:3-stride:2-idskip:0-se:1-hs:0",
    "expanded_conv-input:28x28x40-output:28x28x40-expand:120-kernel:3-stride:1-idskip:1-se:1-"
    "hs:0",
    "expanded_conv-input:28x28x40-output:14x14x80-expand:120-kernel:3-stride:2-idskip:0-se:0-"
    "hs:1",
    "expanded_conv-input:14x14x80-output:14x14x80-expand:240-kernel:3-stride:1-idskip:1-se:0-"
    "hs:1",
    "expanded_conv-input:14x14x80-output:14x14x112-expand:240-kernel:3-stride:1-idskip:0-se:1-"
    "hs:1",
    "expanded_conv-input:14x14x112-output:14x14x112-expand:336-kernel:3-stride:1-idskip:1-se:1-"
    "hs:1",
    "expanded_conv-input:14x14x112-output:7x7x160-expand:336-kernel:3-stride:2-idskip:0-se:1-"
    "hs:1",
    "expanded_conv-input:7x7x160-output:7x7x160-expand:480-kernel:3-stride:1-idskip:1-se:1-hs:1",
    "Conv_1-input:7x7x160-output:7x7x960",
    "AvgPool2D-input:7x7x960-output:1x1x960",
    "Conv_2-input:1x1x960-output:1x1x1280",
    "Logits-input:1x1x1280-output:1000",
]


def _candidate(space):
    return space.encode({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 224})


def test_ofa_keys_of_a_known_candidate():
    space = load_builtin("ofa-mbv3-w1.0")
    g = _candidate(space)
    got = [ofa_key(k) for k in (node_key(space.program, g, j)
                                for j in range(len(space.program.top))) if k]
    assert [k for k in got if k is not None] == OFA_KEYS


def test_read_ofa_yaml_and_score(tmp_path):
    space = load_builtin("ofa-mbv3-w1.0")
    lines = []
    for i, k in enumerate(OFA_KEYS):  # count / mean (ms) / var, as OFA writes them
        lines.append(f"{k}:\n  count: 50\n  mean: {0.25 * (i + 1)}\n  var: 0.0001\n")
    path = tmp_path / "224_lookup_table.yaml"
    path.write_text("".join(lines))
    with pytest.raises(KeyError, match="are not in the OFA table"):
        read_ofa_yaml(space, path)
    table = read_ofa_yaml(space, path, require_all=False)
    out = space.score_arrays(_candidate(space)[None, :], latency=table)
    # 0.25 ms * (1 + 2 + ... + 16) = 34 ms
    assert int(round(out["latency_us"][0])) == 34_000
    assert table.meta["source"] == "ofa-yaml" and table.meta["approx"] is True
    assert np.all(table.repeats[table.median_ns > 0] == 50)
