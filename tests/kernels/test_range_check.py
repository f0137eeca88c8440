"""The gene range check: the first row holding an index past its gene's cardinality, wherever
it lies (in a tile of rows, in the remainder, in a parallel chunk), and never a false alarm."""

from __future__ import annotations

import numpy as np
import pytest

from nascost.kernels import encoding as E


@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000, E.CHUNK + 5, 3 * E.CHUNK + 100])
def test_first_out_of_range(n):
    rng = np.random.default_rng(n)
    cards = np.array([1, 2, 3, 7, 256, 200, 5], dtype=np.int64)
    genes = np.stack([rng.integers(0, c, n) for c in cards], axis=1).astype(np.uint8)
    genes = np.ascontiguousarray(genes)
    assert E.first_out_of_range(genes, cards) == -1
    for row in sorted({0, n // 2, n - 1}):
        for j in (0, 3, 6):
            bad = genes.copy()
            bad[row, j] = cards[j]  # the first index past the end
            later = min(n - 1, row + 1)
            bad[later, 5] = 255
            assert E.first_out_of_range(bad, cards) == row, (row, j)
