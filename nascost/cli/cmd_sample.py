"""nascost sample: candidates drawn uniformly within a budget (no rejection loop over the
space), written to Parquet (or CSV) with their metrics."""

from __future__ import annotations

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

MODE = "sample_within"  # run.mode in the metadata: drawn uniformly within a budget


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
    import time
    from pathlib import Path

    from nascost.budget import sample_within
    from nascost.budget.budget import describe_budget, parse_budget
    from nascost.cli.output import check_out_file, write_atomically
    from nascost.units import format_count

    if args.n < 1:
        raise ValueError(f"-n must be at least 1. Got {args.n}.")
    out = Path(args.out)
    if out.suffix not in (".parquet", ".csv"):
        raise ValueError(f"--out must end in .parquet or .csv. Got {args.out!r}.")
    check_out_file(out, force=args.force, option="--out", force_flag="--force")
    space = load(args.space)
    budget = budget_of(args)
    lat = latency_of(args)
    t0 = time.perf_counter()
    genes, info = sample_within(space, args.n, seed=args.seed, stratify=args.stratify,
                                convention=args.convention, return_info=True, **budget, **lat)
    dt = time.perf_counter() - t0
    table = sample_table(space, genes, info, budget, args, latency=lat.get("latency"))
    if out.suffix == ".parquet":
        import pyarrow.parquet as pq

        write_atomically(out, lambda tmp: pq.write_table(table, tmp))
    else:
        import pyarrow.csv as pcsv

        write_atomically(out, lambda tmp: pcsv.write_csv(table, tmp))
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


def sample_table(space, genes, info, budget: dict, args, latency=None):
    """The drawn candidates in the one results format (nascost.io.schema): the columns and
    metadata of `nascost score` output, so that summary, query, pareto and plot read it."""
    import numpy as np
    import pyarrow as pa

    from nascost.io import schema as R
    from nascost.rules.conventions import resolve

    convention = resolve(args.convention)
    scores = space.score_arrays(genes, convention=convention, latency=latency)
    run = {"mode": MODE, "n": int(genes.shape[0]), "seed": args.seed,
           "budget": {k: int(v) for k, v in sorted(budget.items())},
           "include_invalid": False, "stratify": args.stratify,
           "proposed": info.proposed, "acceptance": info.acceptance,
           "distribution": "uniform over the valid canonical candidates within the budget"
                           + (" (per bin)" if args.stratify else "")}
    md = R.metadata_for(space, convention, 1, run, [R.SAMPLE_INDEX], "the whole file")
    schema = R.result_schema(space, "sample", md)
    n = genes.shape[0]
    cols = {R.SAMPLE_INDEX: np.arange(n, dtype=np.uint64)}
    if R.ID in schema.names:
        cols[R.ID] = space.genes_to_ids(genes).astype(np.uint64)
    for j, name in enumerate(space.gene_names):
        cols[name] = np.ascontiguousarray(genes[:, j], dtype=np.uint8)
    for m in R.VALUES:
        cols[m] = np.ascontiguousarray(scores[m], dtype=np.int64)
    cols[R.STATUS] = np.ascontiguousarray(scores["status"], dtype=np.int8)
    arrays = [R.arrow_column(cols[f.name], f) for f in schema]
    table = pa.Table.from_arrays(arrays, schema=schema)
    if "latency_us" in scores:  # approximate: the latency table's block sums
        table = table.append_column(pa.field("latency_us", pa.float64()),
                                    pa.array(scores["latency_us"], pa.float64()))
    return table
