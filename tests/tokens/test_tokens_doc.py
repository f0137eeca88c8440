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
