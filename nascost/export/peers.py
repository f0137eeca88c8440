"""Run the peer FLOP counters on a torch model: the number each tool reports.

Each function calls the tool the way its documentation shows and returns its total unchanged
(thop's float, the ints of the others). The presets of ``nascost.rules.conventions`` with the
same names reproduce these numbers for nascost's ``to_torch`` models; the parity tests compare
them. The tools are optional (the ``test`` extra installs them):

    >>> from nascost.export import to_torch
    >>> from nascost.export.peers import count
    >>> model = to_torch(space, genes)
    >>> count("thop", model, model.example_input(1))

Nothing the tools print reaches stdout; their warnings are silenced for the call.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["TOOLS", "count", "predict", "unused_layers", "tool_version", "PTFLOPS_MODULES",
           "PTFLOPS_FUNCTIONAL"]

# preset name -> (pip package, import name)
_PACKAGES = {
    "thop": ("thop", "thop"),
    "fvcore": ("fvcore", "fvcore"),
    "ptflops": ("ptflops", "ptflops"),
    "ptflops_aten": ("ptflops", "ptflops"),
    "torch": ("torch", "torch"),
}


def _need(preset: str):
    import importlib

    pip_name, module = _PACKAGES[preset]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"the {preset!r} peer tool needs {pip_name}: pip install "
                          f"'nascost[test]' (or pip install {pip_name})") from None


@contextlib.contextmanager
def _quiet():
    """Silence what the tools print and warn (stdout, warnings, logging) for one call."""
    sink = io.StringIO()
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _thop(model, x):
    thop = _need("thop")
    with _quiet():
        total_ops, _params = thop.profile(model, inputs=(x,), verbose=False)
    # thop leaves its total_ops/total_params buffers on the modules it has no rule for
    # (Lyken17/pytorch-OpCounter#96): remove them, so the model's state_dict is unchanged
    for module in model.modules():
        for name in ("total_ops", "total_params"):
            module._buffers.pop(name, None)
    return total_ops


def _fvcore(model, x):
    model.eval()  # fvcore counts the traced graph as it is: BN in eval mode (see the docs)
    with _quiet():
        _need("fvcore")
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        return analysis.total()


def _ptflops(backend: str):
    def run(model, x):
        _need("ptflops")
        from ptflops import get_model_complexity_info

        with _quiet():
            macs, _params = get_model_complexity_info(
                model, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False,
                backend=backend, input_constructor=lambda _res: x, ost=io.StringIO(),
                verbose=False)
        if macs is None:
            raise RuntimeError(f"ptflops ({backend} backend) failed on this model")
        return macs
    return run


def _torch(model, x):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops()


TOOLS: dict[str, Callable[[Any, Any], Any]] = {
    "thop": _thop,
    "fvcore": _fvcore,
    "ptflops": _ptflops("pytorch"),
    "ptflops_aten": _ptflops("aten"),
    "torch": _torch,
}


def count(preset: str, model, x):
    """The total the peer tool behind ``preset`` reports for ``model`` on input ``x``
    (a float for thop, an int for the others). Sets the model to eval mode."""
    if preset not in TOOLS:
        raise KeyError(f"no peer tool for convention {preset!r}; tools: {sorted(TOOLS)}")
    model.eval()
    return TOOLS[preset](model, x)


def tool_version(preset: str) -> str:
    """The installed version of the tool behind ``preset``."""
    from importlib.metadata import version

    return version(_PACKAGES[preset][0])


# ptflops' pytorch backend at batch N reports its module hooks' sum divided by N (its "mean
# flops per image"), then adds what it counts by patching torch.nn.functional and torch.Tensor
# (F.relu, F.gelu, F.silu, the F.*pool* functions, Tensor.mul) undivided, so that part stays
# multiplied by N. The 'ptflops' preset counts both per forward pass, like every preset:
# PRESETS["ptflops"] is PTFLOPS_MODULES + PTFLOPS_FUNCTIONAL, term by term.
PTFLOPS_MODULES = {
    "conv_mac": 1, "conv_bias": 1, "linear_mac": 1, "linear_bias": 1,
    "batchnorm": 1, "batchnorm_affine": 1, "maxpool_in": 1, "avgpool_in": 1,
    "global_pool_in": 1, "relu": 1, "relu6": 1, "gelu": 1,
    "layernorm": 1, "groupnorm": 1, "groupnorm_affine": 1,
    "attn_linear_mac": 1, "attn_linear_bias": 1, "upsample_nearest": 1, "upsample_bilinear": 1,
}
PTFLOPS_FUNCTIONAL = {
    "maxpool_in": 1, "avgpool_in": 1, "global_pool_in": 1, "relu": 1, "gelu": 1, "silu": 1,
    "zero": 1, "softmax": 1, "attn_qk_mac": 1, "attn_av_mac": 1, "attn_softmax": 1,
    "matmul_mac": 1, "upsample_nearest": 1, "upsample_bilinear": 1,
}
# ptflops' nn.Upsample hook counts the elements of the output's first sample only, so its
# part does not grow with the batch and is then divided by it like every module's
PTFLOPS_PER_SAMPLE_MODULES = {"upsample_nearest": 1, "upsample_bilinear": 1}


def unused_layers(space, genes_row: Any) -> list[str]:
    """The candidate's active layers whose output never reaches the network's output (a DARTS
    cell input that no edge reads). PyTorch runs them and nascost counts them; fvcore does not:
    it counts a jit trace, from which such dead code is dropped."""
    from nascost.reference.walk import resolve

    r = resolve(space, genes_row)
    if not r.ok:
        raise ValueError("the candidate is invalid: no tool reports a count for it")
    by_name = {layer.name: layer for layer in r.layers}
    live, todo = set(), [r.output]
    while todo:
        name = todo.pop()
        if name in live or name not in by_name:  # "input"
            continue
        live.add(name)
        todo.extend(by_name[name].inputs)
    return [layer.name for layer in r.layers if layer.name not in live]


def predict(preset: str, space, genes_row: Any, batch: int = 1) -> int:
    """What the peer tool behind ``preset`` reports for this candidate on a batch of
    ``batch``, from nascost's counts: the preset's flops at that batch, except for
    ptflops' pytorch backend past batch 1, where its two parts scale differently (above), and
    fvcore, which leaves out the layers whose output is unused (``unused_layers``)."""
    import numpy as np

    def flops(convention, n):
        out = space.score_arrays(np.asarray(space.check_genes(genes_row)),
                                 convention=convention, batch=n, engine="interpreter")
        if int(out["status"][0]) != 0:
            raise ValueError("the candidate is invalid: no tool reports a count for it")
        return int(out["flops"][0])

    if preset == "ptflops" and batch > 1:
        from fractions import Fraction

        per_sample = flops(PTFLOPS_PER_SAMPLE_MODULES, 1)
        modules = flops(PTFLOPS_MODULES, 1) - per_sample + Fraction(per_sample, batch)
        return int(modules + batch * flops(PTFLOPS_FUNCTIONAL, 1))
    total = flops(preset, batch)
    if preset == "fvcore":
        from nascost.reference.walk import resolve
        from nascost.rules.conventions import resolve as convention

        dead = set(unused_layers(space, genes_row))
        if dead:
            weights = convention("fvcore").weights
            total -= batch * sum(weights[t] * q for layer in resolve(space, genes_row).layers
                                 if layer.name in dead for t, q in layer.terms.items())
    return total
