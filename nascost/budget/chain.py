"""The chain of a space: its candidates as paths through a layered graph of states.

The program is cut into segments (runs of top-level nodes, or of instructions where a node
reads too many genes). The state at a boundary holds what the rest of the network can see
of the part before it:

* the shapes of the registers written before the boundary and read after it;
* the value of every gene read on both sides (a width multiplier read by every block, a
  stage's depth read by its later blocks): such a gene is *carried*;
* for each carried gene, whether it has been read yet (live so far).

A row (transition) of segment k is one combination of the genes read in k, from a state of
boundary k, for which the segment runs without error; it carries the segment's exact costs.
A row is admitted only if it keeps the candidate canonical: a gene read for the last time
in k that was never live (in k or before) must be 0. Every path from the start to the end
is then exactly one valid canonical candidate, and every valid canonical candidate is one
path: counting paths counts distinct architectures, never dead-gene duplicates.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from nascost.kernels.budget import tabulate_live
from nascost.program.program import Program
from nascost.program.segments import instr_io
from nascost.rules import status as S
from nascost.rules.conventions import Convention

METRICS = ("params", "macs", "flops", "activations")
# a latency chain (nascost.latency.budget) has a fifth cost column: nanoseconds
METRIC_NAMES = METRICS + ("latency",)

UNIT_COMBOS = 1 << 16  # a top-level node reading more gene combinations is cut into instrs
TAB_ROWS = 1 << 23  # (shape, combination) runs over all segments
MAX_STATES = 1 << 21  # DP states over all boundaries
MAX_ROWS = 1 << 23  # transitions over all segments


class ChainError(ValueError):
    """The space does not decompose into a chain small enough for the budget analytics."""


class NoValidCandidate(ChainError):
    """Every candidate of the space is invalid."""


@dataclass(frozen=True, eq=False)
class Chain:
    n_genes: int
    cards: np.ndarray  # (n_genes,)
    bounds: np.ndarray  # (n_seg + 2,): boundary k's states are bounds[k] .. bounds[k+1]-1
    seg_rows: np.ndarray  # (n_seg + 1,): segment k's rows are seg_rows[k] .. seg_rows[k+1]-1
    r_in: np.ndarray  # (n_rows,) global in-state; rows sorted by it
    r_out: np.ndarray  # (n_rows,) global out-state
    cost: np.ndarray  # (n_rows, 4) int64: params, macs, flops, activations (batch 1)
    in_ptr: np.ndarray  # (n_states + 1,) rows of state s: in_ptr[s] .. in_ptr[s+1]-1
    out_ptr: np.ndarray  # (n_states + 1,) CSR of the rows into each state ...
    out_rows: np.ndarray  # ... listing row ids
    set_genes: np.ndarray  # (n_seg, w) genes first read in segment k (-1 padded)
    set_n: np.ndarray  # (n_seg,)
    r_vals: np.ndarray  # (n_rows, w) uint8: the values of those genes
    end_genes: np.ndarray  # (n_seg, e) genes read for the last time in segment k (-1 padded)
    end_n: np.ndarray  # (n_seg,)
    r_end: np.ndarray  # (n_rows, e) int16: their value where live, -1 where dead
    total: int  # valid canonical candidates (exact)
    unread: tuple[int, ...]  # genes no segment reads (always dead)
    max_rows_per_state: int

    @property
    def n_seg(self) -> int:
        return int(self.seg_rows.shape[0] - 1)

    @property
    def n_states(self) -> int:
        return int(self.bounds[-1])

    @property
    def n_rows(self) -> int:
        return int(self.r_in.shape[0])

    @property
    def end(self) -> int:
        return self.n_states - 1

    def segment_of_state(self) -> np.ndarray:
        return np.repeat(np.arange(self.bounds.shape[0] - 1), np.diff(self.bounds))


# -- segmentation -----------------------------------------------------------------------------
def _units_of(program: Program, a: int, b: int):
    reads: set[int] = set()
    writes: set[int] = set()
    gs: set[int] = set()
    for i in range(a, b):
        r, w, g = instr_io(program, i)
        reads |= r - writes
        writes |= w
        gs |= g
    return a, b, reads, writes, gs


def _units(program: Program) -> list[tuple[int, int, set[int], set[int], set[int]]]:
    """(start, end, registers read from outside, registers written, genes) per unit."""
    cards = program.cards
    ranges: list[tuple[int, int]] = []
    pos = 0
    for a, b in program.top:
        if a > pos:
            ranges.append((pos, a))
        ranges.append((a, b))
        pos = b
    if pos < program.n_instr:
        ranges.append((pos, program.n_instr))
    out = []
    for a, b in ranges:
        io = [instr_io(program, i) for i in range(a, b)]
        genes = set().union(*(g for _, _, g in io)) if io else set()
        if b - a > 1 and math.prod(int(cards[g]) for g in genes) > UNIT_COMBOS:
            pieces = [(i, i + 1, [io[i - a]]) for i in range(a, b)]
        else:
            pieces = [(a, b, io)]
        for s, e, parts in pieces:
            reads: set[int] = set()
            writes: set[int] = set()
            gs: set[int] = set()
            for r, w, g in parts:
                reads |= r - writes
                writes |= w
                gs |= g
            out.append((s, e, reads, writes, gs))
    return out


def _segments(program: Program):
    """Greedy merge of units: a unit joins the current segment when the combinations of the
    genes first read in the merged segment stay at most twice the sum of the two parts'
    (merging removes a bucket rounding from the counting DP but multiplies its rows)."""
    cards = [int(c) for c in program.cards]

    def combos(gs):
        return math.prod(cards[g] for g in gs)

    segs: list[list] = []  # [start, end, reads, writes, genes, new]
    seen: set[int] = set()
    for s, e, reads, writes, gs in _units(program):
        if segs:
            cur = segs[-1]
            new_u = gs - seen - cur[4]
            merged = cur[5] | new_u
            if (combos(merged) <= 2 * (combos(cur[5]) + combos(new_u))
                    and combos(cur[4] | gs) <= UNIT_COMBOS):
                cur[1] = e
                cur[2] |= reads - cur[3]
                cur[3] |= writes
                cur[4] |= gs
                cur[5] = merged
                continue
            seen |= cur[4]
        segs.append([s, e, set(reads), set(writes), set(gs), set(gs) - seen])
    return segs


def _gene_spans(segs: list) -> tuple[dict[int, int], dict[int, int]]:
    """For each gene the first and the last segment that reads it."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for k, sg in enumerate(segs):
        for g in sg[4]:
            first.setdefault(g, k)
            last[g] = k
    return first, last


