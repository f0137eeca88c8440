"""Why two counting conventions disagree: one candidate's cost terms under several conventions.

Every active layer emits at most eight (term, quantity) pairs (``nascost.rules.conventions``); a
convention's FLOPs are the weighted sum of the quantities. ``explain`` sums each term's quantity
over the candidate's layers and shows what every convention makes of it, so a difference in the
totals is traced to the op classes and terms that cause it:

    >>> from nascost import load_space
    >>> from nascost.analytics.explain import explain
    >>> e = explain(load_space("mobilenet_v2"), [], ["thop", "macs"])
    >>> e.totals
    {'thop': 327550720, 'macs': 300774272}
    >>> [(r.op, r.term, d) for r, d in e.differences("thop", "macs")]
    [('batchnorm2d', 'batchnorm', 13356224), ('batchnorm2d', 'batchnorm_affine', 13356224),
     ('global_avgpool', 'global_pool_in', 62720), ('global_avgpool', 'global_pool_out', 1280)]

The quantities come from the kernels' per-layer records, the same numbers that ``score`` sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nascost.rules import conventions as conv
from nascost.rules import ops
from nascost.rules import status as S

__all__ = ["TermRow", "Explanation", "explain"]

DEFAULT_CONVENTIONS = ("seed", "macs", "thop", "fvcore", "ptflops", "torch")


@dataclass(frozen=True)
class TermRow:
    """One cost term of one op class, summed over the candidate's active layers."""

    op: str  # the op class (registry name: conv2d, batchnorm2d, ...)
    term: str  # the cost term (conventions.TERMS)
    quantity: int  # summed over the layers, times the batch
    layers: int  # active layers of this op class
    weights: dict[str, int]  # convention name -> weight of the term
    flops: dict[str, int]  # convention name -> weight * quantity

    @property
    def differs(self) -> bool:
        """Whether the conventions count this term differently for this candidate."""
        return len(set(self.flops.values())) > 1


@dataclass(frozen=True)
class Explanation:
    """A candidate's cost terms and what each convention counts (see ``explain``)."""

    space: str
    genes: list[int]
    batch: int
    status: int  # nascost.rules.status; rows are empty unless 0
    conventions: tuple[conv.Convention, ...]
    rows: tuple[TermRow, ...]
    totals: dict[str, int]  # convention name -> FLOPs (equal to space.score's flops column)
    params: int
    macs: int
    input_shape: tuple[int, int, int] = (0, 0, 0)
    failed_layer: str | None = None
    names: tuple[str, ...] = field(default=())

    def by_op(self) -> dict[str, list[TermRow]]:
        """The rows grouped by op class, in order of first appearance."""
        out: dict[str, list[TermRow]] = {}
        for r in self.rows:
            out.setdefault(r.op, []).append(r)
        return out

    def op_totals(self) -> dict[str, dict[str, int]]:
        """Per op class, each convention's FLOPs."""
        return {op: {n: sum(r.flops[n] for r in rows) for n in self.names}
                for op, rows in self.by_op().items()}

    def differences(self, a: str, b: str) -> list[tuple[TermRow, int]]:
        """The rows where conventions a and b differ, with flops[a] - flops[b], largest
        difference first; their sum is totals[a] - totals[b]."""
        for n in (a, b):
            if n not in self.totals:
                raise KeyError(f"convention {n!r} is not in this explanation; it has "
                               f"{list(self.names)}")
        diffs = [(r, r.flops[a] - r.flops[b]) for r in self.rows if r.flops[a] != r.flops[b]]
        return sorted(diffs, key=lambda rd: (-abs(rd[1]), rd[0].op, rd[0].term))

    def notes(self) -> list[tuple[str, list[str], str]]:
        """(convention, terms, note) for what a peer tool is known to miscount on this
        candidate (conventions.TOOL_NOTES; its preset reproduces it), one per note."""
        out: dict[tuple[str, str], list[str]] = {}
        for r in self.rows:
            for n, c in zip(self.names, self.conventions, strict=True):
                note = conv.tool_note(c.name, r.term)
                if note and r.quantity:
                    out.setdefault((n, note), []).append(r.term)
        return [(n, terms, note) for (n, note), terms in out.items()]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "space": self.space, "genes": list(self.genes), "batch": self.batch,
            "status": self.status, "failed_layer": self.failed_layer,
            "input_shape": list(self.input_shape), "params": self.params, "macs": self.macs,
            "conventions": [c.to_dict() for c in self.conventions],
            "totals": dict(self.totals),
            "rows": [{"op": r.op, "term": r.term, "quantity": r.quantity, "layers": r.layers,
                      "weights": dict(r.weights), "flops": dict(r.flops),
                      "differs": r.differs} for r in self.rows],
        }


