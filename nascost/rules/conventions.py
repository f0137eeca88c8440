"""Counting conventions as data: a convention is a table of FLOP weights over cost terms.

Every active layer emits at most N_TERMS (term, quantity) pairs, e.g. a conv emits
(conv_mac, its multiply-accumulates) and (conv_bias, its bias additions), an attention layer
its projections, q@k^T, softmax and attn@v separately. A convention's
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
    "linear_mac": "multiply-accumulates of Linear: Nin*Nout (on tokens: N*Din*Dout)",
    "linear_bias": "bias additions of Linear with bias: Nout (on tokens: N*Dout)",
    "batchnorm": "elements normalised by BatchNorm2d: C*H*W",
    "batchnorm_affine": "elements scaled and shifted by BatchNorm2d, affine=True only: C*H*W",
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
    # tokens and transformer ops
    "mean_out": "output elements of aten::mean (op mean): C of a map, D of tokens",
    "mean_in": "input elements of aten::mean: C*H*W of a map, N*D of tokens",
    "layernorm": "elements normalised by LayerNorm: N*D of tokens, C*H*W of a map",
    "layernorm_affine": "elements scaled by LayerNorm, affine only: N*D (or C*H*W)",
    "groupnorm": "elements normalised by GroupNorm: C*H*W",
    "groupnorm_affine": "elements scaled and shifted by GroupNorm, affine only: C*H*W",
    "softmax": "elements through the softmax op",
    "softmax_sum": "additions of the softmax op's row sums: elements - rows",
    "attn_linear_mac": "multiply-accumulates of attention's q, k, v and output projections",
    "attn_linear_bias": "bias additions of those projections",
    "attn_scale": "elements of q scaled by head_dim**-0.5: N*heads*head_dim",
    "attn_qk_mac": "multiply-accumulates of q @ k^T: heads*N*Nk*head_dim (per window summed)",
    "attn_bias_add": "attention scores given an additive bias: Swin's relative position bias "
                     "(heads*N*window tokens), counted again for the shift mask",
    "attn_softmax": "attention scores through softmax: heads*N*Nk",
    "attn_softmax_sum": "additions of the softmax row sums: heads*N*(Nk - 1)",
    "attn_av_mac": "multiply-accumulates of attn @ v: heads*N*Nk*head_dim",
    "matmul_mac": "multiply-accumulates of matmul: N_a*K*M",
    "upsample_nearest": "output elements of nearest upsampling",
    "upsample_bilinear": "output elements of bilinear upsampling",
}
TERM_NAMES: tuple[str, ...] = tuple(TERMS)
TERM_INDEX: dict[str, int] = {t: i for i, t in enumerate(TERM_NAMES)}

N_TERMS = 8  # the most terms one op emits (the kernels' per-layer quantities q0 .. q7)
_ATTN_TERMS = ("attn_linear_mac", "attn_linear_bias", "attn_scale", "attn_qk_mac",
               "attn_bias_add", "attn_softmax", "attn_av_mac", "attn_softmax_sum")

# opcode -> the terms it emits, in the order of the kernels' quantities q0, q1, ...
_OP_TERMS: dict[int, tuple[str | None, ...]] = {
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
    ops.OP_MEAN: ("mean_out", "mean_in"),
    ops.OP_LAYERNORM: ("layernorm", "layernorm_affine"),
    ops.OP_GROUPNORM: ("groupnorm", "groupnorm_affine"),
    ops.OP_BATCHNORM1D: ("batchnorm", "batchnorm_affine"),
    ops.OP_SOFTMAX: ("softmax", "softmax_sum"),
    ops.OP_ATTENTION: _ATTN_TERMS,
    ops.OP_WINDOW_ATTENTION: _ATTN_TERMS,
    ops.OP_MATMUL: ("matmul_mac", None),
    ops.OP_UPSAMPLE: ("upsample_nearest", "upsample_bilinear"),
}


def op_terms(opcode: int) -> tuple[str | None, ...]:
    """The N_TERMS cost terms an op emits (None where it emits fewer); ops not listed cost
    nothing."""
    t = _OP_TERMS.get(opcode, ())
    return tuple(t) + (None,) * (N_TERMS - len(t))


# The presets. Every term missing from a preset weighs 0. Each peer-tool preset reproduces the
# number the tool reports for nascost's to_torch() model of a candidate, batch 1 (checked by
# running the tool: tests/parity/test_peer_tools.py, tests/rules/test_presets_single_layer.py).
PRESETS: dict[str, dict[str, int]] = {
    # ../shared/RULES.md, with the per-element counts this project chose for the ops it omits
    # (docs/conventions.md).
    "seed": {
        "conv_mac": 2, "linear_mac": 2, "batchnorm": 4,
        "maxpool_out": 1, "avgpool_out": 1, "global_pool_out": 1,
        "relu": 1, "relu6": 2, "sigmoid": 4, "tanh": 4,
        "hardswish": 4, "hardsigmoid": 3, "silu": 5, "gelu": 8,
        "add": 1, "mul": 1,
        # tokens and transformers (docs/conventions.md): every matmul 2 per MAC; LayerNorm
        # and GroupNorm 5 per element (BN's 4 plus the statistics); softmax 3 per element
        # (subtract the max, exp, divide) and 2 per addition of a row's max and sum;
        # aten::mean 1 per output; upsampling per output: nearest 1, bilinear 7 (4
        # multiplies, 3 adds); the scaling of q and additive score biases 1 per element
        "attn_linear_mac": 2, "attn_qk_mac": 2, "attn_av_mac": 2, "matmul_mac": 2,
        "attn_scale": 1, "attn_bias_add": 1, "attn_softmax": 3, "attn_softmax_sum": 2,
        "softmax": 3, "softmax_sum": 2, "layernorm": 5, "groupnorm": 5, "mean_out": 1,
        "upsample_nearest": 1, "upsample_bilinear": 7,
    },
    # multiply-accumulates of conv, linear and matmul (attention's q@k^T and attn@v
    # included): the number torchvision and papers print; equal to the macs column
    "macs": {"conv_mac": 1, "linear_mac": 1, "attn_linear_mac": 1, "attn_qk_mac": 1,
             "attn_av_mac": 1, "matmul_mac": 1},
    # torch.utils.flop_counter.FlopCounterMode: 2 per MAC of aten convolution / mm / addmm;
    # bias additions, norms, pooling and pointwise ops are not counted
    "torch": {"conv_mac": 2, "linear_mac": 2, "attn_linear_mac": 2, "attn_qk_mac": 2,
              "attn_av_mac": 2, "matmul_mac": 2},
    # thop.profile: conv and linear MACs (no bias); BN 2/element, 4 with affine; AvgPool2d one
    # per output; AdaptiveAvgPool2d (window + 1) per output; every other module 0. Tokens:
    # LayerNorm as BN, nn.Softmax 3 per element - 1 per row, Upsample nearest 1 / bilinear
    # 11 per output; attention's Linear modules only (its matmuls and softmax are calls, not
    # modules: 0), GroupNorm 0
    "thop": {
        "conv_mac": 1, "linear_mac": 1, "batchnorm": 2, "batchnorm_affine": 2,
        "avgpool_out": 1, "global_pool_in": 1, "global_pool_out": 1,
        "layernorm": 2, "layernorm_affine": 2, "softmax": 2, "softmax_sum": 1,
        "attn_linear_mac": 1, "upsample_nearest": 1, "upsample_bilinear": 11,
    },
    # fvcore FlopCountAnalysis (model in eval mode): conv and linear MACs (no bias);
    # aten::batch_norm 1/element, 2 with affine; aten::adaptive_avg_pool2d 1 per input element
    # Tokens: aten::layer_norm and group_norm 4 per element, 5 with affine; matmul/bmm/linear
    # MACs (attention's products included, no bias); upsample_nearest2d 1 and
    # upsample_bilinear2d 4 per output; softmax and aten::mean not counted
    "fvcore": {
        "conv_mac": 1, "linear_mac": 1, "batchnorm": 1, "batchnorm_affine": 1,
        "global_pool_in": 1,
        "layernorm": 4, "layernorm_affine": 1, "groupnorm": 4, "groupnorm_affine": 1,
        "attn_linear_mac": 1, "attn_qk_mac": 1, "attn_av_mac": 1, "matmul_mac": 1,
        "upsample_nearest": 1, "upsample_bilinear": 4,
    },
    # ptflops get_model_complexity_info(backend='pytorch'), its defaults: module hooks plus
    # patched torch.nn.functional / Tensor ops, so ReLU, GELU and pooling count twice
    "ptflops": {
        "conv_mac": 1, "conv_bias": 1, "linear_mac": 1, "linear_bias": 1,
        "batchnorm": 1, "batchnorm_affine": 1,
        "maxpool_in": 2, "avgpool_in": 2, "global_pool_in": 2,
        "relu": 2, "relu6": 1, "gelu": 2, "silu": 1, "zero": 1,
        # tokens: LayerNorm 1 per element (its affine part not), GroupNorm 1 (+1 affine);
        # patched F.softmax, Tensor.matmul / torch.matmul, F.interpolate; the Upsample hook
        # too (so upsampling counts 2 per output); attention: its Linear modules with bias
        # and its patched matmuls and softmax
        "layernorm": 1, "groupnorm": 1, "groupnorm_affine": 1, "softmax": 1,
        "attn_linear_mac": 1, "attn_linear_bias": 1, "attn_qk_mac": 1, "attn_av_mac": 1,
        "attn_softmax": 1, "matmul_mac": 1, "upsample_nearest": 2, "upsample_bilinear": 2,
    },
    # ptflops get_model_complexity_info(backend='aten'): aten convolution / mm / addmm MACs
    # with bias additions, and bmm (attention's products, matmul); nothing else
    "ptflops_aten": {"conv_mac": 1, "conv_bias": 1, "linear_mac": 1, "linear_bias": 1,
                     "attn_linear_mac": 1, "attn_linear_bias": 1, "attn_qk_mac": 1,
                     "attn_av_mac": 1, "matmul_mac": 1},
    # NAS-Bench-201 / NATS-Bench (xautodl get_model_infos): conv and linear MACs plus their bias
    # additions; pooling hooked but left out of the sum, BN and activations not counted
    # (not installable here: on tokens its Linear hook would see the attention projections;
    # the matmuls are not modules)
    "nb201": {"conv_mac": 1, "conv_bias": 1, "linear_mac": 1, "linear_bias": 1,
              "attn_linear_mac": 1, "attn_linear_bias": 1},
    # Once-for-All / ProxylessNAS (ofa.utils.flops_counter.profile): conv and linear MACs, no
    # bias, BN not counted
    "ofa": {"conv_mac": 1, "linear_mac": 1, "attn_linear_mac": 1},
}

DESCRIPTIONS: dict[str, str] = {
    "seed": "the founding rules (RULES.md): 1 MAC = 2 FLOPs, BN 4/element, pool 1/output, "
            "activations per element; bias additions not counted",
    "macs": "multiply-accumulates of conv and linear layers only (torchvision's 'GFLOPS')",
    "torch": "torch.utils.flop_counter.FlopCounterMode: 2 FLOPs per conv/linear MAC, "
             "nothing else",
    "thop": "thop.profile: conv/linear MACs, BN 2 (+2 affine) per element, AvgPool2d 1 per "
            "output, global pool (H*W + 1) per output",
    "fvcore": "fvcore FlopCountAnalysis, eval mode: conv/linear MACs, BN 1 (+1 affine) per "
              "element, global pool 1 per input element",
    "ptflops": "ptflops get_model_complexity_info, pytorch backend: MACs + bias, BN 1 (+1 "
               "affine), pooling 2 per input element, ReLU/GELU 2, ReLU6/SiLU/zero 1",
    "ptflops_aten": "ptflops get_model_complexity_info, aten backend: conv/linear MACs plus "
                    "bias additions",
    "nb201": "NAS-Bench-201/NATS-Bench: conv/linear MACs plus bias additions",
    "ofa": "Once-for-All/ProxylessNAS: conv/linear MACs without bias or BN",
}

# What each preset reproduces: the tool, the version checked, and how it was called.
SOURCES: dict[str, str] = {
    "seed": "../shared/RULES.md (the founding rules) and docs/conventions.md",
    "macs": "papers and torchvision's weight tables ('GFLOPS' = GMACs)",
    "torch": "torch.utils.flop_counter.FlopCounterMode(display=False), torch 2.13",
    "thop": "thop.profile(model, inputs=(x,)), thop 0.1.1.post2209072238",
    "fvcore": "fvcore.nn.FlopCountAnalysis(model.eval(), x).total(), fvcore 0.1.5.post20221221",
    "ptflops": "ptflops.get_model_complexity_info(model, res, backend='pytorch', "
               "as_strings=False), ptflops 0.7.5",
    "ptflops_aten": "ptflops.get_model_complexity_info(model, res, backend='aten', "
                    "as_strings=False), ptflops 0.7.5",
    "nb201": "xautodl.utils.get_model_infos (NAS-Bench-201, NATS-Bench); the published "
             "NAS-Bench-201 FLOPs range",
    "ofa": "ofa.utils.flops_counter.profile (Once-for-All); same weights as 'macs'",
}


# What a peer tool gets wrong (or leaves out) on a term, as measured; its preset reproduces
# it. ``nascost explain`` prints the notes of the terms a candidate has.
_FUSED = ("FlopCounterMode counts 0 for CPU scaled_dot_product_attention and for "
          "nn.MultiheadAttention's eval fast path (pytorch#195460); nascost's export runs "
          "explicit matmuls, which it counts")
_CALLS = ("thop counts modules only: attention's matmuls are calls, so 0 (and 0 for the "
          "whole of nn.MultiheadAttention, pytorch-OpCounter#197)")
TOOL_NOTES: dict[str, dict[str, str]] = {
    "thop": {"attn_qk_mac": _CALLS, "attn_av_mac": _CALLS, "matmul_mac": _CALLS,
             "attn_softmax": _CALLS, "groupnorm": "thop has no GroupNorm rule: 0"},
    "fvcore": {"mean_in": "fvcore counts aten::adaptive_avg_pool2d but not aten::mean: a "
                          "squeeze written x.mean((2, 3)) (op mean) is 0",
               "attn_softmax": "fvcore skips softmax", "softmax": "fvcore skips softmax"},
    "ptflops": {"layernorm_affine": "ptflops' norm hook reads `affine`, which LayerNorm does "
                                    "not have: its scale and shift are not counted"},
    "torch": {"attn_qk_mac": _FUSED, "attn_av_mac": _FUSED},
}


def tool_note(preset: str, term: str) -> str | None:
    """The measured shortcoming of the tool behind ``preset`` on ``term``, if any."""
    return TOOL_NOTES.get(preset, {}).get(term)


class Convention:
    """A resolved convention: a name, its weight per term, and the per-opcode weight table.

    Two conventions are equal when their names and weights are."""

    def __init__(self, name: str, weights: Mapping[str, int], description: str = ""):
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
        self.description = description
        self.weights = {t: int(weights.get(t, 0)) for t in TERM_NAMES}
        table = np.zeros((ops.N_OPCODES, N_TERMS), dtype=np.int64)
        for code, terms in _OP_TERMS.items():
            for k, t in enumerate(terms):
                if t is not None:
                    table[code, k] = self.weights[t]
        table.setflags(write=False)
        self.op_weights = table

    @property
    def max_weight(self) -> int:
        return max(self.weights.values(), default=0)

    def to_dict(self) -> dict:
        """The full table: every term's weight (zeros included), for Parquet metadata and
        JSON files; ``resolve(c.to_dict())`` gives an equal Convention."""
        return {"name": self.name, "description": self.description,
                "weights": dict(self.weights)}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Convention) and other.name == self.name
                and other.weights == self.weights)

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.weights.values())))

    def __repr__(self) -> str:
        return f"Convention({self.name!r})"


def preset(name: str) -> Convention:
    """The named preset (KeyError listing the presets if there is none)."""
    if name not in PRESETS:
        raise KeyError(f"unknown convention {name!r}; presets: {sorted(PRESETS)}")
    return Convention(name, PRESETS[name], DESCRIPTIONS.get(name, ""))


def _from_mapping(data: Mapping) -> Convention:
    """{"name", "description", "base", "weights": {...}} or a flat {term: weight, ...}.

    ``base`` names a preset to start from; the given weights replace its weights."""
    data = dict(data)
    name = str(data.pop("name", "custom"))
    description = str(data.pop("description", ""))
    base = data.pop("base", None)
    inner = data.pop("weights", None)
    if inner is not None:
        if data:
            raise ValueError(f"convention {name!r}: unexpected keys {sorted(data)} next to "
                             "'weights' (expected name, description, base, weights)")
        if not isinstance(inner, Mapping):
            raise ValueError(f"convention {name!r}: 'weights' must be an object of term "
                             f"weights. Got {type(inner).__name__} instead.")
        data = dict(inner)
    weights: dict = {}
    if base is not None:
        weights.update(preset(str(base)).weights)
        if not description:
            description = f"{base} with {', '.join(f'{k}={v}' for k, v in data.items())}"
    weights.update(data)
    return Convention(name, weights, description)


def resolve(convention: str | Mapping[str, int] | Convention | Path) -> Convention:
    """A preset name, a path to a JSON weight table, a dict of weights, or a Convention.

    A dict (or JSON object) is either flat, ``{"conv_mac": 2, "relu": 1}``, or
    ``{"name": ..., "description": ..., "base": "thop", "weights": {...}}`` as written by
    ``Convention.to_dict``; terms it does not name weigh 0 (or their ``base`` weight)."""
    if isinstance(convention, Convention):
        return convention
    if isinstance(convention, Mapping):
        return _from_mapping(convention)
    text = str(convention)
    if text in PRESETS:
        return preset(text)
    path = Path(text)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"convention file {text}: not valid JSON: {e}") from None
        if not isinstance(data, Mapping):
            raise ValueError(f"convention file {text}: expected a JSON object of term weights")
        data = dict(data)
        data.setdefault("name", path.stem)
        return resolve(data)
    raise ValueError(
        f"unknown convention {text!r}: expected one of {sorted(PRESETS)} or a .json file of "
        "term weights"
    )


def term_op(term: str) -> str:
    """The op (registry name) that emits a term."""
    for code, pair in _OP_TERMS.items():
        if term in pair:
            return ops.by_opcode(code).name
    raise KeyError(f"unknown term {term!r}; known terms: {list(TERM_NAMES)}")


def markdown_table(presets: tuple[str, ...] | None = None) -> str:
    """The weight table of the presets in Markdown: one row per cost term (grouped by op
    class), one column per preset; '·' = 0 (not counted). docs/conventions.md holds it."""
    names = tuple(PRESETS) if presets is None else presets
    head = ["op class", "term (quantity per sample)", *(f"`{n}`" for n in names)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * len(names)]
    previous = None
    for term in TERM_NAMES:
        op = term_op(term)
        label = f"`{op}`" if op != previous else ""
        previous = op
        cells = [str(PRESETS[n].get(term, 0)) if PRESETS[n].get(term, 0) else "·"
                 for n in names]
        lines.append("| " + " | ".join([label, f"`{term}`: {TERMS[term]}", *cells]) + " |")
    return "\n".join(lines) + "\n"
