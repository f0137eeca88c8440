"""The slow reference: walks the normalised spec for one candidate, in plain Python.

It never looks at the compiled program. It is the oracle the kernels are compared against
(exact integer equality) and the source of the layers that ``nascost.export.to_torch`` builds.

Shapes are tuples without the batch dimension: ``(C, H, W)`` for a 4-D tensor, ``(F,)`` for a
flat one, ``(N, D)`` for tokens (torch's ``(B, N, D)``). All arithmetic is on Python ints
(no overflow); the formulas are the shared ones of ``nascost.rules.formulas`` (their
plain-Python ``py_func``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nascost.rules import conventions, formulas, ops, status
from nascost.space.spec import ROUNDING, as_fraction

__all__ = ["ConcreteLayer", "Resolved", "resolve", "count", "live_genes", "canonical",
           "OVERFLOW_LIMIT"]

OVERFLOW_LIMIT = 2**62  # a total (after batch scaling) above this gets status OVERFLOW

_conv_out = formulas.conv_out_size.py_func
_pool_out = formulas.pool_out_size.py_func
_scale = formulas.scale_channels.py_func

# ops whose output elements are not counted in the 'activations' metric (views)
_NO_ACTIVATIONS = ("identity", "flatten", "channel_split", "crop", "to_tokens", "to_map",
                   "token_select", "dropout", "drop_path", "param")
_ELEMENTWISE = ("relu", "relu6", "sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "gelu")


@dataclass
class ConcreteLayer:
    """One active layer of a candidate, every field concrete."""

    name: str
    op: str
    inputs: list[str]  # the values read, after aliasing ("input" or an earlier layer's name)
    in_shapes: list[tuple]
    out_shape: tuple  # (C, H, W) or (F,)
    fields: dict[str, Any]  # ints and bools; pair fields as (h, w) tuples
    params: int
    macs: int
    terms: dict[str, int]  # the op's cost terms (conventions.op_terms), per input sample
    in_grids: list[tuple[int, int]] = field(default_factory=list)  # (H, W) of each input

    @property
    def elements(self) -> int:
        """Output elements per input sample."""
        n = 1
        for d in self.out_shape:
            n *= d
        return n


@dataclass
class Resolved:
    """A candidate's active layers in execution order (up to the first failing layer)."""

    layers: list[ConcreteLayer]
    status: int  # nascost.rules.status
    failed_layer: str | None  # the name of the first failing layer, or None
    input_shape: tuple[int, int, int]
    output: str | None  # the value the network returns, after aliasing (None if failed)
    live: list[bool] = field(default_factory=list)  # per gene: read by this candidate

    @property
    def ok(self) -> bool:
        return self.status == status.OK


# --- internal shape: (C, H, W, rank); a flat value has H = W = 1 and rank 2; tokens have
# rank 3, D = C features and N = H * W tokens on an H x W grid (W = 1 without a grid) -------
def _ext(s: tuple[int, int, int, int]) -> tuple:
    if s[3] == 3:
        return (s[1] * s[2], s[0])
    return (s[0], s[1], s[2]) if s[3] == 4 else (s[0],)


def _elems(s: tuple[int, int, int, int]) -> int:
    return s[0] * s[1] * s[2]


class _Fail(Exception):
    """The first failing layer: ends the walk of the candidate."""

    def __init__(self, code: int):
        self.code = code
        self.layer: str | None = None


