"""A counter-based sampler: the genes of sample ``i`` are a pure function of (seed, i).

Each sample index opens its own SplitMix64 stream (Steele, Lea and Flood 2014), keyed by the
seed; each gene takes a 16-bit draw (four per SplitMix64 output) reduced to
``0 .. card - 1`` by Lemire's multiply-shift with rejection (cards are at most 256), so every
choice index is exactly uniform. Because nothing is carried from
one sample to the next, the same seed gives the same candidates whatever the chunk size, the
thread count or where a resumed run starts. ``SAMPLER`` names this algorithm in the results'
metadata; changing it means a new name.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels.jit import jit, jit_parallel, prange

SAMPLER = "splitmix64-lemire16-v1"

@jit
def mix64(z):
    """The SplitMix64 finaliser (a bijection of uint64)."""
    # constants are built here: numba reads a module-level np.uint64 as an int64 literal
    z = np.uint64(z)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def seed_key(seed):
    """The stream key of a seed (0 <= seed < 2**64)."""
    return mix64(np.uint64(seed) ^ np.uint64(0x6E6173636F737431))  # "nascost1"


@jit
def draw_genes(key, index, cards, out):
    """The genes of sample ``index`` into ``out`` (uint8, one per gene)."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    mask16 = np.uint64(0xFFFF)
    s16 = np.uint64(16)
    state = mix64(np.uint64(key) ^ mix64(np.uint64(index) + golden))
    bits = np.uint64(0)
    left = 0  # 16-bit draws left in bits
    for j in range(cards.shape[0]):
        c = np.uint64(cards[j])
        while True:
            if left == 0:
                state += golden
                bits = mix64(state)
                left = 4
            m = (bits & mask16) * c
            bits >>= s16
            left -= 1
            low = m & mask16
            # Lemire: reject the low values that would make some choices more likely
            if low >= c or low >= (np.uint64(65536) - c) % c:
                out[j] = np.uint8(m >> s16)
                break


def reference_genes(seed: int, index: int, cards) -> list[int]:
    """The same draw in plain Python integers: the slow oracle the kernel is tested against."""
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    key = mix(seed ^ 0x6E617363_6F737431)
    state = mix(key ^ mix((index + 0x9E3779B97F4A7C15) & mask))
    draws: list[int] = []
    out = []
    for c in cards:
        c = int(c)
        while True:
            if not draws:
                state = (state + 0x9E3779B97F4A7C15) & mask
                z = mix(state)
                draws = [(z >> (16 * q)) & 0xFFFF for q in range(4)][::-1]  # low bits first
            m = draws.pop() * c
            if (m & 0xFFFF) >= (65536 - c) % c:
                out.append(m >> 16)
                break
    return out


@jit_parallel
def draw_rows(key, first, cards, out):
    """The genes of samples first, first+1, ... (one per row of out), in parallel."""
    for i in prange(out.shape[0]):
        draw_genes(key, np.uint64(first) + np.uint64(i), cards, out[i])
