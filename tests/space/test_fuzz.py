"""Issue 14's standing guard: hypothesis over mutations of the built-in spaces' JSON (deleted
keys, wrong types, extreme integers, unknown ops, dangling references, deep nesting, invalid
bytes). Loading raises only SpaceError; a loaded space scores without raising; both engines
equal the slow reference, status included. Bounded to about a minute; bench/fuzz.py runs
thousands of cases with counts by outcome."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fuzz_spaces import check_case, make_case  # noqa: E402


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_spaces_load_score_and_match_the_reference(seed):
    _, _, data = make_case(seed)
    assert check_case(seed, data) in ("space_error", "ok")
