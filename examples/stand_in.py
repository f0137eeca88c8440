"""The STAND-IN objective the examples optimise: NOT accuracy, and no estimate of it.

A search needs something to maximise besides cost; a real one trains or queries a benchmark.
These examples use a cheap synthetic score computed from the candidate's own structure, so
that they run in seconds and show the budget machinery only:

    stand_in = log(params) + 0.5 * log(activations)

It grows with the network, which is what makes a FLOPs budget bind. Replace it with your
accuracy (or a real zero-cost proxy) in a real search.
"""

from __future__ import annotations

import numpy as np

LABEL = "stand-in score (synthetic, NOT accuracy)"


def stand_in(scores: dict[str, np.ndarray]) -> np.ndarray:
    """The stand-in score of scored candidates (-inf for a candidate that cannot be built)."""
    p = scores["params"].astype(np.float64)
    a = scores["activations"].astype(np.float64)
    with np.errstate(divide="ignore"):
        s = np.log(p) + 0.5 * np.log(a)
    return np.where(scores["status"] == 0, s, -np.inf)
