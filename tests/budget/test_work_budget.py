"""Counts refine within a deterministic work budget: the same call gives the same interval
whatever the machine's load; --time-limit is an extra cap; the CLI says what stopped it."""

from __future__ import annotations

import time

import pytest

import nascost
from nascost.budget import counting as C
from nascost.cli.main import main


@pytest.fixture(scope="module")
def ofa():
    return nascost.load_space("ofa-mbv3-w1.0")


def test_the_same_count_twice_gives_the_same_interval(ofa):
    kw = dict(max_flops="400M", max_params="5M", work=600_000, samples=0)
    a = ofa.count(**kw)
    b = ofa.count(**kw)
    assert not a.exact and (a.low, a.high) == (b.low, b.high)
    assert a.stopped_by == b.stopped_by == "work"
    assert [p["cells"] for p in a.detail["passes"]] == [p["cells"] for p in b.detail["passes"]]
    assert a.detail["work"] <= 600_000


def test_more_work_never_widens_the_bounds(ofa):
    small = ofa.count(max_flops="400M", max_params="5M", work=100_000, samples=0)
    large = ofa.count(max_flops="400M", max_params="5M", work=600_000, samples=0)
    assert large.low >= small.low and large.high <= small.high
    assert large.high - large.low < small.high - small.low


def test_a_time_limit_caps_the_refinement(ofa):
    t = time.perf_counter()
    c = ofa.count(max_flops="400M", max_params="5M", work=1 << 30, time_limit=0.0, samples=0)
    assert c.stopped_by == "time" and len(c.detail["passes"]) == 1
    assert time.perf_counter() - t < 30  # one pass, not the 2**30 cells of the work budget


def test_one_bounded_metric_reaches_the_tolerance(ofa):
    c = ofa.count(max_flops="400M")
    assert c.exact or c.stopped_by == "tolerance"


def test_the_cli_says_which_limit_ended_the_refinement(capsys):
    argv = ["count", "ofa-mbv3-w1.0", "--max-flops", "400M", "--max-params", "5M",
            "--samples", "1000", "--work", "300k"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "stopped because the work budget (--work) ended it" in first
    assert main(argv) == 0
    second = capsys.readouterr().out
    strip = [ln for ln in first.splitlines() if not ln.startswith("time:")]
    assert strip == [ln for ln in second.splitlines() if not ln.startswith("time:")]


@pytest.mark.parametrize("flag, value, words", [
    ("--time-limit", "-1", "--time-limit must be a number of seconds >= 0"),
    ("--work", "0", "--work must be at least 1"),
])
def test_bad_limits_are_refused(capsys, flag, value, words):
    code = main(["count", "ofa-mbv3-w1.0", "--max-flops", "400M", flag, value])
    assert code == 2 and words in capsys.readouterr().err


def test_histograms_are_deterministic_too():
    sp = nascost.load_space("mbv2-style")
    a = sp.histogram("flops", 20, work=200_000)
    b = sp.histogram("flops", 20, work=200_000)
    assert list(a.low) == list(b.low) and list(a.high) == list(b.high)


def test_stop_reasons_are_documented():
    assert {"exact", "tolerance", "work", "time", "memory"} <= set(C.STOPS)
