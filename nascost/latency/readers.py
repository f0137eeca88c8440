"""Importing published latency tables whose keys nascost can map onto its own blocks.

OFA (once-for-all) ships one YAML file per input resolution, keyed by block descriptions
such as ``expanded_conv-input:56x56x24-output:28x28x40-expand:72-kernel:5-stride:2-idskip:0-
se:1-hs:0`` with ``count`` and ``mean`` (milliseconds). ``read_ofa_yaml`` describes every
distinct block of an OFA MobileNetV3 space the same way and looks it up.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nascost.latency.table import LatencyTable, base_meta

# block keys: op:CxHxW/R>CxHxW/R:params:macs:q0:q1 per layer (nascost.latency.keys)


def _layers(key: str) -> list[dict]:
    out = []
    for part in key.split("|"):
        op, shapes, p, m, *_ = part.split(":")
        a, b = shapes.split(">")
        ic, ih, iw = (int(x) for x in a.split("/")[0].split("x"))
        oc, oh, ow = (int(x) for x in b.split("/")[0].split("x"))
        out.append({"op": op, "in": (ic, ih, iw), "out": (oc, oh, ow), "params": int(p),
                    "macs": int(m)})
    return out


def _hwc(shape: tuple[int, int, int]) -> str:
    c, h, w = shape
    return f"{h}x{w}x{c}"


def _depthwise(layer: dict) -> int | None:
    """The kernel size of a depthwise conv2d layer, else None."""
    c = layer["in"][0]
    if layer["op"] != "conv2d" or layer["out"][0] != c or c == 1:
        return None
    for bias in (0, c):
        k2 = (layer["params"] - bias) / c
        k = int(round(math.sqrt(k2))) if k2 > 0 else 0
        if k > 1 and k * k * c + bias == layer["params"]:
            return k
    return None


def ofa_key(key: str) -> str | None:
    """The OFA LUT key of a nascost block key (MobileNetV3 blocks, stem and head), or None
    for a block OFA counts inside a neighbour (a stem's BN or activation, a flatten)."""
    layers = [x for x in _layers(key) if x["op"] != "input"]
    if not layers:
        return None
    ops = [x["op"] for x in layers]
    dw = [(x, _depthwise(x)) for x in layers if _depthwise(x)]
    if dw:
        d, k = dw[0]
        first, last = layers[0], [x for x in layers if x["op"] in ("conv2d", "batchnorm2d")][-1]
        stride = 1 if d["out"][1] == d["in"][1] else 2
        return (f"expanded_conv-input:{_hwc(first['in'])}-output:{_hwc(last['out'])}-expand:"
                f"{d['in'][0]}-kernel:{k}-stride:{stride}-idskip:{int('add' in ops)}-se:"
                f"{int('global_avgpool' in ops or 'mul' in ops)}-hs:{int('hardswish' in ops)}")
    convs = [x for x in layers if x["op"] == "conv2d"]
    if convs:
        c = convs[0]
        name = "Conv" if c["in"][0] == 3 else ("Conv_2" if c["in"][1] == 1 else "Conv_1")
        return f"{name}-input:{_hwc(c['in'])}-output:{_hwc(c['out'])}"
    if "global_avgpool" in ops:
        g = layers[ops.index("global_avgpool")]
        return f"AvgPool2D-input:{_hwc(g['in'])}-output:{_hwc(g['out'])}"
    if "linear" in ops:
        lin = layers[ops.index("linear")]
        return f"Logits-input:1x1x{lin['in'][0]}-output:{lin['out'][0]}"
    return None


def read_ofa_yaml(space, paths, *, require_all: bool = True,
                  source: str = "ofa-yaml") -> LatencyTable:
    """A latency table for ``space`` from OFA LUT YAML files (one per resolution; values in
    ms). With require_all, every block the space can produce must be found (KeyError naming
    the missing OFA keys and how many); without, the blocks found (scoring a candidate with
    a missing block then raises, naming it)."""
    try:
        import yaml
    except ImportError:
        raise ImportError("reading OFA YAML tables needs PyYAML: pip install "
                          "'nascost[latency]'") from None
    from nascost.latency.build import distinct_blocks

    if isinstance(paths, (str, Path)):
        paths = [paths]
    lut: dict = {}
    for p in paths:
        data = yaml.safe_load(Path(p).read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{p} is not an OFA latency table (a mapping of block keys)")
        for k, v in data.items():
            if not isinstance(v, dict) or "mean" not in v:
                raise ValueError(f"{p}: entry {k!r} has no 'mean'")
            lut[k] = v
    blocks = distinct_blocks(space)
    keys, ns, spread, reps, missing = [], [], [], [], []
    for key in blocks.keys:
        ok = ofa_key(key)
        if ok is None:
            keys.append(key)
            ns.append(0)
            spread.append(0)
            reps.append(0)
            continue
        if ok not in lut:
            missing.append(ok)
            continue
        keys.append(key)
        e = lut[ok]
        ns.append(int(round(float(e["mean"]) * 1e6)))
        spread.append(int(round(math.sqrt(float(e.get("var", 0.0))) * 1e6)))
        reps.append(int(e.get("count", 0)))
    if missing and require_all:
        uniq = sorted(set(missing))
        raise KeyError(f"{len(uniq)} block(s) of space {space.name!r} are not in the OFA "
                       f"table(s), e.g. {uniq[:3]}")
    return LatencyTable(keys, np.array(ns, dtype=np.int64), np.array(spread, dtype=np.int64),
                        np.array(reps, dtype=np.int64),
                        meta=base_meta(space, source=source,
                                       files=[str(p) for p in paths],
                                       method="imported (OFA LUT YAML, mean ms)"))