class _Walker:
    def __init__(self, spec: dict, row: list[int]):
        self.genes = {g["name"]: (j, g["choices"]) for j, g in enumerate(spec["genes"])}
        self.row = row
        self.live = [False] * len(row)
        # value name -> (name of the layer that produced it, or "input"; internal shape)
        self.values: dict[str, tuple[str, tuple[int, int, int, int]]] = {}
        self.layers: list[ConcreteLayer] = []

    # -- genes ---------------------------------------------------------------------------
    def _read(self, gene: str) -> tuple[int, Any]:
        """(choice index, choice value) of a gene; marks it live."""
        j, choices = self.genes[gene]
        self.live[j] = True
        k = self.row[j]
        return k, choices[k]

    def _value(self, v: Any) -> Any:
        """The concrete value of a field: a literal, a gene reference or channels_of."""
        if isinstance(v, (bool, int)):
            return v
        if "gene" in v:
            k, choice = self._read(v["gene"])
            return v["values"][k] if "values" in v else choice
        t = v["times"]
        if isinstance(t, dict):
            k, choice = self._read(t["gene"])
            t = t["values"][k] if "values" in t else choice
        frac = as_fraction(t)
        channels = self.values[v["channels_of"]][1][0]
        return _scale(channels, frac.numerator, frac.denominator, ROUNDING.index(v["round"]),
                      v["divisor"], v["min"])

    def _field(self, v: Any) -> Any:
        if isinstance(v, str):  # an enum field's literal option
            return v
        if isinstance(v, list):
            return tuple(self._value(x) for x in v)
        return self._value(v)

    def _cond(self, c: dict) -> bool:
        _, value = self._read(c["gene"])
        (op, ref), = ((k, x) for k, x in c.items() if k != "gene")
        if op == "eq":
            return value == ref
        if op == "ne":
            return value != ref
        if op == "in":
            return value in ref
        if op == "ge":
            return value >= ref
        if op == "gt":
            return value > ref
        if op == "le":
            return value <= ref
        return value < ref  # lt

    # -- structure -----------------------------------------------------------------------
    def input_section(self, inp: dict) -> tuple[int, int, int]:
        c, h, w = (self._value(inp[k]) for k in ("channels", "height", "width"))
        self.values["input"] = ("input", (c, h, w, 4))
        return c, h, w

    def sequence(self, nodes: list, prev: str) -> str:
        for node in nodes:
            if "block" in node:
                prev = self.block(node)
            elif "choice" in node:
                prev = self.choice(node)
            else:
                prev = self.layer(node)
        return prev

    def _alias(self, name: str, src: str) -> str:
        self.values[name] = self.values[src]
        return name

    def block(self, node: dict) -> str:
        if "when" in node and not self._cond(node["when"]):
            return self._alias(node["block"], node["in"])
        last = self.sequence(node["layers"], node["in"])
        return self._alias(node["block"], last)

    def choice(self, node: dict) -> str:
        k, _ = self._read(node["gene"])
        last = self.sequence(node["options"][k], node["in"])
        return self._alias(node["choice"], last)

    def layer(self, node: dict) -> str:
        name = node["name"]
        spec = ops.get(node["op"])
        refs = node["in"] if isinstance(node["in"], list) else [node["in"]]
        srcs = [self.values[r] for r in refs]
        fields = {f.name: self._field(node[f.name]) for f in spec.fields}
        for f in spec.fields:
            if f.kind == "enum" and not isinstance(fields[f.name], str):
                fields[f.name] = f.options[fields[f.name]]  # a gene gives the option index
        try:
            out, params, macs, terms = _OPS[node["op"]]([s for _, s in srcs], fields)
        except _Fail as e:
            e.layer = name
            raise
        self.values[name] = (name, out)
        self.layers.append(ConcreteLayer(
            name=name, op=node["op"], inputs=[a for a, _ in srcs],
            in_shapes=[_ext(s) for _, s in srcs], out_shape=_ext(out), fields=fields,
            params=params, macs=macs, terms=terms,
            in_grids=[(s[1], s[2]) for _, s in srcs]))
        return name


# --- per-op rules: (input shapes, fields) -> (out shape, params, macs, terms) -------------
# Check order within a layer: rank, fields, groups, pool padding, output size, input shapes.
def _need_rank4(shapes: list) -> None:
    if any(s[3] != 4 for s in shapes):
        raise _Fail(status.BAD_RANK)


def _need(ok: bool, code: int) -> None:
    if not ok:
        raise _Fail(code)


