"""Scoring additively separable spaces (DARTS) by table lookups: one table per group of genes.

nascost.budget.separable proves, from the compiled program, that a space's costs are a fixed
part plus one term per small group of genes (a DARTS cell edge's op and input, summed over
the cells that share the genotype) and tabulates every combination of each group. Those
tables are the table engine's tables with one state at every boundary: a segment per group,
a row per combination of its genes (all of them, not only the canonical ones), the fixed part
added to the first segment's rows. kernels.tables scores them unchanged.

Only the status needs more than the sum: the interpreter reports the first failing layer in
program order, and the groups' instructions interleave. Each row also keeps its group's
first failing instruction; the candidates the lookup kernel marks as failing (few) get the
status of their earliest failing instruction over all groups. Where a running total could
pass 2**62 before that instruction (``exact`` is False), those candidates are rerun by the
interpreter instead.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from nascost.kernels.interpreter import LIMIT, run_one
from nascost.kernels.jit import jit, jit_parallel, prange
from nascost.kernels.tables import (
    NO_WORDS,
    SPAN,
    T_ACTS,
    T_NEXT,
    T_PARAMS,
    T_STATUS,
    Tables,
    pack,
)
from nascost.program.program import Program
from nascost.program.segments import Segment, segment_arrays
from nascost.rules import ops as O
from nascost.rules import status as S
from nascost.rules.conventions import Convention

MAX_ROWS = 1 << 16  # rows over all groups (each group has at most SEPARABLE_COMBOS)
MERGE_ROWS = 4096  # groups are merged into segments of at most this many rows
FAIL_CODES = 16  # a row's first failure is (instruction + 1) * FAIL_CODES + status


@dataclass(frozen=True, eq=False)
class SeparableTables(Tables):
    """Tables with one state per boundary, plus per row its group's first failure."""

    fail: np.ndarray  # (n_rows,) int64: (first failing instruction + 1) * 16 + status, or 0
    exact: bool  # no running total can pass 2**62: the earliest failure is the status


def build_separable(program: Program, convention: Convention,
                    merge_rows: int = MERGE_ROWS) -> SeparableTables | None:
    """The separable tables of (program, convention), or None where the costs do not add up
    over small groups of genes (or no gene changes them). Groups are merged into segments
    of at most merge_rows rows (1: a segment per group)."""
    # imported here: nascost.budget is not needed to score (start-up time of the CLI)
    from nascost.budget.chain import ChainError, NoValidCandidate
    from nascost.budget.separable import separable_groups

    try:
        fixed, groups = separable_groups(program, convention)
    except (ChainError, NoValidCandidate):
        return None
    groups = _merged(groups, merge_rows)
    if not groups or sum(t["V"].shape[0] for t in groups) > MAX_ROWS:
        return None
    cards = program.cards
    segs = tuple(Segment(0, 0, tuple(t["genes"]), (), (), (), ()) for t in groups)
    gstride, gmeta = segment_arrays(list(segs), cards)
    meta = np.zeros((len(segs), 4), dtype=np.int64)
    meta[:, :2] = gmeta
    parts, fails = [], []
    n_rows = 0
    worst = float(fixed.max())  # a bound on every running total, failing rows included
    negative = bool((fixed < 0).any())
    for k, t in enumerate(groups):
        n = int(t["V"].shape[0])
        ok = t["ok"]
        cost = np.where(ok[:, None], t["cost"] + (fixed if k == 0 else 0), 0)
        fcost = t["fcost"]
        negative |= bool((fcost < 0).any())
        worst += float(fcost.max()) if n else 0.0
        too_big = ok & (fcost > float(LIMIT)).any(axis=1)  # wraps int64 or overflows alone
        table = np.zeros((n, 6), dtype=np.int64)
        table[:, T_NEXT] = 0
        table[:, T_STATUS] = np.where(ok, S.OK, t["fail"] % FAIL_CODES)
        table[too_big, T_STATUS] = S.OVERFLOW
        table[:, T_PARAMS:T_ACTS + 1] = np.where(too_big[:, None], 0, cost)
        meta[k, 2] = n_rows
        meta[k, 3] = n
        n_rows += n
        parts.append(table)
        fails.append(np.where(ok, 0, t["fail"]))
    rows = np.ascontiguousarray(np.concatenate(parts))
    exact = not negative and worst < float(LIMIT) / 2
    if rows.size and rows.max() < 2**31 and rows.min() >= 0:
        rows = rows.astype(np.int32)
    n_states = np.ones(len(segs), dtype=np.int64)
    words, layout = pack(rows, meta, n_states)
    words = NO_WORDS if words is None else words
    fail = np.ascontiguousarray(np.concatenate(fails))
    for a in (rows, meta, gstride, words, layout, fail):
        a.setflags(write=False)
    return SeparableTables(segs, gstride, meta, rows, exact, n_states, words, layout, fail,
                           exact)


