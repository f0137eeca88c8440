"""Bring your own model: ``from_torch`` reads a PyTorch model into a nascost space.

    space = nascost.from_torch(model, torch.zeros(1, 3, 224, 224), genes={
        "w1": nascost.Gene([32, 48, 64], fields=["layer1.0.conv1.out_channels"])})

The inverse of ``nascost.export.to_torch``. Supported modules and functions: docs/import.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nascost.space.field_genes import FieldGene

Gene = FieldGene

__all__ = ["Gene", "ImportFailed", "from_torch"]

_MISSING = "from_torch needs PyTorch: pip install 'nascost[torch]'"


def __getattr__(name: str):
    if name == "ImportFailed":
        from nascost.importer.trace import ImportFailed

        return ImportFailed
    raise AttributeError(f"module 'nascost.importer' has no attribute {name!r}")


def to_spec(model: Any, example_input: Any, *, name: str | None = None,
            tracer: str = "auto") -> dict:
    """The one-candidate space spec of ``model`` run on ``example_input`` (N, C, H, W)."""
    try:
        import torch
    except ImportError:
        raise ImportError(_MISSING) from None
    from nascost.importer.convert import convert
    from nascost.importer.rules import TABLE, rule_classes
    from nascost.importer.trace import ImportFailed, trace

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module. Got {type(model).__name__}")
    x = example_input
    if isinstance(x, (tuple, list)) and all(isinstance(d, int) for d in x):
        x = torch.zeros(tuple(x))
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ImportFailed("example_input must be one (N, C, H, W) tensor (or its shape). Got "
                           f"{getattr(x, 'shape', x)!r}")
    was_training = model.training
    model.eval()
    try:
        traced = trace(model, x, rule_classes(), tracer)
    finally:
        model.train(was_training)
    ctx, out = convert(traced, TABLE, int(x.shape[0]))
    layers = ctx.layers
    if not layers:
        raise ImportFailed("the model has no layer nascost can count")
    if layers[-1]["name"] != out:  # the output must be the last value of the spec
        ctx.path, ctx.named_by_path = "", False
        layers.append({"op": "identity", "name": ctx._name("output"), "in": out})
    _, c, h, w = (int(d) for d in x.shape)
    return {"nascost_space": 1, "name": name or type(model).__name__,
            "description": f"imported from {type(model).__qualname__} ({traced.via})",
            "input": {"channels": c, "height": h, "width": w}, "genes": [], "layers": layers}


def from_torch(model: Any, example_input: Any, genes: Mapping[str, FieldGene] | None = None,
               name: str | None = None, *, tracer: str = "auto"):
    """A nascost Space for a PyTorch model: one candidate whose counts equal the model's,
    or, with ``genes`` (nascost.Gene on fields or blocks of the imported layers), a family.

    Layers are named after their module paths (``layer1.0.conv1``); functional calls after
    the module they run in plus the op (``layer1.0.add``). Anything without a rule raises
    ImportFailed naming the module path, the op and the source line. ``tracer``: "auto"
    (torch.fx, then torch.export where fx fails), "fx" or "export".
    """
    from nascost.space.field_genes import apply_field_genes
    from nascost.space.space import Space

    spec = to_spec(model, example_input, name=name, tracer=tracer)
    if genes:
        spec = apply_field_genes(spec, genes)
    return Space.from_spec(spec)
