"""A small Python builder for space specs: genes, layers, optional blocks and op choices.

    b = SpaceBuilder("tiny")
    r = b.gene("resolution", [160, 224])
    k = b.gene("kernel", [3, 5])
    b.input(channels=3, height=r, width=r)
    b.conv2d("stem", out_channels=16, kernel=k, padding=k.map(lambda v: v // 2))
    space = b.build()

Each layer method returns the name of the value it produces; a layer's input defaults to
the previous value in the current scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gene:
    """A handle on a gene; used as a field value it means the chosen choice's value."""

    name: str
    choices: tuple

    def map(self, fn: Callable[[Any], int]) -> dict:
        """A field value computed per choice in Python, e.g. padding = kernel // 2."""
        return {"gene": self.name, "values": [int(fn(c)) for c in self.choices]}

    def values(self, values: Sequence[int]) -> dict:
        return {"gene": self.name, "values": [int(v) for v in values]}

    def to_spec(self) -> dict:
        return {"gene": self.name}

    # conditions for blocks: depth >= 3 etc.
    def __ge__(self, v):  # type: ignore[override]
        return {"gene": self.name, "ge": v}

    def __gt__(self, v):  # type: ignore[override]
        return {"gene": self.name, "gt": v}

    def __le__(self, v):  # type: ignore[override]
        return {"gene": self.name, "le": v}

    def __lt__(self, v):  # type: ignore[override]
        return {"gene": self.name, "lt": v}

    def eq(self, v) -> dict:
        return {"gene": self.name, "eq": v}

    def isin(self, vs: Iterable) -> dict:
        return {"gene": self.name, "in": list(vs)}


def _field(v: Any) -> Any:
    if isinstance(v, Gene):
        return v.to_spec()
    if isinstance(v, (list, tuple)):
        return [_field(x) for x in v]
    if isinstance(v, dict):
        return {k: _field(x) for k, x in v.items()}
    return v


class _Scope:
    def __init__(self, nodes: list, last: str):
        self.nodes = nodes
        self.last = last


class BlockHandle:
    def __init__(self, name: str, input: str):
        self.name = name
        self.input = input


class ChoiceHandle:
    def __init__(self, builder: SpaceBuilder, node: dict):
        self._b = builder
        self._node = node
        self.input = node["in"]

    @contextmanager
    def option(self):
        """Layers added inside this context form the next option (in gene choice order)."""
        nodes: list = []
        self._b._stack.append(_Scope(nodes, self.input))
        try:
            yield self
        finally:
            self._b._stack.pop()
        self._node["options"].append(nodes)


