"""The one place numba is configured: every kernel is compiled through these decorators."""

from __future__ import annotations

import numba

# cache=True: a second process loads the compiled kernels from __pycache__ instead of compiling.
# nogil: callers may run kernels from their own threads (streaming writers overlap with scoring).
jit = numba.njit(cache=True, nogil=True)
jit_parallel = numba.njit(cache=True, nogil=True, parallel=True)
prange = numba.prange


def set_threads(n: int | None) -> int:
    """Set numba's thread count (None: all cores); returns the previous value to restore."""
    previous = numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS if n is None else int(n))
    return previous


def max_threads() -> int:
    return int(numba.config.NUMBA_NUM_THREADS)
