"""Readable units for counts: 412.3M, 5.29M, 1.2G (decimal: M = 1e6, never 2**20)."""

from __future__ import annotations

import re
from fractions import Fraction

_SUFFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKMGTP]?)\s*$")


def parse_count(text: str | int | float, what: str = "value") -> int:
    """'400M' -> 400000000, '5.3e6' -> 5300000, '1.2G' -> 1200000000 (exact)."""
    if isinstance(text, bool):
        raise ValueError(f"{what}: expected a count such as 400M, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{what}: must be >= 0, got {text}")
        return text
    m = _PATTERN.match(str(text))
    if not m and str(text).strip().startswith("-") and _PATTERN.match(str(text).strip()[1:]):
        raise ValueError(f"{what}: {text!r} is negative; counts are >= 0")
    if not m:
        raise ValueError(
            f"{what}: cannot read {text!r} as a count; write e.g. 400M, 5.3e6, 1.2G or 2500000"
        )
    value = Fraction(m.group(1)) * _SUFFIX[m.group(2)]
    if value.denominator != 1:
        raise ValueError(f"{what}: {text!r} is not a whole number ({float(value)})")
    return int(value)


def format_count(n: int | float, digits: int = 4) -> str:
    """412300000 -> '412.3M'; small numbers stay as they are; from 1e18 (counts of
    candidates) scientific: 5.44e20. parse_count reads every form back."""
    n = float(n)
    if abs(n) >= 1e18:
        mant, _, exp = f"{n:.{max(digits - 1, 0)}e}".partition("e")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    for suffix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            v = n / scale
            text = f"{v:.{digits}g}"
            if "e" in text:
                text = f"{v:.0f}"
            return f"{text}{suffix}"
    return f"{n:.{digits}g}" if n != int(n) else str(int(n))


_TIME = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9}
_TIME_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(ns|us|µs|ms|s)\s*$")


def parse_time_ns(text: str | int | float, what: str = "value") -> int:
    """'15ms' -> 15000000, '800us' -> 800000, '1.5s' -> 1500000000 (nanoseconds, rounded);
    a bare number is microseconds."""
    if isinstance(text, bool):
        raise ValueError(f"{what}: expected a time such as 15ms, got {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"{what}: must be >= 0, got {text}")
        return int(round(text * 1000))
    m = _TIME_PATTERN.match(str(text))
    if not m:
        raise ValueError(f"{what}: cannot read {text!r} as a time; write e.g. 15ms, 800us "
                         "or 1.5s")
    return int(round(Fraction(m.group(1)) * _TIME[m.group(2)]))


def format_time_ns(ns: int | float, digits: int = 4) -> str:
    """12345678 -> '12.35ms' (ns, us, ms or s)."""
    ns = float(ns)
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= scale:
            return f"{ns / scale:.{digits}g}{unit}"
    return f"{ns:.{digits}g}ns"
