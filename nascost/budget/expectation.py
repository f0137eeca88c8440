"""Expected cost under independent categorical genes, and the row weights they induce.

With gene j drawn from probs[j] independently, a valid canonical candidate c has
probability prod over its *live* genes of probs[j][c_j] (every raw gene array that agrees
with c on c's live genes is the same network). In the chain, each gene's factor is taken
on the row that reads it for the last time, where its liveness is known; the probability
of a path is the product of its rows' weights. Then

    E[cost] = sum over rows r: alpha(in_r) * weight_r * cost_r * beta(out_r)

with alpha the forward and beta the backward sums of path weights. Invalid candidates cost
0 (as the kernels score them); beta < 1 where some completions fail.

Works on numpy arrays (float64) and on torch tensors (differentiable: a NAS regulariser).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nascost.budget.chain import METRICS, Chain


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


class _Np:
    @staticmethod
    def ones(b, n, like):
        return np.ones((b, n), dtype=np.float64)

    @staticmethod
    def zeros(b, n, like):
        return np.zeros((b, n), dtype=np.float64)

    @staticmethod
    def take(x, idx):
        return x[:, idx]

    @staticmethod
    def scatter(out, idx, src):
        res = out.copy()
        for i in range(res.shape[0]):
            res[i] += np.bincount(idx, weights=src[i], minlength=res.shape[1])
        return res

    @staticmethod
    def const(a, like):
        return np.asarray(a, dtype=np.float64)

    @staticmethod
    def cat(parts):
        return np.concatenate(parts, axis=1)


class _Torch:
    @staticmethod
    def ones(b, n, like):
        import torch

        return torch.ones((b, n), dtype=like.dtype, device=like.device)

    @staticmethod
    def zeros(b, n, like):
        import torch

        return torch.zeros((b, n), dtype=like.dtype, device=like.device)

    @staticmethod
    def take(x, idx):
        import torch

        return x[:, torch.as_tensor(idx, device=x.device)]

    @staticmethod
    def scatter(out, idx, src):
        import torch

        return out.index_add(1, torch.as_tensor(idx, device=out.device), src)

    @staticmethod
    def const(a, like):
        import torch

        return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=like.dtype,
                               device=like.device)

    @staticmethod
    def cat(parts):
        import torch

        return torch.cat(parts, dim=1)


def normalize_probs(probs: Any, cards: np.ndarray, tol: float = 1e-6):
    """(list of (B, card_j) arrays or tensors, batched?) from a list with one vector (or
    (B, card) batch) per gene, or an array (n_genes, max_card) / (B, n_genes, max_card)
    padded with zeros. Checks shapes, signs and that each distribution sums to 1."""
    n_genes = len(cards)
    if isinstance(probs, (list, tuple)):
        items = list(probs)
    else:
        arr = probs
        nd = arr.ndim
        if nd not in (2, 3):
            raise ValueError("probs must be a list with one probability vector per gene, or an "
                             "array (n_genes, max_choices) or (batch, n_genes, max_choices)")
        if arr.shape[-2] != n_genes:
            raise ValueError(f"probs has {arr.shape[-2]} genes; the space has {n_genes}")
        items = [arr[..., j, :int(cards[j])] for j in range(n_genes)]
        width = arr.shape[-1]
        if width < int(max(cards, default=1)):
            raise ValueError(f"probs has {width} choices per gene; the space needs "
                             f"{int(max(cards))}")
    if len(items) != n_genes:
        raise ValueError(f"probs needs one probability vector per gene ({n_genes}). Got "
                         f"{len(items)}.")
    torch_mode = any(_is_torch(x) for x in items)
    out = []
    batch = None
    batched = False
    for j, x in enumerate(items):
        if torch_mode:
            import torch

            t = x if _is_torch(x) else torch.as_tensor(np.asarray(x, dtype=np.float64))
            if not torch.is_floating_point(t):
                t = t.double()
            v = t
            check = t.detach().cpu().numpy()
        else:
            v = np.asarray(x, dtype=np.float64)
            check = v
        if check.ndim == 1:
            v = v[None, :]
            check = check[None, :]
        elif check.ndim == 2:
            batched = True
        else:
            raise ValueError(f"probs for gene {j}: expected a vector or a (batch, choices) "
                             f"array. Got shape {tuple(check.shape)}.")
        if check.shape[1] != int(cards[j]):
            raise ValueError(f"probs for gene {j}: {check.shape[1]} entries; the gene has "
                             f"{int(cards[j])} choices")
        if np.any(check < 0) or not np.all(np.isfinite(check)):
            raise ValueError(f"probs for gene {j}: probabilities must be finite and >= 0")
        sums = check.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > tol):
            raise ValueError(f"probs for gene {j}: each distribution must sum to 1 (got "
                             f"{sums.min():.6g} .. {sums.max():.6g})")
        if batch is None or batch == 1:
            batch = max(batch or 1, check.shape[0])
        elif check.shape[0] not in (1, batch):
            raise ValueError(f"probs for gene {j}: batch {check.shape[0]}, others {batch}")
        out.append(v)
    b = batch or 1
    if torch_mode:
        out = [v.expand(b, v.shape[1]) if v.shape[0] == 1 else v for v in out]
    else:
        out = [np.broadcast_to(v, (b, v.shape[1])) for v in out]
    return out, batched, torch_mode


def row_weights(chain: Chain, probs: list, xp) -> Any:
    """(B, n_rows): each row's product of the probabilities of the live genes it reads last."""
    parts = []
    like = probs[0]
    b = probs[0].shape[0]
    for k in range(chain.n_seg):
        a, z = int(chain.seg_rows[k]), int(chain.seg_rows[k + 1])
        w = xp.ones(b, z - a, like)
        for j in range(int(chain.end_n[k])):
            g = int(chain.end_genes[k, j])
            v = chain.r_end[a:z, j].astype(np.int64)
            live = v >= 0
            f = xp.take(probs[g], np.where(live, v, 0))
            dead = xp.const(np.where(live, 0.0, 1.0), like)
            w = w * (f * xp.const(live.astype(np.float64), like) + dead)
        parts.append(w)
    return xp.cat(parts)


