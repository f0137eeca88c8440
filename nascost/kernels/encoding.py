"""Kernels for the encoding: mixed-radix ids <-> genes, range checks."""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit, jit_parallel, prange


@jit
def first_out_of_range(genes, cards):
    """The first row holding an index >= its gene's cardinality, or -1."""
    n, g = genes.shape
    for i in range(n):
        for j in range(g):
            if np.int64(genes[i, j]) >= cards[j]:
                return i
    return -1


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
