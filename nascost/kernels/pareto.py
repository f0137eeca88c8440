"""Pareto fronts of integer objectives (all minimised; negate a column to maximise it).

A row is on the front when no other row is <= in every objective and < in at least one.
Rows equal in every objective are all on the front or all off it.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit


@jit
def front_2d(a, b, out):
    """out[i] = row i is on the front of (a, b). One sort by a, then a sweep over the groups
    of equal a: a group's rows with its smallest b are on the front when that b is below
    every b of the groups before it."""
    n = a.shape[0]
    order = np.argsort(a)
    best = np.iinfo(np.int64).max  # smallest b among rows with a smaller a
    i = 0
    while i < n:
        j = i
        gmin = b[order[i]]
        while j < n and a[order[j]] == a[order[i]]:
            if b[order[j]] < gmin:
                gmin = b[order[j]]
            j += 1
        for q in range(i, j):
            r = order[q]
            out[r] = b[r] == gmin and gmin < best
        if gmin < best:
            best = gmin
        i = j


@jit
def front_nd(objs, order, out):
    """objs: (k, n); order: the rows sorted lexicographically by the objectives. A row can
    only be dominated by a row before it, and then by one already on the front."""
    k, n = objs.shape
    front = np.empty(n, np.int64)
    nf = 0
    for q in range(n):
        r = order[q]
        dominated = False
        for t in range(nf):
            f = front[t]
            le = True
            lt = False
            for c in range(k):
                if objs[c, f] > objs[c, r]:
                    le = False
                    break
                if objs[c, f] < objs[c, r]:
                    lt = True
            if le and lt:
                dominated = True
                break
        out[r] = not dominated
        if not dominated:
            front[nf] = r
            nf += 1


def front_mask(objs: np.ndarray) -> np.ndarray:
    """A boolean mask of the rows on the front; objs is (k, n) int64, minimised."""
    objs = np.ascontiguousarray(objs, dtype=np.int64)
    k, n = objs.shape
    out = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return out
    if k == 1:
        return objs[0] == objs[0].min()
    if k == 2:
        front_2d(objs[0], objs[1], out)
        return out
    order = np.lexsort(objs[::-1])
    front_nd(objs, order, out)
    return out


def front_mask_reference(objs: np.ndarray) -> np.ndarray:
    """The definition, pairwise in numpy (O(n^2)): the oracle for tests."""
    objs = np.asarray(objs, dtype=np.int64)
    le = (objs[:, :, None] <= objs[:, None, :]).all(axis=0)  # le[i, j]: i <= j everywhere
    lt = (objs[:, :, None] < objs[:, None, :]).any(axis=0)
    dominates = le & lt
    return ~dominates.any(axis=0)
