"""The table engine's latency sum equals a slow per-candidate walk of the same table."""

from __future__ import annotations

import numpy as np
import pytest

from nascost.latency import keys as K
from nascost.latency.scoring import score_latency, walk_latency
from nascost.latency.table import LatencyTable, read_table
from nascost.spaces import list_spaces, load_builtin
from tests.latency.lat_helpers import synthetic_table


def _chain_spaces():
    from nascost.kernels.tables import tables_for
    from nascost.rules.conventions import resolve

    out = []
    for name in list_spaces():
        s = load_builtin(name)
        if tables_for(s.program, resolve("seed")) is not None:
            out.append(name)
    return out


CHAIN_SPACES = _chain_spaces()


def test_there_are_chain_spaces():
    assert {"ofa-mbv3-w1.0", "mbv2-style", "resnet-style", "proxylessnas"} <= set(CHAIN_SPACES)


@pytest.mark.parametrize("name", CHAIN_SPACES)
def test_latency_sum_equals_walk(name):
    space = load_builtin(name)
    try:
        table = synthetic_table(space)
    except ValueError as e:  # NAS-Bench-201's cells: 5**6 configurations per resolution
        assert name.startswith("nb201") and "distinct blocks; a latency table" in str(e)
        return
    genes = space.sample(40, seed=3)
    out = score_latency(space, genes, table)
    for i in range(genes.shape[0]):
        ref = walk_latency(space, genes[i], table)
        if ref is None:
            assert out["status"][i] != 0 and out["latency_us"][i] == 0
        else:
            assert out["status"][i] == 0
            assert int(round(out["latency_us"][i] * 1000)) == ref
    # the counts are those of scoring without latency
    plain = space.score_arrays(genes)
    for m in ("params", "macs", "flops", "activations", "status"):
        assert np.array_equal(out[m], plain[m])


def test_kernel_hash_equals_python_hash():
    space = load_builtin("ofa-mbv3-w1.0")
    genes = space.sample(5, seed=0)
    h = K.hashes_of(space.program, genes)
    for i in range(genes.shape[0]):
        for j in range(len(space.program.top)):
            key = K.node_key(space.program, genes[i], j)
            assert int(h[i, j]) == (K.key_hash(key) if key else 1)
            if key:
                assert K.format_key(K.parse_key(key)) == key


def test_space_score_latency_column_and_parquet_round_trip(tmp_path):
    space = load_builtin("resnet-style")
    table = synthetic_table(space)
    path = table.write(tmp_path / "lut.parquet")
    back = read_table(path)
    assert back.keys == table.keys and np.array_equal(back.median_ns, table.median_ns)
    assert back.meta["approx"] is True
    genes = space.sample(30, seed=1)
    t = space.score(genes, latency=path)
    assert "latency_us" in t.column_names
    assert np.array_equal(t.column("latency_us").to_numpy(),
                          space.score_arrays(genes, latency=table)["latency_us"])


def test_missing_block_names_it():
    space = load_builtin("resnet-style")
    table = synthetic_table(space)
    small = LatencyTable(table.keys[:5], table.median_ns[:5], table.spread_ns[:5],
                         table.repeats[:5], meta=table.meta)
    with pytest.raises(KeyError, match="no entry for block"):
        space.score(space.sample(50, seed=0), latency=small)


def test_table_of_another_space_is_refused():
    a, b = load_builtin("resnet-style"), load_builtin("mbv2-style")
    with pytest.raises(ValueError, match="built for space 'resnet-style'"):
        b.score(b.sample(3), latency=synthetic_table(a))


def test_size_limit_names_the_count():
    from nascost.latency.build import distinct_blocks

    with pytest.raises(ValueError, match=r"has [\d,]+ distinct blocks; a latency table holds "
                                         r"at most 10"):
        distinct_blocks(load_builtin("resnet-style"), max_entries=10)
