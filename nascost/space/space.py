"""Space: a validated search space, its encoding, and the public scoring API."""

from __future__ import annotations

import json
import math
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nascost.space import spec as _spec

GenesLike = Any  # array-like of choice indices: one row (n_genes,) or a batch (n, n_genes)


class Space:
    """A search space: input, named genes and a layer graph (docs/space-format.md)."""

    def __init__(self, spec: dict):
        self.spec = spec  # normalised (see from_spec)
        self.name: str = spec["name"]
        self.gene_names: list[str] = [g["name"] for g in spec["genes"]]
        self.choices: list[list] = [list(g["choices"]) for g in spec["genes"]]
        self.cardinalities: np.ndarray = np.array([len(c) for c in self.choices], dtype=np.int64)
        self.cardinalities.setflags(write=False)
        self.hash: str = _spec.content_hash(spec)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_spec(cls, raw: dict) -> Space:
        """Validate and normalise a spec dict (raises SpaceError listing every problem)."""
        return cls(_spec.normalize(raw))

    @classmethod
    def from_json(cls, text: str | bytes) -> Space:
        """Parse and validate a space's JSON text; any problem is a SpaceError."""
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as e:
                raise _spec.SpaceError([f"not UTF-8 text: byte {e.start} is invalid"]) from None
        try:
            raw = json.loads(text)
        except RecursionError:
            raise _spec.SpaceError(["not a search space: the JSON is nested too deeply"]) \
                from None
        except ValueError as e:  # JSONDecodeError, or an integer of thousands of digits
            raise _spec.SpaceError([f"not valid JSON: {e}"]) from None
        return cls.from_spec(raw)

    @classmethod
    def from_file(cls, path: str | Path) -> Space:
        """Load a space JSON file; a missing, unreadable or invalid file is a SpaceError
        that names the file."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise _spec.SpaceError([f"space file not found: {path}"], plain=True) from None
        except OSError as e:  # a directory, no permission, an I/O error
            raise _spec.SpaceError([f"{path}: cannot read: {e.strerror or e}"]) from None
        try:
            return cls.from_json(data)
        except _spec.SpaceError as e:
            if len(e.problems) == 1 and not e.problems[0].startswith(str(path)):
                raise _spec.SpaceError([f"{path}: {e.problems[0]}"]) from None
            raise

    def to_json(self, indent: int | None = None) -> str:
        """The canonical JSON text (sorted keys); ``indent`` only changes the layout."""
        if indent is None:
            return _spec.canonical_json(self.spec)
        return json.dumps(self.spec, sort_keys=True, indent=indent)

    def __repr__(self) -> str:
        return (f"Space({self.name!r}, genes={self.n_genes}, size={self.size:.3g}, "
                f"hash={self.hash})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    # -- encoding --------------------------------------------------------------------------
    @property
    def n_genes(self) -> int:
        return len(self.gene_names)

    @cached_property
    def size(self) -> int:
        """The number of gene arrays: the product of the cardinalities (a Python int)."""
        return math.prod(int(c) for c in self.cardinalities)

    @property
    def has_ids(self) -> bool:
        """Whether every candidate has a uint64 id (the size fits in 64 bits)."""
        return self.size <= 2**64

    def check_genes(self, genes: GenesLike) -> np.ndarray:
        """Coerce to a 2-D uint8 batch; an out-of-range index raises naming the row and gene."""
        from nascost.space.encoding import check_genes

        return check_genes(self, genes)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n gene rows drawn uniformly over the raw gene arrays (uint8, n x n_genes)."""
        from nascost.space.encoding import sample

        return sample(self, n, seed)

    def ids_to_genes(self, ids: Any) -> np.ndarray:
        from nascost.space.encoding import ids_to_genes

        return ids_to_genes(self, ids)

    def genes_to_ids(self, genes: GenesLike) -> np.ndarray:
        from nascost.space.encoding import genes_to_ids

        return genes_to_ids(self, genes)

    def canonical(self, genes: GenesLike) -> np.ndarray:
        """The canonical form: genes that no active layer reads are set to 0."""
        from nascost.kernels.api import canonical

        row = np.asarray(genes).ndim == 1
        out = canonical(self.program, self.check_genes(genes))
        return out[0] if row else out

    def live_genes(self, genes: GenesLike) -> np.ndarray:
        """A boolean mask of the genes each candidate actually reads."""
        from nascost.kernels.api import live_genes

        row = np.asarray(genes).ndim == 1
        out = live_genes(self.program, self.check_genes(genes))
        return out[0] if row else out

    def named(self, name: str) -> np.ndarray:
        """The genes of a named candidate (a released model of a family)."""
        named = self.spec.get("named", {})
        if name not in named:
            raise KeyError(f"space {self.name!r} has no named candidate {name!r}; "
                           f"it has {sorted(named)}")
        return np.array(named[name], dtype=np.uint8)

    def encode(self, native: Any) -> np.ndarray:
        """A genes row from the space's own description of an architecture (an NB201 arch
        string, a DARTS genotype, OFA's {"ks", "e", "d", "r"} dict, ...)."""
        return self._codec().encode(self, native)

    def decode(self, genes_row: GenesLike) -> Any:
        """The space's own description of a candidate (inverse of encode)."""
        return self._codec().decode(self, self.check_genes(genes_row)[0])

    def _codec(self):
        from nascost.spaces.codecs import get_codec

        name = self.spec.get("codec")
        if name is None:
            raise ValueError(f"space {self.name!r} has no native encoding; use genes rows or "
                             "genes_from_values()")
        return get_codec(name)

    @property
    def named_candidates(self) -> list[str]:
        return sorted(self.spec.get("named", {}))

    def genes_from_values(self, values: dict[str, Any] | list) -> np.ndarray:
        """A genes row from choice values (a dict by gene name, or one value per gene)."""
        if isinstance(values, dict):
            unknown = sorted(set(values) - set(self.gene_names))
            if unknown:
                raise KeyError(f"unknown genes {unknown} for space {self.name!r}")
            row = [values.get(n, self.choices[j][0]) for j, n in enumerate(self.gene_names)]
        else:
            row = list(values)
            if len(row) != self.n_genes:
                raise ValueError(f"expected {self.n_genes} values, got {len(row)}")
        out = np.zeros(self.n_genes, dtype=np.uint8)
        for j, v in enumerate(row):
            try:
                out[j] = self.choices[j].index(v)
            except ValueError:
                raise ValueError(f"gene {self.gene_names[j]!r}: {v!r} is not one of its "
                                 f"choices {self.choices[j]}") from None
        return out

    def genes_to_values(self, genes_row: GenesLike) -> dict[str, Any]:
        row = self.check_genes(genes_row)[0]
        return {n: self.choices[j][int(row[j])] for j, n in enumerate(self.gene_names)}

    # -- compiled form and scoring ---------------------------------------------------------
    @cached_property
    def program(self):
        """The compiled program (numpy int64 arrays), built once per Space."""
        from nascost.program.compiler import compile_space

        return compile_space(self.spec)

    def input_shape(self, genes_row: GenesLike) -> tuple[int, int, int]:
        """(C, H, W) of the input for this candidate."""
        from nascost.kernels.api import input_shapes

        c, h, w = input_shapes(self.program, self.check_genes(genes_row))[0]
        return int(c), int(h), int(w)

    def score(self, genes: GenesLike, convention: Any = "seed", batch: int = 1,
              threads: int | None = None, engine: str = "auto", latency: Any = None):
        """Score a batch: a pyarrow.Table with params, macs, flops, activations (int64) and
        status (int8), one row per candidate, in input order.

        engine: "tables" (per-segment cost tables of a chain of blocks), "separable"
        (per-group cost tables of a space whose costs add up over small groups of genes, as
        DARTS' cells), "interpreter" (the compiled program run layer by layer) or "auto"
        (tables, else separable, else the interpreter). All give equal results.
        latency: a latency table (a LatencyTable or its Parquet file, `nascost lut build`)
        adds ``latency_us`` (float64, approximate: the sum of the table's block entries).
        """
        import pyarrow as pa

        out = self.score_arrays(genes, convention=convention, batch=batch, threads=threads,
                                engine=engine, latency=latency)
        return pa.table(out)

    def score_arrays(self, genes: GenesLike, convention: Any = "seed", batch: int = 1,
                     threads: int | None = None, engine: str = "auto",
                     latency: Any = None) -> dict[str, np.ndarray]:
        """Like score, as a dict of numpy arrays."""
        if latency is not None:
            from nascost.latency.scoring import score_latency

            return score_latency(self, self.check_genes(genes), latency, convention, batch,
                                 threads)
        from nascost.kernels.api import score

        return score(self.program, self.check_genes(genes), convention, batch, threads, engine)

    def scorer(self, convention: Any = "seed", batch: int = 1, engine: str = "auto"):
        """A callable ``f(genes, out=None) -> dict[str, np.ndarray]`` for NAS loops: tables
        and kernels are ready before the first call; ``out`` (arrays from a previous call,
        or nascost.kernels.api.empty_outputs(n)) is filled in place."""
        from nascost.kernels.api import Scorer

        return Scorer(self.program, convention, batch, engine, on_error=self.check_genes)

    def layers(self, genes_row: GenesLike, convention: Any = "seed", batch: int = 1):
        """The per-layer breakdown of one candidate: a pyarrow.Table with each active layer's
        op, input and output shape, params, macs and flops."""
        from nascost.kernels.api import layer_table

        g = self.check_genes(genes_row)
        if g.shape[0] != 1:
            raise ValueError("layers() takes one candidate (a single genes row)")
        return layer_table(self.program, g[0], convention, batch)

    # -- budget analytics (nascost.budget: DP over the space's chain of blocks) ------------
    def bounds(self, convention: Any = "seed", latency: Any = None) -> dict:
        """Exact min and max of params, macs, flops and activations over the valid
        candidates: {metric: {"min", "max", "min_genes", "max_genes"}} (witness rows); with
        a latency table, also "latency" (nanoseconds, exact for the table)."""
        from nascost import budget

        return budget.bounds(self, convention, latency=latency)

    def count(self, max_flops=None, min_flops=None, max_params=None, min_params=None,
              max_macs=None, min_macs=None, **kwargs):
        """The number of distinct valid canonical candidates within a budget: a Count with
        .low, .high (equal when .exact). Also max/min_activations, convention, tol,
        time_limit (see nascost.budget.count)."""
        from nascost import budget

        return budget.count(self, max_flops=max_flops, min_flops=min_flops,
                            max_params=max_params, min_params=min_params, max_macs=max_macs,
                            min_macs=min_macs, **kwargs)

    def histogram(self, metric: str = "flops", bins: Any = 50, **kwargs):
        """Valid canonical candidates per bin of a metric (exact or certified bounds)."""
        from nascost import budget

        return budget.histogram(self, metric, bins, **kwargs)

    def sample_within(self, n: int, seed: int = 0, stratify: Any = None, **budget_kw):
        """n canonical genes rows drawn uniformly from the valid candidates within a budget
        (max_flops=..., ...), or uniformly per bin with stratify="flops:10"."""
        from nascost import budget

        return budget.sample_within(self, n, seed, stratify, **budget_kw)

    def expected_cost(self, probs: Any, convention: Any = "seed") -> dict:
        """Exact expected metrics under independent categorical genes (numpy or torch)."""
        from nascost import budget

        return budget.expected_cost(self, probs, convention=convention)

    def mutate(self, genes: GenesLike, rate: float, seed: int = 0, **budget_kw) -> np.ndarray:
        """One in-budget neighbour per row of genes (each gene redrawn with probability
        rate), without unbounded retries."""
        from nascost import budget

        return budget.mutate(self, genes, rate, seed, **budget_kw)
