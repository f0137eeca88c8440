"""The slow reference's rules for token values and transformer ops, in plain Python.

Each rule maps (input shapes, concrete fields) to (output shape, params, MACs, terms), written
from what PyTorch executes (docs/space-format.md, "Tokens"), independently of the kernels'
nascost/kernels/token_ops.py. Internal shapes are (C, H, W, rank): tokens have rank 3, D = C
features and N = H * W tokens on an H x W grid.
"""

from __future__ import annotations

from nascost.reference.walk import _Fail, _need
from nascost.rules import status

MAP, TOKENS, FLAT = 4, 3, 2


def _tokens_in(shapes: list) -> tuple[int, int, int]:
    (d, h, w, rank), = shapes[:1]
    _need(rank == TOKENS, status.BAD_RANK)
    return d, h, w


def _to_tokens(shapes: list, f: dict):
    (c, h, w, rank), = shapes
    _need(rank == MAP, status.BAD_RANK)
    return (c, h, w, TOKENS), 0, 0, {}


def _to_map(shapes: list, f: dict):
    d, h, w = _tokens_in(shapes)
    hh, ww = f["height"], f["width"]
    _need(hh >= 0 and ww >= 0 and (hh == 0) == (ww == 0), status.BAD_FIELD)
    if hh == 0:
        return (d, h, w, MAP), 0, 0, {}
    _need(hh * ww == h * w, status.SHAPE_MISMATCH)
    return (d, hh, ww, MAP), 0, 0, {}


