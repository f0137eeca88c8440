"""Synthetic latency tables: one known value per block configuration (from its key)."""

from __future__ import annotations

import numpy as np

from nascost.latency.build import MAX_ENTRIES, distinct_blocks
from nascost.latency.keys import key_hash
from nascost.latency.table import LatencyTable


def synthetic_value_ns(key: str) -> int:
    """A block's synthetic latency: 1 us .. 1 ms, a fixed function of its key."""
    return 1000 + key_hash(key) % 999_000


def synthetic_table(space, max_entries: int = MAX_ENTRIES) -> LatencyTable:
    keys = distinct_blocks(space, max_entries).keys
    ns = np.array([synthetic_value_ns(k) for k in keys], dtype=np.int64)
    zero = np.zeros(len(keys), dtype=np.int64)
    return LatencyTable(keys, ns, zero, zero, meta={"space_hash": space.hash,
                                                   "space_name": space.name})