def _unique_names(convs: Sequence[conv.Convention]) -> tuple[str, ...]:
    names: list[str] = []
    for c in convs:
        name, k = c.name, 2
        while name in names:
            name, k = f"{c.name}#{k}", k + 1
        names.append(name)
    return tuple(names)


def explain(space, genes_row: Any, conventions: Sequence[Any] = DEFAULT_CONVENTIONS, *,
            batch: int = 1) -> Explanation:
    """Each cost term of one candidate under each convention.

    ``conventions``: preset names, dicts, JSON file paths or Convention objects (anything
    ``conventions.resolve`` takes). Rows list every (op class, term) that an active layer of
    the candidate emits, in order of first appearance, including terms whose quantity is 0
    (a conv without bias). ``totals`` equals ``space.score(genes, convention=c, batch=batch)``.
    A candidate whose status is not 0 gets no rows and zero totals (``status``,
    ``failed_layer`` say why).
    """
    from nascost.kernels import api
    from nascost.program import program as P

    convs = tuple(conv.resolve(c) for c in conventions)
    if not convs:
        raise ValueError("explain needs at least one convention")
    names = _unique_names(convs)
    batch = api.check_batch(batch)
    g = space.check_genes(genes_row)
    if g.shape[0] != 1:
        raise ValueError(f"explain takes one candidate (a single genes row). Got {g.shape[0]} "
                         "rows.")
    row = g[0]
    program = space.program
    rec, totals = api.records(program, row, "macs")
    st = int(totals[0])
    input_shape = (int(rec[0, P.R_OUT_C]), int(rec[0, P.R_OUT_H]), int(rec[0, P.R_OUT_W]))
    common = dict(space=space.name, genes=[int(x) for x in row], batch=batch,
                  conventions=convs, input_shape=input_shape, names=names)
    if st != S.OK:
        failed = None
        for i in range(program.n_instr):
            li = int(program.ins[i, P.C_LAYER])
            if li >= 0 and rec[i, P.R_ACTIVE] and rec[i, P.R_STATUS] != S.OK:
                failed = program.layer_names[li]
                break
        return Explanation(status=st, rows=(), totals=dict.fromkeys(names, 0), params=0,
                           macs=0, failed_layer=failed, **common)

    quantity: dict[tuple[str, str], int] = {}
    layers: dict[tuple[str, str], int] = {}
    for i in range(program.n_instr):
        li = int(program.ins[i, P.C_LAYER])
        if li < 0 or rec[i, P.R_ACTIVE] == 0:
            continue
        code = int(program.ins[i, P.C_OP])
        op = ops.by_opcode(code).name
        for term, col in zip(conv.op_terms(code), P.R_QS, strict=True):
            if term is None:
                continue
            key = (op, term)
            quantity[key] = quantity.get(key, 0) + int(rec[i, col]) * batch
            layers[key] = layers.get(key, 0) + 1

    rows = []
    for (op, term), q in quantity.items():
        weights = {n: c.weights[term] for n, c in zip(names, convs, strict=True)}
        rows.append(TermRow(op=op, term=term, quantity=q, layers=layers[(op, term)],
                            weights=weights, flops={n: w * q for n, w in weights.items()}))
    sums = {n: sum(r.flops[n] for r in rows) for n in names}
    return Explanation(status=st, rows=tuple(rows), totals=sums,
                       params=int(totals[1]), macs=int(totals[2]) * batch, **common)

