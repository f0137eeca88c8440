"""nascost sample: candidates drawn uniformly within a budget (no rejection loop over the
space), written to Parquet (or CSV) with their metrics."""

from __future__ import annotations

import os

from nascost.cli.args import add_space_arg, count_arg, load
from nascost.cli.budget_args import (
    add_budget,
    add_convention,
    add_latency,
    budget_of,
    describe_latency,
    latency_of,
)
from nascost.cli.results_args import one_line_errors

FORMAT = "nascost-budget-sample"


def register(sub) -> None:
    p = sub.add_parser("sample", help="draw candidates uniformly within a budget (or per cost "
                                      "bin) and write them with their metrics")
    one_line_errors(p, "sample")
    add_space_arg(p)
    p.add_argument("-n", type=count_arg("-n"), required=True, help="how many (e.g. 1M)")
    add_budget(p)
    add_latency(p)
    p.add_argument("--stratify", metavar="METRIC:BINS",
                   help="n / BINS uniformly within each equal-width bin, e.g. flops:10")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_convention(p)
    p.add_argument("--out", required=True, metavar="FILE", help="a .parquet or .csv file")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    import time
    from pathlib import Path

    import pyarrow as pa

    from nascost import __version__
    from nascost.budget import sample_within
    from nascost.budget.budget import describe_budget, parse_budget
    from nascost.rules.conventions import resolve
    from nascost.units import format_count

    out = Path(args.out)
    if out.suffix not in (".parquet", ".csv"):
        raise ValueError(f"--out must end in .parquet or .csv. Got {args.out!r}.")
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; pass --force to overwrite it")
    space = load(args.space)
    budget = budget_of(args)
    lat = latency_of(args)
    t0 = time.perf_counter()
    genes, info = sample_within(space, args.n, seed=args.seed, stratify=args.stratify,
                                convention=args.convention, return_info=True, **budget, **lat)
    dt = time.perf_counter() - t0
    scores = space.score_arrays(genes, convention=args.convention,
                                latency=lat.get("latency"))
    cols = {"sample_index": pa.array(range(genes.shape[0]), pa.uint64())}
    for j, name in enumerate(space.gene_names):
        cols[name] = pa.array(genes[:, j], pa.uint8())
    for m in ("params", "macs", "flops", "activations"):
        cols[m] = pa.array(scores[m], pa.int64())
    if "latency_us" in scores:
        cols["latency_us"] = pa.array(scores["latency_us"], pa.float64())
    meta = {
        "format": FORMAT, "nascost_version": __version__,
        "space": {"name": space.name, "hash": space.hash},
        "convention": resolve(args.convention).to_dict(),
        "budget": {k: int(v) for k, v in budget.items()},
        "seed": args.seed, "stratify": args.stratify, "n": int(genes.shape[0]),
        "proposed": info.proposed, "acceptance": info.acceptance,
        "distribution": "uniform over the valid canonical candidates within the budget"
                        + (" (per bin)" if args.stratify else ""),
    }
    table = pa.table(cols).replace_schema_metadata(
        {b"nascost": json.dumps(meta, sort_keys=True).encode(),
         b"nascost.space": space.to_json().encode()})
    out.parent.mkdir(parents=True, exist_ok=True)
    # written beside FILE, then renamed: an interrupted run never leaves a truncated FILE
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    what = describe_budget(parse_budget(budget))
    if describe_latency(lat):
        what = describe_latency(lat) if what == "no budget" else f"{what}, {describe_latency(lat)}"
    print(f"{space.name}: {genes.shape[0]:,} candidates, uniform within budget ({what}), "
          f"seed {args.seed}; {dt:.3f} s")
    if info.strata:
        for lo, hi, n in info.strata:
            print(f"  {info.primary} {format_count(lo)} .. {format_count(hi)}: {n:,}")
    if info.proposed > info.accepted:
        print(f"acceptance rate: {info.acceptance:.4%} ({info.accepted:,} of "
              f"{info.proposed:,} proposals; only proposals at the budget's edges or "
              f"outside another bounded metric are rejected)")
    else:
        print("acceptance rate: 100% (no proposal rejected)")
    print(f"wrote {out}")
    return 0