def _outer(a: dict, b: dict) -> dict:
    """One group of the genes of a and b: a row per (row of a, row of b), b's fastest."""
    na, nb = a["V"].shape[0], b["V"].shape[0]
    ia, ib = np.repeat(np.arange(na), nb), np.tile(np.arange(nb), na)
    fa, fb = a["fail"][ia], b["fail"][ib]
    first = np.where((fa == 0) | ((fb != 0) & (fb < fa)), fb, fa)
    return {"genes": list(a["genes"]) + list(b["genes"]),
            "V": np.concatenate([a["V"][ia], b["V"][ib]], axis=1),
            "cost": a["cost"][ia] + b["cost"][ib], "fcost": a["fcost"][ia] + b["fcost"][ib],
            "ok": a["ok"][ia] & b["ok"][ib], "fail": first}


def _merged(groups: list[dict], cap: int) -> list[dict]:
    """Neighbouring groups (by their genes) merged while a segment has at most cap rows:
    fewer lookups per candidate (26 groups of DARTS become 8 segments,
    7,483 rows; measured 15% faster than 11 segments of at most 512 rows)."""
    out: list[dict] = []
    for t in sorted(groups, key=lambda t: max(t["genes"])):
        if out and out[-1]["V"].shape[0] * t["V"].shape[0] <= cap:
            out[-1] = _outer(out[-1], t)
        else:
            out.append(t)
    return out


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def separable_for(program: Program, convention: Convention) -> SeparableTables | None:
    """The separable tables of (program, convention), built once and cached with the
    program (None is cached too: the walk that finds out is not free)."""
    per_program = _CACHE.setdefault(program, {})
    key = tuple(convention.op_weights.ravel().tolist())
    if key not in per_program:
        per_program[key] = build_separable(program, convention)
    return per_program[key]


@jit
def _fix_range(gstride, meta, fail, exact, ins, ex, aux, ow, n_regs, genes, batch, a, b,
               o_status):
    """Exact statuses of the failing candidates a .. b-1 (their counts are already 0)."""
    regC = np.zeros(n_regs, np.int64)
    regH = np.zeros(n_regs, np.int64)
    regW = np.zeros(n_regs, np.int64)
    regR = np.zeros(n_regs, np.int64)
    fv = np.zeros(O.N_SLOTS, np.int64)
    live = np.zeros(1, np.uint8)
    rec = np.zeros((1, 1), np.int64)
    lim = LIMIT // batch
    for i in range(a, b):
        if o_status[i] == S.OK:
            continue
        if exact:
            first = np.int64(0)
            for k in range(meta.shape[0]):
                r = meta[k, 2]
                for q in range(meta[k, 0], meta[k, 0] + meta[k, 1]):
                    r += np.int64(genes[i, gstride[q, 0]]) * gstride[q, 1]
                key = fail[r]
                if key != 0 and (first == 0 or key < first):
                    first = key
            if first != 0:  # else the status is the batch's overflow: the sum is right
                o_status[i] = first % FAIL_CODES
        else:
            st, p, m, f, ac = run_one(ins, ex, aux, ow, genes[i], regC, regH, regW, regR, fv,
                                      live, False, rec, False, 0, ins.shape[0])
            if st == S.OK and (m > lim or f > lim or ac > lim):
                st = S.OVERFLOW
            o_status[i] = st


@jit_parallel
def fix_status(gstride, meta, fail, exact, ins, ex, aux, ow, n_regs, genes, batch, o_status):
    """_fix_range over spans of candidates in parallel."""
    n = genes.shape[0]
    for t in prange((n + SPAN - 1) // SPAN):
        _fix_range(gstride, meta, fail, exact, ins, ex, aux, ow, n_regs, genes, batch, t * SPAN,
                   min(n, (t + 1) * SPAN), o_status)


@jit
def fix_status_serial(gstride, meta, fail, exact, ins, ex, aux, ow, n_regs, genes, batch,
                      o_status):
    """fix_status on the calling thread (small batches)."""
    _fix_range(gstride, meta, fail, exact, ins, ex, aux, ow, n_regs, genes, batch, 0,
               genes.shape[0], o_status)
