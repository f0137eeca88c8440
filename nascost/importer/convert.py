"""Walk a traced graph and write the space spec: one rule per node target (rules.py).

Each node's value is one of: a nascost value (``Val``: a layer's output or the input), a
parameter (``Param``, for functional and ATen calls that take weights), the pieces of a
channel split (``Pieces``), a grouped 5-D view on the way to a channel shuffle (``Grouped``),
or a plain Python constant (shapes, ints). A node that yields no tensor is a constant and costs
nothing; a node that yields a tensor must have a rule, or the import fails naming it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from torch import fx
from torch.utils import _pytree as pytree

from nascost.importer.trace import ImportFailed, TensorMeta, Traced, source_line


@dataclass(frozen=True)
class Val:
    """A nascost value: its name in the spec and its shape without the batch."""

    name: str
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:  # the spec's rank: 4 for (C, H, W), 2 for (F,)
        return len(self.shape) + 1


@dataclass(frozen=True)
class Param:
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Pieces:
    """torch.split / torch.chunk along the channels into ``chunks`` equal pieces."""

    src: Val
    chunks: int


@dataclass(frozen=True)
class Grouped:
    """x.view(n, g, c // g, h, w), possibly transposed (1, 2): half of a channel shuffle."""

    src: Val
    groups: int
    transposed: bool


@dataclass(frozen=True)
class Spatial:
    """x.flatten(2) of a map, (N, C, H*W): transposed (1, 2) it is to_tokens."""

    src: Val


@dataclass(frozen=True)
class TokensT:
    """tokens.transpose(1, 2), (B, D, N): reshaped to (B, D, H, W) it is to_map."""

    src: Val


class Unsupported(Exception):
    """Raised by a rule: this call has no nascost op (the converter adds where it is)."""


class Ctx:
    """What a rule sees: the current node's place and result, and ``emit`` to add a layer."""

    def __init__(self, batch: int):
        self.batch = batch
        self.layers: list[dict] = []
        self.taken: set[str] = {"input"}
        self.path = ""  # module path of the current node
        self.named_by_path = False  # a module call: the layer is named after its path
        self.result: Any = None  # the current node's concrete result (TensorMeta for tensors)
        self.producers: dict[str, tuple[dict, fx.Node]] = {}
        self.node: fx.Node | None = None

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The current node's output shape without the batch."""
        if not isinstance(self.result, TensorMeta):
            raise Unsupported("the call does not return one tensor")
        return self.result.shape[1:]

    def _name(self, suffix: str) -> str:
        base = self.path if (self.named_by_path and self.path) else (
            f"{self.path}.{suffix}" if self.path else suffix)
        name, i = base, 1
        while name in self.taken:
            name = f"{base}_{i}"
            i += 1
        self.taken.add(name)
        return name

    def emit(self, op: str, inputs: list[Val], shape: tuple | None = None,
             suffix: str | None = None, **fields: Any) -> Val:
        """Add a layer reading ``inputs``; its value has ``shape`` (default: the node's)."""
        name = self._name(suffix or op)
        layer: dict = {"op": op, "name": name,
                       "in": inputs[0].name if len(inputs) == 1 else [v.name for v in inputs]}
        layer.update(fields)
        self.layers.append(layer)
        self.producers[name] = (layer, self.node)
        return Val(name, tuple(self.out_shape if shape is None else shape))

    def drop(self, layer: dict) -> None:
        """Remove a layer emitted earlier (a sum merged into the next one)."""
        self.layers.remove(layer)


def _module_path(node: fx.Node, traced: Traced) -> tuple[str, str | None]:
    """(module path, module class name) of the innermost module a node ran in."""
    if node.op == "call_module":
        return str(node.target), type(traced.modules[node.target]).__name__
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "", None
    path, kind = list(stack.values())[-1]
    path = str(path)
    if path.startswith("L__self__"):  # dynamo-style keys
        path = path.removeprefix("L__self__").lstrip("_").replace("_", ".")
    kind = kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__qualname__}"
    return path, kind


def _target_name(node: fx.Node) -> str:
    t = node.target
    if node.op == "call_method":
        return f"Tensor.{t}"
    if node.op == "call_module":
        return str(t)
    mod = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", None) or str(t)
    return f"{mod}.{name}" if mod and not str(t).startswith("aten.") else str(t)


def _inplace(node: fx.Node, traced: Traced) -> bool:
    if node.op == "call_module":
        return bool(getattr(traced.modules[node.target], "inplace", False))
    if node.kwargs.get("inplace") is True:
        return True
    if node.op == "call_method":
        return str(node.target).endswith("_") and not str(node.target).endswith("__")
    if node.target in (operator.iadd, operator.imul):
        return True
    name = str(node.target)
    if name.startswith("aten."):
        return name.split(".")[1].endswith("_")
    return getattr(node.target, "__name__", "").endswith("_")


