"""NNI 3 adapter: a ``Profiler`` that scores a model-space sample through a nascost space.

NNI 3 describes a model space by labelled mutables (``nni.choice("s1_depth", [2, 3, 4])``,
``LayerChoice(..., label=...)``); a sample is ``{label: chosen value}``. The mapping onto
genes: each gene is read from the sample entry whose label is the gene's name (or
``labels[gene]``), and the entry's value must be one of the gene's choice values (its
position is the gene's index). Entries that are not genes are ignored; a missing gene or a
value that is not a choice raises, naming the gene. ``mutables(space)`` builds the NNI
mutables of a nascost space itself (one ``Categorical`` per gene, labelled by the gene).

    profiler = NasCostProfiler(model_space, space, metric="flops")
    strategy = Chain(RegularizedEvolution(), Filter(RangeProfilerFilter(profiler, max=300e6)))

A candidate that cannot be built profiles as inf (a max filter rejects it). The mapping
works without NNI (``genes_of``); the Profiler subclasses NNI's when NNI is installed
(``pip install 'nascost[nni]'``; NNI 3.0 imports with torch 2.13 but needs
pytorch-lightning and pins filelock < 3.12).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nascost.integrations.budget import COST_METRICS, BudgetCheck
from nascost.integrations.extras import install_hint, require
from nascost.integrations.genes import options, row_from_values

__all__ = ["NasCostProfiler", "expectation_penalty", "genes_of", "mutables"]

try:  # NNI's base class where NNI is installed; the mapping below works without it
    from nni.nas.profiler import Profiler as _Profiler

    HAVE_NNI = True
except ImportError:  # pragma: no cover - exercised where NNI is absent
    _Profiler = object
    HAVE_NNI = False


def genes_of(sample: Mapping[str, Any], space, labels: Mapping[str, str] | None = None
             ) -> np.ndarray:
    """The genes row of an NNI sample ({label: value}); ``labels`` maps gene -> label."""
    return row_from_values(space, sample, labels, where="sample")


def mutables(space, labels: Mapping[str, str] | None = None):
    """An ``nni.mutable.MutableDict`` with one ``Categorical`` per gene (labelled by the gene,
    or ``labels[gene]``): an NNI search space whose samples map onto genes exactly."""
    nm = require("nni.mutable", "nascost.integrations.nni.mutables")
    labels = labels or {}
    return nm.MutableDict({name: nm.Categorical(opts, label=labels.get(name, name))
                           for name, opts in options(space).items()})


class NasCostProfiler(_Profiler):
    """``profile(sample) -> float``: the sample's params, MACs, FLOPs or activations (per
    sample, under ``convention``), from the space's fast scorer."""

    def __init__(self, model_space: Any, space, metric: str = "flops", *,
                 convention: Any = "seed", labels: Mapping[str, str] | None = None):
        if not HAVE_NNI:
            raise ImportError(f"NasCostProfiler needs nni: {install_hint('nni')}")
        if metric not in COST_METRICS:
            raise ValueError(f"metric must be one of {COST_METRICS}. Got {metric!r} instead.")
        super().__init__(model_space)
        self.model_space = model_space
        self.space = space
        self.metric = metric
        self.labels = dict(labels or {})
        self.check = BudgetCheck(space, convention=convention)

    def genes(self, sample: Mapping[str, Any]) -> np.ndarray:
        return genes_of(sample, self.space, self.labels)

    def profile(self, sample: Mapping[str, Any]) -> float:
        s = self.check.score(self.genes(sample))
        return float(s[self.metric][0]) if int(s["status"][0]) == 0 else float("inf")

    def expected(self, distributions: Mapping[str, Mapping[Any, Any]]):
        """The exact expected metric when each gene's value is drawn from
        ``distributions[label]`` ({value: probability}, as NNI's one-shot strategies give
        them; torch tensors stay differentiable), genes independent
        (``space.expected_cost``); a candidate that cannot be built counts 0."""
        probs = []
        opts = options(self.space)
        for j, name in enumerate(self.space.gene_names):
            label = self.labels.get(name, name)
            if label not in distributions:
                raise KeyError(f"distributions lack gene {name!r} (label {label!r})")
            dist = distributions[label]
            row = [dist.get(v, 0.0) for v in opts[name]]
            unknown = [v for v in dist if v not in opts[name]]
            if unknown:
                raise ValueError(f"distributions[{label!r}]: {unknown} are not choices of gene "
                                 f"{name!r} ({self.space.choices[j]})")
            probs.append(_stack(row))
        return self.space.expected_cost(probs, convention=self.check.convention)[self.metric]


def _stack(row: list):
    """A probability vector: a torch tensor where any entry is one, else numpy."""
    if any(type(p).__module__.startswith("torch") for p in row):
        import torch

        like = next(p for p in row if type(p).__module__.startswith("torch"))
        return torch.stack([p if type(p).__module__.startswith("torch")
                            else torch.as_tensor(float(p), dtype=like.dtype) for p in row])
    return np.asarray(row, dtype=np.float64)


def expectation_penalty(profiler: NasCostProfiler, baseline: float, scale: float = 1.0,
                        **kwargs: Any):
    """NNI's one-shot ``ProfilerPenalty`` on the exact expected metric of the architecture
    distributions (``forward(loss, distributions) -> (loss, details)``): a differentiable
    budget penalty for DARTS-style strategies; kwargs: ``nonlinear``, ``aggregate``."""
    from nni.nas.oneshot.pytorch.profiler import ProfilerPenalty

    class _Penalty(ProfilerPenalty):
        def profile(self, sample):
            return self.profiler.expected(sample)

    return _Penalty(profiler, baseline, scale, **kwargs)