def carried_combos(program: Program) -> int:
    """The most combinations of carried genes at one boundary of the chain's segments: far
    above MAX_STATES, building the chain is bound to fail (after tabulating a while)."""
    segs = _segments(program)
    first, last = _gene_spans(segs)
    cards = [int(c) for c in program.cards]
    return max([math.prod(cards[g] for g in first if first[g] < k <= last[g])
                for k in range(len(segs) + 1)] + [1])


# -- building ---------------------------------------------------------------------------------
def _radix(vals: np.ndarray, cards: np.ndarray) -> np.ndarray:
    key = np.zeros(vals.shape[0], dtype=np.int64)
    for j in range(vals.shape[1]):
        key = key * int(cards[j]) + vals[:, j].astype(np.int64)
    return key


def _combos(cards: np.ndarray) -> np.ndarray:
    """(prod(cards), len(cards)) every combination, the last varying fastest."""
    n = math.prod(int(c) for c in cards)
    out = np.zeros((n, len(cards)), dtype=np.int64)
    idx = np.arange(n, dtype=np.int64)
    for j in range(len(cards) - 1, -1, -1):
        out[:, j] = idx % int(cards[j])
        idx //= int(cards[j])
    return out


def build_chain(program: Program, convention: Convention, whole: bool = False) -> Chain:
    """The chain of a program; ``whole``: one segment over every instruction (enumeration,
    for small spaces that are not chains)."""
    cards = program.cards
    if whole:
        _, _, reads, writes, gs = _units_of(program, 0, program.n_instr)
        segs = [[0, program.n_instr, reads, writes, gs, set(gs)]]
    else:
        segs = _segments(program)
    n_seg = len(segs)
    first, last = _gene_spans(segs)
    unread = tuple(g for g in range(program.n_genes) if g not in first)
    # registers crossing each boundary: written before it and read after it
    cross = [[] for _ in range(n_seg + 1)]
    written: set[int] = set()
    for k in range(n_seg):
        written |= segs[k][3]
        later: set[int] = set()
        for sg in segs[k + 1:]:
            later |= sg[2]
        cross[k + 1] = sorted(written & later)
    carried = [sorted(g for g in first if first[g] < k <= last[g]) for k in range(n_seg + 1)]

    # boundary 0: one state, nothing crosses
    shapes = np.zeros((1, 0, 4), dtype=np.int64)
    st_shape = np.zeros(1, dtype=np.int64)
    st_val = np.zeros((1, 0), dtype=np.int64)
    st_live = np.zeros((1, 0), dtype=np.uint8)
    seg_data = []
    n_states = [1]
    tab_total = 0
    state_total = 1
    row_total = 0
    for k, sg in enumerate(segs):
        read = sorted(sg[4])
        rcards = np.array([cards[g] for g in read], dtype=np.int64)
        n_comb = math.prod(int(c) for c in rcards)
        n_sh = shapes.shape[0]
        tab_total += n_sh * n_comb
        if tab_total > (TAB_ROWS if not whole else max(TAB_ROWS, n_comb)):
            raise ChainError(f"segment {k} needs {n_sh} x {n_comb} tabulated runs; the space "
                             "is not a chain of small blocks")
        res = np.zeros((n_sh * n_comb, 5), dtype=np.int64)
        out_shapes = np.zeros((n_sh * n_comb, len(cross[k + 1]), 4), dtype=np.int64)
        out_live = np.zeros((n_sh * n_comb, len(read)), dtype=np.uint8)
        i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731
        tabulate_live(program.ins, program.ex, program.aux, convention.op_weights,
                      program.n_regs, program.n_genes, sg[0], sg[1], i64(cross[k]), shapes,
                      i64(read), rcards, i64(cross[k + 1]), res, out_shapes, out_live)
        V = _combos(rcards)
        pos = {g: j for j, g in enumerate(read)}
        cin = {g: j for j, g in enumerate(carried[k])}
        cr = [g for g in read if g in cin]  # carried in and read here
        # match each state with the combinations that agree on its carried genes
        cr_cards = np.array([cards[g] for g in cr], dtype=np.int64)
        kc = _radix(V[:, [pos[g] for g in cr]], cr_cards) if cr else np.zeros(n_comb, np.int64)
        order = np.argsort(kc, kind="stable")
        n_keys = math.prod(int(c) for c in cr_cards) if cr else 1
        kptr = np.zeros(n_keys + 1, dtype=np.int64)
        np.cumsum(np.bincount(kc, minlength=n_keys), out=kptr[1:])
        ks = (_radix(st_val[:, [cin[g] for g in cr]], cr_cards) if cr
              else np.zeros(st_val.shape[0], np.int64))
        lens = kptr[ks + 1] - kptr[ks]
        st_idx = np.repeat(np.arange(st_val.shape[0], dtype=np.int64), lens)
        offs = np.cumsum(lens) - lens
        within = np.arange(st_idx.shape[0], dtype=np.int64) - offs[st_idx]
        combo = order[kptr[ks][st_idx] + within]
        trow = st_shape[st_idx] * n_comb + combo
        keep = res[trow, 0] == S.OK
        vals = V[combo]
        live = out_live[trow].astype(bool)
        for g in cr:  # live so far
            live[:, pos[g]] |= st_live[st_idx, cin[g]].astype(bool)
        for g in read:
            if last[g] == k:
                keep &= live[:, pos[g]] | (vals[:, pos[g]] == 0)
        st_idx, combo, trow, vals, live = (a[keep] for a in (st_idx, combo, trow, vals, live))
        # the next states
        nxt_sh_raw = out_shapes[trow].reshape(trow.shape[0], 4 * len(cross[k + 1]))
        if trow.shape[0] == 0:
            raise NoValidCandidate(f"no candidate passes segment {k} (instructions "
                                   f"{sg[0]}..{sg[1] - 1}): the space has no valid candidate")
        if trow.shape[0]:
            uniq_sh, sh_id = np.unique(nxt_sh_raw, axis=0, return_inverse=True)
            sh_id = sh_id.reshape(-1)
        else:
            uniq_sh = np.zeros((0, nxt_sh_raw.shape[1]), dtype=np.int64)
            sh_id = np.zeros(0, dtype=np.int64)
        co = carried[k + 1]
        nv = np.zeros((trow.shape[0], len(co)), dtype=np.int64)
        nl = np.zeros((trow.shape[0], len(co)), dtype=np.uint8)
        for j, g in enumerate(co):
            if g in pos:
                nv[:, j] = vals[:, pos[g]]
                nl[:, j] = live[:, pos[g]]
            else:
                nv[:, j] = st_val[st_idx, cin[g]]
                nl[:, j] = st_live[st_idx, cin[g]]
        key = np.concatenate([sh_id[:, None], nv, nl.astype(np.int64)], axis=1)
        if key.shape[0]:
            ukey, out_id = np.unique(key, axis=0, return_inverse=True)
            out_id = out_id.reshape(-1)
        else:
            ukey = np.zeros((0, key.shape[1]), dtype=np.int64)
            out_id = np.zeros(0, dtype=np.int64)
        state_total += ukey.shape[0]
        row_total += trow.shape[0]
        if state_total > MAX_STATES or row_total > MAX_ROWS:
            raise ChainError(f"the chain needs more than {MAX_STATES} states or {MAX_ROWS} "
                             f"transitions (at segment {k} of {n_seg})")
        setg = [g for g in read if first[g] == k]
        endg = [g for g in read if last[g] == k]
        r_end = np.full((trow.shape[0], len(endg)), -1, dtype=np.int16)
        for j, g in enumerate(endg):
            r_end[:, j] = np.where(live[:, pos[g]], vals[:, pos[g]], -1)
        seg_data.append(dict(
            r_in=st_idx, r_out=out_id, cost=res[trow, 1:5],
            r_vals=vals[:, [pos[g] for g in setg]].astype(np.uint8), setg=setg,
            r_end=r_end, endg=endg))
        n_states.append(ukey.shape[0])
        shapes = np.ascontiguousarray(uniq_sh.reshape(uniq_sh.shape[0], len(cross[k + 1]), 4))
        st_shape = np.ascontiguousarray(ukey[:, 0])
        st_val = np.ascontiguousarray(ukey[:, 1:1 + len(co)])
        st_live = np.ascontiguousarray(ukey[:, 1 + len(co):].astype(np.uint8))
    return _assemble(program, n_states, seg_data, unread)


