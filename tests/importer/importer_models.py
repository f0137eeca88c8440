"""Hand-written PyTorch models for the importer tests: the calls real model code makes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Stem(nn.Module):
    def __init__(self, cout: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, cout, 3, padding=1, bias=False),
                                  nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True)))

    def forward(self, x):
        return self.body(x)


class Functional(nn.Module):
    """F.relu, x.mean((2, 3)), torch.cat, torch.split, x.flatten(1), +, *, in-place ops,
    nested nn.Sequential, a module called twice and a module never called."""

    def __init__(self):
        super().__init__()
        self.stem = Stem(16)
        self.conv_a = nn.Conv2d(8, 8, 3, padding=1)
        self.conv_b = nn.Conv2d(8, 8, 1)
        self.dw1 = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.dw2 = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.act = nn.ReLU()  # called twice
        self.se = nn.Conv2d(16, 16, 1)
        self.unused = nn.Linear(1000, 1000)  # never called: not part of the network
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        a, b = torch.split(x, 8, dim=1)
        a = F.relu(self.conv_a(a))
        b = self.conv_b(b)
        b.relu_()                              # in place: later reads of b see the relu
        y = torch.cat([a, b], 1)
        y = self.act(self.dw1(y))
        y += x                                 # in-place residual
        y = self.act(self.dw2(y))
        s = torch.sigmoid(self.se(y.mean((2, 3), keepdim=True)))
        y = y * s
        y = y + x
        return self.fc(y.mean((2, 3)).flatten(1))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """torchvision's ShuffleNetV2 channel_shuffle, as published."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    x = x.view(batchsize, num_channels, height, width)
    return x


class Shuffle(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.head = nn.Sequential(nn.AvgPool2d(2, count_include_pad=False), nn.Hardswish())
        self.fc = nn.Linear(8 * 2 * 2, 5, bias=False)

    def forward(self, x):
        x = self.pool(self.conv(x))
        x1, x2 = x.chunk(2, dim=1)
        x = channel_shuffle(torch.cat((x1, F.hardswish(x2)), dim=1), 2)
        x = self.head(x)
        return self.fc(x.view(x.size(0), -1))


class Branchy(nn.Module):
    """Shape-dependent control flow: torch.fx cannot trace it, torch.export can."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.act = nn.ReLU6()

    def forward(self, x):
        x = self.act(self.conv(x))
        if x.shape[-1] > 8:
            x = self.pool(x)
        return x


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return x


class Rotate(nn.Module):
    """A custom module with an op nascost has no rule for."""

    def forward(self, x):
        return torch.rot90(x, 1, (2, 3))


class WithCustom(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.block = nn.Sequential(nn.ReLU(), Rotate())

    def forward(self, x):
        return self.block(self.conv(x))


class AddConstant(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x) + 3.0


class UnequalSplit(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 1)

    def forward(self, x):
        a, b = torch.split(self.conv(x), [2, 4], dim=1)
        return b


class LSTMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.rnn = nn.LSTM(4, 4)

    def forward(self, x):
        return self.rnn(self.conv(x).flatten(2).permute(2, 0, 1))[0]


class SharedWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.shared(self.shared(x))


class FunctionalForms(nn.Module):
    """Functional calls with the model's own parameters, and the less common activations."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.b = nn.Parameter(torch.randn(8))
        self.bn_w = nn.Parameter(torch.ones(8))
        self.bn_b = nn.Parameter(torch.zeros(8))
        self.register_buffer("mean", torch.zeros(8))
        self.register_buffer("var", torch.ones(8))
        self.fc_w = nn.Parameter(torch.randn(5, 8 * 2 * 2))
        self.zero_path = nn.Conv2d(8, 8, 1, bias=False)

    def forward(self, x):
        x = F.conv2d(x, self.w, self.b, stride=1, padding=1)
        x = F.batch_norm(x, self.mean, self.var, self.bn_w, self.bn_b, False)
        x = F.hardtanh(x, 0.0, 6.0)
        x = F.max_pool2d(x, 2)
        x = x[:, :, 2:, 2:]                                  # crop: 6x6 -> 4x4
        x = F.silu(x) + self.zero_path(x) * 0                # the zero op
        x = torch.tanh(F.gelu(x)) * F.hardsigmoid(x)
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        x = F.adaptive_avg_pool2d(x, 2)
        return F.linear(x.flatten(1), self.fc_w)
