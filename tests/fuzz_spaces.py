"""Mutations of the built-in spaces' JSON for fuzzing, and the check of one mutated file.

Shared by tests/space/test_fuzz.py (hypothesis, bounded) and bench/fuzz.py (thousands of
cases, with counts by outcome). A case is judged by ``check_case``: loading may only raise
SpaceError; a loaded space scores without raising; both engines equal the slow reference,
status included.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np

SPACES_DIR = Path(__file__).resolve().parents[1] / "data" / "spaces"
# small and mid-sized built-ins: each case compiles the space and builds its tables
SPACES = ("nb201-cifar10", "resnet-style", "mbv2-style", "mobilenet-v2", "resnet18",
          "mnasnet0_5", "fbnet", "proxylessnas-mobile", "darts-cifar10", "ofa-mbv3-w1.0",
          "regnet_x_400mf", "shufflenet_v2_x0_5", "squeezenet1_0", "nats-sss-cifar10")

EXTREME_INTS = (0, -1, 1, 2, 7, 2**16, 2**20, 2**30, 2**31 - 1, 2**31, 2**32, 2**62 - 1,
                2**62, 2**63 - 8, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30)
# values that pass validation but make the counts huge: the kernels' overflow guards
LARGE_VALID = (2**10, 2**15, 2**20, 2**24, 2**30, 2**31 - 1)
WRONG_TYPES = (None, True, False, "x", "", [], {}, [1, 2, 3], {"gene": "x"}, 1.5, -0.0,
               float("nan"), float("inf"), "1/0", "3/2", {"channels_of": "input"})
UNKNOWN_OPS = ("conv3d", "Conv2d", "", "input", "lstm")
FIELD_KEYS = ("kernel", "stride", "padding", "dilation", "out_channels", "out_features",
              "groups", "channels", "height", "width", "divisor", "min", "times", "chunks",
              "top", "left")
KINDS = ("delete", "type", "extreme", "large", "op", "dangling", "nest", "bytes", "swap")

_cache: dict[str, str] = {}


def space_text(name: str) -> str:
    if name not in _cache:
        _cache[name] = (SPACES_DIR / f"{name}.json").read_text()
    return _cache[name]


def available_spaces() -> list[str]:
    return [s for s in SPACES if (SPACES_DIR / f"{s}.json").is_file()]


def _nodes(obj: Any, out: list) -> list:
    """Every (container, key) pair of the JSON tree, depth first."""
    if isinstance(obj, dict):
        for k in list(obj):
            out.append((obj, k))
            _nodes(obj[k], out)
    elif isinstance(obj, list):
        for i in range(len(obj)):
            out.append((obj, i))
            _nodes(obj[i], out)
    return out


def _ints(obj: Any) -> list:
    return [(c, k) for c, k in _nodes(obj, [])
            if isinstance(c[k], int) and not isinstance(c[k], bool)]


def mutate(rnd: random.Random, raw: dict, kind: str) -> dict | bytes:
    """Apply one mutation of ``kind`` to ``raw`` (in place); bytes for the byte-level ones."""
    nodes = _nodes(raw, [])
    if kind == "delete":
        dicts = [(c, k) for c, k in nodes if isinstance(c, dict)]
        c, k = rnd.choice(dicts)
        del c[k]
    elif kind == "type":
        c, k = rnd.choice(nodes)
        c[k] = rnd.choice(WRONG_TYPES)
    elif kind in ("extreme", "large"):
        ints = _ints(raw)
        if kind == "large":  # the integers layers read: fields, sizes, gene choices
            ints = [(c, k) for c, k in ints if isinstance(k, int) or k in FIELD_KEYS] or ints
        if ints:
            for _ in range(rnd.choice((1, 1, 2, 4))):
                c, k = rnd.choice(ints)
                c[k] = rnd.choice(EXTREME_INTS if kind == "extreme" else LARGE_VALID)
    elif kind == "op":
        ops = [(c, k) for c, k in nodes if k == "op"]
        if ops:
            c, k = rnd.choice(ops)
            c[k] = rnd.choice(UNKNOWN_OPS)
    elif kind == "dangling":
        refs = [(c, k) for c, k in nodes if k in ("in", "gene", "channels_of", "name", "block",
                                                 "choice")]
        if refs:
            c, k = rnd.choice(refs)
            c[k] = rnd.choice(("nonexistent", "input", "genes", c[k] if isinstance(c[k], str)
                               else "x"))
    elif kind == "nest":
        depth = rnd.choice((5, 63, 64, 65, 200, 600, 3000))
        layers = raw.pop("layers", [])
        head = "".join(f'[{{"block": "nest{i}", "layers": ' for i in range(depth))
        text = json.dumps(raw)[:-1] + ', "layers": ' + head + json.dumps(layers) \
            + "}]" * depth + "}"
        return text.encode()  # as text: json.dumps itself would recurse too deeply
    elif kind == "swap":
        lists = [(c, k) for c, k in nodes if isinstance(c[k], list) and len(c[k]) > 1]
        if lists:
            c, k = rnd.choice(lists)
            rnd.shuffle(c[k])
    elif kind == "bytes":
        data = bytearray(json.dumps(raw).encode())
        how = rnd.choice(("ff", "truncate", "zero", "utf16", "flip"))
        pos = rnd.randrange(len(data))
        if how == "ff":
            data[pos:pos] = b"\xff\xfe"
        elif how == "truncate":
            del data[pos:]
        elif how == "zero":
            data[pos] = 0
        elif how == "utf16":
            return json.dumps(raw).encode("utf-16")
        else:
            data[pos] ^= 1 << rnd.randrange(8)
        return bytes(data)
    return raw


def make_case(seed: int) -> tuple[str, str, bytes]:
    """(space name, mutation kinds, file bytes) of fuzz case ``seed``."""
    rnd = random.Random(seed)
    name = rnd.choice(available_spaces())
    raw: Any = json.loads(space_text(name))
    kinds = [rnd.choice(KINDS) for _ in range(rnd.choice((1, 1, 2, 3)))]
    for kind in kinds:
        if isinstance(raw, bytes):
            break
        raw = mutate(rnd, raw, kind)
    if isinstance(raw, bytes):
        data = raw
    else:
        try:
            data = json.dumps(raw).encode()
        except (ValueError, RecursionError):
            data = b"{" * 2000
    return name, "+".join(kinds), data


def check_case(seed: int, data: bytes, n_candidates: int = 6, n_reference: int = 3) -> str:
    """The outcome of one case: "space_error" or "ok"; raises AssertionError on a mismatch
    and lets any other exception through (the caller counts them)."""
    from nascost import SpaceError
    from nascost.reference import count
    from nascost.space.space import Space

    try:
        space = Space.from_json(data)
    except SpaceError:
        return "space_error"
    rng = np.random.default_rng(seed)
    n = n_candidates
    genes = np.stack([rng.integers(0, c, n) for c in space.cardinalities], axis=1) \
        if space.n_genes else np.zeros((n, 0), dtype=np.int64)
    genes = genes.astype(np.uint8)
    batch = int(rng.choice([1, 1, 7, 2**20, 2**40]))
    results = {}
    for engine in ("interpreter", "auto"):
        results[engine] = space.score_arrays(genes, batch=batch, engine=engine)
    for i in range(min(n, n_reference)):
        ref = count(space, genes[i], batch=batch)
        for engine, got in results.items():
            row = {k: int(got[k][i]) for k in ref}
            assert row == ref, (f"case {seed}: {engine} engine gives {row}, the reference "
                                f"{ref} for genes {genes[i].tolist()} (batch {batch})")
    for i in range(n):
        a = {k: int(v[i]) for k, v in results["interpreter"].items()}
        b = {k: int(v[i]) for k, v in results["auto"].items()}
        assert a == b, f"case {seed}: interpreter {a} != auto {b} (genes {genes[i].tolist()})"
    return "ok"
