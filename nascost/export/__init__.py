"""Export a candidate to a framework model (optional extras; torch is imported lazily)."""

from nascost.export.torch import layer_shapes, to_torch

__all__ = ["layer_shapes", "to_torch"]