def _patch_merge(shapes: list, f: dict):
    d, h, w = _tokens_in(shapes)
    # F.pad to even H and W, then x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]
    return (4 * d, -(-h // 2), -(-w // 2), TOKENS), 0, 0, {}


def _class_token(shapes: list, f: dict):
    d, h, w = _tokens_in(shapes)
    k = f["tokens"]
    _need(k >= 1, status.BAD_FIELD)
    return (d, h * w + k, 1, TOKENS), k * d, 0, {}


def _token_select(shapes: list, f: dict):
    d, h, w = _tokens_in(shapes)
    _need(0 <= f["index"] < h * w, status.BAD_FIELD)
    return (d, 1, 1, FLAT), 0, 0, {}


def _mean(shapes: list, f: dict):
    (c, h, w, rank), = shapes
    _need(rank in (MAP, TOKENS), status.BAD_RANK)
    terms = {"mean_out": c, "mean_in": c * h * w}
    return (c, 1, 1, MAP if rank == MAP else FLAT), 0, 0, terms


def _layernorm(shapes: list, f: dict):
    s, = shapes
    n = s[0] * s[1] * s[2]
    params = (s[0] + (s[0] if f["bias"] else 0)) if f["affine"] else 0
    return s, params, 0, {"layernorm": n, "layernorm_affine": n if f["affine"] else 0}


def _groupnorm(shapes: list, f: dict):
    s, = shapes
    _need(s[3] == MAP, status.BAD_RANK)
    _need(f["groups"] >= 1, status.BAD_FIELD)
    _need(s[0] % f["groups"] == 0, status.GROUPS)
    n = s[0] * s[1] * s[2]
    return (s, 2 * s[0] if f["affine"] else 0, 0,
            {"groupnorm": n, "groupnorm_affine": n if f["affine"] else 0})


def _batchnorm1d(shapes: list, f: dict):
    s, = shapes
    _need(s[3] in (TOKENS, FLAT), status.BAD_RANK)
    n = s[0] * s[1] * s[2]
    return (s, 2 * s[0] if f["affine"] else 0, 0,
            {"batchnorm": n, "batchnorm_affine": n if f["affine"] else 0})


def _softmax(shapes: list, f: dict):
    (c, h, w, rank), = shapes
    # torch.softmax over the features: dim 1 of a map (C per row), dim -1 of tokens (D) and of
    # a flat value (F)
    rows = {MAP: h * w, TOKENS: h * w, FLAT: 1}[rank]
    n = c * h * w
    return (c, h, w, rank), 0, 0, {"softmax": n, "softmax_sum": n - rows}


def _same(shapes: list, f: dict):
    s, = shapes
    return s, 0, 0, {}


def _attention_terms(n_q: int, n_kv_rows: int, d_q: int, d_kv: int, keys: int, heads: int,
                     hd: int, d_out: int, f: dict, proj: bool):
    """(params, macs, terms) of attention over n_q query rows: a q projection of d_q features,
    k and v projections of n_kv_rows rows of d_kv features, each query row attending to
    ``keys`` keys; with proj, an output projection to d_out."""
    inner = heads * hd
    params = d_q * inner + d_kv * 2 * inner + (3 * inner if f["qkv_bias"] else 0)
    lin = n_q * d_q * inner + n_kv_rows * d_kv * 2 * inner
    bias = n_q * inner + n_kv_rows * 2 * inner if f["qkv_bias"] else 0
    if proj:
        params += inner * d_out + (d_out if f["proj_bias"] else 0)
        lin += n_q * inner * d_out
        bias += n_q * d_out if f["proj_bias"] else 0
    qk = heads * n_q * keys * hd  # per head: (n_q x hd) @ (hd x keys)
    av = heads * n_q * keys * hd  # per head: (n_q x keys) @ (keys x hd)
    terms = {"attn_linear_mac": lin, "attn_linear_bias": bias, "attn_scale": n_q * inner,
             "attn_qk_mac": qk, "attn_bias_add": 0, "attn_softmax": heads * n_q * keys,
             "attn_av_mac": av, "attn_softmax_sum": heads * n_q * (keys - 1)}
    return params, lin + qk + av, terms


def _head_dim(d: int, heads: int, hd: int) -> int:
    _need(heads >= 1 and hd >= 0, status.BAD_FIELD)
    if hd == 0:
        _need(d % heads == 0, status.GROUPS)
        return d // heads
    return hd


def _attention(shapes: list, f: dict):
    _need(all(s[3] == TOKENS for s in shapes), status.BAD_RANK)
    d, h, w, _ = shapes[0]
    dk, hk, wk, _ = shapes[-1]
    ph, pw = f["partition"]
    _need(f["out_features"] >= 0 and min(ph, pw) >= 0 and (ph == 0) == (pw == 0),
          status.BAD_FIELD)
    _need(ph == 0 or len(shapes) == 1, status.BAD_FIELD)  # MobileViT's unfolding: self only
    hd = _head_dim(d, f["heads"], f["head_dim"])
    _need(ph == 0 or (h % ph == 0 and w % pw == 0), status.SHAPE_MISMATCH)
    inner = f["heads"] * hd
    if f["proj"]:
        d_out = f["out_features"] or d
    else:
        _need(f["out_features"] in (0, inner), status.BAD_FIELD)
        d_out = inner
    n, nk = h * w, hk * wk
    # each of the ph*pw unfolded sequences holds n / (ph*pw) tokens and attends within itself
    keys = n // (ph * pw) if ph else nk
    params, macs, terms = _attention_terms(n, nk, d, dk, keys, f["heads"], hd, d_out, f,
                                           f["proj"])
    return (d_out, h, w, TOKENS), params, macs, terms


def _window_attention(shapes: list, f: dict):
    d, h, w = _tokens_in(shapes)
    (wh, ww), (sh, sw) = f["window"], f["shift"]
    _need(min(wh, ww) >= 1 and min(sh, sw) >= 0, status.BAD_FIELD)
    heads = f["heads"]
    hd = _head_dim(d, heads, f["head_dim"])
    pad_h, pad_w = -(-h // wh) * wh, -(-w // ww) * ww  # torchvision pads to whole windows
    if wh >= pad_h:  # "if window size is larger than feature size, there is no need to shift"
        sh = 0
    if ww >= pad_w:
        sw = 0
    windows, per = (pad_h // wh) * (pad_w // ww), wh * ww
    rows = windows * per
    params, macs, terms = _attention_terms(rows, rows, d, d, per, heads, hd, d, f, True)
    scores = windows * heads * per * per
    bias_adds = 0
    if f["rel_pos_bias"]:
        params += (2 * wh - 1) * (2 * ww - 1) * heads
        bias_adds += scores
    if sh + sw > 0:
        bias_adds += scores  # the shift mask
    terms["attn_bias_add"] = bias_adds
    return (d, h, w, TOKENS), params, macs, terms


def _matmul(shapes: list, f: dict):
    (da, ha, wa, ra), (db, hb, wb, rb) = shapes
    _need(ra == TOKENS and rb == TOKENS, status.BAD_RANK)
    na, nb = ha * wa, hb * wb
    if f["transpose_b"]:  # (na x da) @ (db x nb), b transposed
        _need(da == db, status.SHAPE_MISMATCH)
        cols = nb
    else:  # (na x da) @ (nb x db)
        _need(da == nb, status.SHAPE_MISMATCH)
        cols = db
    macs = na * da * cols
    return (cols, ha, wa, TOKENS), 0, macs, {"matmul_mac": macs}


def _param(shapes: list, f: dict):
    c, h, w, rank = shapes[0]
    if f["shape"] == "full":
        return (c, h, w, rank), c * h * w, 0, {}
    if f["shape"] == "channels":
        return (c, 1, 1, rank), c, 0, {}
    return (1, 1, 1, rank), 1, 0, {}


def _upsample(shapes: list, f: dict):
    (c, h, w, rank), = shapes
    _need(rank == MAP, status.BAD_RANK)
    (fh, fw), (zh, zw) = f["scale"], f["size"]
    _need(min(fh, fw, zh, zw) >= 0, status.BAD_FIELD)
    if min(fh, fw) > 0 and zh == zw == 0:
        ho, wo = h * fh, w * fw
    elif fh == fw == 0 and min(zh, zw) > 0:
        ho, wo = zh, zw
    else:
        raise _Fail(status.BAD_FIELD)
    out = c * ho * wo
    nearest = f["mode"] == "nearest"
    return ((c, ho, wo, MAP), 0, 0,
            {"upsample_nearest": out if nearest else 0,
             "upsample_bilinear": 0 if nearest else out})


TOKEN_RULES = {
    "to_tokens": _to_tokens,
    "to_map": _to_map,
    "patch_merge": _patch_merge,
    "class_token": _class_token,
    "token_select": _token_select,
    "mean": _mean,
    "layernorm": _layernorm,
    "groupnorm": _groupnorm,
    "batchnorm1d": _batchnorm1d,
    "softmax": _softmax,
    "dropout": _same,
    "drop_path": _same,
    "attention": _attention,
    "window_attention": _window_attention,
    "matmul": _matmul,
    "param": _param,
    "upsample": _upsample,
}
