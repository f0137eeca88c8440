"""Histograms of int64 columns for exact quantiles in a few passes with flat memory."""

from __future__ import annotations

from nascost.kernels.jit import jit


@jit
def histogram(x, lo, width, counts):
    """Add the values of x in [lo, lo + width * len(counts)) to counts: bin k holds
    lo + k * width .. lo + (k + 1) * width - 1 (integer arithmetic, no overflow for
    lo <= v since v - lo < 2**63)."""
    nb = counts.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        if v >= lo:
            k = (v - lo) // width
            if k < nb:
                counts[k] += 1


@jit
def collect(x, lo, hi, out, n):
    """Append the values of x within [lo, hi] to out from position n; returns the new n
    (values past the end of out are counted, not stored)."""
    cap = out.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        if lo <= v <= hi:
            if n < cap:
                out[n] = v
            n += 1
    return n
