"""numba's cache of nascost's kernels is stamped with a hash of every kernel source, so that
a kernel that inlined an old helper is never loaded from a stale cache."""

from __future__ import annotations

from nascost.kernels import interpreter, jit, tables


def test_kernel_caches_are_stamped_with_all_kernel_sources(tmp_path, monkeypatch):
    for kernel in (interpreter.score_batch, tables.score_tables, tables._tabulate):
        locator = kernel._cache._impl.locator
        assert type(locator).__name__.startswith("Nascost")
        assert locator.get_source_stamp() == jit.STAMP
    # the stamp covers every watched folder: an edit to a helper changes it
    import shutil

    for folder in jit._WATCHED:
        shutil.copytree(jit._PACKAGE / folder, tmp_path / folder)
    monkeypatch.setattr(jit, "_PACKAGE", tmp_path)
    before = jit._sources_stamp()
    formulas = tmp_path / "rules" / "formulas.py"
    formulas.write_text(formulas.read_text() + "\n# an edit\n")
    assert jit._sources_stamp() != before


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