def _conv2d(shapes: list, f: dict):
    (cin, h, w, _), = shapes
    _need_rank4(shapes)
    cout, (kh, kw), (sh, sw) = f["out_channels"], f["kernel"], f["stride"]
    (ph, pw), (dh, dw), g = f["padding"], f["dilation"], f["groups"]
    _need(cout >= 1 and min(kh, kw, sh, sw, dh, dw, g) >= 1 and min(ph, pw) >= 0,
          status.BAD_FIELD)
    _need(cin % g == 0 and cout % g == 0, status.GROUPS)
    ho, wo = _conv_out(h, kh, sh, ph, dh), _conv_out(w, kw, sw, pw, dw)
    _need(ho >= 1 and wo >= 1, status.COLLAPSED)
    weights = kh * kw * (cin // g) * cout
    macs = weights * ho * wo
    bias = cout * ho * wo if f["bias"] else 0
    return ((cout, ho, wo, 4), weights + (cout if f["bias"] else 0), macs,
            {"conv_mac": macs, "conv_bias": bias})


def _linear(shapes: list, f: dict):
    (nin, h, w, rank), = shapes
    _need(rank in (2, 3), status.BAD_RANK)  # flat (h = w = 1) or N = h * w tokens
    nout = f["out_features"]
    _need(nout >= 1, status.BAD_FIELD)
    macs = h * w * nin * nout
    bias = h * w * nout if f["bias"] else 0
    params = nin * nout + (nout if f["bias"] else 0)
    return (nout, h, w, rank), params, macs, {"linear_mac": macs, "linear_bias": bias}


def _batchnorm2d(shapes: list, f: dict):
    _need_rank4(shapes)
    s, = shapes
    n = _elems(s)
    return (s, 2 * s[0] if f["affine"] else 0, 0,
            {"batchnorm": n, "batchnorm_affine": n if f["affine"] else 0})


def _pool(kind: str):
    def rule(shapes: list, f: dict):
        _need_rank4(shapes)
        (c, h, w, _), = shapes
        (kh, kw), (sh, sw), (ph, pw) = f["kernel"], f["stride"], f["padding"]
        _need(min(kh, kw, sh, sw) >= 1 and min(ph, pw) >= 0, status.BAD_FIELD)
        _need(2 * ph <= kh and 2 * pw <= kw, status.POOL_PADDING)
        ceil = int(f["ceil_mode"])
        ho, wo = _pool_out(h, kh, sh, ph, ceil), _pool_out(w, kw, sw, pw, ceil)
        _need(ho >= 1 and wo >= 1, status.COLLAPSED)
        out = c * ho * wo
        return (c, ho, wo, 4), 0, 0, {f"{kind}_out": out, f"{kind}_in": c * h * w}
    return rule


def _global_avgpool(shapes: list, f: dict):
    _need_rank4(shapes)
    s, = shapes
    return (s[0], 1, 1, 4), 0, 0, {"global_pool_out": s[0], "global_pool_in": _elems(s)}


def _flatten(shapes: list, f: dict):
    s, = shapes
    return (_elems(s), 1, 1, 2), 0, 0, {}


def _elementwise(term: str | None):
    def rule(shapes: list, f: dict):
        s, = shapes
        return s, 0, 0, ({term: _elems(s)} if term else {})
    return rule


def _add(shapes: list, f: dict):
    _need(all(s == shapes[0] for s in shapes), status.SHAPE_MISMATCH)
    s = shapes[0]
    return s, 0, 0, {"add": _elems(s) * (len(shapes) - 1)}


def _mul(shapes: list, f: dict):
    a, b = shapes
    _need(a[3] == b[3], status.SHAPE_MISMATCH)
    fits = all(x == y or x == 1 or y == 1 for x, y in zip(a[:3], b[:3], strict=True))
    _need(fits, status.SHAPE_MISMATCH)
    out = (max(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]), a[3])
    return out, 0, 0, {"mul": _elems(out)}


def _concat(shapes: list, f: dict):
    _need_rank4(shapes)
    _need(all(s[1:3] == shapes[0][1:3] for s in shapes), status.SHAPE_MISMATCH)
    s = shapes[0]
    return (sum(x[0] for x in shapes), s[1], s[2], 4), 0, 0, {}


