"""docs/import.md names every row of the import table."""

from __future__ import annotations

from pathlib import Path

from nascost.importer.rules import TABLE, target_name

DOC = Path(__file__).resolve().parents[2] / "docs" / "import.md"


def test_every_rule_is_documented():
    text = DOC.read_text()
    missing = sorted({target_name(t) for t in TABLE} - {
        name for name in (target_name(t) for t in TABLE) if f"`{name}" in text})
    assert not missing, f"docs/import.md does not list {missing}"
