"""The top-level package: a small API, everything else imported on first use."""

from __future__ import annotations

import subprocess
import sys


def test_subpackages_and_lazy_names_resolve_after_a_plain_import():
    code = """
import sys
import nascost
assert "nascost.export" not in sys.modules and "nascost.io.writer" not in sys.modules
print(nascost.export.to_torch.__name__, nascost.reference.count.__name__,
      nascost.write_dataset.__name__, nascost.budget.count.__name__)
try:
    nascost.no_such_thing
except AttributeError as e:
    print("AttributeError", e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "to_torch count write_dataset count"
    assert out[1].startswith("AttributeError") and "no_such_thing" in out[1]
