"""nascost.integrations.nni with NNI 3: samples of an NNI model space map onto genes, the
Profiler's numbers are space.score's (and equal the parameter count of the model NNI
freezes from the sample), and NNI's own RangeProfilerFilter rejects exactly the samples
over the budget or that cannot be built."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tiny_spaces import grouped_space  # tests/integrations is on sys.path

import nascost
from nascost.integrations.nni import NasCostProfiler, expectation_penalty, genes_of, mutables

with warnings.catch_warnings():  # NNI 3.0 warns that it has not seen torch 2.13's modules
    warnings.simplefilter("ignore")
    import nni
    from nni.nas.nn.pytorch import LayerChoice, ModelSpace, MutableConv2d, MutableLinear
    from nni.nas.oneshot.pytorch.profiler import RangeProfilerFilter
    from nni.nas.profiler import Profiler


class TinyNet(ModelSpace):
    """An NNI model space whose labels are the genes of ``tiny_space``."""

    def __init__(self):
        super().__init__()
        w = nni.choice("width", [8, 16, 24])
        h = nni.choice("hidden", [32, 64])
        self.conv = LayerChoice({"3": torch.nn.Conv2d(3, 16, 3, padding=1),
                                 "5": torch.nn.Conv2d(3, 16, 5, padding=2)}, label="kernel")
        self.conv2 = MutableConv2d(16, w, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc1 = MutableLinear(w, h)
        self.fc2 = MutableLinear(h, 10)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv(x))))
        return self.fc2(torch.relu(self.fc1(self.pool(x).flatten(1))))


def tiny_space() -> nascost.Space:
    b = nascost.SpaceBuilder("nni-tiny")
    k = b.gene("kernel", ["3", "5"])
    w = b.gene("width", [8, 16, 24])
    h = b.gene("hidden", [32, 64])
    b.input(channels=3, height=32, width=32)
    b.conv2d("conv", out_channels=16, kernel=k.map(int), padding=k.map(lambda v: int(v) // 2))
    b.op("relu", "r1")
    b.conv2d("conv2", out_channels=w, kernel=3, padding=1)
    b.op("relu", "r2")
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc1", out_features=h)
    b.op("relu", "r3")
    b.linear("fc2", out_features=10)
    return b.build()


def test_profiler_on_an_nni_model_space_matches_the_frozen_torch_model():
    space, model_space = tiny_space(), TinyNet()
    params = NasCostProfiler(model_space, space, "params")
    flops = NasCostProfiler(model_space, space, "flops")
    assert isinstance(params, Profiler)
    seen = set()
    for seed in range(12):
        sample: dict = {}
        model = model_space.random(memo=sample, random_state=np.random.RandomState(seed))
        genes = genes_of(sample, space)
        seen.add(tuple(genes))
        assert space.genes_to_values(genes) == sample
        assert params.profile(sample) == sum(p.numel() for p in model.parameters())
        assert flops.profile(sample) == float(space.score(genes)["flops"][0].as_py())
    assert len(seen) > 4


def test_range_filter_flags_exactly_the_infeasible_samples():
    space = grouped_space()  # some candidates cannot be built
    space_mutables = mutables(space)
    profiler = NasCostProfiler(space_mutables, space, "flops")
    keep = RangeProfilerFilter(profiler, max=500_000)
    rng = np.random.RandomState(0)
    samples = [space_mutables.random(random_state=rng) for _ in range(40)]
    genes = np.array([genes_of(s, space) for s in samples], dtype=np.uint8)
    t = space.score(genes)
    ok = (t.column("flops").to_numpy() <= 500_000) & (t.column("status").to_numpy() == 0)
    assert [keep(s) for s in samples] == ok.tolist()
    assert ok.any() and (~ok).any() and (t.column("status").to_numpy() != 0).any()
    for s, g in zip(samples, genes, strict=True):  # NNI's samples round-trip
        assert s == space.genes_to_values(g)


def test_labels_map_renamed_decisions():
    space = tiny_space()
    sample = {"net/kernel": "5", "width": 16, "hidden": 64, "lr": 0.1}
    with pytest.raises(KeyError, match="'kernel'"):
        genes_of(sample, space)
    profiler = NasCostProfiler(None, space, "params", labels={"kernel": "net/kernel"})
    assert profiler.genes(sample).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="metric must be one of"):
        NasCostProfiler(None, space, "latency")


def test_expected_metric_and_one_shot_penalty():
    space, model_space = tiny_space(), TinyNet()
    profiler = NasCostProfiler(model_space, space, "flops")
    sample: dict = {}
    model_space.random(memo=sample, random_state=np.random.RandomState(3))
    one_hot = {label: {value: 1.0} for label, value in sample.items()}
    assert profiler.expected(one_hot) == pytest.approx(profiler.profile(sample), rel=1e-12)
    # uniform distributions: the mean over all 12 candidates, enumerated
    uniform = {name: {v: 1 / len(c) for v in c}
               for name, c in zip(space.gene_names, space.choices, strict=True)}
    every = np.array(np.meshgrid(*[range(len(c)) for c in space.choices],
                                 indexing="ij")).reshape(3, -1).T.astype(np.uint8)
    mean = space.score(every).column("flops").to_numpy().mean()
    assert profiler.expected(uniform) == pytest.approx(mean, rel=1e-12)
    # torch: differentiable, through NNI's own ProfilerPenalty
    logits = {name: torch.zeros(len(c), dtype=torch.float64, requires_grad=True)
              for name, c in zip(space.gene_names, space.choices, strict=True)}
    dists = {name: dict(zip(c, torch.softmax(logits[name], 0), strict=True))
             for name, c in zip(space.gene_names, space.choices, strict=True)}
    penalty = expectation_penalty(profiler, baseline=mean / 2, nonlinear="positive")
    loss, details = penalty(torch.tensor(0.0, dtype=torch.float64), dists)
    assert float(details["penalty"].detach()) == pytest.approx(mean, rel=1e-12)
    loss.backward()
    # a wider layer costs more: the gradient pushes width's logits towards 8
    g = logits["width"].grad
    assert g[0] < g[1] < g[2]
    with pytest.raises(ValueError, match="not choices of gene 'width'"):
        profiler.expected({**uniform, "width": {12: 1.0}})
