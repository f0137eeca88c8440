"""docs/space-format.md's token example runs and its numbers are right (the numbers in the doc
are worked by hand from the formulas; torch confirms them in test_token_ops_torch.py)."""

from __future__ import annotations

import re
from pathlib import Path

from nascost.reference import count

DOC = Path(__file__).resolve().parents[2] / "docs" / "space-format.md"


def test_worked_token_example():
    text = DOC.read_text()
    section = text[text.index("### A worked example"):]
    ns: dict = {}
    exec(re.search(r"```python\n(.*?)```", section, re.S).group(1), ns)
    space = ns["space"]
    two, four = count(space, [0], "macs"), count(space, [1], "macs")
    assert two["params"] == 31_050 == four["params"]
    assert two["macs"] == 512_768 == four["macs"] == two["flops"]


def test_explain_names_the_tools_that_miss_attention():
    from nascost.analytics.explain import explain

    text = DOC.read_text()
    section = text[text.index("### A worked example"):]
    ns: dict = {}
    exec(re.search(r"```python\n(.*?)```", section, re.S).group(1), ns)
    e = explain(ns["space"], [0], ["thop", "fvcore", "torch", "macs"])
    notes = {(n, t) for n, terms, _ in e.notes() for t in terms}
    assert ("thop", "attn_qk_mac") in notes and ("thop", "attn_av_mac") in notes
    assert ("torch", "attn_qk_mac") in notes  # the fused CPU paths (not nascost's export)
    assert not any(n == "macs" for n, _ in notes)
    # thop: conv and Linear MACs, LayerNorm 4 per element (affine), nothing of the products
    conv, qkv_proj, head, ln = 196_608, 278_528, 640, 2 * 17 * 64
    assert e.totals["thop"] == conv + qkv_proj + head + 4 * ln
