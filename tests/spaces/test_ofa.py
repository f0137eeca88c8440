"""Once-for-All spaces: stored JSON, sizes, structure, the ``ofa`` codec, published numbers, and
counts against independent torch models of OFA's sub-networks and against nascost's export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import ofa_family_refs as ref  # tests/spaces is on sys.path under pytest (rootdir imports)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nascost.reference.walk import live_genes, resolve
from nascost.space.space import Space
from nascost.spaces import BUILTINS, export_json, load_builtin
from nascost.spaces.ofa import RESOLUTIONS, SPECIALIZED, build_mbv3, build_proxyless

DATA = Path(__file__).resolve().parents[2] / "data" / "spaces"
NAMES = ["ofa-mbv3-w1.0", "ofa-mbv3-w1.2", "ofa-proxyless-w1.3", "ofa-resnet50"]
# A meta-device forward costs 0.2-0.3 s of CPU per network (its batch norms and activations go
# through Python decompositions), so the forward checks take the named candidates plus
# N_TORCH random ones; parameter-only checks (no forward) take N_PARAMS more, and the kernel /
# codec checks N_CHEAP (all with the same seed).
N_TORCH, N_PARAMS, N_CHEAP = ref.TORCH_SAMPLES, 8, 40
SEED = 2024


# --- independent models: gene values -> OFA's own sub-network ------------------------------------
def mbconv_arch(v: dict, stages: list[int]) -> tuple[list, list, list]:
    ks = [v[f"s{i}_b{j}_kernel"] for i, n in enumerate(stages, 1) for j in range(n)]
    e = [v[f"s{i}_b{j}_expand"] for i, n in enumerate(stages, 1) for j in range(n)]
    d = [v.get(f"s{i}_depth", n) for i, n in enumerate(stages, 1)]
    return ks, e, d


def resnet_arch(v: dict) -> tuple[list, list, list]:
    mults = [0.65, 0.8, 1.0]
    d = [v["stem_depth"]] + [v[f"s{i}_depth"] for i in range(1, 5)]
    e = [v[f"s{i}_b{j}_expand"] for i, n in enumerate([4, 4, 6, 4], 1) for j in range(n)]
    w = [mults.index(v[g]) for g in ["stem_mid_width", "stem_width"]
         + [f"s{i}_width" for i in range(1, 5)]]
    return d, e, w


INDEPENDENT = {
    "ofa-mbv3-w1.0": lambda v: ref.OFAMobileNetV3(1.0, *mbconv_arch(v, [4] * 5)),
    "ofa-mbv3-w1.2": lambda v: ref.OFAMobileNetV3(1.2, *mbconv_arch(v, [4] * 5)),
    "ofa-proxyless-w1.3": lambda v: ref.ofa_proxyless(1.3, *mbconv_arch(v, [4] * 5 + [1])),
    "ofa-resnet50": lambda v: ref.OFAResNet50(*resnet_arch(v)),
}


def named_rows(s: Space) -> np.ndarray:
    return np.stack([s.named(n) for n in s.named_candidates])


def random_rows(s: Space, n: int) -> np.ndarray:
    return s.canonical(s.sample(n, seed=SEED))


# --- registry and stored JSON -------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_stored_json_matches_builder(name):
    built = BUILTINS[name]()
    path = DATA / f"{name}.json"
    assert Space.from_file(path) == built
    assert path.read_text() == export_json.json_text(name)


def test_sizes():
    res = len(RESOLUTIONS)
    assert RESOLUTIONS == tuple(range(128, 225, 4)) and res == 25
    # resolution, five depth genes of 3, 20 blocks x (kernel 3, expand 3)
    assert load_builtin("ofa-mbv3-w1.0").size == res * 3**5 * 9**20
    assert load_builtin("ofa-mbv3-w1.2").size == (res + 1) * 3**5 * 9**20  # + 236
    # ProxylessNAS: the sixth stage's single block has kernel and expand genes, no depth gene
    assert load_builtin("ofa-proxyless-w1.3").size == res * 3**5 * 9**21
    # stem depth 2, stem widths 3 x 3, four stages x (depth 3, width 3), 18 expand genes of 3
    assert load_builtin("ofa-resnet50").size == res * 2 * 3 * 3 * 9**4 * 3**18
    for name in NAMES:
        assert load_builtin(name).spec["codec"] == "ofa"


# --- structure (golden values from OFA's code) ---------------------------------------------
def layer(s: Space, row, name: str):
    return next(x for x in resolve(s, row).layers if x.name == name)


def test_mbv3_structure_w1_0():
    s = load_builtin("ofa-mbv3-w1.0")
    row = s.named("max")
    names = [x.name for x in resolve(s, row).layers]
    # first block: expand ratio 1 (no expand conv), identity shortcut as 16 == 16
    assert "s0_b0_expand_conv" not in names and "s0_b0_add" in names
    # SE only in stages 2, 4, 5 (se_stages[1:] = False, True, False, True, True)
    se = {n.split("_")[0] for n in names if n.endswith("_se_mul")}
    assert se == {"s2", "s4", "s5"}
    # a stage's first block has no shortcut, the others do
    assert "s1_b0_add" not in names and "s1_b3_add" in names
    # stage 2 (40 wide, input 24) block 0 at e = 6: middle 144, SE make_divisible(144 // 4, 8)
    assert layer(s, row, "s2_b0_expand_conv").out_shape[0] == 144  # make_divisible(24 * 6, 8)
    assert layer(s, row, "s2_b0_se_reduce").out_shape == (40, 1, 1)  # 36 -> 40
    assert layer(s, row, "final_expand_conv").out_shape == (960, 7, 7)
    assert layer(s, row, "feature_mix_conv").out_shape == (1280, 1, 1)
    assert layer(s, row, "feature_mix_conv").fields["bias"] is False
    # activations: h-swish stem, ReLU in stages 1-2, h-swish in 3-5
    ops = {x.name: x.op for x in resolve(s, row).layers}
    assert ops["first_act"] == "hardswish" and ops["s2_b1_dw_act"] == "relu"
    assert ops["s3_b1_dw_act"] == "hardswish" and ops["s4_b0_se_gate"] == "hardsigmoid"


def test_mbv3_middle_and_se_widths_follow_ofa_rounding():
    s = load_builtin("ofa-mbv3-w1.2")
    row = s.genes_from_values({"resolution": 224, "s2_b0_expand": 3, "s2_b1_expand": 4})
    # w1.2 widths: 24, 24, 32, 48, 96, 136, 192, 1152, 1536
    assert layer(s, row, "first_conv").out_shape[0] == 24
    assert layer(s, row, "s0_b0_add").out_shape == (24, 112, 112)
    # stage 2 block 0 reads 32 channels: mid 96, SE make_divisible(24, 8) = 24
    assert layer(s, row, "s2_b0_expand_conv").out_shape[0] == 96
    assert layer(s, row, "s2_b0_se_reduce").out_shape[0] == 24
    # block 1 reads 48: mid 192, SE 48
    assert layer(s, row, "s2_b1_expand_conv").out_shape[0] == 192
    assert layer(s, row, "s2_b1_se_reduce").out_shape[0] == 48
    assert layer(s, row, "s4_b0_project_conv").out_shape[0] == 136
    assert layer(s, row, "classifier").in_shapes == [(1536,)]


def test_proxyless_structure():
    s = load_builtin("ofa-proxyless-w1.3")
    row = s.named("max")
    names = [x.name for x in resolve(s, row).layers]
    assert "s0_b0_add" not in names  # first block: ResidualBlock(conv, None)
    assert "s6_b0_add" not in names and "s5_b3_add" in names
    assert "s6_depth" not in s.gene_names and "s6_b0_kernel" in s.gene_names
    # w1.3 widths: 40, 24, 32, 56, 104, 128, 248, 416, 1664
    assert [layer(s, row, f"s{i}_b0_project_conv").out_shape[0] for i in range(1, 7)] == [
        32, 56, 104, 128, 248, 416]
    assert layer(s, row, "feature_mix_conv").out_shape == (1664, 7, 7)
    assert {x.op for x in resolve(s, row).layers if x.name.endswith("_act")} == {"relu6"}


def test_resnet_structure():
    s = load_builtin("ofa-resnet50")
    big = s.named("max")
    names = [x.name for x in resolve(s, big).layers]
    assert "stem1_add" in names and sum(n.endswith("_conv3_conv") for n in names) == 18
    assert layer(s, big, "stem0_conv").out_shape[0] == 32  # make_divisible(64 // 2, 8)
    assert layer(s, big, "s1_b0_down_pool").fields["kernel"] == (1, 1)  # stride-1 stage
    assert layer(s, big, "s2_b0_down_pool").fields["ceil_mode"] is True
    # middle width from the block's output width: make_divisible(round(256 * 0.35), 8) = 88
    assert layer(s, big, "s1_b0_conv1_conv").out_shape[0] == 88
    small = s.named("min")
    names = [x.name for x in resolve(s, small).layers]
    assert "stem1_conv" not in names and sum(n.endswith("_conv3_conv") for n in names) == 10
    # 0.65: stem 24 / 40, stages 168, 336, 664, 1328; mid make_divisible(round(168 * .2), 8)
    assert layer(s, small, "stem0_conv").out_shape[0] == 24
    assert layer(s, small, "stem2_conv").out_shape[0] == 40
    assert layer(s, small, "s1_b0_conv1_conv").out_shape[0] == 32  # round(33.6) = 34 -> 32
    assert layer(s, small, "classifier").in_shapes == [(1328,)]
    # stage depth 0 keeps the base blocks only: block 2 of stage 1 is dead, block 1 is not
    live = dict(zip(s.gene_names, live_genes(s, small), strict=True))
    assert live["s1_b1_expand"] and not live["s1_b2_expand"] and not live["s3_b4_expand"]


def test_custom_resolutions():
    s = build_mbv3(1.0, resolutions=[300, 160, 160], name="ofa-mbv3-custom")
    assert s.choices[0] == [160, 300] and s.name == "ofa-mbv3-custom"
    row = s.genes_from_values({"resolution": 300})
    assert s.input_shape(row) == (3, 300, 300)
    assert layer(s, row, "final_expand_conv").out_shape == (960, 10, 10)
    assert "max" in s.named_candidates
    # a specialized net is named only where its resolution is a choice
    assert "note8_lat@22ms_top1@70.4_finetune@25" not in s.named_candidates
    with pytest.raises(ValueError, match="'resolutions' of an OFA space"):
        build_proxyless(resolutions=[])


# --- published numbers ------------------------------------------------------------------------
# mit-han-lab/once-for-all README.md, table "OFA Specialized Sub-nets", columns #Params (M, one
# decimal) and #MACs (M, an integer; the table's "FLOPs" headings also mean MACs). Both are
# rounded to nearest (100.52M -> "101M", 4.596M -> "4.6M"). nascost counts conv and linear
# multiply-accumulates ('macs' convention) and nn.Module parameters.
# The architectures: SPECIALIZED in nascost/spaces/ofa.py (net.config of flops@595M from
# Alibaba-MIIL/ImageNet21K; note8 nets from open-mmlab/mmrazor's converted yaml).
PUBLISHED = [
    # (space, named candidate, #Params M, #MACs M, exact params, exact MACs)
    ("ofa-mbv3-w1.2", "flops@595M_top1@80.0_finetune@75", 9.1, 595, 9_135_928, 595_189_032),
    ("ofa-mbv3-w1.0", "note8_lat@22ms_top1@70.4_finetune@25", 4.3, 67, 4_304_592, 67_196_888),
    ("ofa-mbv3-w1.0", "note8_lat@31ms_top1@72.8_finetune@25", 4.6, 101, 4_595_536,
     100_520_248),
]


@pytest.mark.parametrize(("name", "net", "mparams", "mmacs", "params", "macs"), PUBLISHED)
def test_specialized_nets_match_ofa_readme(name, net, mparams, mmacs, params, macs):
    s = load_builtin(name)
    got = ref.reference_macs(s, s.named(net))
    assert got == (params, macs)
    assert round(params / 1e6, 1) == mparams and round(macs / 1e6) == mmacs
    out = s.score_arrays(s.named(net)[None], "macs")
    assert (int(out["params"][0]), int(out["macs"][0])) == got


def test_specialized_595m_is_the_w1_2_net_at_236():
    s = load_builtin("ofa-mbv3-w1.2")
    row = s.named("flops@595M_top1@80.0_finetune@75")
    assert s.input_shape(row) == (3, 236, 236)
    # net.config: final expand 192 -> 1152, feature mix 1152 -> 1536, 19 MBConv blocks + 1
    assert layer(s, row, "final_expand_conv").out_shape == (1152, 8, 8)
    assert sum(x.name.endswith("_project_conv") for x in resolve(s, row).layers) == 20


# Not compared: open-mmlab/mmrazor's README lists 7.6M / 747.8M for the converted w1.0 supernet,
# 4.3 / 70.9 and 4.6 / 105.4 for the note8 nets: its counter (mmcv's) adds BN, activation and
# pooling operations to the MACs, so only its parameter column is comparable (the max
# sub-network has 7,664,760 parameters, mmrazor truncates to 7.6).
def test_extremes():
    got = {name: {n: ref.reference_macs(load_builtin(name), load_builtin(name).named(n))
                  for n in ("max", "min")} for name in NAMES}
    assert got["ofa-mbv3-w1.0"] == {"max": (7_664_760, 566_170_656),
                                    "min": (3_410_792, 41_476_224)}
    assert got["ofa-resnet50"]["max"] == (48_105_992, 7_491_643_904)
    for name in NAMES:
        s = load_builtin(name)
        out = s.score_arrays(random_rows(s, N_CHEAP), "macs")
        assert (out["status"] == 0).all()
        assert out["macs"].max() <= got[name]["max"][1]
        assert out["macs"].min() >= got[name]["min"][1]


# --- counts against torch -----------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_counts_match_independent_ofa_models_and_export(name):
    s = load_builtin(name)
    named = named_rows(s)
    for row in np.concatenate([named, random_rows(s, N_TORCH)]):
        ref.check_against_independent(s, row, INDEPENDENT[name])
    for row in np.concatenate([named[:1], random_rows(s, N_TORCH)]):
        ref.check_to_torch(s, row)
    ref.check_params(s, s.canonical(s.sample(N_PARAMS, seed=SEED + 1)), INDEPENDENT[name])


@pytest.mark.parametrize("name", NAMES)
def test_kernels_match_reference(name):
    s = load_builtin(name)
    ref.check_kernels(s, np.concatenate([named_rows(s), random_rows(s, N_CHEAP)]))


# --- the ofa codec ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_codec_round_trips(name):
    s = load_builtin(name)
    rows = np.concatenate([named_rows(s), random_rows(s, N_CHEAP)])
    for row in rows:
        arch = s.decode(row)
        assert arch["r"] == [s.genes_to_values(row)["resolution"]]
        assert np.array_equal(s.encode(arch), row)
        arch["r"] = arch["r"][0]  # an int works too
        assert np.array_equal(s.encode(arch), row)


def test_codec_mbv3_dict_layout_and_dead_slots():
    s = load_builtin("ofa-mbv3-w1.0")
    arch = {"ks": [7, 5, 3, 3] * 5, "e": [6, 4, 3, 3] * 5, "d": [2, 3, 4, 2, 3], "r": [192],
            "wid": None}
    row = s.encode(arch)
    v = s.genes_to_values(row)
    assert v["resolution"] == 192 and v["s3_depth"] == 4 and v["s2_b1_kernel"] == 5
    assert v["s4_b2_kernel"] == 3  # dead (depth 2): canonical choice 0
    assert np.array_equal(row, s.canonical(row))
    # anything goes in a dead slot (blocks 2, 3 of stages 1 and 4: flat 2, 3, 14, 15)
    ks, es = list(arch["ks"]), list(arch["e"])
    for j in (2, 3, 14, 15):
        ks[j], es[j] = None, 99
    junk = dict(arch, ks=ks, e=es)
    assert np.array_equal(s.encode(junk), row)
    # decode fills dead slots from the (canonical) row: the smallest choices
    back = s.decode(row)
    assert back == {"ks": [7, 5, 3, 3] * 5, "e": [6, 4, 3, 3] * 5, "d": [2, 3, 4, 2, 3],
                    "r": [192]}
    assert s.decode(s.encode(dict(arch, ks=[7, 5, 7, 7] * 5)))["ks"][:8] == [7, 5, 3, 3,
                                                                             7, 5, 7, 3]


def test_codec_matches_ofa_flat_block_order():
    # OFA's set_active_subnet zips blocks[1:] with ks / e: stage i block j is entry 4 (i-1) + j
    s = load_builtin("ofa-mbv3-w1.0")
    ks = [3] * 20
    ks[4 * 2 + 1] = 7  # stage 3, block 1
    row = s.encode({"ks": ks, "e": [4] * 20, "d": [4] * 5, "r": 224})
    assert s.genes_to_values(row)["s3_b1_kernel"] == 7


def test_codec_proxyless_fixed_last_stage():
    s = load_builtin("ofa-proxyless-w1.3")
    arch = {"ks": [5] * 21, "e": [4] * 21, "d": [4, 4, 4, 4, 4, 1], "r": 160}
    row = s.encode(arch)
    assert s.decode(row)["d"] == [4, 4, 4, 4, 4, 1]
    # OFA clips the fixed stage's depth (set_active_subnet: min(len(block_idx), d))
    assert np.array_equal(s.encode(dict(arch, d=[4, 4, 4, 4, 4, 4])), row)
    with pytest.raises(ValueError, match="'d' entry 5 .* must be an int >= 1"):
        s.encode(dict(arch, d=[4, 4, 4, 4, 4, 0]))


def test_codec_resnet():
    s = load_builtin("ofa-resnet50")
    arch = {"d": [2, 0, 1, 2, 0], "e": [0.35] * 18, "w": [0, 1, 2, 1, 0, 2], "r": [224]}
    row = s.encode(arch)
    v = s.genes_to_values(row)
    assert v["stem_depth"] == 2 and v["stem_mid_width"] == 0.65 and v["s2_width"] == 0.8
    assert v["s1_b2_expand"] == 0.2  # dead (stage depth 0): canonical
    back = s.decode(row)
    assert back["w"] == arch["w"] and back["d"] == arch["d"]
    assert back["e"][:2] == [0.35, 0.35] and back["e"][2] == 0.2
    # OFA skips the stem's residual conv for any d[0] != 2
    skip = s.encode(dict(arch, d=[1, 0, 1, 2, 0]))
    assert s.genes_to_values(skip)["stem_depth"] == 0
    assert np.array_equal(skip, s.encode(dict(arch, d=[0, 0, 1, 2, 0])))
    with pytest.raises(ValueError, match="'w' entry 2 .* must be an index in 0..2"):
        s.encode(dict(arch, w=[0, 1, 3, 1, 0, 2]))


def test_codec_errors_name_the_entry():
    s = load_builtin("ofa-mbv3-w1.0")
    good = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 224}
    with pytest.raises(ValueError, match=r"The 'ks' entry .* list of 20 values"):
        s.encode(dict(good, ks=[3] * 19))
    with pytest.raises(ValueError, match=r"The 'r' entry .* must be one of \[128, .*224\]. "
                                         r"Got 226 instead"):
        s.encode(dict(good, r=226))
    with pytest.raises(ValueError, match="The 'd' entry 1 .* one of \\[2, 3, 4\\]. Got 5"):
        s.encode(dict(good, d=[2, 5, 2, 2, 2]))
    with pytest.raises(ValueError, match="The 's1_b1_kernel' block .*active.*Got 4"):
        s.encode(dict(good, ks=[3, 4] + [3] * 18))
    with pytest.raises(ValueError, match="unknown keys \\['depth'\\]"):
        s.encode(dict(good, depth=3))
    with pytest.raises(TypeError, match="is a dict"):
        s.encode([1, 2, 3])


def test_specialized_archs_are_canonical_and_complete():
    for name, nets in SPECIALIZED.items():
        s = load_builtin(name)
        for net, arch in nets.items():
            row = s.named(net)
            assert np.array_equal(row, s.canonical(row))
            assert s.decode(row) == {k: list(v) for k, v in arch.items()}


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_codec_property_mbv3(data):
    # any OFA dict, with anything in the slots its depths switch off: encode gives a canonical
    # row, decode gives the dict back with those slots at the smallest choices
    s = load_builtin("ofa-mbv3-w1.0")
    d = data.draw(st.lists(st.sampled_from([2, 3, 4]), min_size=5, max_size=5))
    live = [j < d[i] for i in range(5) for j in range(4)]
    ks = [data.draw(st.sampled_from([3, 5, 7]) if on else st.sampled_from([None, 1, 3, 9]))
          for on in live]
    e = [data.draw(st.sampled_from([3, 4, 6]) if on else st.sampled_from([None, 0, 6]))
         for on in live]
    r = data.draw(st.sampled_from(RESOLUTIONS))
    row = s.encode({"ks": ks, "e": e, "d": d, "r": r})
    assert np.array_equal(row, s.canonical(row))
    assert s.decode(row) == {"ks": [k if on else 3 for k, on in zip(ks, live, strict=True)],
                             "e": [x if on else 3 for x, on in zip(e, live, strict=True)],
                             "d": d, "r": [r]}
