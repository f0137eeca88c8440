"""The one place numba is configured: every kernel is compiled through these decorators."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent.parent
# Kernels call functions and read constants from these folders; numba's cache only watches
# the file that defines a function, so a change anywhere here must invalidate every kernel.
_WATCHED = ("kernels", "rules", "program")


def _sources_stamp() -> str:
    h = hashlib.sha256()
    for folder in _WATCHED:
        for path in sorted((_PACKAGE / folder).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _install_cache_stamp() -> None:
    """Stamp the on-disk cache of nascost's kernels with a hash of all kernel sources (a
    stale cached kernel that inlined an old version of a helper would count wrongly)."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba moved its internals: plain caching
        return
    impl = getattr(caching, "CacheImpl", None)
    names = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    bases = [getattr(caching, n, None) for n in names]  # NUMBA_CACHE_DIR first, as numba
    if impl is None or None in bases or not hasattr(impl, "_locator_classes"):
        return  # pragma: no cover
    stamp = STAMP
    root = str(_PACKAGE)

    def make(base):
        class Stamped(base):
            def get_source_stamp(self):
                return stamp

            @classmethod
            def from_function(cls, py_func, py_file):
                if not str(Path(py_file).resolve()).startswith(root):
                    return None
                return super().from_function(py_func, py_file)

        Stamped.__name__ = f"Nascost{base.__name__}"
        return Stamped

    if not any(c.__name__.startswith("Nascost") for c in impl._locator_classes):
        impl._locator_classes[:0] = [make(b) for b in bases]


STAMP = _sources_stamp()  # the kernel sources this process compiles or loads
_install_cache_stamp()

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


class CompileWatch:
    """Names of the functions numba compiled (not loaded from its cache) inside the block:
    the CLI says "compiled" only when this is not empty."""

    def __init__(self) -> None:
        self.compiled: list[str] = []

    def __enter__(self) -> CompileWatch:
        from numba.core import event

        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                d = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
                watch.compiled.append(getattr(getattr(d, "py_func", None), "__qualname__", "?"))

            def on_end(self, ev):
                pass

        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc) -> None:
        from numba.core import event

        event.unregister("numba:compile", self._listener)
