"""The slow, obviously correct reference: walks the spec for one candidate in plain Python."""

from nascost.reference.walk import (
    ConcreteLayer,
    Resolved,
    canonical,
    count,
    live_genes,
    resolve,
)

__all__ = ["ConcreteLayer", "Resolved", "canonical", "count", "live_genes", "resolve"]