def _channel_split(shapes: list, f: dict):
    _need_rank4(shapes)
    (c, h, w, _), = shapes
    chunks, index = f["chunks"], f["index"]
    _need(chunks >= 1 and 0 <= index < chunks, status.BAD_FIELD)
    _need(c % chunks == 0, status.GROUPS)
    return (c // chunks, h, w, 4), 0, 0, {}


def _channel_shuffle(shapes: list, f: dict):
    _need_rank4(shapes)
    s, = shapes
    _need(f["groups"] >= 1, status.BAD_FIELD)
    _need(s[0] % f["groups"] == 0, status.GROUPS)
    return s, 0, 0, {}


def _crop(shapes: list, f: dict):
    _need_rank4(shapes)
    (c, h, w, _), = shapes
    _need(f["top"] >= 0 and f["left"] >= 0, status.BAD_FIELD)
    _need(h - f["top"] >= 1 and w - f["left"] >= 1, status.COLLAPSED)
    return (c, h - f["top"], w - f["left"], 4), 0, 0, {}


_OPS = {
    "conv2d": _conv2d,
    "channel_split": _channel_split,
    "channel_shuffle": _channel_shuffle,
    "crop": _crop,
    "linear": _linear,
    "batchnorm2d": _batchnorm2d,
    "maxpool2d": _pool("maxpool"),
    "avgpool2d": _pool("avgpool"),
    "global_avgpool": _global_avgpool,
    "flatten": _flatten,
    **{name: _elementwise(name) for name in _ELEMENTWISE},
    "add": _add,
    "mul": _mul,
    "concat": _concat,
    "identity": _elementwise(None),
    "zero": _elementwise("zero"),
}
# token values and transformer ops: their own module (it imports _Fail and _need from here)
from nascost.reference.tokens import TOKEN_RULES  # noqa: E402

_OPS.update(TOKEN_RULES)
if set(_OPS) != set(ops.names()) - {"input"}:  # a new op in the registry needs a rule here
    raise RuntimeError(f"the reference has no rule for ops "
                       f"{sorted(set(ops.names()) - {'input'} - set(_OPS))}")


# --- public API ----------------------------------------------------------------------------
def _row(space, genes_row: Any) -> list[int]:
    g = space.check_genes(genes_row)
    if g.shape[0] != 1:
        raise ValueError(f"the reference takes one candidate (a single genes row). Got "
                         f"{g.shape[0]} rows.")
    return [int(x) for x in g[0]]


def resolve(space, genes_row: Any) -> Resolved:
    """The concrete active layers of one candidate, in execution order, and its status."""
    w = _Walker(space.spec, _row(space, genes_row))
    shape = w.input_section(space.spec["input"])
    try:
        last = w.sequence(space.spec["layers"], "input")
    except _Fail as e:
        return Resolved(layers=w.layers, status=e.code, failed_layer=e.layer,
                        input_shape=shape, output=None, live=w.live)
    return Resolved(layers=w.layers, status=status.OK, failed_layer=None, input_shape=shape,
                    output=w.values[last][0], live=w.live)


def count(space, genes_row: Any, convention: Any = "seed", batch: int = 1) -> dict[str, int]:
    """params, macs, flops, activations and status of one candidate (Python ints).

    macs, flops and activations scale with ``batch``; params do not. A failing candidate, or
    one with a total above 2**62 (status OVERFLOW), has every count 0.
    """
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer. Got {batch!r} instead.")
    weights: Mapping[str, int] = conventions.resolve(convention).weights
    r = resolve(space, genes_row)
    zero = {"params": 0, "macs": 0, "flops": 0, "activations": 0}
    if _overflows(r, weights):
        return {**zero, "status": status.OVERFLOW}
    if r.status != status.OK:
        return {**zero, "status": r.status}
    batch = int(batch)
    params = sum(layer.params for layer in r.layers)
    macs = sum(layer.macs for layer in r.layers) * batch
    flops = sum(weights[t] * q for layer in r.layers for t, q in layer.terms.items()) * batch
    acts = sum(layer.elements for layer in r.layers if layer.op not in _NO_ACTIVATIONS) * batch
    out = {"params": params, "macs": macs, "flops": flops, "activations": acts}
    if max(out.values()) > OVERFLOW_LIMIT:
        return {**zero, "status": status.OVERFLOW}
    return {**out, "status": status.OK}


def _overflows(r: Resolved, weights: Mapping[str, int]) -> bool:
    """Whether a value passes 2**62 before the first failing layer (per input sample): the
    input's or a layer's elements, or a running total. The candidate fails there (the kernels
    stop at it, in int64), even when a later layer would fail for another reason."""
    c, h, w = r.input_shape
    if c * h * w > OVERFLOW_LIMIT:
        return True
    p = m = f = a = 0
    for layer in r.layers:
        p += layer.params
        m += layer.macs
        f += sum(weights[t] * q for t, q in layer.terms.items())
        if layer.op not in _NO_ACTIVATIONS:
            a += layer.elements
        if max(layer.elements, p, m, f, a) > OVERFLOW_LIMIT:
            return True
    return False


def live_genes(space, genes_row: Any) -> list[bool]:
    """Per gene, whether this candidate reads it: a field of an active layer (or the input
    section) refers to it, or a condition of a reached block or choice tests it.

    The walk ends at the first failing layer (whose fields are read): genes read only after it
    are dead, as in the kernels.
    """
    return resolve(space, genes_row).live


def canonical(space, genes_row: Any) -> np.ndarray:
    """The genes row with every dead gene set to 0 (uint8)."""
    row = _row(space, genes_row)
    live = live_genes(space, row)
    return np.array([g if keep else 0 for g, keep in zip(row, live, strict=True)], dtype=np.uint8)
