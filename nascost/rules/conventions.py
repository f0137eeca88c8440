"""Counting conventions as data: a convention is a table of FLOP weights over cost terms.

Every active layer emits at most two (term, quantity) pairs, e.g. a conv emits
(conv_mac, its multiply-accumulates) and (conv_bias, its bias additions). A convention's
``flops`` is the weighted sum of the quantities; ``macs`` and ``params`` never depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nascost.rules import ops

# term name -> what its quantity is (per input sample)
TERMS: dict[str, str] = {
    "conv_mac": "multiply-accumulates of Conv2d: (Kh*Kw*Cin/g)*Cout*Hout*Wout",
    "conv_bias": "bias additions of Conv2d with bias: Cout*Hout*Wout",
    "linear_mac": "multiply-accumulates of Linear: Nin*Nout",
    "linear_bias": "bias additions of Linear with bias: Nout",
    "batchnorm": "elements normalised by BatchNorm2d: C*H*W",
    "batchnorm_affine": "elements scaled and shifted by BatchNorm2d with affine=True: C*H*W",
    "maxpool_out": "output elements of MaxPool2d",
    "maxpool_in": "input elements of MaxPool2d: C*H*W",
    "avgpool_out": "output elements of AvgPool2d",
    "avgpool_in": "input elements of AvgPool2d: C*H*W",
    "global_pool_out": "output elements of global average pooling: C",
    "global_pool_in": "input elements of global average pooling: C*H*W",
    "relu": "elements through ReLU",
    "relu6": "elements through ReLU6",
    "sigmoid": "elements through Sigmoid",
    "tanh": "elements through Tanh",
    "hardswish": "elements through Hardswish",
    "hardsigmoid": "elements through Hardsigmoid",
    "silu": "elements through SiLU",
    "gelu": "elements through GELU",
    "add": "additions of an elementwise sum: output elements * (inputs - 1)",
    "mul": "output elements of an elementwise product",
    "zero": "output elements of a zero op (NAS-Bench-201 'none')",
}
TERM_NAMES: tuple[str, ...] = tuple(TERMS)
TERM_INDEX: dict[str, int] = {t: i for i, t in enumerate(TERM_NAMES)}

# opcode -> (first term, second term); -1 where the op emits none.
_OP_TERMS: dict[int, tuple[str | None, str | None]] = {
    ops.OP_CONV2D: ("conv_mac", "conv_bias"),
    ops.OP_LINEAR: ("linear_mac", "linear_bias"),
    ops.OP_BATCHNORM2D: ("batchnorm", "batchnorm_affine"),
    ops.OP_MAXPOOL2D: ("maxpool_out", "maxpool_in"),
    ops.OP_AVGPOOL2D: ("avgpool_out", "avgpool_in"),
    ops.OP_GLOBAL_AVGPOOL: ("global_pool_out", "global_pool_in"),
    ops.OP_RELU: ("relu", None),
    ops.OP_RELU6: ("relu6", None),
    ops.OP_SIGMOID: ("sigmoid", None),
    ops.OP_TANH: ("tanh", None),
    ops.OP_HARDSWISH: ("hardswish", None),
    ops.OP_HARDSIGMOID: ("hardsigmoid", None),
    ops.OP_SILU: ("silu", None),
    ops.OP_GELU: ("gelu", None),
    ops.OP_ADD: ("add", None),
    ops.OP_MUL: ("mul", None),
    ops.OP_ZERO: ("zero", None),
}


def op_terms(opcode: int) -> tuple[str | None, str | None]:
    """The (first, second) cost terms an op emits; ops not listed cost nothing."""
    return _OP_TERMS.get(opcode, (None, None))


# The presets. Every term missing from a preset weighs 0.
PRESETS: dict[str, dict[str, int]] = {
    # ../shared/RULES.md, with the per-element counts this project chose for the ops it omits
    # (documented in README.md).
    "seed": {
        "conv_mac": 2, "linear_mac": 2, "batchnorm": 4,
        "maxpool_out": 1, "avgpool_out": 1, "global_pool_out": 1,
        "relu": 1, "relu6": 2, "sigmoid": 4, "tanh": 4,
        "hardswish": 4, "hardsigmoid": 3, "silu": 5, "gelu": 8,
        "add": 1, "mul": 1,
    },
    # multiply-accumulates of conv and linear layers: the number torchvision and papers print
    "macs": {"conv_mac": 1, "linear_mac": 1},
}

DESCRIPTIONS: dict[str, str] = {
    "seed": "the founding rules (RULES.md): 1 MAC = 2 FLOPs, BN 4/element, pool 1/output, "
            "activations per element; bias additions not counted",
    "macs": "multiply-accumulates of conv and linear layers only (torchvision's 'GFLOPS')",
}


class Convention:
    """A resolved convention: a name, its weight per term, and the per-opcode weight table."""

    def __init__(self, name: str, weights: Mapping[str, int]):
        unknown = sorted(set(weights) - set(TERM_INDEX))
        if unknown:
            raise ValueError(
                f"convention {name!r} has unknown terms {unknown}; known terms: {list(TERM_NAMES)}"
            )
        for t, w in weights.items():
            if not isinstance(w, (int, np.integer)) or isinstance(w, bool) or w < 0:
                raise ValueError(
                    f"convention {name!r}: the weight of term {t!r} must be a non-negative "
                    f"integer. Got {w!r} instead."
                )
        self.name = name
        self.weights = {t: int(weights.get(t, 0)) for t in TERM_NAMES}
        table = np.zeros((ops.N_OPCODES, 2), dtype=np.int64)
        for code, (a, b) in _OP_TERMS.items():
            if a is not None:
                table[code, 0] = self.weights[a]
            if b is not None:
                table[code, 1] = self.weights[b]
        table.setflags(write=False)
        self.op_weights = table

    @property
    def max_weight(self) -> int:
        return max(self.weights.values(), default=0)

    def to_dict(self) -> dict:
        return {"name": self.name, "weights": dict(self.weights)}

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


def resolve(convention: str | Mapping[str, int] | Convention | Path) -> Convention:
    """A preset name, a path to a JSON weight table, a dict of weights, or a Convention."""
    if isinstance(convention, Convention):
        return convention
    if isinstance(convention, Mapping):
        weights = dict(convention)
        name = str(weights.pop("name", "custom"))
        inner = weights.pop("weights", None)
        return Convention(name, inner if inner is not None else weights)
    text = str(convention)
    if text in PRESETS:
        return Convention(text, PRESETS[text])
    path = Path(text)
    if path.suffix == ".json" and path.is_file():
        data = json.loads(path.read_text())
        if not isinstance(data, Mapping):
            raise ValueError(f"convention file {text}: expected a JSON object of term weights")
        data = dict(data)
        data.setdefault("name", path.stem)
        return resolve(data)
    raise ValueError(
        f"unknown convention {text!r}: expected one of {sorted(PRESETS)} or a .json file of "
        "term weights"
    )
