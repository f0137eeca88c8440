"""Suite-wide settings: a private table cache, and the `slow` marker of the quick tier.

`python -m pytest` runs everything (.ci/run does); `python -m pytest -m "not slow"` leaves out
the tests listed in SLOW below, which hold most of the wall time, and still imports and
exercises every module (see README, "Tests").
"""

from __future__ import annotations

import os
import tempfile

import pytest

# built tables are cached on disk (nascost.io.table_cache): the suite never reads or fills the
# user's cache, and subprocesses (CLI tests, Dask workers) inherit the same folder; it is kept
# between runs (entries are keyed by the kernel sources, so they are never stale), which
# spares each run building the tables of every built-in space again
os.environ.setdefault("NASCOST_CACHE_DIR", os.path.join(
    tempfile.gettempdir(), f"nascost-test-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"))

# The long tests, by node id (a file, or a test function with all its parameters); kept
# here rather than in the test files so that the tier is one list to read. Chosen from
# `--durations` runs: parity runs building torch models and running the peer tools over many
# random candidates, Dask clusters, kill-and-resume loops, brute-force count checks.
SLOW: tuple[str, ...] = (
    "tests/budget/test_chain.py::test_paths_are_the_valid_canonical_candidates",
    "tests/budget/test_counting.py::test_exact_counts_equal_brute_force",
    "tests/budget/test_counting.py::test_time_limit_excludes_the_kernels_first_load",
    "tests/budget/test_separable.py::test_darts_bounds_attained_and_never_beaten",
    "tests/budget/test_separable.py::test_darts_count_and_sample_within",
    "tests/cli/test_budget_commands.py::test_bounds_of_a_separable_space",
    "tests/export/test_torch_parity.py::test_conv2d_matches_torch",
    "tests/export/test_torch_parity.py::test_pool_matches_torch",
    "tests/io/test_dask.py::test_a_worker_killed_during_the_run",
    "tests/io/test_dask.py::test_an_interrupted_run_resumes_on_a_new_cluster",
    "tests/io/test_dask.py::test_a_local_run_resumes_on_dask_and_back",
    "tests/io/test_dask.py::test_a_part_renamed_but_not_recorded_is_adopted_not_duplicated",
    "tests/io/test_dask.py::test_a_filesystem_uri_target",
    "tests/io/test_dask.py::test_id_range_with_invalid_rows_equals_the_local_run",
    "tests/io/test_dask.py::test_a_run_that_keeps_nothing_is_an_empty_dataset",
    "tests/parity/test_peer_tools.py::test_fvcore_in_training_mode_is_another_table",
    "tests/parity/test_peer_tools.py::test_fvcore_leaves_out_layers_whose_output_is_unused",
)

# Parametrized long tests: every case but one is slow (the quick tier still runs one case of
# each, so every module and every check stays exercised): the first case whose id is in
# QUICK_CASES (small spaces), else the first case.
SLOW_BUT_FIRST: tuple[str, ...] = (
    "tests/analytics/test_explain.py::test_totals_equal_score_on_every_space",
    "tests/budget/test_counting.py::test_large_space_bounds_attained_and_count_matches_raw_samples",
    "tests/spaces/test_darts_spaces.py::test_to_torch_matches_counts_and_shapes",
    "tests/spaces/test_darts_spaces.py::test_counts_match_the_independent_darts_model",
    "tests/export/test_torch_parity.py::test_network_parity",
    "tests/io/test_io_kill.py::test_sigkill_at_random_moments_then_resume",
    "tests/kernels/test_kernels.py::test_engines_threads_and_chunks_agree",
    "tests/kernels/test_tables.py::test_packed_rows_equal_plain_rows",
    "tests/parity/test_peer_tools.py::test_presets_equal_tools_on_random_candidates",
    "tests/parity/test_peer_tools.py::test_batch_two_scales_as_each_tool_does",
    "tests/reference/test_kernel_parity.py::test_reference_equals_kernels",
    "tests/spaces/test_builtin_spaces.py::test_counts_match_independent_torch_models",
    "tests/spaces/test_builtin_spaces.py::test_kernel_scores_match_reference",
    "tests/spaces/test_builtin_spaces.py::test_counts_match_to_torch",
    "tests/spaces/test_families.py::test_family_named_candidates_match_torchvision",
    "tests/spaces/test_families.py::test_one_candidate_spaces_match_torchvision",
    "tests/spaces/test_families.py::test_kernel_scores_match_reference",
    "tests/spaces/test_families_torch.py::test_random_candidates_match_to_torch",
    "tests/spaces/test_families_torch.py::test_random_candidates_match_independent_models",
    "tests/spaces/test_families_torch.py::test_torchvision_models_match_independent_models",
    "tests/spaces/test_families_torch.py::test_torchvision_spaces_match_to_torch",
    "tests/spaces/test_ofa.py::test_counts_match_independent_ofa_models_and_export",
    "tests/spaces/test_ofa.py::test_kernels_match_reference",
)


QUICK_CASES = ("nb201-cifar10", "mobilenet-v2", "darts-imagenet")


def _function_id(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _case(nodeid: str) -> str:
    return nodeid.split("[", 1)[1].rstrip("]") if "[" in nodeid else ""


def pytest_collection_modifyitems(config, items):
    unknown = set(SLOW) | set(SLOW_BUT_FIRST)
    cases: dict[str, list] = {}
    for item in items:
        fid = _function_id(item.nodeid)
        if fid in SLOW:
            item.add_marker(pytest.mark.slow)
        elif fid in SLOW_BUT_FIRST:
            cases.setdefault(fid, []).append(item)
        unknown.discard(fid)
    for group in cases.values():
        keep = next((it for q in QUICK_CASES for it in group if _case(it.nodeid) == q),
                    group[0])
        for item in group:
            if item is not keep:
                item.add_marker(pytest.mark.slow)
    # a renamed test must not silently rejoin the quick tier: the list names only real tests
    # (checked when the whole tests/ folder is collected)
    if unknown and config.args in ([], ["tests"]) and len(items) > 1000:
        raise pytest.UsageError(f"tests/conftest.py lists tests that do not exist: "
                                f"{sorted(unknown)}")
