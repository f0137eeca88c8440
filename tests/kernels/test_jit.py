"""numba's cache of nascost's kernels is stamped with a hash of every kernel source, so that
a kernel that inlined an old helper is never loaded from a stale cache."""

from __future__ import annotations

from nascost.kernels import interpreter, jit, tables


def test_kernel_caches_are_stamped_with_all_kernel_sources():
    stamp = jit._sources_stamp()
    for kernel in (interpreter.score_batch, tables.score_tables, tables._tabulate):
        locator = kernel._cache._impl.locator
        assert type(locator).__name__.startswith("Nascost")
        assert locator.get_source_stamp() == stamp


def test_other_code_keeps_numba_default_caching(tmp_path):
    import numba
    from numba.core import caching

    path = tmp_path / "user_mod.py"
    path.write_text("def f(x):\n    return x + 1\n")
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_mod", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    f = numba.njit(cache=True)(mod.f)
    assert f(1) == 2
    locator = f._cache._impl.locator
    assert not type(locator).__name__.startswith("Nascost")
    assert isinstance(locator, caching.InTreeCacheLocator)
