"""Latency as a cost column: per-block latency tables (measured in context on this machine, or
imported), summed by the table engine and budgeted by the chain DP (docs/latency.md).

    from nascost.latency import build_table, read_table, validate
"""

from __future__ import annotations

from nascost.latency.table import LatencyTable, read_table

__all__ = ["LatencyTable", "build_table", "read_ofa_yaml", "read_table", "validate"]


def __getattr__(name: str):
    # timing, validation and readers import torch / scipy / yaml: only when asked for
    if name == "build_table":
        from nascost.latency.build import build_table

        return build_table
    if name == "validate":
        from nascost.latency.validate import validate

        return validate
    if name == "read_ofa_yaml":
        from nascost.latency.readers import read_ofa_yaml

        return read_ofa_yaml
    raise AttributeError(f"module 'nascost.latency' has no attribute {name!r}")
