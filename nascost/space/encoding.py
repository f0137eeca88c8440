"""Genes as fixed-width uint8 rows; mixed-radix ids (the last gene varies fastest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nascost.kernels import encoding as _k

if TYPE_CHECKING:
    from nascost.space.space import Space


def check_genes(space: Space, genes: Any) -> np.ndarray:
    """A 2-D C-contiguous uint8 batch; out-of-range indices raise naming the row and gene."""
    arr = np.asarray(genes)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != space.n_genes:
        raise ValueError(
            f"genes must have shape (n, {space.n_genes}) or ({space.n_genes},) for space "
            f"{space.name!r}. Got {np.asarray(genes).shape} instead."
        )
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        elif arr.size:
            raise TypeError(f"genes must be integer choice indices. Got dtype {arr.dtype}.")
        else:
            arr = arr.astype(np.uint8)
    if arr.dtype != np.uint8:
        wide = arr.astype(np.int64)
        bad = (wide < 0) | (wide >= space.cardinalities[None, :])
        if bad.any():
            _raise_bad(space, wide, bad)
        arr = wide.astype(np.uint8)
    else:
        arr = np.ascontiguousarray(arr)
        bad_row = _k.first_out_of_range(arr, space.cardinalities)
        if bad_row >= 0:
            _raise_bad(space, arr.astype(np.int64), arr >= space.cardinalities[None, :])
    return np.ascontiguousarray(arr)


def _raise_bad(space: Space, wide: np.ndarray, bad: np.ndarray) -> None:
    r, j = (int(x[0]) for x in np.nonzero(bad))
    n_bad = int(bad.sum())
    more = f" ({n_bad - 1} more out-of-range entries)" if n_bad > 1 else ""
    raise ValueError(
        f"row {r}, gene {space.gene_names[j]!r} (column {j}): choice index {int(wide[r, j])} "
        f"is out of range; it must be in 0..{int(space.cardinalities[j]) - 1}{more}"
    )


def sample(space: Space, n: int, seed: int = 0) -> np.ndarray:
    """n rows uniform over the raw gene arrays: the samples 0..n-1 of ``seed`` that
    ``nascost score --sample`` draws (each row its own counter-based stream; see
    nascost.kernels.rng), so the same (n, seed) always gives the same rows."""
    from nascost.kernels.rng import draw_rows, seed_key

    if n < 0:
        raise ValueError(f"n must be >= 0. Got {n}.")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be in 0..2**64-1. Got {seed}.")
    out = np.empty((int(n), space.n_genes), dtype=np.uint8)
    cards = np.ascontiguousarray(space.cardinalities, dtype=np.int64)
    draw_rows(np.uint64(seed_key(np.uint64(seed))), np.uint64(0), cards, out)
    return out


def _require_ids(space: Space) -> None:
    if not space.has_ids:
        raise ValueError(
            f"space {space.name!r} has {space.size:.3e} candidates, more than a uint64 id can "
            "name; use genes rows instead"
        )


def ids_to_genes(space: Space, ids: Any) -> np.ndarray:
    """Genes rows for mixed-radix ids (vectorised; the last gene varies fastest). Any id
    below min(size, 2**64): a space larger than that names its first 2**64 candidates by
    id, as ``--ids`` does."""
    arr = np.atleast_1d(np.asarray(ids))
    if arr.dtype == object and all(isinstance(v, int) for v in arr.ravel().tolist()):
        big = max(arr.ravel().tolist())
        if big >= 2**64:
            raise ValueError(f"id {big} does not fit in 64 bits: ids name the first 2**64 "
                             "candidates at most")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers. Got dtype {arr.dtype}.")
    if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        raise ValueError(f"ids must be >= 0. Got {int(arr.min())}.")
    u = arr.astype(np.uint64)
    if u.size and int(u.max()) >= space.size:
        raise ValueError(f"id {int(u.max())} is out of range for space {space.name!r} "
                         f"(size {space.size})")
    return _k.ids_to_genes(u, space.cardinalities)


def genes_to_ids(space: Space, genes: Any) -> np.ndarray:
    _require_ids(space)
    return _k.genes_to_ids(check_genes(space, genes), space.cardinalities)
