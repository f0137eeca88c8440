"""Validating Python entry points over the kernels (inputs are already checked genes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nascost.kernels import encoding as E
from nascost.kernels import interpreter as K
from nascost.kernels import separable as SEP
from nascost.kernels import tables as T
from nascost.kernels.jit import set_threads
from nascost.program import program as P
from nascost.program.program import Program
from nascost.rules import conventions as conv
from nascost.rules import status as S

METRICS = ("params", "macs", "flops", "activations", "status")


MAX_BATCH = 1 << 40  # the CLI's --batch bound (nascost.io.options): same checks, same words


def check_batch(batch: int) -> int:
    """The input batch size as an int from 1 to 2**40, or ValueError worded as the CLI's."""
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)):
        raise ValueError(f"batch: expected an integer. Got {batch!r}.")
    if batch < 1:
        raise ValueError(f"batch: must be >= 1. Got {batch}.")
    if batch > MAX_BATCH:
        raise ValueError(f"batch: must be <= {MAX_BATCH}. Got {batch}.")
    return int(batch)


def empty_outputs(n: int) -> dict[str, np.ndarray]:
    return {
        "params": np.empty(n, np.int64), "macs": np.empty(n, np.int64),
        "flops": np.empty(n, np.int64), "activations": np.empty(n, np.int64),
        "status": np.empty(n, np.int8),
    }


_OUT_DTYPES = tuple((k, np.dtype(np.int8 if k == "status" else np.int64)) for k in METRICS)


def check_out(out: Any, n: int) -> None:
    """Raise ValueError unless ``out`` holds, for every metric, a writable, aligned,
    C-contiguous 1-D array of n rows of its dtype (int64; int8 status): the kernels write
    there unchecked, so a short or narrow array would corrupt memory or wrap silently."""
    if type(out) is not dict:
        raise ValueError(f"out must be a dict of arrays (see empty_outputs). "
                         f"Got {type(out).__name__}.")
    for key, dt in _OUT_DTYPES:
        a = out.get(key)
        if (type(a) is not np.ndarray or (a.dtype is not dt and a.dtype != dt) or a.ndim != 1
                or a.shape[0] != n or not a.flags.carray):
            raise ValueError(_out_problem(key, a, dt, n))


def _out_problem(key: str, a: Any, dt: np.dtype, n: int) -> str:
    want = f"out[{key!r}] must be a writable C-contiguous {dt} array of {n} rows (the batch)"
    if a is None:
        return f"{want}; out has no {key!r}"
    if not isinstance(a, np.ndarray):
        return f"{want}. Got {type(a).__name__}."
    if a.dtype != dt:
        return f"{want}. Got dtype {a.dtype}."
    if a.ndim != 1 or a.shape[0] != n:
        return f"{want}. Got shape {a.shape}."
    if not a.flags.writeable:
        return f"{want}. Got a read-only array."
    return f"{want}. Got a non-contiguous (strided or unaligned) array."


ENGINES = ("auto", "tables", "separable", "interpreter")