def expected_cost(chain: Chain, probs: Any) -> dict:
    """{metric: E[metric]}: a float (or a (B,) array / tensor for a batch of tables)."""
    probs, batched, torch_mode = normalize_probs(probs, chain.cards)
    xp = _Torch if torch_mode else _Np
    like = probs[0]
    b = like.shape[0]
    W = row_weights(chain, probs, xp)
    bnd = chain.bounds
    n_seg = chain.n_seg
    alpha = [xp.ones(b, 1, like)]
    for k in range(n_seg):
        a, z = int(chain.seg_rows[k]), int(chain.seg_rows[k + 1])
        rin = chain.r_in[a:z] - bnd[k]
        rout = chain.r_out[a:z] - bnd[k + 1]
        src = xp.take(alpha[k], rin) * W[:, a:z]
        alpha.append(xp.scatter(xp.zeros(b, int(bnd[k + 2] - bnd[k + 1]), like), rout, src))
    beta = [None] * (n_seg + 1)
    beta[n_seg] = xp.ones(b, 1, like)
    for k in range(n_seg - 1, -1, -1):
        a, z = int(chain.seg_rows[k]), int(chain.seg_rows[k + 1])
        rin = chain.r_in[a:z] - bnd[k]
        rout = chain.r_out[a:z] - bnd[k + 1]
        src = xp.take(beta[k + 1], rout) * W[:, a:z]
        beta[k] = xp.scatter(xp.zeros(b, int(bnd[k + 1] - bnd[k]), like), rin, src)
    out = {}
    through = []
    for k in range(n_seg):
        a, z = int(chain.seg_rows[k]), int(chain.seg_rows[k + 1])
        rin = chain.r_in[a:z] - bnd[k]
        rout = chain.r_out[a:z] - bnd[k + 1]
        through.append(xp.take(alpha[k], rin) * W[:, a:z] * xp.take(beta[k + 1], rout))
    flow = xp.cat(through)  # (B, n_rows): probability that a candidate uses the row
    cost = chain.cost.astype(np.float64)
    for m, name in enumerate(METRICS):
        e = (flow * xp.const(cost[:, m], like)[None, :]).sum(1)
        out[name] = e if batched else (e[0] if torch_mode else float(e[0]))
    p_valid = alpha[n_seg][:, 0]
    out["p_valid"] = p_valid if batched else (p_valid[0] if torch_mode else float(p_valid[0]))
    return out
