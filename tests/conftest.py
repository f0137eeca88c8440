"""Suite-wide settings: a private table cache, and the `slow` marker of the quick tier.

`python -m pytest` runs everything (.ci/run does); `python -m pytest -m "not slow"` leaves out
the tests listed in SLOW below, which hold most of the wall time, and still imports and
exercises every module (see README, "Tests").
"""

from __future__ import annotations

import os
import tempfile

import pytest

# built tables are cached on disk (nascost.io.table_cache): the suite never reads or fills
# the user's cache, and subprocesses (CLI tests, Dask workers) inherit the same folder
os.environ.setdefault("NASCOST_CACHE_DIR", tempfile.mkdtemp(prefix="nascost-test-cache-"))

# node ids (or prefixes of them: a file, a test function with all its parameters) of the
# long tests; kept here rather than in the test files so that the tier is one list to read
SLOW: tuple[str, ...] = ()


def pytest_collection_modifyitems(config, items):
    for item in items:
        nodeid = item.nodeid
        if any(nodeid == s or nodeid.startswith(s + "[") or nodeid.startswith(s + "::")
               for s in SLOW):
            item.add_marker(pytest.mark.slow)
