"""The closed registry of ops: each op's opcode, the fields it takes and their defaults.

An op is declared once here; the kernel dispatches on its integer opcode, the reference and
the torch export look it up by name. Unknown op names are an error at validation time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field slots of a compiled instruction. An op uses the slots it declares; the meaning of a
# slot is fixed so that the kernel can read it without a per-op table.
SLOT_OUT = 0  # out_channels / out_features / input channels
SLOT_KH = 1  # kernel height / input height
SLOT_KW = 2  # kernel width / input width
SLOT_SH = 3
SLOT_SW = 4
SLOT_PH = 5
SLOT_PW = 6
SLOT_DH = 7
SLOT_DW = 8
SLOT_GROUPS = 9
SLOT_BIAS = 10  # bias (conv, linear) / affine (batchnorm) / ceil_mode (pooling)
SLOT_AUX = 11  # index of channel_split
N_SLOTS = 12


@dataclass(frozen=True)
class FieldSpec:
    """A field of a layer in the space spec: which slot(s) it fills and its default."""

    name: str
    slots: tuple[int, ...]  # one slot, or two for (h, w) pairs such as kernel, stride
    default: object = None  # None: required; "kernel": defaults to the kernel (pool stride)
    kind: str = "int"  # "int", "pair" (int or [h, w]), "bool"
    minimum: int = 0
    export_only: bool = False  # carried to torch, no effect on counts (e.g. count_include_pad)


@dataclass(frozen=True)
class OpSpec:
    name: str
    opcode: int
    fields: tuple[FieldSpec, ...] = ()
    n_inputs: str = "1"  # "1", "2+", "2"
    zero_cost: bool = False  # costs nothing under every convention (views, concat)
    doc: str = ""
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, OpSpec] = {}
_BY_CODE: dict[int, OpSpec] = {}


def register(op: OpSpec) -> OpSpec:
    """Add an op to the registry; a name or opcode registered twice is a programming error."""
    if op.name in _REGISTRY or op.opcode in _BY_CODE:
        raise ValueError(f"op {op.name!r} (opcode {op.opcode}) is registered twice")
    _REGISTRY[op.name] = op
    _BY_CODE[op.opcode] = op
    return op


def get(name: str) -> OpSpec:
    return _REGISTRY[name]


def by_opcode(code: int) -> OpSpec:
    return _BY_CODE[code]


def names() -> list[str]:
    return sorted(_REGISTRY)


def is_op(name: str) -> bool:
    return name in _REGISTRY


# --- opcodes (small ints; the hot loop dispatches on these) ------------------------------
OP_INPUT = 0
OP_CONV2D = 1
OP_LINEAR = 2
OP_BATCHNORM2D = 3
OP_MAXPOOL2D = 4
OP_AVGPOOL2D = 5
OP_GLOBAL_AVGPOOL = 6
OP_FLATTEN = 7
OP_RELU = 8
OP_RELU6 = 9
OP_SIGMOID = 10
OP_TANH = 11
OP_HARDSWISH = 12
OP_HARDSIGMOID = 13
OP_SILU = 14
OP_GELU = 15
OP_ADD = 16
OP_MUL = 17
OP_CONCAT = 18
OP_IDENTITY = 19
OP_ZERO = 20
OP_MOVE = 21  # internal: copies a register (block and choice outputs); not a layer
OP_CHANNEL_SPLIT = 22
OP_CHANNEL_SHUFFLE = 23
OP_CROP = 24
N_OPCODES = 25

ACTIVATION_OPCODES = (
    OP_RELU, OP_RELU6, OP_SIGMOID, OP_TANH, OP_HARDSWISH, OP_HARDSIGMOID, OP_SILU, OP_GELU,
)

_KERNEL = FieldSpec("kernel", (SLOT_KH, SLOT_KW), kind="pair", minimum=1)
_PADDING = FieldSpec("padding", (SLOT_PH, SLOT_PW), default=0, kind="pair", minimum=0)

register(OpSpec("input", OP_INPUT, doc="the network input (set by the space's input section)"))
register(OpSpec(
    "conv2d", OP_CONV2D,
    fields=(
        FieldSpec("out_channels", (SLOT_OUT,), minimum=1),
        _KERNEL,
        FieldSpec("stride", (SLOT_SH, SLOT_SW), default=1, kind="pair", minimum=1),
        _PADDING,
        FieldSpec("dilation", (SLOT_DH, SLOT_DW), default=1, kind="pair", minimum=1),
        FieldSpec("groups", (SLOT_GROUPS,), default=1, minimum=1),
        FieldSpec("bias", (SLOT_BIAS,), default=True, kind="bool"),
    ),
    doc="torch.nn.Conv2d",
))
register(OpSpec(
    "linear", OP_LINEAR,
    fields=(
        FieldSpec("out_features", (SLOT_OUT,), minimum=1),
        FieldSpec("bias", (SLOT_BIAS,), default=True, kind="bool"),
    ),
    doc="torch.nn.Linear on a flat (N, F) input",
))
register(OpSpec(
    "batchnorm2d", OP_BATCHNORM2D,
    fields=(FieldSpec("affine", (SLOT_BIAS,), default=True, kind="bool"),),
    doc="torch.nn.BatchNorm2d (gamma and beta are parameters; running stats are buffers)",
))
_POOL_FIELDS = (
    _KERNEL,
    FieldSpec("stride", (SLOT_SH, SLOT_SW), default="kernel", kind="pair", minimum=1),
    _PADDING,
    FieldSpec("ceil_mode", (SLOT_BIAS,), default=False, kind="bool"),
)
register(OpSpec("maxpool2d", OP_MAXPOOL2D, fields=_POOL_FIELDS, doc="torch.nn.MaxPool2d"))
register(OpSpec(
    "avgpool2d", OP_AVGPOOL2D,
    fields=_POOL_FIELDS + (
        FieldSpec("count_include_pad", (), default=True, kind="bool", export_only=True),
    ),
    doc="torch.nn.AvgPool2d",
))
register(OpSpec("global_avgpool", OP_GLOBAL_AVGPOOL, doc="torch.nn.AdaptiveAvgPool2d(1)"))
register(OpSpec("flatten", OP_FLATTEN, zero_cost=True, doc="torch.flatten(x, 1): a view"))
register(OpSpec("relu", OP_RELU, doc="torch.nn.ReLU"))
register(OpSpec("relu6", OP_RELU6, doc="torch.nn.ReLU6"))
register(OpSpec("sigmoid", OP_SIGMOID, doc="torch.nn.Sigmoid"))
register(OpSpec("tanh", OP_TANH, doc="torch.nn.Tanh"))
register(OpSpec("hardswish", OP_HARDSWISH, doc="torch.nn.Hardswish"))
register(OpSpec("hardsigmoid", OP_HARDSIGMOID, doc="torch.nn.Hardsigmoid"))
register(OpSpec("silu", OP_SILU, doc="torch.nn.SiLU (swish)"))
register(OpSpec("gelu", OP_GELU, doc="torch.nn.GELU"))
register(OpSpec("add", OP_ADD, n_inputs="2+", doc="elementwise sum of equal shapes (residual)"))
register(OpSpec("mul", OP_MUL, n_inputs="2", doc="elementwise product with broadcasting (SE)"))
register(OpSpec("concat", OP_CONCAT, n_inputs="2+", zero_cost=True, doc="torch.cat(dim=1)"))
register(OpSpec("identity", OP_IDENTITY, zero_cost=True, doc="torch.nn.Identity"))
register(OpSpec("zero", OP_ZERO, doc="NAS-Bench-201 'none': x.mul(0.)"))
register(OpSpec(
    "channel_split", OP_CHANNEL_SPLIT, zero_cost=True,
    fields=(FieldSpec("chunks", (SLOT_OUT,), minimum=1),
            FieldSpec("index", (SLOT_AUX,), default=0, minimum=0)),
    doc="x.chunk(chunks, dim=1)[index], a view (ShuffleNetV2); chunks must divide C",
))
register(OpSpec(
    "channel_shuffle", OP_CHANNEL_SHUFFLE, zero_cost=True,
    fields=(FieldSpec("groups", (SLOT_GROUPS,), minimum=1),),
    doc="ShuffleNet's channel shuffle: view, transpose, contiguous copy",
))
register(OpSpec(
    "crop", OP_CROP, zero_cost=True,
    fields=(FieldSpec("top", (SLOT_PH,), default=0, minimum=0),
            FieldSpec("left", (SLOT_PW,), default=0, minimum=0)),
    doc="x[:, :, top:, left:], a view (DARTS FactorizedReduce)",
))
