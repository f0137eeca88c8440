"""Argument helpers shared by the commands: spaces, genes, counts with units."""

from __future__ import annotations

import argparse

import numpy as np

from nascost.units import parse_count


def count_arg(what: str):
    """An argparse type reading counts with units (400M, 5.3e6, 1.2G)."""

    def parse(text: str) -> int:
        try:
            return parse_count(text, what)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = what
    return parse


def add_space_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("space", metavar="SPACE",
                   help="a built-in space name (see `nascost spaces`) or a space JSON file")


def add_genes_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--genes", help="choice indices, one per gene: 0,2,1,...")
    g.add_argument("--id", type=int, help="the candidate's mixed-radix id")
    g.add_argument("--named", help="a named candidate of the space (a released model)")


def load(space_arg: str):
    from nascost import load_space

    return load_space(space_arg)


def which_candidate(args, space) -> str:
    """The line saying which candidate show/explain describe."""
    if getattr(args, "named", None):
        return f"candidate: the named candidate {args.named!r}"
    if getattr(args, "id", None) is not None:
        return f"candidate: id {args.id:,}"
    if getattr(args, "genes", None):
        return "candidate: the genes given with --genes"
    if space.n_genes == 0:
        return "candidate: the only one (the space has no genes)"
    return ("candidate: every gene at its first choice (index 0); pick another with --genes, "
            "--id or --named")


def genes_from_args(space, args) -> np.ndarray:
    """The genes row the user asked for (default: every gene at choice 0)."""
    from nascost.cli.main import UsageError

    if getattr(args, "named", None):
        return space.named(args.named)
    if getattr(args, "id", None) is not None:
        return space.ids_to_genes([args.id])[0]
    if getattr(args, "genes", None):
        try:
            vals = [int(x) for x in args.genes.replace(" ", "").split(",") if x != ""]
        except ValueError:
            raise UsageError(f"--genes must be comma-separated integers. Got {args.genes!r}") \
                from None
        if len(vals) != space.n_genes:
            raise UsageError(f"--genes needs {space.n_genes} values for space {space.name!r} "
                             f"(genes: {', '.join(space.gene_names)}). Got {len(vals)}.")
        return space.check_genes(np.array(vals, dtype=np.int64))[0]
    return np.zeros(space.n_genes, dtype=np.uint8)
