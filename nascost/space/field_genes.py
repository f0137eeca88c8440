"""Genes declared on the fields of existing layers (an imported model, or a builder's layers).

    genes = {"w1": Gene([32, 48, 64], fields=["layer1.0.conv1.out_channels"]),
             "k": Gene([3, 5, 7], fields=["features.*.conv.1.kernel"], each=True),
             "d": Gene([1, 2], blocks=["layer1.1"])}
    spec = apply_field_genes(spec, genes)

A field path is ``<layer name>.<field>``; in patterns ``*`` matches one dotted component and
``**`` any number. A kernel gene carries a "same" padding (``dilation * (k - 1) // 2``) with it
where the layer had one. A block gene switches module paths off in order: the i-th matched
block (0-based) runs when the gene's value is >= i + 1; a block that can be off must read one
value and have the same input and output shapes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nascost.rules import ops
from nascost.space.spec import SpaceError


@dataclass(frozen=True, init=False)
class FieldGene:
    """A gene on fields (``fields=``) or on blocks (``blocks=``) of existing layers.

    ``each=True`` gives every matched field its own gene, named ``name[layer.field]``.
    """

    choices: tuple
    fields: tuple[str, ...]
    blocks: tuple[str, ...]
    each: bool
    doc: str | None

    def __init__(self, choices: Sequence, *, fields: Sequence[str] = (),
                 blocks: Sequence[str] = (), each: bool = False, doc: str | None = None):
        if isinstance(fields, str) or isinstance(blocks, str):
            raise TypeError("fields and blocks are lists of patterns, not one string")
        object.__setattr__(self, "choices", tuple(choices))
        object.__setattr__(self, "fields", tuple(fields))
        object.__setattr__(self, "blocks", tuple(blocks))
        object.__setattr__(self, "each", bool(each))
        object.__setattr__(self, "doc", doc)


def pattern_regex(pattern: str) -> re.Pattern:
    """A dotted-path glob: ``*`` is one component (no dot), ``**`` any run of components."""
    out = []
    for part in re.split(r"(\*\*|\*)", pattern):
        if part == "**":
            out.append(r".*")
        elif part == "*":
            out.append(r"[^.]*")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z")


# --- walking node lists -------------------------------------------------------------------
def _node_name(node: dict) -> str:
    return node.get("name") or node.get("block") or node.get("choice")


def _node_lists(nodes: list):
    """Every node list of the spec (the top level, block bodies, choice options)."""
    yield nodes
    for n in nodes:
        if "layers" in n:
            yield from _node_lists(n["layers"])
        for opt in n.get("options", []):
            yield from _node_lists(opt)


def _layers(nodes: list) -> list[dict]:
    return [n for lst in _node_lists(nodes) for n in lst if "op" in n]


def _refs(node: dict) -> list[str]:
    """Values a node (and everything inside it) reads: inputs and channels_of references."""
    out: list[str] = []

    def visit(v: Any) -> None:
        if isinstance(v, dict):
            if "channels_of" in v:
                out.append(v["channels_of"])
            for x in v.values():
                visit(x)
        elif isinstance(v, list):
            for x in v:
                visit(x)

    ins = node.get("in")
    if ins is not None:
        out.extend([ins] if isinstance(ins, str) else ins)
    for k, v in node.items():
        if k in ("layers", "options"):
            for sub in (v if k == "layers" else [x for opt in v for x in opt]):
                out.extend(_refs(sub))
        elif k != "in":
            visit(v)
    return out


def _defined(node: dict) -> set[str]:
    names = {_node_name(node)}
    for lst in _node_lists(node.get("layers", [])):
        names.update(_node_name(n) for n in lst)
    for opt in node.get("options", []):
        for lst in _node_lists(opt):
            names.update(_node_name(n) for n in lst)
    return names


def _rename_refs(node: dict, old: str, new: str) -> None:
    def fix(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (new if k == "channels_of" and x == old else fix(x))
                    for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

    for k in list(node):
        if k == "in":
            ins = node["in"]
            node["in"] = (new if ins == old else ins) if isinstance(ins, str) else [
                new if i == old else i for i in ins]
        elif k == "layers":
            for sub in node["layers"]:
                _rename_refs(sub, old, new)
        elif k == "options":
            for opt in node["options"]:
                for sub in opt:
                    _rename_refs(sub, old, new)
        else:
            node[k] = fix(node[k])


# --- field genes --------------------------------------------------------------------------
def _literal_pair(v: Any) -> tuple[int, int] | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return (v, v)
    if (isinstance(v, list) and len(v) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
        return (v[0], v[1])
    return None


def _field_specs(op: str) -> dict[str, ops.FieldSpec]:
    return {f.name: f for f in ops.get(op).fields} if ops.is_op(op) else {}


def _match_fields(layers: list[dict], pattern: str, gene: str, problems: list[str]):
    if "." not in pattern:
        problems.append(f"gene {gene!r}: field pattern {pattern!r} must be '<layer>.<field>'")
        return []
    lpat, field = pattern.rsplit(".", 1)
    rx = pattern_regex(lpat)
    hits = [n for n in layers if rx.match(n["name"])]
    if not hits:
        near = ", ".join(n["name"] for n in layers[:8])
        problems.append(f"gene {gene!r}: pattern {pattern!r} matches no layer (layers: {near}"
                        f"{', ...' if len(layers) > 8 else ''})")
        return []
    out = []
    for n in hits:
        fs = _field_specs(n["op"]).get(field)
        if fs is None or fs.kind == "bool" or fs.export_only:
            names = [f.name for f in _field_specs(n["op"]).values() if f.kind != "bool"]
            problems.append(f"gene {gene!r}: layer {n['name']} ({n['op']}) has no integer "
                            f"field {field!r}; its fields: {names or 'none'}")
            continue
        out.append((n, fs))
    return out


def _set_field(node: dict, fs: ops.FieldSpec, gname: str, choices: tuple, path: str,
               problems: list[str], claimed: set) -> None:
    if (id(node), fs.name) in claimed:
        problems.append(f"gene {gname!r}: field {path} is already set by another gene")
        return
    cur = node.get(fs.name, fs.default)
    if fs.kind == "pair" and _literal_pair(cur) is None or fs.kind != "pair" and (
            not isinstance(cur, int) or isinstance(cur, bool)):
        problems.append(f"gene {gname!r}: field {path} is not a literal ({cur!r}); it follows "
                        "another value: put the gene on the layer it follows")
        return
    bad = [c for c in choices if isinstance(c, bool) or not isinstance(c, int) or c < fs.minimum]
    if bad:
        problems.append(f"gene {gname!r}: field {path} needs integers >= {fs.minimum}. "
                        f"Got {bad[0]!r}")
        return
    claimed.add((id(node), fs.name))
    ref = {"gene": gname}
    if fs.kind == "pair":
        node[fs.name] = [dict(ref), dict(ref)]
    else:
        node[fs.name] = ref
    if fs.name == "kernel":
        _follow_same_padding(node, cur, gname, choices, claimed)


def _follow_same_padding(node: dict, kernel: Any, gname: str, choices: tuple,
                         claimed: set) -> None:
    """Where padding kept the size ("same": d * (k - 1) // 2 with odd k), it follows the kernel."""
    k = _literal_pair(kernel)
    p = _literal_pair(node.get("padding", 0))
    d = _literal_pair(node.get("dilation", 1))
    if k is None or p is None or d is None or (id(node), "padding") in claimed:
        return
    if any(kk % 2 == 0 or pp != dd * (kk - 1) // 2 for kk, pp, dd in zip(k, p, d, strict=True)):
        return
    node["padding"] = [{"gene": gname, "values": [dd * (c - 1) // 2 for c in choices]}
                       for dd in d]


# --- block genes --------------------------------------------------------------------------
def _block_paths(layers: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for n in layers:
        parts = n["name"].split(".")
        for i in range(1, len(parts) + 1):  # module paths and the layers themselves
            seen.setdefault(".".join(parts[:i]), None)
    return list(seen)


def _in_path(name: str, path: str) -> bool:
    return name == path or name.startswith(path + ".")


def _wrap_block(root: list, path: str, when: dict, shapes: dict, problems: list[str],
                gname: str) -> None:
    for lst in _node_lists(root):
        idx = [i for i, n in enumerate(lst) if _in_path(_node_name(n), path)]
        if idx:
            break
    else:
        problems.append(f"gene {gname!r}: block {path!r} has no layers")
        return
    if idx != list(range(idx[0], idx[-1] + 1)):
        problems.append(f"gene {gname!r}: the layers of block {path!r} are not contiguous "
                        "in execution order")
        return
    run = lst[idx[0]:idx[-1] + 1]
    for i, n in enumerate(run):  # a leaf module named like the block: rename the layer
        if n.get("name") == path:
            n["name"] = new = f"{path}.{n['op']}"
            for later in run[i + 1:] + lst[idx[-1] + 1:]:
                _rename_refs(later, path, new)
            shapes[new] = shapes[path]
    inside = set().union(*(_defined(n) for n in run))
    external = {r for n in run for r in _refs(n) if r not in inside}
    if len(external) != 1:
        problems.append(f"gene {gname!r}: block {path!r} reads {len(external)} outside values "
                        f"({sorted(external)}); a block that can be switched off reads one")
        return
    src = external.pop()
    last = _node_name(run[-1])
    after = lst[idx[-1] + 1:]
    leaks = {r for n in after for r in _refs(n) if r in inside and r != last}
    if leaks:
        problems.append(f"gene {gname!r}: layers after block {path!r} read {sorted(leaks)} "
                        f"from inside it; only its last layer ({last}) may be read")
        return
    if shapes.get(src) != shapes.get(last):
        problems.append(f"gene {gname!r}: block {path!r} maps shape {shapes.get(src)} to "
                        f"{shapes.get(last)}; only a block whose input and output shapes agree "
                        "can be switched off")
        return
    block = {"block": path, "in": src, "when": when, "layers": run}
    lst[idx[0]:idx[-1] + 1] = [block]
    for n in lst[idx[0] + 1:]:
        _rename_refs(n, last, path)
    shapes[path] = shapes[last]


def _shapes(spec: dict, genes_row: list[int]) -> dict[str, tuple]:
    from nascost.reference.walk import resolve
    from nascost.space.space import Space

    space = Space.from_spec(spec)
    r = resolve(space, genes_row)
    if not r.ok:
        raise SpaceError([f"the space fails at layer {r.failed_layer!r} (status {r.status}) "
                          "before block genes are applied"], spec.get("name", "space"))
    shapes = {"input": tuple(r.input_shape)}
    for layer in r.layers:
        shapes[layer.name] = tuple(layer.out_shape)
    return shapes


# --- the entry point ----------------------------------------------------------------------
def apply_field_genes(spec: dict, genes: Mapping[str, FieldGene]) -> dict:
    """A copy of ``spec`` with ``genes`` added and set on the fields and blocks they match.

    Raises SpaceError listing every pattern that matches nothing, every field that is not a
    literal integer, and every block that cannot be switched off.
    """
    spec = copy.deepcopy(spec)
    problems: list[str] = []
    known = {g["name"] for g in spec.get("genes", [])}
    layers = _layers(spec["layers"])
    claimed: set = set()
    new_genes: list[dict] = []
    block_genes: list[tuple[str, FieldGene]] = []

    def add_gene(name: str, g: FieldGene) -> None:
        if name in known:
            problems.append(f"gene {name!r} is defined twice")
        known.add(name)
        entry: dict = {"name": name, "choices": list(g.choices)}
        if g.doc:
            entry["doc"] = g.doc
        new_genes.append(entry)

    for name, g in genes.items():
        if not isinstance(g, FieldGene):
            problems.append(f"gene {name!r}: expected nascost.Gene(choices, fields=[...] or "
                            f"blocks=[...]). Got {type(g).__name__}")
            continue
        if bool(g.fields) == bool(g.blocks) or not g.choices:
            problems.append(f"gene {name!r}: give choices and exactly one of fields= or blocks=")
            continue
        if g.blocks:
            block_genes.append((name, g))
            continue
        hits = [h for pat in g.fields for h in _match_fields(layers, pat, name, problems)]
        if g.each:
            for node, fs in hits:
                path = f"{node['name']}.{fs.name}"
                add_gene(f"{name}[{path}]", g)
                _set_field(node, fs, f"{name}[{path}]", g.choices, path, problems, claimed)
        elif hits:
            add_gene(name, g)
            for node, fs in hits:
                _set_field(node, fs, name, g.choices, f"{node['name']}.{fs.name}", problems,
                           claimed)
    spec.setdefault("genes", []).extend(new_genes)
    new_genes.clear()
    if problems:
        raise SpaceError(problems, spec.get("name", "space"))
    if not block_genes:
        return spec

    shapes = _shapes(spec, [0] * len(spec["genes"]))
    paths = _block_paths(layers)
    for name, g in block_genes:
        bad = [c for c in g.choices if isinstance(c, bool) or not isinstance(c, int) or c < 0]
        if bad:
            problems.append(f"gene {name!r}: block genes need integer choices >= 0 (a depth). "
                            f"Got {bad[0]!r}")
            continue
        matched = [p for p in paths if any(pattern_regex(pat).match(p) for pat in g.blocks)]
        if not matched:
            more = ", ..." if len(paths) > 10 else ""
            problems.append(f"gene {name!r}: block patterns {list(g.blocks)} match no module "
                            f"path (paths: {', '.join(paths[:10])}{more})")
            continue
        add_gene(name, g)
        for i, path in enumerate(matched):
            if min(g.choices) >= i + 1:
                continue  # always on
            _wrap_block(spec["layers"], path, {"gene": name, "ge": i + 1}, shapes, problems,
                        name)
    spec["genes"].extend(new_genes)
    if problems:
        raise SpaceError(problems, spec.get("name", "space"))
    return spec
