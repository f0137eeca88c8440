"""Small spaces for the adapter tests: one with candidates that cannot be built."""

from __future__ import annotations

import nascost


def grouped_space() -> nascost.Space:
    """A conv net where groups=4 does not divide width 6 (status GROUPS): some candidates
    are invalid; genes of every value type (str, int, float)."""
    b = nascost.SpaceBuilder("adapter-tiny")
    k = b.gene("kernel", ["3", "5"])
    w = b.gene("width", [8, 6, 16])
    g = b.gene("groups", [1, 4])
    m = b.gene("mult", [0.5, 1.0])
    b.input(channels=3, height=16, width=16)
    b.conv2d("stem", out_channels=8, kernel=k.map(int), padding=k.map(lambda v: int(v) // 2))
    b.op("relu", "r1")
    b.conv2d("mix", out_channels=w, kernel=3, padding=1, groups=g)
    b.op("global_avgpool", "pool")
    b.op("flatten", "flat")
    b.linear("fc", out_features=m.map(lambda v: int(v * 20)))
    return b.build()
