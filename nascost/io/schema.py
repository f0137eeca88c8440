"""The one result schema and the metadata every result file carries.

Columns, in order:

- ``sample_index`` (uint64, sampled runs only): the position in the seeded sample stream;
- ``id`` (uint64): the candidate's mixed-radix id, where the space size fits in 64 bits
  (and for id ranges, which only exist below 2**64);
- one uint8 column per gene, named by the gene: the choice index (the space JSON in the
  metadata lists the choice values);
- ``params``, ``macs``, ``flops``, ``activations`` (int64) and ``status`` (int8, 0 = valid).

The schema metadata holds ``nascost`` (JSON: versions, space name and hash, the convention's
full weight table, batch, units, what was scanned, the budget, the status codes, the layout),
``nascost.space`` (the space's canonical JSON) and, in part files, ``nascost.part`` (the
range of positions the file covers).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from nascost.rules import status as S

FORMAT = "nascost-results"
FORMAT_VERSION = 1
KEY = b"nascost"
KEY_SPACE = b"nascost.space"
KEY_PART = b"nascost.part"

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
    "genes": "choice indices (0-based) into each gene's `choices` in the space JSON",
    "prefixes": "k = 1e3, M = 1e6, G = 1e9 (decimal) wherever nascost prints or reads counts",
}


def check_gene_names(space) -> None:
    clash = sorted(set(space.gene_names) & set(RESERVED))
    if clash:
        raise ValueError(f"space {space.name!r} has genes named {clash}, which are result "
                         f"columns ({', '.join(RESERVED)}); rename those genes")


def arrow_column(a, type: pa.DataType) -> pa.Array:
    """A numpy column as an Arrow array without a copy where the types agree. Through the
    buffer, not pa.array: pa.array makes pyarrow import pandas (half a second of start-up)."""
    import numpy as np

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
    fields += [pa.field(n, pa.uint8(), nullable=False) for n in space.gene_names]
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
