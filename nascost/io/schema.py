"""The one result schema and the metadata every result file carries.

Columns, in order:

- ``sample_index`` (uint64, sampled runs only): the position in the seeded sample stream;
- ``id`` (uint64): the candidate's mixed-radix id, where the space size fits in 64 bits
  (and for id ranges, which only exist below 2**64);
- one column per gene, named by the gene: its choice *value* (what the space JSON lists in
  the gene's ``choices``), dictionary-encoded with uint8 indices whose dictionary is the
  choice list, so that pandas, Polars, DuckDB and pyarrow filter by the same values as
  ``nascost query --where`` at about the size of the indices (format version 2; files of
  format version 1 hold the uint8 choice index instead, and are still read: gene_indices);
- ``params``, ``macs``, ``flops``, ``activations`` (int64) and ``status`` (int8, 0 = valid).

The schema metadata holds ``nascost`` (JSON: versions, space name and hash, the convention's
full weight table, batch, units, what was scanned, the budget, the status codes, the layout),
``nascost.space`` (the space's canonical JSON) and, in part files, ``nascost.part`` (the
range of positions the file covers).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pyarrow as pa

from nascost.rules import status as S

FORMAT = "nascost-results"
FORMAT_VERSION = 2  # 2: gene columns hold choice values (1: choice indices)
KEY = b"nascost"
KEY_SPACE = b"nascost.space"
KEY_PART = b"nascost.part"
KEY_CHOICES = b"nascost.choices"  # field metadata of a gene column: its choices (JSON)

SAMPLE_INDEX = "sample_index"
ID = "id"
VALUES = ("params", "macs", "flops", "activations")
STATUS = "status"
RESERVED = (SAMPLE_INDEX, ID, *VALUES, STATUS)
SORT_KEY = "flops"  # rows of a part are ordered by (flops, position)

UNITS = {
    "params": "parameters of the model (count; bias and BatchNorm affine terms included)",
    "macs": "multiply-accumulates of one forward pass of `batch` input samples",
    "flops": "floating-point operations of one forward pass of `batch` input samples, "
             "counted by `convention`",
    "activations": "elements of the layer outputs of one forward pass of `batch` samples",
    "status": "0 = valid; otherwise the reason the candidate is invalid (`status_codes`); "
              "an invalid candidate's counts are 0",
    "genes": "choice values (each gene's `choices` in the space JSON), dictionary-encoded; "
             "files of format_version 1 hold 0-based choice indices instead",
    "prefixes": "k = 1e3, M = 1e6, G = 1e9 (decimal) wherever nascost prints or reads counts",
}


def check_gene_names(space) -> None:
    clash = sorted(set(space.gene_names) & set(RESERVED))
    if clash:
        raise ValueError(f"space {space.name!r} has genes named {clash}, which are result "
                         f"columns ({', '.join(RESERVED)}); rename those genes")


def gene_value_type(choices: list) -> pa.DataType:
    """The Arrow type of a gene's values: int64, float64 or string (anything else: its
    JSON text)."""
    if all(isinstance(c, int) and not isinstance(c, bool) for c in choices):
        return pa.int64()
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices):
        return pa.float64()
    return pa.string()


def gene_values(choices: list) -> list:
    """The choices as the values stored in a gene column."""
    t = gene_value_type(choices)
    if t == pa.int64():
        return [int(c) for c in choices]
    if t == pa.float64():
        return [float(c) for c in choices]
    return [c if isinstance(c, str) else json.dumps(c) for c in choices]


def gene_field(name: str, choices: list) -> pa.Field:
    """A gene column: dictionary<uint8, value> whose dictionary is the choice list."""
    return pa.field(name, pa.dictionary(pa.uint8(), gene_value_type(choices)), nullable=False,
                    metadata={KEY_CHOICES: json.dumps(gene_values(choices))})


@functools.lru_cache(maxsize=4096)
def _dictionary(choices_json: str, value_type: pa.DataType) -> pa.Array:
    return pa.array(json.loads(choices_json), type=value_type)


def arrow_column(a, field: pa.Field | pa.DataType) -> pa.Array:
    """A numpy column as an Arrow array without a copy where the types agree (a gene
    column's choice indices become the indices of its dictionary). Through the buffer, not
    pa.array: pa.array makes pyarrow import pandas (half a second of start-up)."""
    import numpy as np

    type = field.type if isinstance(field, pa.Field) else field
    if pa.types.is_dictionary(type):
        choices = field.metadata[KEY_CHOICES].decode()
        idx = arrow_column(np.asarray(a, dtype=np.uint8), pa.uint8())
        return pa.DictionaryArray.from_arrays(idx, _dictionary(choices, type.value_type))
    if (isinstance(a, np.ndarray) and a.ndim == 1 and pa.types.is_integer(type)
            and a.dtype == np.dtype(type.to_pandas_dtype())):
        a = np.ascontiguousarray(a)
        return pa.Array.from_buffers(type, a.shape[0], [None, pa.py_buffer(a)])
    return pa.array(a, type=type)


def index_column(mode: str) -> str:
    return SAMPLE_INDEX if mode == "sample" else ID


def has_id_column(space, mode: str) -> bool:
    return mode == "ids" or space.has_ids


def result_schema(space, mode: str, metadata: dict[bytes, bytes] | None = None) -> pa.Schema:
    fields = []
    if mode == "sample":
        fields.append(pa.field(SAMPLE_INDEX, pa.uint64(), nullable=False))
    if has_id_column(space, mode):
        fields.append(pa.field(ID, pa.uint64(), nullable=False))
    fields += [gene_field(n, list(c)) for n, c in zip(space.gene_names, space.choices,
                                                         strict=True)]
    fields += [pa.field(n, pa.int64(), nullable=False) for n in VALUES]
    fields.append(pa.field(STATUS, pa.int8(), nullable=False))
    return pa.schema(fields, metadata=metadata)


def build_metadata(space, options, sort: bool = True) -> dict[bytes, bytes]:
    """The metadata of a run's files (without the part entry)."""
    from nascost.kernels.rng import SAMPLER

    run = options.run_record()
    if options.mode == "sample":
        run["sampler"] = SAMPLER
    sorted_by = [SORT_KEY, index_column(options.mode)] if sort else [index_column(options.mode)]
    return metadata_for(space, options.convention, options.batch, run, sorted_by,
                        "within each part file")


def metadata_for(space, convention, batch: int, run: dict, sorted_by: list[str],
                 scope: str) -> dict[bytes, bytes]:
    """The metadata of any nascost file with candidates in it (score's parts, sample's
    file): one format, so that every analytics command reads every such file."""
    from nascost import __version__

    info: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nascost_version": __version__,
        "space": {"name": space.name, "hash": space.hash, "n_genes": space.n_genes,
                  "size": str(space.size)},
        "convention": convention.to_dict(),
        "batch": batch,
        "units": UNITS,
        "run": run,
        "status_codes": {str(k): v for k, v in S.NAMES.items()},
        "layout": {"sorted_by": sorted_by, "scope": scope},
    }
    return {KEY: json.dumps(info, sort_keys=True).encode(),
            KEY_SPACE: space.to_json().encode()}


