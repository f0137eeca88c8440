"""The options of a scan, checked once at the boundary (Python keywords and CLI flags alike).

Every check raises OptionError naming the option as the caller wrote it: ``max_flops`` from
Python, ``--max-flops`` from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nascost.rules import conventions as conv
from nascost.units import format_count, parse_count

# the budget keywords and the value columns they bound (index into the metrics block)
BUDGETS: dict[str, tuple[str, str]] = {
    "max_flops": ("flops", "max"), "min_flops": ("flops", "min"),
    "max_params": ("params", "max"), "min_params": ("params", "min"),
    "max_macs": ("macs", "max"), "min_macs": ("macs", "min"),
}
VALUE_COLUMNS = ("params", "macs", "flops", "activations")
ENGINES = ("auto", "tables", "separable", "interpreter")
DEFAULT_CHUNK = 1 << 17  # rows held per part: peak memory is a few parts (docs/streaming.md)
MAX_CHUNK = 1 << 26
U64 = 1 << 64
I64_MAX = np.iinfo(np.int64).max


class OptionError(ValueError):
    """A bad option: the message starts with the option's name."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(f"{option}: {message}")


def option_name(name: str, style: str) -> str:
    return "--" + name.replace("_", "-") if style == "cli" else name


def parse_range(text: Any, what: str, limit: int) -> tuple[int, int]:
    """'A:B' (units allowed, either end may be left out), a (start, stop) pair or a range."""
    if isinstance(text, range):
        if text.step != 1:
            raise OptionError(what, f"a range of ids must have step 1. Got {text!r}.")
        a, b = text.start, text.stop
    elif isinstance(text, (tuple, list)) and len(text) == 2:
        a, b = (parse_count(x, what) for x in text)
    elif isinstance(text, str):
        left, sep, right = text.partition(":")
        if not sep:
            raise OptionError(what, f"expected an id range START:STOP such as 0:1M. "
                                    f"Got {text!r}.")
        try:
            a = parse_count(left, what) if left.strip() else 0
            b = parse_count(right, what) if right.strip() else limit
        except ValueError as e:
            raise OptionError(what, str(e).split(": ", 1)[-1]) from None
    else:
        raise OptionError(what, f"expected START:STOP, a (start, stop) pair or a range. "
                                f"Got {text!r}.")
    if a < 0 or b < 0:
        raise OptionError(what, f"ids must be >= 0. Got {a}:{b}.")
    if a >= b:
        raise OptionError(what, f"the range {a}:{b} is empty; START must be less than STOP.")
    if b > limit:
        raise OptionError(what, f"STOP {b} is past the last id: ids run from 0 to {limit - 1}.")
    return a, b


@dataclass(frozen=True)
class ScanOptions:
    mode: str  # "ids" or "sample"
    start: int  # first position (id or sample index)
    stop: int  # one past the last position
    seed: int | None
    budget: dict[str, int]  # the budget keywords given, as exact integers
    bounds: np.ndarray = field(repr=False)  # (2, 4) int64: low/high of params, macs, flops, acts
    convention: conv.Convention = field(repr=False)
    batch: int = 1
    threads: int | None = None
    chunk_size: int = DEFAULT_CHUNK
    include_invalid: bool = False
    engine: str = "auto"

    @property
    def count(self) -> int:
        return self.stop - self.start

    def run_record(self) -> dict:
        """What decides the rows of the result (threads, chunk size and engine do not)."""
        rec: dict[str, Any] = {"mode": self.mode}
        if self.mode == "sample":
            rec.update(n=self.stop, seed=self.seed)
        else:
            rec.update(start=self.start, stop=self.stop)
        rec["budget"] = dict(sorted(self.budget.items()))
        rec["include_invalid"] = self.include_invalid
        return rec


def _int_option(value: Any, what: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, str)):
        raise OptionError(what, f"expected an integer. Got {value!r}.")
    try:
        n = parse_count(value, what) if isinstance(value, str) else int(value)
    except ValueError as e:
        raise OptionError(what, str(e).split(": ", 1)[-1]) from None
    if n < minimum:
        raise OptionError(what, f"must be >= {minimum}. Got {n}.")
    if maximum is not None and n > maximum:
        raise OptionError(what, f"must be <= {maximum}. Got {n}.")
    return n


