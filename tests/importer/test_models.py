"""Hand-written models: what real model code does imports with PyTorch's semantics; what has
no nascost op fails with one error naming the module path, the op and the source line."""

from __future__ import annotations

import importer_models as models  # tests/importer on sys.path
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import nascost
from nascost.importer import ImportFailed, from_torch
from nascost.reference import count, resolve
from nascost.rules.conventions import PRESETS
from nascost.space.builder import SpaceBuilder

BATCH = 2


def torch_macs(model, x) -> int:
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(x)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return total // 2  # FlopCounterMode counts a multiply-add as 2


def assert_same_counts(a, b) -> None:
    for convention in PRESETS:
        assert count(a, [], convention, batch=BATCH) == count(b, [], convention, batch=BATCH), \
            convention


def functional_by_hand():
    b = SpaceBuilder("functional-by-hand")
    b.input(3, 12, 12)
    b.conv2d("stem", 16, 3, padding=1, bias=False)
    b.batchnorm2d("stem_bn")
    x = b.op("relu", "stem_act")
    a = b.layer("channel_split", "a", chunks=2, index=0)
    b.conv2d("conv_a", 8, 3, padding=1, input=a)
    a = b.op("relu", "a_act")
    bb = b.layer("channel_split", "b", x, chunks=2, index=1)
    b.conv2d("conv_b", 8, 1, input=bb)
    bb = b.op("relu", "b_act")
    b.op("concat", "cat", input=[a, bb])
    dw = SpaceBuilder.channels_of("cat")
    y = b.conv2d("dw1", dw, 3, padding=1, groups=dw, bias=False)
    b.op("relu", "act1")
    b.op("add", "res1", input=["act1", x])
    dw = SpaceBuilder.channels_of("res1")
    b.conv2d("dw2", dw, 3, padding=1, groups=dw, bias=False)
    y = b.op("relu", "act2")
    b.op("global_avgpool", "se_pool")
    b.conv2d("se", 16, 1)
    s = b.op("sigmoid", "se_gate")
    b.op("mul", "scaled", input=[y, s])
    b.op("add", "res2", input=["scaled", x])
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", 10)
    return b.build()


def test_functional_calls_match_pytorch_and_a_hand_written_space():
    model = models.Functional().eval()
    x = torch.randn(BATCH, 3, 12, 12)
    space = from_torch(model, x)
    assert space.spec["description"].endswith("(fx)")
    assert_same_counts(space, functional_by_hand())
    c = count(space, [], batch=BATCH)
    used = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("unused"))
    assert c["params"] == used  # the unused Linear(1000, 1000) is not part of the network
    assert c["macs"] == torch_macs(model, x)
    names = [layer.name for layer in resolve(space, []).layers]
    assert names[:3] == ["stem.body.0", "stem.body.1.0", "stem.body.1.1"]
    assert "act" in names and "act_1" in names  # a module called twice: two layers
    assert not any(n.startswith("unused") for n in names)


def test_channel_shuffle_view_chunk_and_pools():
    model = models.Shuffle().eval()
    x = torch.randn(BATCH, 3, 16, 16)
    space = from_torch(model, x, name="shuffle")
    ops_ = [(layer.op, layer.out_shape) for layer in resolve(space, []).layers]
    assert ("channel_shuffle", (8, 5, 5)) in ops_  # ceil_mode: 8 -> 5
    assert [op for op, _ in ops_].count("channel_split") == 2
    c = count(space, [], batch=BATCH)
    assert c["params"] == sum(p.numel() for p in model.parameters())
    assert c["macs"] == torch_macs(model, x)
    assert space.name == "shuffle"
    assert resolve(space, []).layers[-1].out_shape == tuple(model(x).shape[1:])


def test_shape_dependent_branch_falls_back_to_torch_export():
    model = models.Branchy().eval()
    space = from_torch(model, torch.randn(1, 3, 16, 16))
    assert space.spec["description"].endswith("(export)")
    assert [(la.name, la.op) for la in resolve(space, []).layers] == [
        ("conv", "conv2d"), ("act", "relu6"), ("pool", "maxpool2d")]
    small = from_torch(model, torch.randn(1, 3, 8, 8))  # the branch not taken
    assert [la.op for la in resolve(small, []).layers] == ["conv2d", "relu6"]


def test_data_dependent_control_flow_says_what_to_do():
    with pytest.raises(ImportFailed, match="concrete_args|torch.cond"):
        from_torch(models.DataDependent(), torch.randn(1, 3, 8, 8))


def test_custom_module_without_rule_names_path_op_and_line():
    with pytest.raises(ImportFailed) as e:
        from_torch(models.WithCustom(), torch.randn(1, 3, 8, 8))
    msg = str(e.value)
    assert "module block.1 (importer_models.Rotate)" in msg
    assert "rot90" in msg
    assert "importer_models.py" in msg and "torch.rot90(x, 1, (2, 3))" in msg


@pytest.mark.parametrize("model, words", [
    (models.AddConstant(), "adds a constant"),
    (models.UnequalSplit(), "unequal pieces"),
    (models.LSTMHead(), "flatten"),
])
def test_unsupported_calls_fail_clearly(model, words):
    with pytest.raises(ImportFailed, match=words):
        from_torch(model, torch.randn(1, 3, 8, 8))


def test_torch_nn_module_without_rule_is_named():
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.LocalResponseNorm(2))
    with pytest.raises(ImportFailed, match=r"module 1 .*LocalResponseNorm has no nascost rule"):
        from_torch(m, torch.randn(1, 3, 8, 8))


def test_module_with_parameters_called_twice_is_refused():
    # PyTorch counts shared weights once; a nascost layer owns its parameters
    with pytest.raises(ImportFailed, match="shared.*called again"):
        from_torch(models.SharedWeights(), torch.randn(1, 3, 8, 8))


def test_bad_example_input():
    with pytest.raises(ImportFailed, match="example_input"):
        from_torch(models.Stem(4), torch.randn(3, 8, 8))


def test_top_level_exports():
    assert nascost.from_torch is from_torch
    assert nascost.Gene is nascost.importer.Gene


@pytest.mark.parametrize("make", [models.Functional, models.Shuffle, models.FunctionalForms])
def test_torch_export_graph_imports_as_fx_does(make):
    """The ATen rows (torch.export) give the same space counts as the fx rows."""
    model = make().eval()
    x = torch.randn(BATCH, 3, 12, 12)
    via_fx = from_torch(model, x, tracer="fx")
    via_export = from_torch(model, x, tracer="export")
    assert via_export.spec["description"].endswith("(export)")
    assert_same_counts(via_fx, via_export)
    c = count(via_fx, [], batch=BATCH)
    used = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("unused"))
    assert c["params"] == used
    assert c["macs"] == torch_macs(model, x)
    assert resolve(via_fx, []).layers[-1].out_shape == tuple(model(x).shape[1:])


def test_a_model_that_fails_on_the_input_or_takes_two():
    with pytest.raises(ImportFailed, match=r"fails on the example input of shape \(1, 4, 8, 8\)"):
        from_torch(models.Stem(4), torch.randn(1, 4, 8, 8))  # Stem expects 3 channels

    class Two(torch.nn.Module):
        def forward(self, x, y):
            return x + y

    with pytest.raises(ImportFailed, match="forward takes 2 inputs"):
        from_torch(Two(), torch.randn(1, 3, 8, 8))
