"""The space spec: validation and normalisation of the JSON form (docs/space-format.md).

``normalize(raw)`` returns the canonical spec (every default filled in, every layer's inputs
explicit) or raises one SpaceError listing every problem with its path in the spec.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from typing import Any

from nascost.rules import ops

FORMAT = 1
MAX_CHOICES = 256  # genes are stored as uint8 choice indices
MAX_GUARD_CHOICES = 63  # conditions are compiled to a 63-bit mask over choice indices
ROUNDING = ("none", "floor", "round", "ceil")
COND_OPS = ("eq", "ne", "ge", "gt", "le", "lt", "in")
RESERVED = ("input",)
# Every integer a layer reads (a literal field, a gene's value, an input size, a ratio's
# numerator or denominator, a divisor or minimum) is at most MAX_VALUE. With registers held
# to C*H*W <= 2**62 by the kernels' overflow guard, no shape or cost expression can then wrap
# int64 before that guard sees it (docs/space-format.md, "Limits").
MAX_VALUE = 2**31 - 1
MAX_DEPTH = 64  # blocks and choices nest at most this deep
_I64 = 2**63


class SpaceError(ValueError):
    """A space spec that cannot be used; ``problems`` lists each one with its path."""

    def __init__(self, problems: list[str], name: str = "space", *, plain: bool = False):
        self.problems = list(problems)
        if plain:  # one problem with the file itself, not the spec: said as it is
            super().__init__("; ".join(self.problems))
            return
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{name}: {len(self.problems)} problem(s) in the space spec:\n{lines}")


def canonical_json(spec: dict) -> str:
    """The canonical text of a normalised spec: sorted keys, no whitespace."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(spec: dict) -> str:
    """A stable content hash of a normalised spec (sha256 of its canonical JSON, 16 hex)."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


def as_fraction(x: Any) -> Fraction:
    """An exact rational for a ratio written as an int, a float (by its decimal repr) or 'p/q'."""
    if isinstance(x, bool):
        raise TypeError("a boolean is not a ratio")
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError("a ratio must be finite")
        return Fraction(repr(x))
    if isinstance(x, str):
        return Fraction(x)
    raise TypeError(f"not a ratio: {x!r}")


_RATIO_RULE = (f"a ratio's numerator and denominator must each be at most {MAX_VALUE} "
               "(2**31 - 1); write a third as '1/3'")


def _small_ratio(f: Fraction) -> bool:
    return f.numerator <= MAX_VALUE and f.denominator <= MAX_VALUE


class _Checker:
    def __init__(self, raw: Any):
        self.raw = raw
        self.problems: list[str] = []
        self.genes: dict[str, list] = {}
        self.value_names: set[str] = set()
        self.bad_genes: set[str] = set()  # declared but invalid: reported once, not per use
        self.depth = 0

    def err(self, path: str, msg: str) -> None:
        self.problems.append(f"{path}: {msg}")

    def undefined_gene(self, path: str, name: Any) -> bool:
        """Whether ``name`` is not a usable gene; reported here unless the gene itself was
        already reported as invalid (one bad gene, one problem)."""
        if isinstance(name, str) and name in self.genes:
            return False
        if not (isinstance(name, str) and name in self.bad_genes):
            self.err(path, f"refers to gene {name!r}, which is not defined")
        return True

    # -- genes ---------------------------------------------------------------------------
    def genes_section(self, raw_genes: Any) -> list[dict]:
        out = []
        if not isinstance(raw_genes, list):
            self.err("genes", "must be a list of {name, choices}")
            return out
        for i, g in enumerate(raw_genes):
            path = f"genes[{i}]"
            if not isinstance(g, dict) or set(g) - {"name", "choices", "doc"}:
                self.err(path, "must be an object with 'name' and 'choices' (and optional 'doc')")
                continue
            name = g.get("name")
            if not isinstance(name, str) or not name:
                self.err(path, "'name' must be a non-empty string")
                continue
            path = f"genes[{i}] ({name})"
            if name in self.genes:
                self.err(path, f"gene name {name!r} is used twice")
                continue
            self.bad_genes.add(name)  # until its choices pass
            choices = g.get("choices")
            if not isinstance(choices, list) or not choices:
                self.err(path, "'choices' must be a non-empty list")
                continue
            if len(choices) > MAX_CHOICES:
                self.err(path, f"has {len(choices)} choices; at most {MAX_CHOICES} are supported")
                continue
            bad = [c for c in choices
                   if isinstance(c, bool) or not isinstance(c, (int, float, str))]
            if bad:
                self.err(path, f"choices must be ints, floats or strings. Got {bad[0]!r}")
                continue
            if any(isinstance(c, float) and not math.isfinite(c) for c in choices):
                self.err(path, "choices must be finite numbers")
                continue
            if any(isinstance(c, int) and not -_I64 <= c < _I64 for c in choices):
                self.err(path, "integer choices must fit in 64 bits (-2**63 to 2**63 - 1)")
                continue
            if len({json.dumps(c) for c in choices}) != len(choices):
                self.err(path, "choices must be distinct")
                continue
            self.bad_genes.discard(name)
            self.genes[name] = choices
            entry = {"name": name, "choices": list(choices)}
            if "doc" in g:
                entry["doc"] = str(g["doc"])
            out.append(entry)
        return out

    # -- field values --------------------------------------------------------------------
    def enum_value(self, path: str, v: Any, options: tuple[str, ...]) -> Any:
        """An enum field: one of ``options`` (kept as the string), or a gene whose choices (or
        ``values``) are such strings (normalised to ``values`` of option indices)."""
        if isinstance(v, str):
            if v in options:
                return v
            self.err(path, f"must be one of {list(options)}. Got {v!r} instead.")
            return None
        if isinstance(v, dict) and "gene" in v and not set(v) - {"gene", "values"}:
            name = v["gene"]
            if not isinstance(name, str) or name not in self.genes:
                self.err(path, f"refers to gene {name!r}, which is not defined")
                return None
            values = v.get("values", self.genes[name])
            if not isinstance(values, list) or len(values) != len(self.genes[name]):
                self.err(path, f"'values' must list one of {list(options)} per choice of gene "
                               f"{name!r} ({len(self.genes[name])})")
                return None
            bad = [x for x in values if not isinstance(x, str) or x not in options]
            if bad:
                self.err(path, f"gene {name!r} gives {bad[0]!r}; must be one of {list(options)}")
                return None
            return {"gene": name, "values": [options.index(x) for x in values]}
        self.err(path, f"must be one of {list(options)} or a gene reference. Got {v!r} instead.")
        return None

    def field_value(self, path: str, v: Any, kind: str, minimum: int, scope: set[str]) -> Any:
        if kind == "bool":
            if isinstance(v, bool):
                return v
            self.err(path, f"must be true or false. Got {v!r} instead.")
            return None
        if isinstance(v, bool):
            self.err(path, f"must be an integer or a gene reference. Got {v!r} instead.")
            return None
        if isinstance(v, int):
            if v < minimum:
                self.err(path, f"must be >= {minimum}. Got {v} instead.")
                return None
            if v > MAX_VALUE:
                self.err(path, f"must be <= {MAX_VALUE} (2**31 - 1). Got {v} instead.")
                return None
            return v
        if isinstance(v, dict) and "gene" in v:
            return self._gene_ref(path, v, minimum)
        if isinstance(v, dict) and "channels_of" in v:
            return self._channels_of(path, v, scope)
        self.err(path, f"must be an integer, {{'gene': ...}} or {{'channels_of': ...}}. Got {v!r}")
        return None

    def _gene_ref(self, path: str, v: dict, minimum: int) -> Any:
        if set(v) - {"gene", "values"}:
            self.err(path, f"unexpected keys {sorted(set(v) - {'gene', 'values'})}")
            return None
        name = v["gene"]
        if self.undefined_gene(path, name):
            return None
        choices = self.genes[name]
        values = v.get("values", choices)
        if "values" in v and (not isinstance(values, list) or len(values) != len(choices)):
            self.err(path, f"'values' must list one integer per choice of gene {name!r} "
                           f"({len(choices)})")
            return None
        for c, val in zip(choices, values, strict=True):
            if isinstance(val, bool) or not isinstance(val, int):
                what = "'values' of" if "values" in v else "choices of"
                self.err(path, f"the {what} gene {name!r} must be integers to be used here. "
                               f"Got {val!r} (choice {c!r}) instead.")
                return None
            if val < minimum:
                self.err(path, f"gene {name!r} choice {c!r} gives {val}; must be >= {minimum}")
                return None
            if val > MAX_VALUE:
                self.err(path, f"gene {name!r} choice {c!r} gives {val}; must be <= "
                               f"{MAX_VALUE} (2**31 - 1)")
                return None
        out = {"gene": name}
        if "values" in v:
            out["values"] = list(values)
        return out

    def _channels_of(self, path: str, v: dict, scope: set[str]) -> Any:
        allowed = {"channels_of", "times", "round", "divisor", "min"}
        if set(v) - allowed:
            self.err(path, f"unexpected keys {sorted(set(v) - allowed)}")
            return None
        ref = v["channels_of"]
        if not isinstance(ref, str) or ref not in scope:
            self.err(path, f"'channels_of' refers to {ref!r}, which is not a value defined "
                           "before this layer in its scope")
            return None
        times = v.get("times", 1)
        t_out: Any
        if isinstance(times, dict):
            tg = times.get("gene")
            if isinstance(tg, str) and tg in self.bad_genes:
                return None
            if set(times) - {"gene", "values"} or not isinstance(tg, str) or tg not in self.genes:
                self.err(path, f"'times' must be a number or a reference to a defined gene. "
                               f"Got {times!r}")
                return None
            choices = self.genes[times["gene"]]
            vals = times.get("values", choices)
            if not isinstance(vals, list) or len(vals) != len(choices):
                self.err(path, f"'times.values' must have one ratio per choice of gene "
                               f"{times['gene']!r}")
                return None
            try:
                fr = [as_fraction(x) for x in vals]
            except (TypeError, ValueError, ZeroDivisionError):
                self.err(path, f"the ratios of gene {times['gene']!r} must be numbers")
                return None
            if any(f <= 0 for f in fr):
                self.err(path, "ratios must be > 0")
                return None
            big = [x for x, f in zip(vals, fr, strict=True) if not _small_ratio(f)]
            if big:
                self.err(path, f"ratio {big[0]!r} of gene {times['gene']!r}: {_RATIO_RULE}")
                return None
            t_out = {"gene": times["gene"]}
            if "values" in times:
                t_out["values"] = list(vals)
        else:
            try:
                f = as_fraction(times)
            except (TypeError, ValueError, ZeroDivisionError):
                self.err(path, f"'times' must be a positive number. Got {times!r} instead.")
                return None
            if f <= 0:
                self.err(path, f"'times' must be > 0. Got {times!r} instead.")
                return None
            if not _small_ratio(f):
                self.err(path, f"'times' {times!r}: {_RATIO_RULE}")
                return None
            t_out = times
        rounding = v.get("round", "none")
        if rounding not in ROUNDING:
            self.err(path, f"'round' must be one of {list(ROUNDING)}. Got {rounding!r} instead.")
            return None
        divisor = v.get("divisor", 0)
        minimum = v.get("min", 1)
        for key, val in (("divisor", divisor), ("min", minimum)):
            if isinstance(val, bool) or not isinstance(val, int) or not 0 <= val <= MAX_VALUE:
                self.err(path, f"'{key}' must be an integer from 0 to {MAX_VALUE} (2**31 - 1). "
                               f"Got {val!r} instead.")
                return None
        return {"channels_of": ref, "times": t_out, "round": rounding, "divisor": divisor,
                "min": minimum}

    def cond(self, path: str, c: Any) -> Any:
        if not isinstance(c, dict) or "gene" not in c:
            self.err(path, "a condition must be {'gene': name, <op>: value}")
            return None
        keys = set(c) - {"gene"}
        if len(keys) != 1 or next(iter(keys)) not in COND_OPS:
            self.err(path, f"a condition needs exactly one of {list(COND_OPS)}. Got {sorted(keys)}")
            return None
        name = c["gene"]
        if self.undefined_gene(path, name):
            return None
        if len(self.genes[name]) > MAX_GUARD_CHOICES:
            self.err(path, f"gene {name!r} has more than {MAX_GUARD_CHOICES} choices and cannot "
                           "be used in a condition")
            return None
        op = next(iter(keys))
        val = c[op]
        choices = self.genes[name]
        if isinstance(val, bool) or (
                isinstance(val, list) and any(isinstance(x, bool) for x in val)):
            self.err(path, f"condition values must be choices of gene {name!r}, not booleans")
            return None
        if any(isinstance(x, float) and not math.isfinite(x)
               for x in (val if isinstance(val, list) else [val])):
            self.err(path, f"condition values must be finite numbers. Got {val!r}")
            return None
        if op == "in":
            if not isinstance(val, list) or any(x not in choices for x in val):
                self.err(path, f"'in' must list choices of gene {name!r} ({choices}). Got {val!r}")
                return None
        elif op in ("eq", "ne"):
            if val not in choices:
                self.err(path, f"{val!r} is not a choice of gene {name!r} ({choices})")
                return None
        else:
            if isinstance(val, (bool, str)) or not isinstance(val, (int, float)) or any(
                isinstance(x, str) for x in choices
            ):
                self.err(path, f"'{op}' compares numbers; gene {name!r} or {val!r} is not numeric")
                return None
        return {"gene": name, op: val}

    # -- nodes ---------------------------------------------------------------------------
    def define(self, path: str, name: Any, scope: set[str]) -> bool:
        if not isinstance(name, str) or not name:
            self.err(path, "'name' must be a non-empty string")
            return False
        if name in RESERVED:
            self.err(path, f"the name {name!r} is reserved")
            return False
        if name in self.value_names:
            self.err(path, f"the name {name!r} is used twice")
            return False
        self.value_names.add(name)
        return True

    def inputs(self, path: str, node: dict, prev: str, scope: set[str], n: str) -> Any:
        raw = node.get("in", prev)
        if n == "1-2" and isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        if n == "1-2" and isinstance(raw, list):
            n = "2"
        elif n == "1-2":
            n = "1"
        if n == "1":
            if not isinstance(raw, str):
                self.err(path, f"'in' must name one value. Got {raw!r} instead.")
                return None
            refs = [raw]
        else:
            if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
                self.err(path, f"'in' must be a list of value names. Got {raw!r} instead.")
                return None
            if (n == "2" and len(raw) != 2) or len(raw) < 2:
                self.err(path, f"'in' must name {'exactly 2' if n == '2' else 'at least 2'} "
                               f"values. Got {len(raw)}.")
                return None
            refs = raw
        ok = True
        for r in refs:
            if r not in scope:
                self.err(path, f"input {r!r} is not a value defined before this layer in its "
                               "scope (values inside a block or choice option are local to it)")
                ok = False
        if not ok:
            return None
        return raw

    def sequence(self, path: str, nodes: Any, prev: str, scope: set[str]) -> tuple[list, str]:
        out: list = []
        if not isinstance(nodes, list):
            self.err(path, "must be a list of layers")
            return out, prev
        for i, node in enumerate(nodes):
            p = f"{path}[{i}]"
            if not isinstance(node, dict):
                self.err(p, "must be an object")
                continue
            label = node.get("name", node.get("block", node.get("choice")))
            if isinstance(label, str):
                p = f"{p} ({label})"
            if "block" in node:
                res = self.block(p, node, prev, scope)
            elif "choice" in node:
                res = self.choice(p, node, prev, scope)
            elif "op" in node:
                res = self.layer(p, node, prev, scope)
            else:
                self.err(p, "must have 'op' (a layer), 'block' or 'choice'")
                res = None
            if res is not None:
                out.append(res)
                name = res.get("name", res.get("block", res.get("choice")))
                scope.add(name)
                prev = name
        return out, prev

    def layer(self, path: str, node: dict, prev: str, scope: set[str]) -> Any:
        op = node["op"]
        if not isinstance(op, str) or not ops.is_op(op) or op == "input":
            known = [o for o in ops.names() if o != 'input']
            self.err(path, f"unknown op {op!r}; known ops: {known}")
            return None
        spec = ops.get(op)
        name = node.get("name")
        if not self.define(path, name, scope):
            return None
        allowed = {"op", "name", "in"} | {f.name for f in spec.fields}
        for key in sorted(set(node) - allowed):
            self.err(f"{path}.{key}", f"op {op!r} has no field {key!r}; its fields are "
                                      f"{[f.name for f in spec.fields]}")
        inp = self.inputs(path, node, prev, scope, spec.n_inputs)
        out: dict = {"op": op, "name": name, "in": inp}
        for f in spec.fields:
            fpath = f"{path}.{f.name}"
            if f.name not in node:
                if f.default is None:
                    self.err(fpath, f"field {f.name!r} of op {op!r} is required")
                    continue
                if f.default == "kernel":
                    kernel = out.get("kernel")
                    out[f.name] = None if kernel is None else list(kernel)
                    continue
                val = f.default
            else:
                val = node[f.name]
            if f.kind == "pair":
                if isinstance(val, list):
                    if len(val) != 2:
                        self.err(fpath, f"must be one value or [height, width]. Got {val!r}")
                        continue
                    pair = [self.field_value(fpath, x, "int", f.minimum, scope) for x in val]
                    out[f.name] = pair if None not in pair else None
                else:
                    one = self.field_value(fpath, val, "int", f.minimum, scope)
                    out[f.name] = None if one is None else [one, one]
            elif f.kind == "enum":
                out[f.name] = self.enum_value(fpath, val, f.options)
            else:
                out[f.name] = self.field_value(fpath, val, f.kind, f.minimum, scope)
        return out

    def nested(self, path: str) -> bool:
        """Whether one more level of blocks / choices is allowed (reports it when not)."""
        if self.depth >= MAX_DEPTH:
            self.err(path, f"blocks and choices nest more than {MAX_DEPTH} levels deep")
            return False
        return True

    def block(self, path: str, node: dict, prev: str, scope: set[str]) -> Any:
        if not self.nested(path):
            return None
        for key in sorted(set(node) - {"block", "in", "when", "layers"}):
            self.err(f"{path}.{key}", f"a block has no key {key!r}")
        name = node["block"]
        if not self.define(path, name, scope):
            return None
        inp = self.inputs(path, node, prev, scope, "1")
        when = None
        if "when" in node:
            when = self.cond(f"{path}.when", node["when"])
        inner_scope = set(scope)
        self.depth += 1
        layers, _ = self.sequence(f"{path}.layers", node.get("layers"), inp or prev, inner_scope)
        self.depth -= 1
        if not layers:
            self.err(f"{path}.layers", "a block must contain at least one layer")
        out = {"block": name, "in": inp, "layers": layers}
        if when is not None:
            out["when"] = when
        return out

    def choice(self, path: str, node: dict, prev: str, scope: set[str]) -> Any:
        if not self.nested(path):
            return None
        for key in sorted(set(node) - {"choice", "in", "gene", "options"}):
            self.err(f"{path}.{key}", f"a choice has no key {key!r}")
        name = node["choice"]
        if not self.define(path, name, scope):
            return None
        inp = self.inputs(path, node, prev, scope, "1")
        gene = node.get("gene")
        if self.undefined_gene(f"{path}.gene", gene):
            return None
        if len(self.genes[gene]) > MAX_GUARD_CHOICES:
            self.err(f"{path}.gene", f"gene {gene!r} has more than {MAX_GUARD_CHOICES} choices")
            return None
        options = node.get("options")
        if not isinstance(options, list) or len(options) != len(self.genes[gene]):
            self.err(f"{path}.options", f"must be a list of {len(self.genes[gene])} layer lists, "
                                        f"one per choice of gene {gene!r}")
            return None
        outs = []
        self.depth += 1
        for k, opt in enumerate(options):
            layers, _ = self.sequence(f"{path}.options[{k}]", opt, inp or prev, set(scope))
            outs.append(layers)
        self.depth -= 1
        return {"choice": name, "in": inp, "gene": gene, "options": outs}

    def input_section(self, raw: Any) -> dict:
        out = {}
        if not isinstance(raw, dict):
            self.err("input", "must be {channels, height, width}")
            return out
        for key in sorted(set(raw) - {"channels", "height", "width"}):
            self.err(f"input.{key}", "unexpected key; the input has channels, height, width")
        for key in ("channels", "height", "width"):
            if key not in raw:
                self.err(f"input.{key}", "is required")
                continue
            v = self.field_value(f"input.{key}", raw[key], "int", 1, set())
            if isinstance(v, dict) and "channels_of" in v:
                self.err(f"input.{key}", "cannot refer to channels of a value")
                v = None
            out[key] = v
        return out


def normalize(raw: Any) -> dict:
    """Validate a raw spec (parsed JSON) and return its canonical form, or raise SpaceError."""
    try:
        return _normalize(raw)
    except RecursionError:  # a description or doc nested thousands of levels deep
        raise SpaceError(["the spec is nested too deeply to be a search space"]) from None


def _normalize(raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise SpaceError(["the spec must be a JSON object"])
    c = _Checker(raw)
    name = raw.get("name", "space")
    if not isinstance(name, str) or not name:
        c.err("name", "must be a non-empty string")
        name = "space"
    fmt = raw.get("nascost_space", FORMAT)
    if fmt != FORMAT:
        c.err("nascost_space", f"unsupported format version {fmt!r}; this nascost reads {FORMAT}")
    allowed = {"nascost_space", "name", "description", "input", "genes", "layers", "named",
               "codec"}
    for key in sorted(set(raw) - allowed):
        c.err(key, f"unexpected top-level key; expected {sorted(allowed)}")
    genes = c.genes_section(raw.get("genes", []))
    inp = c.input_section(raw.get("input"))
    layers, _ = c.sequence("layers", raw.get("layers"), "input", {"input"})
    if not layers and isinstance(raw.get("layers"), list) and not c.problems:
        c.err("layers", "a space needs at least one layer")
    named = {}
    raw_named = raw.get("named", {})
    if not isinstance(raw_named, dict):
        c.err("named", "must map names to gene-value lists")
    else:
        for key, vals in raw_named.items():
            if not isinstance(vals, list) or len(vals) != len(genes):
                c.err(f"named.{key}", f"must list one choice index per gene ({len(genes)})")
                continue
            bad = [j for j, (v, g) in enumerate(zip(vals, genes, strict=True))
                   if isinstance(v, bool) or not isinstance(v, int)
                   or not 0 <= v < len(g["choices"])]
            if bad:
                c.err(f"named.{key}", f"choice index out of range for gene "
                                      f"{genes[bad[0]]['name']!r}")
                continue
            named[key] = list(vals)
    if c.problems:
        raise SpaceError(c.problems, name)
    out = {"nascost_space": FORMAT, "name": name, "input": inp, "genes": genes,
           "layers": layers}
    if "description" in raw:
        out["description"] = str(raw["description"])
    if "codec" in raw:
        if not isinstance(raw["codec"], str) or not raw["codec"]:
            raise SpaceError(["codec: must name a native-encoding codec (a string)"], name)
        out["codec"] = raw["codec"]
    if named:
        out["named"] = named
    return out
