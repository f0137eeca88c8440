"""The torch modules of an exported candidate (imported only when torch is installed)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nascost.export._torch_tokens import token_module
from nascost.reference.walk import ConcreteLayer, Resolved


class Add(nn.Module):
    """Elementwise sum of two or more tensors of one shape (a residual connection)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Mul(nn.Module):
    """Elementwise product with broadcasting (squeeze-and-excite)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


class Concat(nn.Module):
    """torch.cat along the channels."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Zero(nn.Module):
    """NAS-Bench-201's 'none' op: x.mul(0.)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ChannelSplit(nn.Module):
    """x.chunk(chunks, dim=1)[index] (ShuffleNetV2's channel split)."""

    def __init__(self, chunks: int, index: int):
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=1)[self.index]


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle (as torchvision writes it)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w)
        return torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)


class Crop(nn.Module):
    """x[:, :, top:, left:] (DARTS FactorizedReduce's shifted path)."""

    def __init__(self, top: int, left: int):
        super().__init__()
        self.top, self.left = top, left

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.top:, self.left:]


_ELEMENTWISE = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
    "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid, "silu": nn.SiLU, "gelu": nn.GELU,
    "identity": nn.Identity, "zero": Zero, "add": Add, "mul": Mul, "concat": Concat,
}


def _module(layer: ConcreteLayer, factory: dict) -> nn.Module:
    f = layer.fields
    op = layer.op
    if op == "conv2d":
        return nn.Conv2d(layer.in_shapes[0][0], f["out_channels"], kernel_size=f["kernel"],
                         stride=f["stride"], padding=f["padding"], dilation=f["dilation"],
                         groups=f["groups"], bias=f["bias"], **factory)
    if op == "linear":
        # (F,) of a flat value, (N, D) of tokens: the features are the last dimension
        return nn.Linear(layer.in_shapes[0][-1], f["out_features"], bias=f["bias"], **factory)
    if op == "batchnorm2d":
        return nn.BatchNorm2d(layer.in_shapes[0][0], affine=f["affine"], **factory)
    if op == "maxpool2d":
        return nn.MaxPool2d(f["kernel"], stride=f["stride"], padding=f["padding"],
                            ceil_mode=f["ceil_mode"])
    if op == "avgpool2d":
        return nn.AvgPool2d(f["kernel"], stride=f["stride"], padding=f["padding"],
                            ceil_mode=f["ceil_mode"], count_include_pad=f["count_include_pad"])
    if op == "global_avgpool":
        return nn.AdaptiveAvgPool2d(1)
    if op == "channel_split":
        return ChannelSplit(f["chunks"], f["index"])
    if op == "channel_shuffle":
        return ChannelShuffle(f["groups"])
    if op == "crop":
        return Crop(f["top"], f["left"])
    if op == "flatten":
        return nn.Flatten(1)  # torch.flatten(x, 1); a flat (N, F) input stays as it is
    module = token_module(layer, factory)
    if module is not None:
        return module
    return _ELEMENTWISE[op]()


class CandidateNet(nn.Module):
    """A candidate's network: one submodule per active layer, run in execution order over
    named values ("input" and the layers' names)."""

    def __init__(self, resolved: Resolved, device: Any = None, dtype: Any = None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.input_shape: tuple[int, int, int] = tuple(resolved.input_shape)
        self.output_name: str = resolved.output
        self.layers = nn.ModuleDict()
        self.layer_keys: dict[str, str] = {}  # spec layer name -> submodule key
        self._plan: list[tuple[str, str, tuple[str, ...]]] = []
        self._device = device
        self._dtype = dtype
        for layer in resolved.layers:
            key = self._key(layer.name)
            self.layers[key] = _module(layer, factory)
            self.layer_keys[layer.name] = key
            self._plan.append((layer.name, key, tuple(layer.inputs)))

    def _key(self, name: str) -> str:
        # a submodule name cannot contain '.' nor shadow an attribute of ModuleDict
        key = name.replace(".", "_")
        base, n = key, 1
        while key in self.layers or hasattr(self.layers, key):
            key = f"{base}_{n}"
            n += 1
        return key

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {"input": x}
        for name, key, inputs in self._plan:
            values[name] = self.layers[key](*(values[i] for i in inputs))
        return values[self.output_name]

    def example_input(self, batch: int = 1, device: Any = None,
                      dtype: Any = None) -> torch.Tensor:
        """A zero batch of the candidate's input shape."""
        return torch.zeros((batch, *self.input_shape),
                           device=device if device is not None else self._device,
                           dtype=dtype if dtype is not None else self._dtype)

    def layer_shapes(self, x: torch.Tensor | None = None) -> dict[str, tuple]:
        """Each layer's output shape (without the batch dimension) from a forward pass."""
        if x is None:
            x = self.example_input(1)
        out: dict[str, tuple] = {}
        handles = []
        for name, key in self.layer_keys.items():
            def hook(_mod, _inp, y, name=name):
                out[name] = tuple(y.shape[1:])
            handles.append(self.layers[key].register_forward_hook(hook))
        try:
            with torch.no_grad():
                self(x)
        finally:
            for h in handles:
                h.remove()
        return out
