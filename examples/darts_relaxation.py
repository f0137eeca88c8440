"""A DARTS-style relaxation with a differentiable FLOPs penalty: architecture logits, a
softmax per gene, and the exact expected FLOPs ``space.expected_cost(probs)["flops"]`` as a
torch expression, so that autograd carries the budget into the architecture gradient.

    python examples/darts_relaxation.py --space nb201-cifar10 --max-flops 100M --steps 60

Loss = -(stand-in utility of the mixed ops) + penalty * relu(E[flops] / budget - 1). After
optimising, the argmax architecture is derived; if it is over the budget (a discrete pick
can exceed the expectation), the penalty doubles and the search goes on. Prints the
trajectory and the derived architecture, checked against the budget by scoring it. The
utility is a STAND-IN (one fixed number per op, larger for heavier ops), never accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import nascost
from nascost.units import format_count, parse_count

# stand-in utility per op name (NOT accuracy): heavier ops score higher, so the budget binds
UTILITY = {"none": 0.0, "skip_connect": 0.3, "avg_pool_3x3": 0.2, "max_pool_3x3": 0.2,
           "nor_conv_1x1": 0.6, "nor_conv_3x3": 1.0}


def utilities(space) -> list[torch.Tensor]:
    """Per gene, the stand-in utility of each choice (by op name, else by position)."""
    out = []
    for choices in space.choices:
        u = [UTILITY.get(c, i / max(len(choices) - 1, 1)) if isinstance(c, str)
             else i / max(len(choices) - 1, 1) for i, c in enumerate(choices)]
        out.append(torch.tensor(u, dtype=torch.float64))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb201-cifar10")
    ap.add_argument("--max-flops", default="100M")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--penalty", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=6, help="penalty doublings at most")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)

    space = nascost.load_space(args.space)
    max_flops = parse_count(args.max_flops, "--max-flops")
    util = utilities(space)
    alphas = [(1e-3 * torch.randn(int(c), dtype=torch.float64)).requires_grad_()
              for c in space.cardinalities]
    opt = torch.optim.Adam(alphas, lr=args.lr)
    penalty = args.penalty
    t0 = time.perf_counter()
    print(f"space {space.name}: {space.n_genes} genes; budget flops <= "
          f"{format_count(max_flops)}; loss = -stand-in utility + penalty * "
          "relu(E[flops]/budget - 1)")
    print(f"{'round':>5} {'step':>5} {'penalty':>8} {'E[flops]':>9} {'stand-in':>9}")
    for rnd in range(args.rounds + 1):
        for step in range(args.steps):
            probs = [torch.softmax(a, dim=0) for a in alphas]
            e = space.expected_cost(probs)  # exact, differentiable in probs
            utility = sum((p * u).sum() for p, u in zip(probs, util, strict=True))
            loss = -utility + penalty * torch.relu(e["flops"] / max_flops - 1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % max(args.steps // 4, 1) == 0 or step == args.steps - 1:
                print(f"{rnd:>5} {step:>5} {penalty:>8.3g} "
                      f"{format_count(float(e['flops'].detach())):>9} "
                      f"{float(utility.detach()):>9.4f}")
        genes = np.array([int(torch.argmax(a)) for a in alphas], dtype=np.uint8)
        s = space.score(genes)
        flops, status = s["flops"][0].as_py(), s["status"][0].as_py()
        if status == 0 and flops <= max_flops:
            break
        print(f"derived architecture has flops {format_count(flops)} > budget: "
              "doubling the penalty")
        penalty *= 2
    seconds = time.perf_counter() - t0
    try:
        arch = space.decode(genes)
    except ValueError:
        arch = space.genes_to_values(genes)
    print(f"derived architecture: {arch}")
    print(f"params {format_count(s['params'][0].as_py())}, flops {format_count(flops)} "
          f"(budget {format_count(max_flops)}), {seconds:.1f} s")
    if status != 0 or flops > max_flops:
        print("BUDGET BROKEN: no derived architecture within the budget")
        return 1
    print(f"budget held: the derived architecture has flops <= {format_count(max_flops)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
