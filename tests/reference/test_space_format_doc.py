"""docs/space-format.md's example runs and its numbers are right."""

from __future__ import annotations

import json
import re
from pathlib import Path

from nascost.reference import count

DOC = Path(__file__).resolve().parents[2] / "docs" / "space-format.md"


def test_doc_example():
    text = DOC.read_text()
    text = text[text.index("## Example"):]  # the CNN example (the token one is tests/tokens)
    ns: dict = {}
    exec(re.search(r"```python\n(.*?)```", text, re.S).group(1), ns)
    space = ns["space"]
    block = next(n for n in space.spec["layers"] if n.get("block") == "extra")
    assert block == json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    assert count(space, [0, 1, 1]) == {"params": 1_034, "macs": 852_128, "flops": 1_818_960,
                                       "activations": 98_330, "status": 0}
    assert space.canonical([0, 1, 0]).tolist() == [0, 0, 0]