def part_metadata(base: dict[bytes, bytes], start: int, stop: int, scanned: int,
                  rows: int) -> dict[bytes, bytes]:
    out = dict(base)
    out[KEY_PART] = json.dumps({"start": start, "stop": stop, "scanned": scanned,
                                "rows": rows}).encode()
    return out


def read_info(metadata: dict[bytes, bytes] | None) -> dict:
    """The decoded ``nascost`` entry; ValueError when the metadata is not nascost's."""
    if not metadata or KEY not in metadata:
        raise ValueError("no nascost metadata (not written by nascost, or written by an "
                         "engine that dropped the schema metadata)")
    info = json.loads(metadata[KEY])
    if info.get("format") != FORMAT:
        raise ValueError(f"unknown metadata format {info.get('format')!r}")
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"results format version {info['format_version']} is newer than this "
                         f"nascost reads ({FORMAT_VERSION}); upgrade nascost")
    return info


def holds_indices(type: pa.DataType) -> bool:
    """Whether a gene column read back holds choice indices (format version 1) rather than
    choice values."""
    return pa.types.is_uint8(type)


def gene_indices(column, choices: list):
    """A gene column as read back (values, or the indices of format version 1) as uint8
    choice indices; ValueError on a value that is not a choice."""
    import numpy as np
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.uint8())
    if holds_indices(column.type):
        return column.to_numpy(zero_copy_only=False).astype(np.uint8)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = gene_values(choices)
    vt = gene_value_type(choices)
    idx = pc.index_in(column.cast(vt), value_set=pa.array(values, type=vt))
    if idx.null_count:
        bad = column.filter(pc.is_null(idx))[0].as_py()
        raise ValueError(f"gene value {bad!r} is not one of the choices {values}")
    return idx.to_numpy(zero_copy_only=False).astype(np.uint8)


def genes_of(table: pa.Table, space):
    """The (rows, n_genes) uint8 choice indices of a results table (either format)."""
    import numpy as np

    cols = [gene_indices(table.column(n), list(c))
            for n, c in zip(space.gene_names, space.choices, strict=True)]
    if not cols:
        return np.zeros((table.num_rows, 0), np.uint8)
    return np.ascontiguousarray(np.stack(cols, axis=1))
