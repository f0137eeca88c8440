"""The built-in spaces: registry, stored JSON, sizes, and counts checked against real torch
models (an independent re-implementation of the original code, in spaces_torch_ref.py, and
nascost's own torch export when it exists) and against published numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import spaces_torch_ref as ref  # tests/spaces is on sys.path under pytest (rootdir imports)
import torch
from torch.utils.flop_counter import FlopCounterMode

from nascost.reference.walk import count, live_genes, resolve
from nascost.space.space import Space
from nascost.spaces import BUILTINS, export_json, list_spaces, load_builtin, nb201

DATA = Path(__file__).resolve().parents[2] / "data" / "spaces"
NAMES = ["mbv2-style", "mobilenet_v2", "nb201-cifar10", "resnet-style", "resnet18"]
HAS_EXPORT = importlib.util.find_spec("nascost.export.torch") is not None
# random candidates per space checked against torch (small for the big ImageNet models)
N_SAMPLES = {"mbv2-style": 30, "resnet-style": 30, "nb201-cifar10": 50, "resnet18": 1,
             "mobilenet_v2": 1}


def macs_params(space: Space, row) -> tuple[int, int]:
    c = count(space, row, "macs")
    assert c["status"] == 0, c
    assert c["macs"] == c["flops"]  # the 'macs' convention: conv and linear MACs only
    return c["params"], c["macs"]


# --- registry and stored JSON ----------------------------------------------------------------
def test_registry():
    assert set(NAMES) <= set(list_spaces())
    assert list_spaces() == sorted(BUILTINS)
    for name in NAMES:
        s = load_builtin(name)
        assert s.name == name
        assert load_builtin(name) is s  # cached
    with pytest.raises(KeyError, match="known spaces: .*nb201-cifar10"):
        load_builtin("nope")


@pytest.mark.parametrize("name", list_spaces())
def test_stored_json_matches_builder(name):
    built = BUILTINS[name]()
    path = DATA / f"{name}.json"
    stored = Space.from_file(path)
    assert stored.hash == built.hash
    assert stored == built
    assert path.read_text() == built.to_json(indent=1) + "\n"


def test_export_json_check_is_clean(tmp_path):
    assert export_json.main(["--check"]) == 0
    assert export_json.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.json" for n in list_spaces())
    (tmp_path / "resnet18.json").write_text("{}")
    assert export_json.main(["--check", "--out", str(tmp_path)]) == 1


def test_sizes():
    assert load_builtin("nb201-cifar10").size == 5**6
    assert load_builtin("resnet-style").size == 3 * (3 * 3 * 2) * (4 * 3 * 2) * (5 * 3 * 2) * (
        3 * 3 * 2)
    # resolution 4, width 3, five depth genes of 3, 21 blocks x (kernel 3, expand 3)
    assert load_builtin("mbv2-style").size == 4 * 3 * 3**5 * 9**21
    assert load_builtin("mbv2-style").size > 10**15
    assert load_builtin("resnet18").size == 1 and load_builtin("resnet18").n_genes == 0
    assert load_builtin("mobilenet_v2").size == 1


# --- published numbers -----------------------------------------------------------------------
# torchvision weight tables (meta of the IMAGENET1K_V1 weights): "num_params" and "_ops"
# (GMACs, shown as 'GFLOPS' in the docs), in pytorch/vision torchvision/models/resnet.py
# (ResNet18_Weights: 11689512, 1.814; ResNet34_Weights: 21797672, 3.664; ResNet50_Weights:
# 25557032, 4.089) and torchvision/models/mobilenetv2.py (MobileNet_V2_Weights: 3504872,
# 0.301); docs pages pytorch.org/vision/stable/models/generated/torchvision.models.resnet18
# and ...mobilenet_v2.html (num_params 11689512, GFLOPS 1.81; 3504872, 0.30).
PUBLISHED = {
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "mobilenet_v2": (3_504_872, 0.301),
}


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_torchvision_spaces_match_published(name):
    s = load_builtin(name)
    params, macs = macs_params(s, np.zeros(0, dtype=np.uint8))
    want_params, want_gmacs = PUBLISHED[name]
    assert params == want_params
    assert round(macs / 1e9, 3) == want_gmacs
    assert round(macs / 1e9, 2) == round(want_gmacs, 2)  # the docs' 'GFLOPS' column


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_resnet_style_named_match_published(name):
    s = load_builtin("resnet-style")
    params, macs = macs_params(s, s.named(name))
    assert (params, round(macs / 1e9, 3)) == PUBLISHED[name]


def test_mbv2_style_named_is_torchvision_mobilenet_v2():
    s = load_builtin("mbv2-style")
    tv = load_builtin("mobilenet_v2")
    got = macs_params(s, s.named("mobilenet_v2"))
    assert got == macs_params(tv, np.zeros(0, dtype=np.uint8))
    assert got[0] == PUBLISHED["mobilenet_v2"][0]
    # the same layers, layer by layer (shapes and costs), whatever their names
    a = [(x.op, x.out_shape, x.params, x.macs) for x in resolve(s, s.named("mobilenet_v2")).layers]
    b = [(x.op, x.out_shape, x.params, x.macs) for x in resolve(tv, []).layers]
    assert a == b


def test_resnet_style_named_resnet18_is_the_resnet18_space():
    s = load_builtin("resnet-style")
    a = [(x.op, x.out_shape, x.params, x.macs) for x in resolve(s, s.named("resnet18")).layers
         if x.op != "identity"]  # the stage-1 shortcut choice picks an explicit identity
    b = [(x.op, x.out_shape, x.params, x.macs)
         for x in resolve(load_builtin("resnet18"), []).layers]
    assert a == b


# NAS-Bench-201 on CIFAR-10 (benchmark file NAS-Bench-201-v1_1-096897, cifar10-valid): the
# smallest and largest 'params' over all 15625 architectures are 0.073306 and 1.531546 (MB =
# 1e6 parameters) and the 'flop' range is 7.78305 .. 220.11969 (M). Found in two public files
# (the code search did not name their repositories): a script scanning the benchmark's JSON
# (paths under Data_HPOBench/.../NAS-Bench-201-v1_1-096897_cifar10-valid.json, printing
# "min_params 0.073306 / max_params 1.531546 / min_flop 7.78305 / max_flop 220.11969"), and
# an evaluator built on evoxbench's NASBench201SearchSpace with min_max_values['cifar10']
# 'params': [0.073306, 1.531546], 'flops': [7.78305, 220.11969]. The benchmark counts them
# with D-X-Y/AutoDL-Projects lib/utils/flop_benchmark.py: parameters of
# nn.Module.parameters(), and FLOPs = conv + linear multiply-adds plus the bias additions of
# layers with a bias (only the classifier: 10), pooling not included. The largest network
# has a 3x3 conv on every edge; the smallest has parameter-free edges only.
def test_nb201_extremes_match_the_benchmark():
    s = load_builtin("nb201-cifar10")
    big = macs_params(s, s.named("all_nor_conv_3x3"))
    small = macs_params(s, s.named("all_skip_connect"))
    assert big[0] == 1_531_546 and small[0] == 73_306
    assert round((big[1] + 10) / 1e6, 5) == 220.11969
    assert round((small[1] + 10) / 1e6, 5) == 7.78305
    # every candidate lies between them, and each extreme is reached
    rows = s.ids_to_genes(np.arange(s.size, dtype=np.uint64))
    out = s.score_arrays(rows, "macs")
    assert (out["status"] == 0).all()
    assert out["params"].min() == small[0] and out["params"].max() == big[0]
    assert out["macs"].min() == small[1] and out["macs"].max() == big[1]


def test_nb201_gene_order_is_the_arch_string_order():
    s = load_builtin("nb201-cifar10")
    assert s.gene_names == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    assert all(c == list(nb201.OPS) for c in s.choices)
    assert list(nb201.OPS) == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                               "avg_pool_3x3"]
    arch = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|none~2|"
    values = nb201.arch_to_values(arch)
    assert nb201.values_to_arch(values) == arch
    row = s.genes_from_values(values)
    assert list(row) == [3, 0, 2, 1, 4, 0]


# --- counts against torch --------------------------------------------------------------------
def ref_model(name: str, space: Space, row):
    """(independent torch model, input shape) for a candidate."""
    values = space.genes_to_values(row) if space.n_genes else {}
    if name == "resnet18":
        return ref.resnet("basic", (2, 2, 2, 2)), (3, 224, 224)
    if name == "mobilenet_v2":
        return ref.torchvision_mobilenet_v2(), (3, 224, 224)
    if name == "nb201-cifar10":
        return ref.TinyNetwork(nb201.values_to_arch(values)), (3, 32, 32)
    if name == "resnet-style":
        model = ref.resnet([values[f"s{i}_block"] for i in range(1, 5)],
                           [values[f"s{i}_depth"] for i in range(1, 5)],
                           [values[f"s{i}_width"] for i in range(1, 5)])
        return model, (3, values["resolution"], values["resolution"])
    if name == "mbv2-style":
        model, r = ref.mbv2_style(values)
        return model, (3, r, r)
    raise AssertionError(name)


def samples(name: str) -> np.ndarray:
    """Random candidates, the named ones, and for nb201 each op on every edge."""
    s = load_builtin(name)
    rows = [s.sample(N_SAMPLES[name], seed=2024)]
    rows += [s.named(n)[None, :] for n in s.named_candidates]
    if name == "nb201-cifar10":
        rows.append(np.repeat(np.arange(len(nb201.OPS), dtype=np.uint8)[:, None], 6, axis=1))
    return np.concatenate(rows)


@pytest.mark.parametrize("name", NAMES)
def test_counts_match_independent_torch_models(name):
    s = load_builtin(name)
    for row in samples(name):
        with torch.device("meta"):
            model, shape = ref_model(name, s, row)
        assert s.input_shape(row) == shape
        assert macs_params(s, row) == ref.params_and_macs(model, shape), \
            s.genes_to_values(row) if s.n_genes else name


@pytest.mark.parametrize("name", NAMES)
def test_kernel_scores_match_reference(name):
    s = load_builtin(name)
    rows = samples(name)
    out = s.score_arrays(rows, "seed", batch=2)
    for k, row in enumerate(rows):
        want = count(s, row, "seed", batch=2)
        got = {key: int(out[key][k]) for key in want}
        assert got == want


@pytest.mark.skipif(not HAS_EXPORT, reason="nascost.export.torch is not there yet")
@pytest.mark.parametrize("name", NAMES)
def test_counts_match_to_torch(name):
    from nascost.export.torch import to_torch

    s = load_builtin(name)
    for row in samples(name):
        model = to_torch(s, row, device="meta")
        params = sum(p.numel() for p in model.parameters())
        c, h, w = s.input_shape(row)
        x = torch.empty(1, c, h, w, device="meta")
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            y = model(x)
        assert (params, fc.get_total_flops() // 2) == macs_params(s, row)
        assert y.shape[-1] == (10 if name == "nb201-cifar10" else 1000)


def test_mbv2_style_depth_switches_later_blocks_off():
    s = load_builtin("mbv2-style")
    values = {"s1_depth": 2, "s2_depth": 4, "s3_depth": 3, "s4_depth": 2, "s5_depth": 2}
    row = s.genes_from_values(values)
    live = dict(zip(s.gene_names, live_genes(s, row), strict=True))
    assert live["resolution"] and live["width"] and live["s6_b0_kernel"]
    assert live["s1_b1_kernel"] and not live["s1_b2_kernel"] and not live["s1_b3_expand"]
    assert live["s2_b3_expand"] and live["s3_b2_kernel"] and not live["s3_b3_kernel"]
    # the first two blocks of a stage are always there: their depth test is not needed
    names = [x.name for x in resolve(s, row).layers]
    assert sum(n.endswith("_dw_conv") for n in names) == 1 + 2 + 4 + 3 + 2 + 2 + 1
    assert sum(n.endswith("_add") for n in names) == 1 + 3 + 2 + 1 + 1


def test_resnet_style_stage1_shortcut_only_projects_when_channels_change():
    s = load_builtin("resnet-style")
    for width, block, want in ((1.0, "basic", False), (0.75, "basic", True),
                               (0.5, "basic", True), (1.0, "bottleneck", True)):
        row = s.genes_from_values({"s1_width": width, "s1_block": block})
        names = [x.name for x in resolve(s, row).layers]
        assert any(n.startswith("s1_b0_") and "_down" in n for n in names) == want
        # stages 2-4 start with stride 2: always a projection
        assert all(any(n.startswith(f"s{i}_b0_") and "_down" in n for n in names)
                   for i in (2, 3, 4))
