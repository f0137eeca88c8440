"""Block keys: the readable description of a block configuration, its 64-bit hash, and the
block signatures of every row of the cost tables (and of the budget chain).

A key lists the block's active layers, each as ``op:CxHxW/R>CxHxW/R:params:macs:q0:q1``
(input and output shape with rank, parameters, MACs and the two cost-term quantities), joined
by ``|``. Two blocks with the same key compute the same thing (same ops on the same shapes
with the same weights), wherever they sit in the network: one table entry serves both.
"""

from __future__ import annotations

import numpy as np

from nascost.kernels import latency as KL
from nascost.program import program as P
from nascost.program.program import Program
from nascost.rules import conventions as conv
from nascost.rules import ops as O

_MASK = (1 << 64) - 1


def _op_code(name: str) -> int:
    return int(O.get(name).opcode)


def _op_name(code: int) -> str:
    return O.by_opcode(code).name


def _mix(h: int, v: int) -> int:
    z = (h + (v & _MASK) * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def hash_layers(layers: list[tuple[int, ...]]) -> int:
    """The 64-bit hash of a block from its layers' (opcode, 12 signature values): the same
    function as the kernel's (nascost.kernels.latency)."""
    if not layers:
        return KL.EMPTY
    h = KL.SEED
    for lay in layers:
        for v in lay:
            h = _mix(h, int(v))
    h = _mix(h, len(layers))
    return h if h > KL.EMPTY else h + 2


def parse_key(key: str) -> list[tuple[int, ...]]:
    """The layers of a key as (opcode, 12 signature values) tuples; ValueError if malformed."""
    out = []
    for part in key.split("|"):
        try:
            op, shapes, *nums = part.split(":")
            a, b = shapes.split(">")
            vals = []
            for s in (a, b):
                dims, rank = s.split("/")
                vals += [int(x) for x in dims.split("x")] + [int(rank)]
            vals += [int(x) for x in nums]
            if len(vals) != 12:
                raise ValueError
            out.append((_op_code(op), *vals))
        except (ValueError, KeyError):
            raise ValueError(f"block key part {part!r} is not op:CxHxW/R>CxHxW/R:params:macs:"
                             "q0:q1") from None
    return out


def format_key(layers: list[tuple[int, ...]]) -> str:
    parts = []
    for op, ic, ih, iw, ir, oc, oh, ow, orank, p, m, q0, q1 in layers:
        parts.append(f"{_op_name(op)}:{ic}x{ih}x{iw}/{ir}>{oc}x{oh}x{ow}/{orank}:{p}:{m}:"
                     f"{q0}:{q1}")
    return "|".join(parts)


def key_hash(key: str) -> int:
    return hash_layers(parse_key(key))


def records_layers(program: Program, rec: np.ndarray, a: int, b: int) -> list[tuple[int, ...]]:
    """The signature layers of instructions a..b-1 from their records."""
    out = []
    for i in range(a, b):
        if rec[i, P.R_ACTIVE] == 0 or int(program.ins[i, P.C_OP]) == O.OP_MOVE:
            continue
        out.append((int(program.ins[i, P.C_OP]), *(int(rec[i, c]) for c in KL.SIG_COLS)))
    return out


def node_key(program: Program, genes_row: np.ndarray, node: int) -> str:
    """The key of top-level node ``node`` for one gene row (readable)."""
    from nascost.kernels.interpreter import record_one

    rec = np.zeros((program.n_instr, P.N_REC), dtype=np.int64)
    record_one(program.ins, program.ex, program.aux, _ow(), program.n_regs,
               np.ascontiguousarray(genes_row, dtype=np.uint8), rec)
    a, b = program.top[node]
    return format_key(records_layers(program, rec, a, b))


def _ow() -> np.ndarray:
    return conv.resolve("macs").op_weights


def nodes_array(program: Program, lo: int = 0, hi: int | None = None) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(node ids, (m, 2) instruction ranges) of the top-level nodes inside [lo, hi)."""
    hi = program.n_instr if hi is None else hi
    ids = [j for j, (a, b) in enumerate(program.top) if a >= lo and b <= hi]
    rng = np.array([program.top[j] for j in ids], dtype=np.int64).reshape(-1, 2)
    return np.array(ids, dtype=np.int64), rng


def hashes_of(program: Program, genes: np.ndarray, i1: int | None = None,
              nodes: np.ndarray | None = None) -> np.ndarray:
    """(n, m) uint64 block hashes of gene rows (every top-level node by default)."""
    i1 = program.n_instr if i1 is None else int(i1)
    if nodes is None:
        nodes = nodes_array(program)[1]
    out = np.zeros((genes.shape[0], nodes.shape[0]), dtype=np.uint64)
    if genes.shape[0] and nodes.shape[0]:
        kernel = KL.node_hashes if genes.shape[0] > 256 else KL.node_hashes_serial
        kernel(program.ins, program.ex, program.aux, _ow(), program.n_regs,
                       np.ascontiguousarray(genes, dtype=np.uint8), i1,
                       np.ascontiguousarray(nodes), out)
    return out


# -- representative gene rows for the rows of the cost tables and of the budget chain --------
def _combination(c: np.ndarray, cards: list[int]) -> np.ndarray:
    out = np.zeros((c.shape[0], len(cards)), dtype=np.uint8)
    v = c.astype(np.int64).copy()
    for j in range(len(cards) - 1, -1, -1):
        out[:, j] = v % cards[j]
        v //= cards[j]
    return out


def table_row_genes(program: Program, tables):
    """Per segment of the cost tables, (n_rows, n_genes) gene rows that reach each row: the
    genes of one path of OK rows into the row's incoming state, then the row's combination.
    Yields (segment index, first row, genes, ok mask)."""
    from nascost.kernels.tables import T_NEXT, T_STATUS

    rows = np.asarray(tables.rows, dtype=np.int64)
    prefix = np.zeros((1, program.n_genes), dtype=np.uint8)
    for k, seg in enumerate(tables.segs):
        first, per = int(tables.meta[k, 2]), int(tables.meta[k, 3])
        n_states = prefix.shape[0]
        n = n_states * per
        idx = np.arange(n, dtype=np.int64)
        genes = prefix[idx // per].copy()
        cards = [int(program.cards[g]) for g in seg.genes]
        if seg.genes:
            genes[:, list(seg.genes)] = _combination(idx % per, cards)
        seg_rows = rows[first:first + n]
        ok = seg_rows[:, T_STATUS] == 0
        yield k, first, genes, ok
        nxt = seg_rows[ok, T_NEXT]
        size = int(nxt.max()) + 1 if nxt.size else 1
        _, pick = np.unique(nxt, return_index=True)
        prefix = np.zeros((size, program.n_genes), dtype=np.uint8)
        prefix[nxt[pick]] = genes[np.flatnonzero(ok)[pick]]