class SpaceBuilder:
    def __init__(self, name: str, description: str | None = None, codec: str | None = None):
        self.name = name
        self.description = description
        self.codec = codec
        self._genes: list[dict] = []
        self._input: dict | None = None
        self._root: list = []
        self._stack: list[_Scope] = [_Scope(self._root, "input")]
        self._named: dict[str, list[int]] = {}

    # -- genes and input -------------------------------------------------------------------
    def gene(self, name: str, choices: Sequence, doc: str | None = None) -> Gene:
        entry: dict = {"name": name, "choices": list(choices)}
        if doc:
            entry["doc"] = doc
        self._genes.append(entry)
        return Gene(name, tuple(choices))

    def input(self, channels: Any, height: Any, width: Any) -> str:
        self._input = {"channels": _field(channels), "height": _field(height),
                       "width": _field(width)}
        return "input"

    def name_candidate(self, name: str, genes: Sequence[int]) -> None:
        """Record a released model as a named candidate (choice indices, one per gene)."""
        self._named[name] = [int(g) for g in genes]

    @property
    def last(self) -> str:
        """The value the next layer reads by default."""
        return self._stack[-1].last

    @staticmethod
    def channels_of(value: str, times: Any = 1, round: str = "none", divisor: int = 0,
                    min: int = 1) -> dict:
        """A channel count derived from another value's channels: times, rounding and
        torchvision-style make-divisible."""
        return {"channels_of": value, "times": _field(times), "round": round,
                "divisor": divisor, "min": min}

    # -- layers ----------------------------------------------------------------------------
    def layer(self, op: str, name: str, input: str | Sequence[str] | None = None,
              **fields: Any) -> str:
        scope = self._stack[-1]
        node: dict = {"op": op, "name": name}
        node["in"] = scope.last if input is None else (
            input if isinstance(input, str) else list(input))
        for k, v in fields.items():
            node[k] = _field(v)
        scope.nodes.append(node)
        scope.last = name
        return name

    def conv2d(self, name: str, out_channels: Any, kernel: Any, stride: Any = 1,
               padding: Any = 0, dilation: Any = 1, groups: Any = 1, bias: bool = True,
               input: str | None = None) -> str:
        return self.layer("conv2d", name, input, out_channels=out_channels, kernel=kernel,
                          stride=stride, padding=padding, dilation=dilation, groups=groups,
                          bias=bias)

    def linear(self, name: str, out_features: Any, bias: bool = True,
               input: str | None = None) -> str:
        return self.layer("linear", name, input, out_features=out_features, bias=bias)

    def batchnorm2d(self, name: str, affine: bool = True, input: str | None = None) -> str:
        return self.layer("batchnorm2d", name, input, affine=affine)

    def maxpool2d(self, name: str, kernel: Any, stride: Any = None, padding: Any = 0,
                  ceil_mode: bool = False, input: str | None = None) -> str:
        extra = {} if stride is None else {"stride": stride}
        return self.layer("maxpool2d", name, input, kernel=kernel, padding=padding,
                          ceil_mode=ceil_mode, **extra)

    def avgpool2d(self, name: str, kernel: Any, stride: Any = None, padding: Any = 0,
                  ceil_mode: bool = False, count_include_pad: bool = True,
                  input: str | None = None) -> str:
        extra = {} if stride is None else {"stride": stride}
        return self.layer("avgpool2d", name, input, kernel=kernel, padding=padding,
                          ceil_mode=ceil_mode, count_include_pad=count_include_pad, **extra)

    def op(self, op: str, name: str, input: str | Sequence[str] | None = None) -> str:
        """A layer without fields: activations, global_avgpool, flatten, identity, zero,
        add, mul, concat."""
        return self.layer(op, name, input)

    # -- structure -------------------------------------------------------------------------
    @contextmanager
    def block(self, name: str, when: dict | None = None, input: str | None = None):
        """A group of layers; with ``when``, it is skipped (its output is its input) when the
        condition on a gene fails: the depth of a stage."""
        scope = self._stack[-1]
        src = scope.last if input is None else input
        node: dict = {"block": name, "in": src, "layers": []}
        if when is not None:
            node["when"] = when
        self._stack.append(_Scope(node["layers"], src))
        try:
            yield BlockHandle(name, src)
        finally:
            self._stack.pop()
        scope.nodes.append(node)
        scope.last = name

    @contextmanager
    def choice(self, name: str, gene: Gene, input: str | None = None):
        """One sub-path per choice of ``gene``: add them in order with ``with c.option():``."""
        scope = self._stack[-1]
        src = scope.last if input is None else input
        node: dict = {"choice": name, "in": src, "gene": gene.name, "options": []}
        handle = ChoiceHandle(self, node)
        yield handle
        scope.nodes.append(node)
        scope.last = name

    def apply_genes(self, genes: dict) -> None:
        """Declare genes on fields or blocks of the layers added so far:
        ``{"w": nascost.Gene([32, 64], fields=["stem.out_channels"])}`` (see
        nascost.space.field_genes; the input must be set, at the top level only)."""
        from nascost.space.field_genes import apply_field_genes

        if len(self._stack) != 1:
            raise RuntimeError("apply_genes works at the top level, not inside a block or choice")
        spec = apply_field_genes(self.to_spec(), genes)
        self._genes = spec["genes"]
        self._root[:] = spec["layers"]
        last = self._root[-1] if self._root else None
        if last is not None:
            self._stack[0].last = last.get("name") or last.get("block") or last.get("choice")

    def to_spec(self) -> dict:
        spec: dict = {"nascost_space": 1, "name": self.name, "input": self._input,
                      "genes": self._genes, "layers": self._root}
        if self.description:
            spec["description"] = self.description
        if self.codec:
            spec["codec"] = self.codec
        if self._named:
            spec["named"] = self._named
        return spec

    def build(self):
        from nascost.space.space import Space

        return Space.from_spec(self.to_spec())
