"""Kernels for the encoding: mixed-radix ids <-> genes, range checks."""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit, jit_parallel, prange

TILE = 64  # rows compared at once against a tiled copy of the largest valid indices


@jit
def _first_in(genes, cards, a, b):
    for i in range(a, b):
        for j in range(genes.shape[1]):
            if np.int64(genes[i, j]) >= cards[j]:
                return i
    return -1


@jit
def _any_out_of_range(flat, tile, a, b):
    """Whether rows [a, b) hold an index past its gene's largest, comparing TILE rows of
    bytes at a time against the tiled largest indices (a loop the compiler vectorises)."""
    w = tile.shape[0] // TILE
    m = TILE * w
    acc = np.uint8(0)
    i = a
    while i + TILE <= b:
        blk = flat[i * w:(i + TILE) * w]
        for k in range(m):
            acc |= np.uint8(blk[k] > tile[k])
        i += TILE
    rest = flat[i * w:b * w]
    for k in range(rest.shape[0]):
        acc |= np.uint8(rest[k] > tile[k])
    return acc != 0


@jit
def _first_out_of_range_serial(genes, cards, tile):
    flat = genes.reshape(-1)
    if not _any_out_of_range(flat, tile, 0, genes.shape[0]):
        return -1
    return _first_in(genes, cards, 0, genes.shape[0])


CHUNK = 1 << 14


@jit_parallel
def _first_out_of_range_parallel(genes, cards, tile):
    n = genes.shape[0]
    flat = genes.reshape(-1)
    n_chunks = (n + CHUNK - 1) // CHUNK
    bad = np.zeros(n_chunks, np.uint8)
    for c in prange(n_chunks):
        bad[c] = _any_out_of_range(flat, tile, c * CHUNK, min(n, (c + 1) * CHUNK))
    for c in range(n_chunks):
        if bad[c]:
            return _first_in(genes, cards, c * CHUNK, min(n, (c + 1) * CHUNK))
    return -1


def largest_tile(cards: np.ndarray) -> np.ndarray:
    """The largest valid index of every gene (uint8), repeated for TILE rows."""
    top = np.minimum(np.asarray(cards, dtype=np.int64) - 1, 255).astype(np.uint8)
    return np.ascontiguousarray(np.tile(top, TILE))


def first_out_of_range(genes: np.ndarray, cards: np.ndarray, tile: np.ndarray | None = None
                       ) -> int:
    """The first row of C-contiguous uint8 genes holding an index >= its gene's cardinality,
    or -1. ``tile`` (largest_tile(cards)) may be passed to save building it per call."""
    if tile is None:
        tile = largest_tile(cards)
    if genes.shape[0] < CHUNK:
        return int(_first_out_of_range_serial(genes, cards, tile))
    return int(_first_out_of_range_parallel(genes, cards, tile))


@jit_parallel
def _ids_to_genes(ids, cards, out):
    n = ids.shape[0]
    g = cards.shape[0]
    for i in prange(n):
        v = ids[i]
        for j in range(g - 1, -1, -1):
            c = np.uint64(cards[j])
            out[i, j] = np.uint8(v % c)
            v = v // c


@jit_parallel
def _genes_to_ids(genes, cards, out):
    n, g = genes.shape
    for i in prange(n):
        v = np.uint64(0)
        for j in range(g):
            v = v * np.uint64(cards[j]) + np.uint64(genes[i, j])
        out[i] = v


@jit
def fill_id_range(start, genes_out, cards):
    """Genes for ids start, start+1, ... (one per row of genes_out), by an odometer."""
    n, g = genes_out.shape
    if n == 0:
        return
    v = np.uint64(start)
    for j in range(g - 1, -1, -1):
        c = np.uint64(cards[j])
        genes_out[0, j] = np.uint8(v % c)
        v = v // c
    for i in range(1, n):
        carry = True
        for j in range(g - 1, -1, -1):
            x = genes_out[i - 1, j]
            if carry:
                x += 1
                if np.int64(x) >= cards[j]:
                    x = 0
                else:
                    carry = False
            genes_out[i, j] = x


def ids_to_genes(ids: np.ndarray, cards: np.ndarray) -> np.ndarray:
    out = np.empty((ids.shape[0], cards.shape[0]), dtype=np.uint8)
    _ids_to_genes(np.ascontiguousarray(ids, dtype=np.uint64), cards, out)
    return out


def genes_to_ids(genes: np.ndarray, cards: np.ndarray) -> np.ndarray:
    out = np.empty(genes.shape[0], dtype=np.uint64)
    _genes_to_ids(genes, cards, out)
    return out
