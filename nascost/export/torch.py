"""``to_torch``: the real PyTorch network of one candidate (the optional ``torch`` extra).

The network is built from the slow reference's resolved layers, so it is independent of the
compiled program and the kernels: it is what the parity tests compare the counts against.
Every layer is a registered submodule (multi-input ops and views included), so parameter counts
and hook-based tools (thop, ptflops, fvcore) see the whole graph.
"""

from __future__ import annotations

from typing import Any

_MISSING = "to_torch needs PyTorch: pip install 'nascost[torch]'"


def _require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError(_MISSING) from None


def to_torch(space, genes_row: Any, *, device: Any = None, dtype: Any = None):
    """The ``torch.nn.Module`` of one candidate (a genes row of choice indices).

    The module takes a batch ``(N, C, H, W)`` of the space's input shape for this candidate
    (``model.input_shape``; ``model.example_input(n)`` makes one). A candidate whose status is
    not 0 raises ValueError naming the failing layer. ``device="meta"`` builds it without
    allocating weights.
    """
    _require_torch()
    from nascost.export._torch_net import CandidateNet
    from nascost.reference.walk import resolve
    from nascost.rules import status

    r = resolve(space, genes_row)
    if r.status != status.OK:
        raise ValueError(
            f"candidate {space.check_genes(genes_row)[0].tolist()} of space {space.name!r} is "
            f"invalid: layer {r.failed_layer!r} fails with status {r.status} "
            f"({status.NAMES.get(r.status, '?')}); it has no torch model"
        )
    return CandidateNet(r, device=device, dtype=dtype)


def layer_shapes(model, x=None) -> dict[str, tuple]:
    """Each layer's output shape without the batch dimension, from a forward pass of ``x``
    (by default a batch of one on the model's device). Keys are the spec's layer names."""
    _require_torch()
    return model.layer_shapes(x)