def scan_options(space, *, all: bool = False, sample: int | str | None = None,
                 seed: int | None = None, ids: Any = None,
                 max_flops: Any = None, min_flops: Any = None, max_params: Any = None,
                 min_params: Any = None, max_macs: Any = None, min_macs: Any = None,
                 convention: Any = "seed", batch: int = 1, threads: int | None = None,
                 chunk_size: int = DEFAULT_CHUNK, include_invalid: bool = False,
                 engine: str = "auto", style: str = "python") -> ScanOptions:
    """Check and normalise the options of a scan of ``space``."""
    from nascost.kernels.jit import max_threads

    def name(n: str) -> str:
        return option_name(n, style)

    picked = [n for n, v in (("all", all), ("sample", sample), ("ids", ids))
              if v is not None and v is not False]
    if not picked:
        raise OptionError(name("all"), f"say which candidates to score: one of {name('all')}, "
                          f"{name('sample')} N or {name('ids')} START:STOP")
    if len(picked) > 1:
        raise OptionError(name(picked[1]), f"cannot be combined with {name(picked[0])}")
    if seed is not None and sample is None:
        raise OptionError(name("seed"), f"only applies to {name('sample')}")
    id_limit = min(space.size, U64)
    if all:
        if not space.has_ids:
            raise OptionError(name("all"), (
                f"space {space.name!r} has {space.size:.3e} candidates, more than a uint64 id "
                f"can name; use {name('sample')} N, or {name('ids')} START:STOP below 2**64"))
        mode, start, stop = "ids", 0, space.size
    elif ids is not None:
        mode, (start, stop) = "ids", parse_range(ids, name("ids"), id_limit)
    else:
        mode, start = "sample", 0
        stop = _int_option(sample, name("sample"), 1, U64 - 1)
        seed = 0 if seed is None else _int_option(seed, name("seed"), 0, U64 - 1)

    budget: dict[str, int] = {}
    bounds = np.zeros((2, 4), dtype=np.int64)
    bounds[1, :] = I64_MAX
    for key, value in (("max_flops", max_flops), ("min_flops", min_flops),
                       ("max_params", max_params), ("min_params", min_params),
                       ("max_macs", max_macs), ("min_macs", min_macs)):
        if value is None:
            continue
        try:
            v = parse_count(value, name(key))
        except ValueError as e:
            raise OptionError(name(key), str(e).split(": ", 1)[-1]) from None
        if v > I64_MAX:
            raise OptionError(name(key), f"{v} is past the largest count (2**63 - 1)")
        budget[key] = v
        col, side = BUDGETS[key]
        bounds[0 if side == "min" else 1, VALUE_COLUMNS.index(col)] = v
    for metric in ("flops", "params", "macs"):
        lo, hi = budget.get(f"min_{metric}"), budget.get(f"max_{metric}")
        if lo is not None and hi is not None and lo > hi:
            raise OptionError(name(f"min_{metric}"), (
                f"{format_count(lo)} is larger than {name(f'max_{metric}')} "
                f"({format_count(hi)}): no candidate can satisfy both"))
    try:
        c = conv.resolve(convention)
    except (ValueError, OSError) as e:
        raise OptionError(name("convention"), str(e)) from None
    b = _int_option(batch, name("batch"), 1, 1 << 40)
    t = None if threads is None else _int_option(threads, name("threads"), 1, max_threads())
    cs = _int_option(chunk_size, name("chunk_size"), 1, MAX_CHUNK)
    if engine not in ENGINES:
        raise OptionError(name("engine"), f"must be one of {ENGINES}. Got {engine!r}.")
    if not isinstance(include_invalid, bool):
        raise OptionError(name("include_invalid"), f"must be True or False. "
                                                   f"Got {include_invalid!r}.")
    return ScanOptions(mode, start, stop, seed if mode == "sample" else None, budget, bounds,
                       c, b, t, cs, include_invalid, engine)