def engine_tables(program: Program, convention: conv.Convention, engine: str):
    """The tables to score with, or None for the interpreter. auto: the chain's tables,
    else the separable tables (a cell space such as DARTS), else the interpreter."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}. Got {engine!r} instead.")
    if engine == "interpreter":
        return None
    tables = T.tables_for(program, convention) if engine != "separable" else None
    if tables is None and engine in ("auto", "separable"):
        tables = SEP.separable_for(program, convention)
    if tables is None and engine == "tables":
        raise ValueError("this space does not factor into tables small enough to build; "
                         "use engine='separable' or engine='interpreter'")
    if tables is None and engine == "separable":
        raise ValueError("this space's costs do not add up over small groups of genes; "
                         "use engine='tables' or engine='interpreter'")
    return tables


def engine_name(tables) -> str:
    """The engine that scores with ``tables`` (engine_tables' result)."""
    if tables is None:
        return "interpreter"
    return "separable" if isinstance(tables, SEP.SeparableTables) else "tables"


SERIAL_BELOW = 2048  # batches smaller than this are scored on the calling thread


def score_into(program: Program, genes: np.ndarray, convention: conv.Convention, batch: int,
               out: dict[str, np.ndarray], tables=None) -> dict[str, np.ndarray]:
    """Score into preallocated arrays (no validation: the hot path of scorers and streams)."""
    if tables is not None:
        kernel = T.score_tables_serial if genes.shape[0] < SERIAL_BELOW else T.score_tables
        kernel(tables.gstride, tables.meta, tables.rows, tables.safe, tables.words,
               tables.layout, genes, batch, out["params"], out["macs"], out["flops"],
               out["activations"], out["status"])
        if isinstance(tables, SEP.SeparableTables):  # the first failing layer's status
            fix = SEP.fix_status_serial if genes.shape[0] < SERIAL_BELOW else SEP.fix_status
            fix(tables.gstride, tables.meta, tables.fail, tables.exact, program.ins,
                program.ex, program.aux, convention.op_weights, program.n_regs, genes, batch,
                out["status"])
        return out
    K.score_batch(program.ins, program.ex, program.aux, convention.op_weights, program.n_regs,
                  genes, batch, out["params"], out["macs"], out["flops"], out["activations"],
                  out["status"])
    return out


def score(program: Program, genes: np.ndarray, convention: Any = "seed", batch: int = 1,
          threads: int | None = None, engine: str = "auto") -> dict[str, np.ndarray]:
    c = conv.resolve(convention)
    batch = check_batch(batch)
    tables = engine_tables(program, c, engine)
    out = empty_outputs(genes.shape[0])
    if threads is None:
        return score_into(program, genes, c, batch, out, tables)
    previous = set_threads(threads)
    try:
        return score_into(program, genes, c, batch, out, tables)
    finally:
        set_threads(previous)


class Scorer:
    """A scoring function for NAS loops: tables and convention resolved once; each call
    checks the batch and scores it, into ``out`` when given (no allocation)."""

    __slots__ = ("program", "convention", "batch", "tables", "n_genes", "cards", "_tile", "_bad")

    def __init__(self, program: Program, convention: Any = "seed", batch: int = 1,
                 engine: str = "auto", on_error=None):
        self.program = program
        self.convention = conv.resolve(convention)
        self.batch = check_batch(batch)
        self.tables = engine_tables(program, self.convention, engine)
        self.n_genes = program.n_genes
        self.cards = program.cards
        self._tile = E.largest_tile(program.cards)
        self._bad = on_error
        # compile (or load) the kernels now, not in the first call of the loop
        self(np.zeros((1, self.n_genes), dtype=np.uint8))

    def __call__(self, genes: np.ndarray, out: dict[str, np.ndarray] | None = None
                 ) -> dict[str, np.ndarray]:
        if (type(genes) is not np.ndarray or genes.dtype != np.uint8 or genes.ndim != 2
                or genes.shape[1] != self.n_genes or not genes.flags.c_contiguous):
            genes = self._bad(genes) if self._bad else np.ascontiguousarray(genes, np.uint8)
        elif E.first_out_of_range(genes, self.cards, self._tile) >= 0:
            genes = self._bad(genes)
        n = genes.shape[0]
        if out is None:
            out = empty_outputs(n)
        else:
            check_out(out, n)
        return score_into(self.program, genes, self.convention, self.batch, out, self.tables)


def live_genes(program: Program, genes: np.ndarray) -> np.ndarray:
    out = np.zeros(genes.shape, dtype=np.uint8)
    ow = conv.resolve("macs").op_weights
    K.live_batch(program.ins, program.ex, program.aux, ow, program.n_regs, genes, out)
    return out.astype(bool)


def canonical(program: Program, genes: np.ndarray) -> np.ndarray:
    live = live_genes(program, genes)
    return np.where(live, genes, 0).astype(np.uint8)


def records(program: Program, genes_row: np.ndarray, convention: Any = "seed"):
    c = conv.resolve(convention)
    rec = np.zeros((program.n_instr, P.N_REC), dtype=np.int64)
    totals = K.record_one(program.ins, program.ex, program.aux, c.op_weights, program.n_regs,
                          np.ascontiguousarray(genes_row, dtype=np.uint8), rec)
    return rec, totals


def input_shapes(program: Program, genes: np.ndarray) -> np.ndarray:
    out = np.empty((genes.shape[0], 3), dtype=np.int64)
    for i in range(genes.shape[0]):
        rec, _ = records(program, genes[i], "macs")
        out[i] = rec[0, P.R_OUT_C], rec[0, P.R_OUT_H], rec[0, P.R_OUT_W]
    return out


def _shape(c: int, h: int, w: int, rank: int) -> str:
    if rank == 3:  # tokens: N x D
        return f"{h * w}x{c}"
    return f"{c}x{h}x{w}" if rank == 4 else f"{c}"


def breakdown(program: Program, genes_row: np.ndarray, convention: Any = "seed",
              batch: int = 1):
    """(per-layer columns, totals dict) of one candidate from a single interpreter run: one
    row per active layer (and the failing layer, if any). Plain lists: building an Arrow
    table makes pyarrow import pandas, which costs the CLI most of its start-up."""
    batch = check_batch(batch)
    rec, (st, p, m, f, a) = records(program, genes_row, convention)
    cols: dict[str, list] = {k: [] for k in (
        "layer", "op", "in_shape", "out_shape", "params", "macs", "flops", "activations",
        "status")}
    for i in range(program.n_instr):
        li = int(program.ins[i, P.C_LAYER])
        if li < 0 or rec[i, P.R_ACTIVE] == 0:
            continue
        code = int(rec[i, P.R_STATUS])
        counts = [int(rec[i, P.R_PARAMS])] + [int(rec[i, c]) * batch for c in (
            P.R_MACS, P.R_FLOPS, P.R_ELEMS)]
        if code == S.OVERFLOW or max(counts) > K.LIMIT:  # no int64 row: overflow, zeros
            code, counts = S.OVERFLOW, [0, 0, 0, 0]
        cols["layer"].append(program.layer_names[li])
        cols["op"].append(program.layer_ops[li])
        cols["in_shape"].append(_shape(*(int(x) for x in rec[i, P.R_IN_C:P.R_IN_RANK + 1])))
        cols["out_shape"].append(
            _shape(*(int(x) for x in rec[i, P.R_OUT_C:P.R_OUT_RANK + 1])) if code == 0 else "")
        for key, v in zip(("params", "macs", "flops", "activations"), counts, strict=True):
            cols[key].append(v)
        cols["status"].append(code)
    st = int(st)
    lim = K.LIMIT // batch
    if st == S.OK and max(int(m), int(f), int(a)) > lim:
        st = S.OVERFLOW
    ok = st == S.OK
    totals = {"params": int(p) if ok else 0, "macs": int(m) * batch if ok else 0,
              "flops": int(f) * batch if ok else 0, "activations": int(a) * batch if ok else 0,
              "status": st}
    return cols, totals


def layer_table(program: Program, genes_row: np.ndarray, convention: Any = "seed",
                batch: int = 1):
    """The per-layer breakdown of one candidate as a pyarrow.Table (see breakdown)."""
    import pyarrow as pa

    schema = pa.schema([
        ("layer", pa.string()), ("op", pa.string()), ("in_shape", pa.string()),
        ("out_shape", pa.string()), ("params", pa.int64()), ("macs", pa.int64()),
        ("flops", pa.int64()), ("activations", pa.int64()), ("status", pa.int8()),
    ])
    return pa.table(breakdown(program, genes_row, convention, batch)[0], schema=schema)


def status_name(code: int) -> str:
    return S.NAMES.get(int(code), f"unknown({code})")
