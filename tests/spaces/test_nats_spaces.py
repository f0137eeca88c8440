"""NATS-Bench size search space (nats-sss-cifar10): stored JSON, the channel-string codec and
the benchmark's index over all 32768 architectures, the benchmark's stored parameter counts,
and counts against PyTorch (nascost's export and an independent model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spaces_torch_ref as ref  # tests/spaces is on sys.path under pytest (rootdir imports)
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nascost.export import layer_shapes, to_torch
from nascost.reference.walk import count, resolve
from nascost.space.space import Space
from nascost.spaces import BUILTINS, load_builtin, nats, nb201

DATA = Path(__file__).resolve().parents[2] / "data" / "spaces"
NAME = "nats-sss-cifar10"
CANDIDATES = [8, 16, 24, 32, 40, 48, 56, 64]  # get_search_spaces("sss", "nats-bench")
N_RANDOM = 30


def traverse_net(candidates, n):
    """D-X-Y/AutoDL-Projects exps/NATS-Bench/sss-collect.py (and main-sss.py) traverse_net:
    the benchmark's meta_archs, in its index order."""
    nets = [""]
    for _ in range(n):
        nets = [str(c) if net == "" else f"{net}:{c}" for net in nets for c in candidates]
    return nets


# --- an independent torch model: DynamicShapeTinyNet("c0:c1:c2:c3:c4", TOPOLOGY) ---------------
# from lib/models/shape_infers/InferTinyCellNet.py, cell_infers/cells.py (InferCell with C_in,
# C_out) and cell_operations.py (ReLUConvBN, FactorizedReduce with stride 1, ResNetBasicblock)
class FactorizedReduceS1(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return self.bn(self.conv(x))


class InferCellIO(nn.Module):
    def __init__(self, genotype, c_in, c_out):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_in = []
        for node in genotype:
            idx = []
            for op, src in node:
                cin = c_in if src == 0 else c_out
                if op == "nor_conv_3x3":
                    layer = ref.ReLUConvBN(cin, c_out, 3, 1, 1)
                elif op == "skip_connect":
                    layer = nn.Identity() if cin == c_out else FactorizedReduceS1(cin, c_out)
                else:
                    raise AssertionError(op)
                idx.append((len(self.layers), src))
                self.layers.append(layer)
            self.node_in.append(idx)

    def forward(self, x):
        nodes = [x]
        for idx in self.node_in:
            nodes.append(sum(self.layers[k](nodes[src]) for k, src in idx))
        return nodes[-1]


class DynamicShapeTinyNet(nn.Module):
    def __init__(self, channels, genotype, num_classes=10):
        super().__init__()
        genotype = ref.parse_arch(genotype)
        n = len(channels) // 3
        self.stem = nn.Sequential(nn.Conv2d(3, channels[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels[0]))
        reductions = [False] * n + [True] + [False] * n + [True] + [False] * n
        cells, prev = [], channels[0]
        for c, red in zip(channels, reductions, strict=True):
            cells.append(ref.ResNetBasicblock(prev, c) if red else InferCellIO(genotype, prev, c))
            prev = c
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU())
        self.classifier = nn.Linear(prev, num_classes)

    def forward(self, x):
        out = self.lastact(self.cells(self.stem(x)))
        out = nn.functional.adaptive_avg_pool2d(out, 1)
        return self.classifier(out.view(out.size(0), -1))


# --- registry, stored JSON, codec and index ---------------------------------------------------
def test_stored_json_matches_builder():
    built = BUILTINS[NAME]()
    path = DATA / f"{NAME}.json"
    assert Space.from_file(path) == built
    assert path.read_text() == built.to_json(indent=1) + "\n"


def test_space_shape():
    s = load_builtin(NAME)
    assert s.size == 8**5 == 32768
    assert s.gene_names == ["c0", "c1", "c2", "c3", "c4"]
    assert all(c == CANDIDATES for c in s.choices)
    assert s.spec["codec"] == "nats-sss"
    assert nats.TOPOLOGY == nb201.values_to_arch(nb201.arch_to_values(nats.TOPOLOGY))
    assert s.named_candidates == ["largest", "smallest"]


def test_channel_string_and_index_round_trip_all_32768():
    s = load_builtin(NAME)
    nets = traverse_net(CANDIDATES, 5)
    assert len(nets) == 32768
    rows = s.ids_to_genes(np.arange(s.size, dtype=np.uint64))
    assert [s.decode(r) for r in rows] == nets  # the benchmark's index is nascost's id
    assert np.array_equal(np.array([s.encode(t) for t in nets]), rows)
    assert np.array_equal(nats.index_to_genes(s, np.arange(32768)), rows)
    assert np.array_equal(nats.genes_to_index(s, rows), np.arange(32768))
    assert nats.genes_to_index(s, s.encode("64:64:64:64:64")) == 32767
    assert s.decode(nats.index_to_genes(s, 0)) == "8:8:8:8:8"


def test_codec_errors():
    s = load_builtin(NAME)
    with pytest.raises(ValueError, match="must be one of"):
        s.encode("64:64:64:64:12")
    with pytest.raises(ValueError, match="5 channel numbers"):
        s.encode("64:64:64:64")
    with pytest.raises(TypeError):
        s.encode([64] * 5)
    with pytest.raises(ValueError, match="0..32767"):
        nats.index_to_genes(s, -1)


# --- the benchmark's stored parameter counts --------------------------------------------------
# NATS-Bench stores 'params' in MB (1e6) from lib/utils/flop_benchmark.py (every parameter of
# the model). The values below are quoted by a public third-party file (proxy_utils_sss.py, a
# DynamicShapeTinyNet re-implementation whose docstring says "verified against stored
# benchmark param counts"; the code search did not name its repository): '8:8:8:8:8' ->
# 0.011714, '8:8:16:40:40' -> 0.107826, '64:64:64:64:64' -> 0.713674 (CIFAR-10, 10 classes).
STORED_PARAMS = {"8:8:8:8:8": 11_714, "8:8:16:40:40": 107_826, "64:64:64:64:64": 713_674}


def test_params_match_the_benchmark():
    s = load_builtin(NAME)
    for text, params in STORED_PARAMS.items():
        assert count(s, s.encode(text), "macs")["params"] == params
    assert s.decode(s.named("largest")) == "64:64:64:64:64"
    assert s.decode(s.named("smallest")) == "8:8:8:8:8"
    # the largest network is also the largest of the space, and the smallest the smallest
    out = s.score_arrays(s.ids_to_genes(np.arange(s.size, dtype=np.uint64)), "macs")
    assert (out["status"] == 0).all()
    assert out["params"].max() == 713_674 and out["params"].min() == 11_714


def test_skip_connect_is_identity_only_when_channels_match():
    """InferCell(C_in, C_out): the edge 3<-0 is skip_connect, Identity if C_in == C_out, else
    FactorizedReduce(stride 1) = conv1x1 + BN; cell 0 always has C_in == C_out."""
    s = load_builtin(NAME)
    for text, fr2, fr4 in (("16:32:32:48:48", False, False), ("16:32:40:48:48", True, False),
                           ("16:32:32:48:56", False, True), ("8:8:8:8:8", False, False)):
        names = [x.name for x in resolve(s, s.encode(text)).layers]
        assert not any(n.startswith("cell0_e30_fr") for n in names)
        assert any(n.startswith("cell2_e30_fr") and n.endswith("_conv") for n in names) == fr2
        assert any(n.startswith("cell4_e30_fr") and n.endswith("_conv") for n in names) == fr4


# --- counts against torch ---------------------------------------------------------------------
def samples() -> np.ndarray:
    s = load_builtin(NAME)
    fixed = ["64:64:64:64:64", "8:8:8:8:8", "16:32:32:48:48", "8:64:8:64:8", "64:8:64:8:64"]
    return np.concatenate([s.sample(N_RANDOM, seed=32768), np.stack([s.encode(t) for t in fixed])])


def test_to_torch_matches_counts_and_shapes():
    s = load_builtin(NAME)
    for row in samples():
        model = to_torch(s, row, device="meta")
        model.eval()
        with FlopCounterMode(display=False) as fc:
            shapes = layer_shapes(model)
        c = count(s, row, "macs")
        assert (sum(p.numel() for p in model.parameters()), fc.get_total_flops() // 2) == \
            (c["params"], c["macs"]), s.decode(row)
        assert shapes == {x.name: tuple(x.out_shape) for x in resolve(s, row).layers}


def test_counts_match_the_independent_model():
    s = load_builtin(NAME)
    for row in samples()[::2]:
        chans = [int(v) for v in s.decode(row).split(":")]
        with torch.device("meta"):
            model = DynamicShapeTinyNet(chans, nats.TOPOLOGY)
        c = count(s, row, "macs")
        assert (c["params"], c["macs"]) == ref.params_and_macs(model, (3, 32, 32)), chans


def test_kernel_scores_match_reference():
    s = load_builtin(NAME)
    rows = samples()
    # engine "auto" uses the per-segment tables where the space factors (nb201, nats), the
    # interpreter otherwise (darts); both are compared with the slow reference
    outs = [s.score_arrays(rows, "seed", batch=2, engine=e) for e in ("auto", "interpreter")]
    for k, row in enumerate(rows):
        want = count(s, row, "seed", batch=2)
        for out in outs:
            assert {key: int(out[key][k]) for key in want} == want
