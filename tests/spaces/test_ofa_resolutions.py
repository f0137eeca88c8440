"""OFA networks at resolutions outside the spaces' 128-224 gene (OFA's released networks also
run at 228, 236, 240 and 260) are scored with one call, nascost.spaces.ofa.score_arch; params
and MACs equal the independent torch model of OFA's sub-network at that input size."""

from __future__ import annotations

import numpy as np
import ofa_family_refs as ref  # tests/spaces is on sys.path under pytest (rootdir imports)
import pytest
from test_ofa import INDEPENDENT, NAMES

from nascost.spaces import load_builtin
from nascost.spaces.ofa import SPECIALIZED, arch_genes, at_resolution, score_arch

OUTSIDE = (228, 236, 240, 260)


def _arch(name: str, seed: int) -> dict:
    """An arch dict of the family: a random candidate's, decoded by the ofa codec."""
    s = load_builtin(name)
    return s.decode(s.canonical(s.sample(1, seed=seed))[0])


@pytest.mark.parametrize("name", NAMES)
def test_outside_resolutions_match_the_independent_model(name):
    for k, r in enumerate(OUTSIDE):
        arch = dict(_arch(name, k), r=r)
        got = score_arch(name, arch, "macs")
        assert got["status"] == 0
        space, row = arch_genes(name, arch)
        assert space.input_shape(row) == (3, r, r)
        with ref.torch.device("meta"):
            model = INDEPENDENT[name](space.genes_to_values(row))
        params, macs, out = ref.params_macs_out(model, (3, r, r))
        assert (got["params"], got["macs"], out) == (params, macs, (1000,)), (name, r)


def test_specialized_nets_at_every_outside_resolution():
    # the released 595M net (w1.2, net.config) at 236 is a choice of the built-in space; at
    # the other resolutions the derived space scores it; its params never depend on r
    base = SPECIALIZED["ofa-mbv3-w1.2"]["flops@595M_top1@80.0_finetune@75"]
    builtin = load_builtin("ofa-mbv3-w1.2")
    assert arch_genes("ofa-mbv3-w1.2", base)[0] is builtin
    assert score_arch("ofa-mbv3-w1.2", base, "macs")["macs"] == 595_189_032  # OFA: 595M
    for r in OUTSIDE:
        arch = dict(base, r=[r])
        got = score_arch("ofa-mbv3-w1.2", arch, "macs")
        space, row = arch_genes("ofa-mbv3-w1.2", arch)
        with ref.torch.device("meta"):
            model = INDEPENDENT["ofa-mbv3-w1.2"](space.genes_to_values(row))
        assert (got["params"], got["macs"]) == ref.params_macs_out(model, (3, r, r))[:2]
        assert got["params"] == 9_135_928


def test_derived_space_keeps_the_other_genes_and_is_cached():
    s = at_resolution("ofa-mbv3-w1.0", [260, 228])
    base = load_builtin("ofa-mbv3-w1.0")
    assert s.name == "ofa-mbv3-w1.0@r228-260" and s.choices[0] == [228, 260]
    assert s.gene_names == base.gene_names and s.choices[1:] == base.choices[1:]
    assert at_resolution("ofa-mbv3-w1.0", (228, 260)) is s
    row = base.canonical(base.sample(1, seed=3))[0]
    arch = base.decode(row)
    np.testing.assert_array_equal(arch_genes("ofa-mbv3-w1.0", arch)[1], row)  # r in range


def test_errors_name_the_entry():
    arch = _arch("ofa-mbv3-w1.0", 0)
    with pytest.raises(ValueError, match="The 'r' entry"):
        score_arch("ofa-mbv3-w1.0", dict(arch, r=[224, 236]))
    with pytest.raises(ValueError, match="'resolutions' of an OFA space"):
        score_arch("ofa-mbv3-w1.0", dict(arch, r=16))
    with pytest.raises(ValueError, match="The OFA space must be one of"):
        at_resolution("mbv2-style", 236)
