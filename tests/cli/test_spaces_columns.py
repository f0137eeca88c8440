"""nascost spaces shows README's columns: params, MACs and FLOPs ranges, checked against
every candidate of a small space scored by the interpreter."""

from __future__ import annotations

import numpy as np

import nascost
from nascost.cli.main import main
from nascost.units import format_count


def test_spaces_shows_the_macs_range(capsys):
    assert main(["spaces"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[3:] == ["params", "MACs", "FLOPs", "(seed)"]
    space = nascost.load_space("mobilenet-v3-small")  # 25 candidates: enumerate them
    out = space.score_arrays(space.ids_to_genes(np.arange(space.size, dtype=np.uint64)),
                             engine="interpreter")
    row = next(line for line in lines if line.startswith("mobilenet-v3-small "))
    cells = row.split()[3:]
    for cell, m in zip(cells, ("params", "macs", "flops"), strict=True):
        assert cell == f"{format_count(out[m].min())}-{format_count(out[m].max())}", m
