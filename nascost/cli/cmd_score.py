"""nascost score: stream a space's candidates, scored and filtered by budget, to Parquet."""

from __future__ import annotations

import sys
import time

from nascost.cli.args import add_space_arg, load
from nascost.cli.results_args import add_budget_args, budget_kwargs, one_line_errors
from nascost.io.options import DEFAULT_CHUNK


def register(sub) -> None:
    p = sub.add_parser(
        "score", help="score candidates of a space and write those within budget to Parquet",
        description="Score candidates chunk by chunk (memory stays flat) and write the rows "
                    "within budget to part files in DIR, resumably.")
    one_line_errors(p, "score")
    add_space_arg(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every candidate (by id)")
    which.add_argument("--sample", metavar="N",
                       help="N candidates drawn uniformly over the gene arrays (10M allowed)")
    which.add_argument("--ids", metavar="A:B", help="the ids A (included) to B (excluded)")
    p.add_argument("--seed", metavar="S", help="seed of --sample (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="the result directory")
    add_budget_args(p)
    p.add_argument("--include-invalid", action="store_true",
                   help="also keep candidates whose status is not 0 (their counts are 0)")
    p.add_argument("--convention", default="seed",
                   help="counting convention: a preset name or a .json weight table "
                        "(default: seed)")
    p.add_argument("--batch", default="1", metavar="B", help="input batch size (default 1)")
    p.add_argument("--threads", metavar="T", help="kernel threads (default: all cores)")
    p.add_argument("--chunk-size", default=str(DEFAULT_CHUNK), metavar="N",
                   help="positions (ids or sample indices) per task: one kernel call, and "
                        "at most one part file, per task; a part holds the rows kept "
                        f"from its positions (default {DEFAULT_CHUNK})")
    p.add_argument("--compression", default="zstd",
                   choices=("zstd", "snappy", "lz4", "gzip", "none"),
                   help="Parquet compression (default zstd)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true",
                       help="continue the run recorded in DIR (same options)")
    state.add_argument("--overwrite", action="store_true",
                       help="delete the nascost results in DIR first")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address (tcp://host:8786) or "
                        "local:N (N worker processes here); one task per --chunk-size "
                        "positions, each writing its own part. Needs nascost[dask]")
    p.add_argument("--dask-timeout", default="10", metavar="S",
                   help="seconds to wait for the Dask scheduler to answer (default 10)")
    p.set_defaults(func=run)


def run(args) -> int:
    from nascost.io.distributed import ClusterError  # dask itself only with --dask
    from nascost.io.writer import WriteError, write_dataset
    from nascost.units import format_count

    space = load(args.space)
    bar = None
    kept = 0
    options = dict(all=args.all, sample=args.sample, ids=args.ids, seed=args.seed,
                   convention=args.convention, batch=args.batch, threads=args.threads,
                   chunk_size=args.chunk_size, include_invalid=args.include_invalid,
                   **budget_kwargs(args))

    def progress(scanned: int, rows: int) -> None:
        # the bar starts with the first chunk: a bad option never leaves a bar behind
        nonlocal bar, kept
        if bar is None and not args.no_progress:
            bar = _progress_bar(space, args, options)
        kept += rows
        if bar is not None:
            bar.update(scanned)
            bar.set_postfix_str(f"kept {kept:,}", refresh=False)

    from nascost.io.writer import check_write

    # every option and the output location first: a mistake never waits for the warm-up
    check_write(space, args.out, resume=args.resume, overwrite=args.overwrite,
                compression=args.compression, style="cli", **options)
    if not args.dask:
        _warm(space, options)
    t0 = time.perf_counter()
    try:
        if args.dask:
            result = _run_on_dask(space, args, options, progress)
        else:
            result = write_dataset(space, args.out, resume=args.resume,
                                   overwrite=args.overwrite, on_progress=progress,
                                   compression=args.compression, style="cli", **options)
    except WriteError as e:
        if bar is not None:
            bar.close()
        print(f"nascost score: error: {e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"nascost score: interrupted; the finished parts in {args.out} are kept: "
              "run the same command with --resume to continue", file=sys.stderr)
        return 130
    except ClusterError as e:
        if bar is not None:
            bar.close()
        print(f"nascost score: error: {e}", file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    _release_memory()
    _report(result, wall, format_count)
    return 0


def _warm(space, options: dict) -> None:
    """Score one candidate the way the run will (same engine, options and kernels), so that
    building the tables and loading the kernels is not counted in the run's rate; say what
    the time went to when it took a while ("compiled" only when numba compiled)."""
    from nascost.io import table_cache
    from nascost.io.scan import stream
    from nascost.kernels.jit import CompileWatch

    # one sample: id ranges run the same kernel (its mode is an argument, not a type)
    tiny = {k: v for k, v in options.items() if k not in ("all", "sample", "ids", "seed")}
    tiny.update(sample=1, seed=options.get("seed") if options.get("sample") else None)
    table_cache.last_event.clear()
    t = time.perf_counter()
    try:
        with CompileWatch() as watch:
            for _ in stream(space, **tiny):
                pass
    except Exception:  # the run itself reports bad options, with their names
        return
    dt = time.perf_counter() - t
    line = startup_line(dt, watch.compiled, table_cache.last_event)
    if line:
        print(f"nascost score: {line}", file=sys.stderr)


def startup_line(seconds: float, compiled: list[str], tables: dict,
                 quiet_below: float = 2.0) -> str | None:
    """What a slow start-up spent its time on, or None when it was quick."""
    if seconds < quiet_below and not compiled:
        return None
    built = tables.get("event") in ("miss", "off")
    t_tab = float(tables.get("seconds", 0.0))
    parts = []
    if compiled:
        parts.append(f"compiled {len(compiled)} kernel{'s' if len(compiled) != 1 else ''} "
                     "(once after an install; numba caches them)")
    if built:
        where = "cached on disk for later runs" if tables["event"] == "miss" else \
            "the table cache is off"
        if compiled:
            where = "compiling its kernels included; " + where
        parts.append(f"built the cost tables in {t_tab:.1f} s ({where})")
    elif tables.get("event") == "hit":
        parts.append(f"loaded the cost tables from the cache in {t_tab:.1f} s")
    if not compiled:
        parts.append("loaded the kernels from numba's cache")
    return f"start-up {seconds:.1f} s: " + "; ".join(parts)


def _release_memory() -> None:
    """Hand what the writer freed back to the OS before the closing summary reads the
    dataset: Arrow's pool keeps freed pages, and so does glibc's malloc (malloc_trim, on
    glibc only; a no-op elsewhere). Without it the summary's buffers land on top of the
    writer's high-water mark."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:
        pass
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            trim = ctypes.CDLL("libc.so.6").malloc_trim  # glibc only
        except (OSError, AttributeError):
            return
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
        trim(0)


def _run_on_dask(space, args, options, progress):
    """The options and the target are checked before connecting (a typo never waits for
    a cluster), then the run goes to the cluster's workers; dask is imported here only."""
    from nascost.io.options import OptionError, scan_options
    from nascost.io.writer import write_dataset

    scan_options(space, style="cli", **options)
    try:
        timeout = float(args.dask_timeout)
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise OptionError("--dask-timeout", f"expected a number of seconds > 0. "
                                            f"Got {args.dask_timeout!r}.")
    from nascost.io.distributed import connect, parse_address

    try:
        parse_address(args.dask)
    except ValueError as e:
        raise OptionError("--dask", str(e).split(": ", 1)[-1]) from None
    with connect(args.dask, timeout=timeout) as client:
        return write_dataset(space, args.out, resume=args.resume, overwrite=args.overwrite,
                             on_progress=progress, compression=args.compression,
                             client=client, style="cli", **options)


def _progress_bar(space, args, options):
    """A tqdm bar over the positions of the run (a resumed run starts where it left off);
    candidates/s, rows kept and the ETA. Off when stderr is not a terminal."""
    from tqdm import tqdm

    from nascost.io.manifest import Manifest
    from nascost.io.options import scan_options

    o = scan_options(space, style="cli", **options)
    done = 0
    if args.resume:
        m = Manifest.load(args.out)
        done = m.scanned if m is not None else 0
    return tqdm(total=o.count, initial=done, unit="cand", unit_scale=True,
                dynamic_ncols=True, smoothing=0.1, file=sys.stderr, desc="scoring",
                mininterval=0.5, disable=None)


def _report(result, wall: float, fmt) -> None:
    from nascost.analytics.summary import exact_quantiles
    from nascost.io.reader import open_results

    for line in getattr(result, "repaired", ()):  # recorded parts found missing or damaged
        print(f"nascost score: warning: {line}", file=sys.stderr)
    rate = result.scanned_now / wall if wall > 0 else 0.0
    resumed = " (resumed)" if result.resumed else ""
    print(f"scanned   {result.scanned_now:,} candidates in {wall:.2f} s "
          f"({fmt(rate)}/s){resumed}")
    if result.resumed or result.scanned != result.scanned_now:
        print(f"dataset   {result.scanned:,} candidates scanned in all runs")
    share = 100.0 * result.rows / result.scanned if result.scanned else 0.0
    parts = f"{result.parts} part file{'' if result.parts == 1 else 's'}"
    print(f"kept      {result.rows:,} rows ({share:.3g}%) in {parts} -> "
          f"{result.path}")
    if result.rows:
        import pyarrow.compute as pc

        ds = open_results(result.path)
        for col in ("flops", "params"):
            n, q = exact_quantiles(ds, col, (0.0, 0.5, 1.0), pc.field("status") == 0)
            if n:
                print(f"{col:<9} min {fmt(q[0.0])}  median {fmt(q[0.5])}  max {fmt(q[1.0])}")
    if not result.complete:
        print("incomplete: run the same command with --resume to finish")