def _assemble(program: Program, n_states: list[int], seg_data: list[dict],
              unread: tuple[int, ...]) -> Chain:
    """Drop the states that cannot reach the end, number states globally, index the rows."""
    n_seg = len(seg_data)
    if n_states[-1] == 0:  # (unreachable: a segment without rows raises first)
        raise NoValidCandidate("the space has no valid candidate (every gene array fails "
                               "with a status code)")
    useful = [np.ones(n_states[-1], dtype=bool)]
    for k in range(n_seg - 1, -1, -1):
        d = seg_data[k]
        ok = useful[0][d["r_out"]]
        for name in ("r_in", "r_out", "cost", "r_vals", "r_end"):
            d[name] = d[name][ok]
        u = np.zeros(n_states[k], dtype=bool)
        u[d["r_in"]] = True
        useful.insert(0, u)
    new_ids = []
    bounds = [0]
    for u in useful:
        ids = np.full(u.shape[0], -1, dtype=np.int64)
        ids[u] = bounds[-1] + np.arange(int(u.sum()), dtype=np.int64)
        new_ids.append(ids)
        bounds.append(bounds[-1] + int(u.sum()))
    n_tot = bounds[-1]
    w = max([len(d["setg"]) for d in seg_data] + [1])
    e = max([len(d["endg"]) for d in seg_data] + [1])
    set_genes = np.full((n_seg, w), -1, dtype=np.int64)
    end_genes = np.full((n_seg, e), -1, dtype=np.int64)
    parts = {k: [] for k in ("r_in", "r_out", "cost", "r_vals", "r_end")}
    seg_rows = [0]
    for k, d in enumerate(seg_data):
        r_in = new_ids[k][d["r_in"]]
        order = np.argsort(r_in, kind="stable")
        parts["r_in"].append(r_in[order])
        parts["r_out"].append(new_ids[k + 1][d["r_out"]][order])
        parts["cost"].append(d["cost"][order])
        rv = np.zeros((order.shape[0], w), dtype=np.uint8)
        rv[:, :len(d["setg"])] = d["r_vals"][order]
        parts["r_vals"].append(rv)
        re = np.full((order.shape[0], e), -1, dtype=np.int16)
        re[:, :len(d["endg"])] = d["r_end"][order]
        parts["r_end"].append(re)
        set_genes[k, :len(d["setg"])] = d["setg"]
        end_genes[k, :len(d["endg"])] = d["endg"]
        seg_rows.append(seg_rows[-1] + order.shape[0])
    arr = {k: np.ascontiguousarray(np.concatenate(v)) for k, v in parts.items()}
    r_in, r_out = arr["r_in"], arr["r_out"]
    in_ptr = np.zeros(n_tot + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_in, minlength=n_tot), out=in_ptr[1:])
    out_rows = np.argsort(r_out, kind="stable").astype(np.int64)
    out_ptr = np.zeros(n_tot + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_out, minlength=n_tot), out=out_ptr[1:])
    # the exact number of paths (Python ints: it may pass 2**64)
    cnt = np.zeros(n_tot, dtype=object)
    cnt[0] = 1
    for k in range(n_seg):
        a, b = seg_rows[k], seg_rows[k + 1]
        contrib = cnt[r_in[a:b]]
        o = r_out[a:b]
        order = np.argsort(o, kind="stable")
        o_sorted = o[order]
        starts = np.flatnonzero(np.r_[True, o_sorted[1:] != o_sorted[:-1]])
        sums = np.add.reduceat(contrib[order], starts)
        cnt[o_sorted[starts]] = sums
    chain = Chain(
        n_genes=program.n_genes, cards=np.asarray(program.cards, dtype=np.int64),
        bounds=np.array(bounds, dtype=np.int64), seg_rows=np.array(seg_rows, dtype=np.int64),
        r_in=r_in, r_out=r_out, cost=np.ascontiguousarray(arr["cost"], dtype=np.int64),
        in_ptr=in_ptr, out_ptr=out_ptr, out_rows=out_rows, set_genes=set_genes,
        set_n=np.array([len(d["setg"]) for d in seg_data], dtype=np.int64),
        r_vals=arr["r_vals"], end_genes=end_genes,
        end_n=np.array([len(d["endg"]) for d in seg_data], dtype=np.int64),
        r_end=arr["r_end"], total=int(cnt[n_tot - 1]), unread=unread,
        max_rows_per_state=int(np.diff(in_ptr).max()) if n_tot > 1 else 1)
    for a in (chain.bounds, chain.seg_rows, chain.r_in, chain.r_out, chain.cost, chain.in_ptr,
              chain.out_ptr, chain.out_rows, chain.set_genes, chain.set_n, chain.r_vals,
              chain.end_genes, chain.end_n, chain.r_end, chain.cards):
        a.setflags(write=False)
    return chain


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def chain_for(program: Program, convention: Convention) -> Chain:
    """The chain of (program, convention), built once and cached with the program."""
    per_program = _CACHE.setdefault(program, {})
    key = tuple(convention.op_weights.ravel().tolist())
    if key not in per_program:
        per_program[key] = build_chain(program, convention)
    return per_program[key]


def decode_rows(chain: Chain, rows: np.ndarray) -> np.ndarray:
    """Genes (n, n_genes) uint8 of paths given as (n, n_seg) row ids."""
    out = np.zeros((rows.shape[0], chain.n_genes), dtype=np.uint8)
    for k in range(chain.n_seg):
        n = int(chain.set_n[k])
        if n:
            out[:, chain.set_genes[k, :n]] = chain.r_vals[rows[:, k], :n]
    return out