def _has_tensor(x: Any) -> bool:
    return any(isinstance(leaf, TensorMeta) for leaf in pytree.tree_leaves(x))


def _check_shared(node: fx.Node, traced: Traced, args: Any, kwargs: Any,
                  owners: dict, path: str) -> None:
    """A module with parameters called twice shares them; nascost layers own theirs."""
    if node.op == "call_module":
        keys = [id(p) for p in traced.modules[node.target].parameters()]
    else:
        keys = [a.name for a in pytree.tree_leaves((args, kwargs)) if isinstance(a, Param)]
    for k in keys:
        if k in owners:
            n = sum(p.numel() for p in traced.modules[node.target].parameters()) if (
                node.op == "call_module") else None
            raise ImportFailed(
                f"module {path or owners[k]} is called again (first by {owners[k]}) and shares "
                f"its parameters{f' ({n:,})' if n else ''}: PyTorch counts shared weights once, "
                "while each nascost layer owns its parameters. Give each call its own module "
                "(the params then count twice) or import the model without the shared call")
    for k in keys:
        owners[k] = path or str(node.target)


def convert(traced: Traced, table: dict, batch: int) -> tuple[Ctx, str]:
    """The spec's layers for the traced graph and the value the model returns."""
    ctx = Ctx(batch)
    env: dict[fx.Node, Any] = {}
    seen_input = False
    output: Any = None
    owners: dict[int, str] = {}  # parameter id / name -> the layer path that used it first
    for node in traced.graph.nodes:
        res = traced.results.get(node)
        ctx.node, ctx.result = node, res
        if node.op == "placeholder":
            if node.name in traced.params:
                env[node] = Param(traced.params[node.name], res.shape)
            elif not seen_input and isinstance(res, TensorMeta):
                seen_input = True
                env[node] = Val("input", res.shape[1:])
            else:
                env[node] = res  # a forward argument left at its default
            continue
        if node.op == "get_attr":
            env[node] = Param(str(node.target), res.shape) if isinstance(res, TensorMeta) else res
            continue
        if node.op == "output":
            output = pytree.tree_map(lambda a: env[a] if isinstance(a, fx.Node) else a,
                                     node.args[0])
            continue
        if not _has_tensor(res):
            env[node] = res  # shapes, sizes, ints: no layer, no cost
            continue
        path, kind = _module_path(node, traced)
        args = pytree.tree_map(lambda a: env[a] if isinstance(a, fx.Node) else a, node.args)
        kwargs = pytree.tree_map(lambda a: env[a] if isinstance(a, fx.Node) else a, node.kwargs)
        ctx.path = path
        _check_shared(node, traced, args, kwargs, owners, path)
        if node.op == "call_module":
            mod = traced.modules[node.target]
            rule = table.get(type(mod))
            args = (mod, *args)
            ctx.named_by_path = True
        else:
            key = f"method:{node.target}" if node.op == "call_method" else node.target
            rule = table.get(key)
            ctx.named_by_path = (traced.via == "export" and kind is not None
                                 and kind.startswith("torch.nn.modules"))
        where = f"module {path or '<top>'}" + (f" ({kind})" if kind else "")
        line = source_line(node)
        if rule is None:
            what = (f"module class {type(traced.modules[node.target]).__module__}."
                    f"{type(traced.modules[node.target]).__qualname__}"
                    if node.op == "call_module" else f"op {_target_name(node)}")
            raise ImportFailed(
                f"{where}: {what} has no nascost rule"
                + (f"\n  at {line}" if line else "")
                + "\n  (supported modules and functions: docs/import.md; a custom module is "
                  "traced into, so only the calls inside it need rules)")
        try:
            val = rule(ctx, *args, **kwargs)
        except Unsupported as e:
            raise ImportFailed(f"{where}: {_target_name(node)}: {e}"
                               + (f"\n  at {line}" if line else "")) from None
        env[node] = val
        if _inplace(node, traced) and node.args and isinstance(node.args[0], fx.Node):
            env[node.args[0]] = val  # later readers of the mutated tensor see the new value
    if isinstance(output, (tuple, list)):
        if len(output) != 1:
            raise ImportFailed(f"the model returns {len(output)} values; a nascost space has "
                               "one output: return one tensor")
        output = output[0]
    if not isinstance(output, Val) or output.name == "input":
        raise ImportFailed(f"the model's output is not a value nascost can express "
                           f"({type(output).__name__})")
    return ctx, output.name
