"""Readable counts: formatting and parsing are inverse up to the printed digits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nascost.units import format_count, parse_count


@pytest.mark.parametrize("n, text", [
    (0, "0"), (999, "999"), (1000, "1k"), (412_300_000, "412.3M"), (5_290_000, "5.29M"),
    (1_200_000_000, "1.2G"), (3_000_000_000_000, "3T"), (19_544_000_000_000_000, "19.54P"),
    (543_966_387_314_312_146_275, "5.44e20"), (10**18, "1e18"), (2.5, "2.5"),
])
def test_format_count(n, text):
    assert format_count(n) == text


@given(st.integers(min_value=0, max_value=10**24))
def test_parse_reads_what_format_prints(n):
    back = parse_count(format_count(n, digits=6))
    assert abs(back - n) <= 5e-6 * max(n, 1)


@pytest.mark.parametrize("text, n", [
    ("400M", 400_000_000), ("5.3e6", 5_300_000), ("1.2G", 1_200_000_000), (" 7k ", 7000),
    ("2500000", 2_500_000), ("1.5P", 1_500_000_000_000_000), ("5.44e20", 544 * 10**18), (12, 12),
])
def test_parse_count(text, n):
    assert parse_count(text) == n


@pytest.mark.parametrize("bad, match", [
    ("lots", "cannot read"), ("1.5", "not a whole number"), ("-3", "is negative"),
    (-3, "must be >= 0"), (True, "expected a count"), ("4X", "cannot read"),
])
def test_parse_count_errors_name_the_value(bad, match):
    with pytest.raises(ValueError, match=match):
        parse_count(bad, "--max-flops")
