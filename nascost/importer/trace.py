"""Trace a PyTorch model into a graph whose every node carries its concrete result.

torch.fx symbolic tracing comes first (its graph keeps module calls and torch functions);
where it fails on Python control flow, torch.export (strict capture specialises shape-dependent
branches on the example input) gives an ATen graph that the same rule table reads.
"""

from __future__ import annotations

import contextlib
import io
import linecache
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx
from torch.utils import _pytree as pytree


class ImportFailed(ValueError):
    """A model nascost cannot import: names the module path, the op and the source line."""


@dataclass(frozen=True)
class TensorMeta:
    """A traced tensor's shape (batch first) without its data."""

    shape: tuple[int, ...]


@dataclass
class Traced:
    graph: fx.Graph
    modules: dict[str, torch.nn.Module]  # qualified name -> module (fx call_module targets)
    results: dict[fx.Node, Any]  # node -> concrete result, tensors as TensorMeta
    params: dict[str, str]  # export: placeholder name -> parameter/buffer qualified name
    via: str  # "fx" or "export"


def _meta(x: Any) -> Any:
    return pytree.tree_map(
        lambda t: TensorMeta(tuple(int(d) for d in t.shape)) if isinstance(t, torch.Tensor) else t,
        x)


class _Tracer(fx.Tracer):
    """Leaf modules: those with an import rule, and torch.nn's own (never traced into)."""

    def __init__(self, rule_classes: tuple[type, ...]):
        super().__init__()
        self.record_stack_traces = True
        self._rule_classes = rule_classes

    def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
        if type(m) in self._rule_classes:
            return True
        return super().is_leaf_module(m, qualname)


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule):
        super().__init__(gm)
        self.results: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        self.results[n] = _meta(out)
        return out


def source_line(node: fx.Node) -> str:
    """'file.py:12: x = torch.fft.fft(x)' for a traced node, or '' where unknown."""
    trace = node.meta.get("stack_trace") or ""
    lines = [ln.strip() for ln in trace.strip().splitlines() if ln.strip().startswith("File ")]
    torch_dir = str(Path(torch.__file__).parent)
    lines = [ln for ln in lines if torch_dir not in ln]  # the user's code, not torch's
    if not lines:
        return ""
    last = lines[-1]  # File "path", line N, in fn
    try:
        path = last.split('"')[1]
        lineno = int(last.split("line ")[1].split(",")[0])
    except (IndexError, ValueError):
        return last
    code = linecache.getline(path, lineno).strip()
    return f"{path}:{lineno}: {code}" if code else f"{path}:{lineno}"


def _fx_graph(model: torch.nn.Module, rule_classes: tuple) -> fx.GraphModule:
    tracer = _Tracer(rule_classes)
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph)


def _run(gm: fx.GraphModule, example: torch.Tensor) -> Traced:
    """Run the traced graph once on the example input, keeping every node's result."""
    needed = [n.name for n in gm.graph.nodes if n.op == "placeholder" and not n.args]
    if len(needed) > 1:
        raise ImportFailed(f"forward takes {len(needed)} inputs ({', '.join(needed)}); "
                           "nascost imports a model of one (N, C, H, W) input: wrap it in a "
                           "module whose forward takes one tensor")
    rec = _Recorder(gm)
    try:
        with torch.no_grad():
            rec.run(example)
    except Exception as e:  # noqa: BLE001 - the model's own error, reported with its place
        node = next((n for n in gm.graph.nodes if n not in rec.results
                     and n.op not in ("placeholder", "output")), None)
        name = node.target if node is not None and node.op == "call_module" else getattr(
            node, "name", "")
        where = f" at {name} ({source_line(node) or node.target})" if node else ""
        raise ImportFailed(f"the model fails on the example input of shape "
                           f"{tuple(example.shape)}{where}: {type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''}") from e
    return Traced(gm.graph, dict(gm.named_modules()), rec.results, {}, "fx")


def _export(model: torch.nn.Module, example: torch.Tensor) -> Traced:
    # torch.export prints the graph it fails on; the ImportFailed message says what matters
    sink = io.StringIO()
    with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
        ep = torch.export.export(model, (example,), strict=True)
    sig = ep.graph_signature
    params = {**sig.inputs_to_parameters, **sig.inputs_to_buffers}
    results = {n: _meta(n.meta.get("val")) for n in ep.graph.nodes}
    return Traced(ep.graph, {}, results, params, "export")


def trace(model: torch.nn.Module, example: torch.Tensor, rule_classes: tuple,
          tracer: str = "auto") -> Traced:
    """The model's graph: torch.fx first, torch.export where fx cannot trace the control flow
    (``tracer="fx"`` or ``"export"`` forces one)."""
    if tracer not in ("auto", "fx", "export"):
        raise ValueError(f"tracer must be 'auto', 'fx' or 'export'. Got {tracer!r} instead.")
    if tracer == "export":
        return _export(model, example)
    if tracer == "fx":
        return _run(_fx_graph(model, rule_classes), example)
    try:
        gm = _fx_graph(model, rule_classes)
    except (fx.proxy.TraceError, TypeError, RuntimeError, AttributeError,
            NotImplementedError) as fx_err:
        try:
            return _export(model, example)
        except Exception as ex_err:  # noqa: BLE001 - both failures are reported to the user
            first = str(ex_err).splitlines()[0] if str(ex_err) else ""
            raise ImportFailed(
                f"cannot trace {type(model).__name__}: torch.fx failed ({fx_err}) and so did "
                f"torch.export ({type(ex_err).__name__}: {first}). "
                "Python control flow that depends on tensor values or shapes cannot be traced "
                "symbolically: make the branch depend on constructor arguments, pass the value "
                "as a concrete arg (torch.fx.symbolic_trace(model, concrete_args=...)), or "
                "rewrite it with torch.cond so that torch.export can capture it"
            ) from ex_err
    return _run(gm, example)
