"""Helpers shared by the built-in spaces."""

from __future__ import annotations


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible`` (torchvision/models/_utils.py), in the same float
    arithmetic, so that channel tables match torchvision's models for the same width.

    Rounds ``v`` to the nearest multiple of ``divisor`` (at least ``min_value``, by default
    ``divisor``), going one multiple up when rounding down would lose more than 10%.
    """
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v
