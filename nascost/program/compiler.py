"""Compile a normalised space spec into a Program (flat int64 arrays, see program.py)."""

from __future__ import annotations

import numpy as np

from nascost.program import program as P
from nascost.rules import ops
from nascost.space.spec import as_fraction

_ROUND = {"none": 0, "floor": 1, "round": 2, "ceil": 3}


def _cond_mask(cond: dict, choices: list) -> int:
    """The bit mask of the choice indices that satisfy a condition on their values."""
    op = next(k for k in cond if k != "gene")
    v = cond[op]
    tests = {
        "eq": lambda c: c == v, "ne": lambda c: c != v, "ge": lambda c: c >= v,
        "gt": lambda c: c > v, "le": lambda c: c <= v, "lt": lambda c: c < v,
        "in": lambda c: c in v,
    }
    mask = 0
    for i, c in enumerate(choices):
        if tests[op](c):
            mask |= 1 << i
    return mask


class _Compiler:
    def __init__(self, spec: dict):
        self.spec = spec
        self.gene_index = {g["name"]: j for j, g in enumerate(spec["genes"])}
        self.choices = [g["choices"] for g in spec["genes"]]
        self.regs: dict[str, int] = {}
        self.n_regs = 0
        self.rows: list[list[int]] = []
        self.ex: list[list[int]] = []
        self.ex_cache: dict[tuple, int] = {}
        self.aux: list[int] = []
        self.layer_names: list[str] = []
        self.layer_ops: list[str] = []
        self.blocks: list[tuple[str, int, int]] = []

    def new_reg(self, name: str | None = None) -> int:
        r = self.n_regs
        self.n_regs += 1
        if name is not None:
            self.regs[name] = r
        return r

    def push_aux(self, values: list[int]) -> int:
        ptr = len(self.aux)
        self.aux.extend(int(v) for v in values)
        return ptr

    def expr(self, v) -> tuple[int, list[int]]:
        """(expression id, genes it reads) of a normalised field value."""
        if isinstance(v, bool) or isinstance(v, int):
            key: tuple = ("lit", int(v))
            row = [P.EX_LIT, int(v), 0, 0, 0, 0, 0, 0]
            genes: list[int] = []
        elif "gene" in v:
            j = self.gene_index[v["gene"]]
            table = v.get("values", self.choices[j])
            key = ("tab", j, tuple(table))
            genes = [j]
            if key in self.ex_cache:
                return self.ex_cache[key], genes
            row = [P.EX_TAB, j, self.push_aux(table), 0, 0, 0, 0, 0]
        else:
            reg = self.regs[v["channels_of"]]
            times = v["times"]
            if isinstance(times, dict):
                j = self.gene_index[times["gene"]]
                fr = [as_fraction(x) for x in times.get("values", self.choices[j])]
                key = ("chan", reg, j, tuple(fr), v["round"], v["divisor"], v["min"])
                genes = [j]
                if key in self.ex_cache:
                    return self.ex_cache[key], genes
                num = self.push_aux([f.numerator for f in fr])
                den = self.push_aux([f.denominator for f in fr])
                row = [P.EX_CHAN, reg, j, num, den, _ROUND[v["round"]], v["divisor"], v["min"]]
            else:
                f = as_fraction(times)
                key = ("chan", reg, -1, f, v["round"], v["divisor"], v["min"])
                genes = []
                row = [P.EX_CHAN, reg, -1, f.numerator, f.denominator, _ROUND[v["round"]],
                       v["divisor"], v["min"]]
        if key in self.ex_cache:
            return self.ex_cache[key], genes
        self.ex.append(row)
        self.ex_cache[key] = len(self.ex) - 1
        return len(self.ex) - 1, genes

    def emit(self, opcode: int, dst: int, inputs: list[int], guard: list[tuple[int, int]],
             fields: dict[int, object], else_src: int = -1, layer: str | None = None,
             op_name: str = "") -> int:
        row = [0] * P.N_COLS
        row[P.C_OP] = opcode
        row[P.C_DST] = dst
        row[P.C_IN_PTR] = self.push_aux(inputs)
        row[P.C_IN_LEN] = len(inputs)
        flat = [x for g, m in guard for x in (g, m)]
        row[P.C_G_PTR] = self.push_aux(flat)
        row[P.C_G_LEN] = len(guard)
        row[P.C_ELSE] = else_src
        read: list[int] = []
        for s in range(ops.N_SLOTS):
            row[P.C_F0 + s] = -1
        for slot, value in fields.items():
            e, genes = self.expr(value)
            row[P.C_F0 + slot] = e
            read.extend(g for g in genes if g not in read)
        row[P.C_LG_PTR] = self.push_aux(read)
        row[P.C_LG_LEN] = len(read)
        if layer is None:
            row[P.C_LAYER] = -1
        else:
            row[P.C_LAYER] = len(self.layer_names)
            self.layer_names.append(layer)
            self.layer_ops.append(op_name)
        self.rows.append(row)
        return len(self.rows) - 1

    # -- walking the spec ----------------------------------------------------------------
    def layer(self, node: dict, guard, dst: int | None, else_src: int = -1) -> int:
        spec = ops.get(node["op"])
        inp = node["in"]
        names = [inp] if isinstance(inp, str) else inp
        inputs = [self.regs[n] for n in names]
        fields: dict[int, object] = {}
        for f in spec.fields:
            if f.export_only:
                continue
            val = node[f.name]
            if f.kind == "enum" and isinstance(val, str):
                val = f.options.index(val)  # a gene reference holds the indices already
            if len(f.slots) == 2:
                fields[f.slots[0]], fields[f.slots[1]] = val
            else:
                fields[f.slots[0]] = val
        if dst is None:
            dst = self.new_reg(node["name"])
        else:
            self.regs[node["name"]] = dst
        self.emit(spec.opcode, dst, inputs, guard, fields, else_src, node["name"], node["op"])
        return dst

    def sequence(self, nodes: list, guard, out: int | None = None, else_src: int = -1) -> int:
        """Compile nodes in order; the last one writes register ``out`` when given."""
        last = -1
        for k, node in enumerate(nodes):
            final = k == len(nodes) - 1
            target = out if final else None
            if "op" in node:
                last = self.layer(node, guard, target, else_src if final else -1)
                continue
            if "block" in node:
                r = self.block(node, guard)
            else:
                r = self.choice(node, guard)
            if final and out is not None:
                self.move(out, r, guard, else_src)
                last = out
            else:
                last = r
        return last

    def move(self, dst: int, src: int, guard, else_src: int = -1) -> None:
        self.emit(ops.OP_MOVE, dst, [src], guard, {}, else_src)

    def block(self, node: dict, guard) -> int:
        start = len(self.rows)
        src = self.regs[node["in"]]
        if "when" in node:
            j = self.gene_index[node["when"]["gene"]]
            inner = guard + [(j, _cond_mask(node["when"], self.choices[j]))]
            out = self.new_reg(node["block"])
            self.sequence(node["layers"], inner, out=out, else_src=src)
        else:
            out = self.sequence(node["layers"], guard)
            self.regs[node["block"]] = out
        self.blocks.append((node["block"], start, len(self.rows)))
        return out

    def choice(self, node: dict, guard) -> int:
        j = self.gene_index[node["gene"]]
        src = self.regs[node["in"]]
        out = self.new_reg(node["choice"])
        for k, option in enumerate(node["options"]):
            inner = guard + [(j, 1 << k)]
            if option:
                self.sequence(option, inner, out=out)
            else:
                self.move(out, src, inner)
        return out

    def compile(self):
        inp = self.spec["input"]
        r0 = self.new_reg("input")
        self.emit(ops.OP_INPUT, r0, [], [], {
            ops.SLOT_OUT: inp["channels"], ops.SLOT_KH: inp["height"],
            ops.SLOT_KW: inp["width"]})
        top: list[tuple[int, int]] = []
        for node in self.spec["layers"]:
            start = len(self.rows)
            self.sequence([node], [])
            top.append((start, len(self.rows)))
        top[0] = (0, top[0][1])  # the input instruction travels with the first node
        ins = np.ascontiguousarray(np.array(self.rows, dtype=np.int64).reshape(-1, P.N_COLS))
        ex = np.ascontiguousarray(np.array(self.ex or [[0] * P.N_EX_COLS], dtype=np.int64))
        aux = np.ascontiguousarray(np.array(self.aux or [0], dtype=np.int64))
        cards = np.array([len(c) for c in self.choices], dtype=np.int64)
        for a in (ins, ex, aux, cards):
            a.setflags(write=False)
        return P.Program(ins=ins, ex=ex, aux=aux, n_regs=self.n_regs,
                         n_genes=len(self.choices), cards=cards,
                         layer_names=tuple(self.layer_names), layer_ops=tuple(self.layer_ops),
                         blocks=tuple(self.blocks), top=tuple(top))


def compile_space(spec: dict) -> P.Program:
    """Compile a normalised spec (Space.spec) into a Program."""
    return _Compiler(spec).compile()
