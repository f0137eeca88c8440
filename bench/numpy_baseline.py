"""A straightforward numpy-vectorised implementation of nascost's rules, for comparison.

It walks the normalised spec once per batch, with one int64 array per quantity over the
candidates: blocks and choices become masks, every layer is computed for every candidate and
counted where active. No compilation, no tables: what a careful engineer would write with
numpy alone. bench/compare.py checks that it counts exactly what nascost counts.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from nascost.rules import conventions, status
from nascost.space.spec import as_fraction

_ELEMENTWISE = ("relu", "relu6", "sigmoid", "tanh", "hardswish", "hardsigmoid", "silu", "gelu")
_VIEWS = ("identity", "flatten", "channel_split", "crop")


def _cond(genes, gi, choices, c):
    j = gi[c["gene"]]
    op = next(k for k in c if k != "gene")
    v = c[op]
    tests = {"eq": lambda x: x == v, "ne": lambda x: x != v, "ge": lambda x: x >= v,
             "gt": lambda x: x > v, "le": lambda x: x <= v, "lt": lambda x: x < v,
             "in": lambda x: x in v}
    ok = np.array([tests[op](x) for x in choices[j]], dtype=bool)
    return ok[genes[:, j]]


def _scale(c, frac_num, frac_den, rounding, divisor, minimum):
    p = c * frac_num
    q = frac_den
    if rounding == "floor":
        p, q = p // q, np.ones_like(p)
    elif rounding == "round":
        f = p // q
        rem2 = 2 * (p - f * q)
        f = f + ((rem2 > q) | ((rem2 == q) & (f % 2 == 1)))
        p, q = f, np.ones_like(p)
    elif rounding == "ceil":
        p, q = -(-p // q), np.ones_like(p)
    if divisor:
        v = (2 * p + divisor * q) // (2 * q) // divisor * divisor
        v = np.maximum(v, divisor)
        v = v + divisor * (10 * v * q < 9 * p)
    else:
        v = p // q
    return np.maximum(v, minimum)


class _Batch:
    def __init__(self, spec, genes, weights):
        self.genes = genes.astype(np.int64)
        self.n = genes.shape[0]
        self.gi = {g["name"]: j for j, g in enumerate(spec["genes"])}
        self.choices = [g["choices"] for g in spec["genes"]]
        self.w = weights
        self.values: dict[str, tuple] = {}
        z = np.zeros(self.n, dtype=np.int64)
        self.params, self.macs, self.flops, self.acts = z.copy(), z.copy(), z.copy(), z.copy()
        self.status = z.copy()

    def field(self, v):
        if isinstance(v, bool) or isinstance(v, int):
            return np.full(self.n, int(v), dtype=np.int64)
        if "gene" in v:
            j = self.gi[v["gene"]]
            table = np.array(v.get("values", self.choices[j]), dtype=np.int64)
            return table[self.genes[:, j]]
        c = self.values[v["channels_of"]][0]
        t = v["times"]
        if isinstance(t, dict):
            j = self.gi[t["gene"]]
            fr = [as_fraction(x) for x in t.get("values", self.choices[j])]
            num = np.array([f.numerator for f in fr], dtype=np.int64)[self.genes[:, j]]
            den = np.array([f.denominator for f in fr], dtype=np.int64)[self.genes[:, j]]
        else:
            f = as_fraction(t) if not isinstance(t, Fraction) else t
            num, den = f.numerator, np.full(self.n, f.denominator, dtype=np.int64)
        return _scale(c, num, den, v["round"], v["divisor"], v["min"])

    def fail(self, active, cond, code):
        hit = active & cond & (self.status == 0)
        self.status[hit] = code

    def count(self, active, params=0, macs=0, terms=(), elems=0):
        ok = active & (self.status == 0)
        self.params += np.where(ok, params, 0)
        self.macs += np.where(ok, macs, 0)
        fl = 0
        for term, q in terms:
            fl = fl + self.w[term] * q
        self.flops += np.where(ok, fl, 0)
        self.acts += np.where(ok, elems, 0)

    def layer(self, node, active):
        op = node["op"]
        refs = node["in"] if isinstance(node["in"], list) else [node["in"]]
        c, h, w, r = self.values[refs[0]]
        F = {k: node[k] for k in node if k not in ("op", "name", "in")}
        one = np.ones(self.n, dtype=np.int64)
        oc, oh, ow, orank = c, h, w, r
        if op == "conv2d":
            cout = self.field(F["out_channels"])
            kh, kw = (self.field(x) for x in F["kernel"])
            sh, sw = (self.field(x) for x in F["stride"])
            ph, pw = (self.field(x) for x in F["padding"])
            dh, dw = (self.field(x) for x in F["dilation"])
            g = self.field(F["groups"])
            self.fail(active, r != 4, status.BAD_RANK)
            g1 = np.maximum(g, 1)
            self.fail(active, (c % g1 != 0) | (cout % g1 != 0), status.GROUPS)
            oh = np.where(h + 2 * ph - dh * (kh - 1) - 1 >= 0,
                          (h + 2 * ph - dh * (kh - 1) - 1) // np.maximum(sh, 1) + 1, 0)
            ow = np.where(w + 2 * pw - dw * (kw - 1) - 1 >= 0,
                          (w + 2 * pw - dw * (kw - 1) - 1) // np.maximum(sw, 1) + 1, 0)
            self.fail(active, (oh < 1) | (ow < 1), status.COLLAPSED)
            weights = kh * kw * (c // g1) * cout
            macs = weights * oh * ow
            bias = bool(F["bias"])
            self.count(active, weights + (cout if bias else 0), macs,
                       [("conv_mac", macs), ("conv_bias", cout * oh * ow if bias else 0)],
                       cout * oh * ow)
            oc = cout
        elif op == "linear":
            nout = self.field(F["out_features"])
            self.fail(active, r != 2, status.BAD_RANK)
            bias = bool(F["bias"])
            macs = c * nout
            self.count(active, macs + (nout if bias else 0), macs,
                       [("linear_mac", macs), ("linear_bias", nout if bias else 0)], nout)
            oc, oh, ow = nout, one, one
        elif op == "batchnorm2d":
            self.fail(active, r != 4, status.BAD_RANK)
            e = c * h * w
            self.count(active, 2 * c if F["affine"] else 0, 0,
                       [("batchnorm", e), ("batchnorm_affine", e if F["affine"] else 0)], e)
        elif op in ("maxpool2d", "avgpool2d"):
            kind = op[:7]
            kh, kw = (self.field(x) for x in F["kernel"])
            sh, sw = (self.field(x) for x in F["stride"])
            ph, pw = (self.field(x) for x in F["padding"])
            ceil = bool(F["ceil_mode"])
            self.fail(active, r != 4, status.BAD_RANK)
            self.fail(active, (2 * ph > kh) | (2 * pw > kw), status.POOL_PADDING)

            def out(size, k, s, p):
                span = size + 2 * p - (k - 1) - 1
                if ceil:
                    o = (span + s - 1) // s + 1
                    o = o - ((o - 1) * s >= size + p)
                else:
                    o = span // s + 1
                return np.maximum(o, 0)

            oh, ow = out(h, kh, sh, ph), out(w, kw, sw, pw)
            self.fail(active, (oh < 1) | (ow < 1), status.COLLAPSED)
            o = c * oh * ow
            self.count(active, 0, 0, [(f"{kind}_out", o), (f"{kind}_in", c * h * w)], o)
        elif op == "global_avgpool":
            self.fail(active, r != 4, status.BAD_RANK)
            self.count(active, 0, 0, [("global_pool_out", c), ("global_pool_in", c * h * w)], c)
            oh, ow = one, one
        elif op == "flatten":
            oc, oh, ow = np.where(r == 4, c * h * w, c), one, one
            orank = np.full(self.n, 2, dtype=np.int64)
        elif op in _ELEMENTWISE or op == "zero":
            self.count(active, 0, 0, [(op, c * h * w)], c * h * w)
        elif op == "add":
            for ref in refs[1:]:
                c2, h2, w2, r2 = self.values[ref]
                self.fail(active, (c2 != c) | (h2 != h) | (w2 != w) | (r2 != r),
                          status.SHAPE_MISMATCH)
            e = c * h * w
            self.count(active, 0, 0, [("add", e * (len(refs) - 1))], e)
        elif op == "mul":
            c2, h2, w2, r2 = self.values[refs[1]]
            bad = r2 != r
            for x, y in ((c, c2), (h, h2), (w, w2)):
                bad |= (x != y) & (x != 1) & (y != 1)
            self.fail(active, bad, status.SHAPE_MISMATCH)
            oc, oh, ow = np.maximum(c, c2), np.maximum(h, h2), np.maximum(w, w2)
            self.count(active, 0, 0, [("mul", oc * oh * ow)], oc * oh * ow)
        elif op == "concat":
            shapes = [self.values[x] for x in refs]
            self.fail(active, np.any([s[3] != 4 for s in shapes], axis=0), status.BAD_RANK)
            self.fail(active, np.any([(s[1] != h) | (s[2] != w) for s in shapes], axis=0),
                      status.SHAPE_MISMATCH)
            oc = sum(s[0] for s in shapes)
            self.count(active, 0, 0, (), oc * h * w)
        elif op == "channel_split":
            chunks = self.field(F["chunks"])
            self.fail(active, c % chunks != 0, status.GROUPS)
            oc = c // chunks
        elif op == "channel_shuffle":
            self.count(active, 0, 0, (), c * h * w)
        elif op == "crop":
            oh, ow = h - self.field(F["top"]), w - self.field(F["left"])
            self.fail(active, (oh < 1) | (ow < 1), status.COLLAPSED)
        elif op == "identity":
            pass
        else:
            raise ValueError(f"the numpy baseline has no rule for op {op!r}")
        if op in _VIEWS:
            pass
        self.values[node["name"]] = (oc, oh, ow, orank)

    def sequence(self, nodes, active):
        last = None
        for node in nodes:
            if "op" in node:
                self.layer(node, active)
                last = node["name"]
            elif "block" in node:
                inner = active
                if "when" in node:
                    inner = active & _cond(self.genes, self.gi, self.choices, node["when"])
                out = self.sequence(node["layers"], inner)
                src = self.values[node["in"]]
                res = self.values[out]
                self.values[node["block"]] = tuple(np.where(inner, a, b)
                                                   for a, b in zip(res, src, strict=True))
                last = node["block"]
            else:
                j = self.gi[node["gene"]]
                src = self.values[node["in"]]
                result = tuple(x.copy() for x in src)
                for k, option in enumerate(node["options"]):
                    sel = self.genes[:, j] == k
                    if option:
                        out = self.values[self.sequence(option, active & sel)]
                    else:
                        out = src
                    for a, b in zip(result, out, strict=True):
                        a[sel] = b[sel]
                self.values[node["choice"]] = result
                last = node["choice"]
        return last


def score(space, genes: np.ndarray, convention="seed", batch: int = 1) -> dict[str, np.ndarray]:
    """params, macs, flops, activations, status for a batch, with numpy only."""
    spec = space.spec
    weights = conventions.resolve(convention).weights
    b = _Batch(spec, genes, weights)
    inp = spec["input"]
    b.values["input"] = (b.field(inp["channels"]), b.field(inp["height"]),
                         b.field(inp["width"]), np.full(b.n, 4, dtype=np.int64))
    b.sequence(spec["layers"], np.ones(b.n, dtype=bool))
    ok = b.status == 0
    return {"params": np.where(ok, b.params, 0), "macs": np.where(ok, b.macs, 0) * batch,
            "flops": np.where(ok, b.flops, 0) * batch,
            "activations": np.where(ok, b.acts, 0) * batch,
            "status": b.status.astype(np.int8)}
