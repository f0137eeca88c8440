"""Status codes of a scored candidate: 0 is valid; any other value names why it is not.

A candidate's status is that of the first failing layer in execution order; its counts are
then all 0. Within a layer the checks run in the order of the codes below (rank, then
fields, then groups, then pooling padding, then output size, then shapes of multi-input ops).
"""

OK = 0
BAD_RANK = 1  # a 4-D op on a flat tensor, or linear on a 4-D tensor (flatten first)
BAD_FIELD = 2  # a field evaluated to a value out of range (e.g. channels < 1)
GROUPS = 3  # groups do not divide the input or output channels
POOL_PADDING = 4  # pooling padding larger than half the kernel (PyTorch rejects it)
COLLAPSED = 5  # an output spatial size < 1
SHAPE_MISMATCH = 6  # add / mul / concat inputs whose shapes do not fit together
OVERFLOW = 7  # a count would not fit in int64

NAMES = {
    OK: "ok",
    BAD_RANK: "bad_rank",
    BAD_FIELD: "bad_field",
    GROUPS: "groups_do_not_divide",
    POOL_PADDING: "pool_padding_too_large",
    COLLAPSED: "spatial_size_collapsed",
    SHAPE_MISMATCH: "shape_mismatch",
    OVERFLOW: "overflow",
}
