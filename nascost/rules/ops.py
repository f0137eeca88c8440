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
    kind: str = "int"  # "int", "pair" (int or [h, w]), "bool", "enum" (one of options)
    minimum: int = 0
    export_only: bool = False  # carried to torch, no effect on counts (e.g. count_include_pad)
    options: tuple[str, ...] = ()  # enum fields: the allowed strings; the slot holds the index


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
# token values and transformer ops (docs/space-format.md, "Tokens"); keep them contiguous
OP_TO_TOKENS = 25
OP_TO_MAP = 26
OP_PATCH_MERGE = 27
OP_CLASS_TOKEN = 28
OP_TOKEN_SELECT = 29
OP_MEAN = 30
OP_LAYERNORM = 31
OP_GROUPNORM = 32
OP_BATCHNORM1D = 33
OP_SOFTMAX = 34
OP_DROPOUT = 35
OP_DROP_PATH = 36
OP_ATTENTION = 37
OP_WINDOW_ATTENTION = 38
OP_MATMUL = 39
OP_PARAM = 40
OP_UPSAMPLE = 41
FIRST_TOKEN_OPCODE = OP_TO_TOKENS
N_OPCODES = 42

# the rank a value carries in the registers: a map (C, H, W), a token sequence (N x D, stored
# as C = D and a grid H x W with N = H * W), a flat vector (F, stored as C = F, H = W = 1)
RANK_FLAT = 2
RANK_TOKENS = 3
RANK_MAP = 4

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

# --- tokens and transformer ops ----------------------------------------------------------
# A token value is N tokens of D features per sample, torch layout (B, N, D). It keeps the
# grid it came from (N = H * W) so that Swin's window attention, patch merging and to_map
# know the layout; a sequence without a grid (after class_token) has H = N, W = 1.
register(OpSpec(
    "to_tokens", OP_TO_TOKENS, zero_cost=True,
    doc="map (C, H, W) -> tokens (N = H*W, D = C): x.flatten(2).transpose(1, 2), a view",
))
register(OpSpec(
    "to_map", OP_TO_MAP, zero_cost=True,
    fields=(FieldSpec("height", (SLOT_KH,), default=0, minimum=0),
            FieldSpec("width", (SLOT_KW,), default=0, minimum=0)),
    doc="tokens -> map (D, height, width): x.transpose(1, 2).reshape(B, D, height, width); "
        "height = width = 0 (default) uses the tokens' grid; height*width must equal N",
))
register(OpSpec(
    "patch_merge", OP_PATCH_MERGE,
    doc="Swin's patch merging rearrangement: the grid padded to even H and W, each 2x2 "
        "neighbourhood concatenated: tokens (H*W, D) -> (ceil(H/2)*ceil(W/2), 4D); "
        "follow it with layernorm and linear(2D, bias=false) as torchvision's PatchMerging",
))
register(OpSpec(
    "class_token", OP_CLASS_TOKEN,
    fields=(FieldSpec("tokens", (SLOT_OUT,), default=1, minimum=1),),
    doc="prepend `tokens` learned tokens (ViT's class token; 2 for DeiT's class and "
        "distillation tokens): (N, D) -> (N + tokens, D) without a grid; params tokens*D",
))
register(OpSpec(
    "token_select", OP_TOKEN_SELECT, zero_cost=True,
    fields=(FieldSpec("index", (SLOT_AUX,), default=0, minimum=0),),
    doc="x[:, index]: tokens -> flat (D,) (the class token for the head), a view",
))
register(OpSpec(
    "mean", OP_MEAN,
    doc="aten::mean: a map -> (C, 1, 1) by x.mean((2, 3), keepdim=True) (a squeeze written "
        "as a mean, unlike global_avgpool's AdaptiveAvgPool2d); tokens -> flat (D,) by "
        "x.mean(1) (the mean-token head)",
))
register(OpSpec(
    "layernorm", OP_LAYERNORM,
    fields=(FieldSpec("affine", (SLOT_BIAS,), default=True, kind="bool"),
            FieldSpec("bias", (SLOT_AUX,), default=True, kind="bool")),
    doc="torch.nn.LayerNorm over the D features of tokens or the C features of a flat "
        "value; over the channels of a map (ConvNeXt's LayerNorm2d: permute, LayerNorm, "
        "permute back); params D (weight) + D (bias) when affine",
))
register(OpSpec(
    "groupnorm", OP_GROUPNORM,
    fields=(FieldSpec("groups", (SLOT_GROUPS,), minimum=1),
            FieldSpec("affine", (SLOT_BIAS,), default=True, kind="bool")),
    doc="torch.nn.GroupNorm(groups, C) on a map; params 2C when affine",
))
register(OpSpec(
    "batchnorm1d", OP_BATCHNORM1D,
    fields=(FieldSpec("affine", (SLOT_BIAS,), default=True, kind="bool"),),
    doc="torch.nn.BatchNorm1d over the D features of tokens (LeViT: on x.flatten(0, 1)) or "
        "of a flat value; params 2D when affine",
))
register(OpSpec("softmax", OP_SOFTMAX,
                doc="torch.softmax over the features: dim -1 of tokens and flat values, dim 1 "
                    "of a map"))
register(OpSpec("dropout", OP_DROPOUT, zero_cost=True,
                doc="torch.nn.Dropout: the identity at inference; present so that exported "
                    "models match their reference"))
register(OpSpec("drop_path", OP_DROP_PATH, zero_cost=True,
                doc="stochastic depth (timm DropPath, torchvision StochasticDepth): the "
                    "identity at inference"))
_HEADS = FieldSpec("heads", (SLOT_GROUPS,), minimum=1)
_HEAD_DIM = FieldSpec("head_dim", (SLOT_DW,), default=0, minimum=0)
_QKV_BIAS = FieldSpec("qkv_bias", (SLOT_BIAS,), default=True, kind="bool")
_PROJ_BIAS = FieldSpec("proj_bias", (SLOT_AUX,), default=True, kind="bool")
register(OpSpec(
    "attention", OP_ATTENTION, n_inputs="1-2",
    fields=(_HEADS, _HEAD_DIM, _QKV_BIAS,
            FieldSpec("proj", (SLOT_PH,), default=True, kind="bool"),
            _PROJ_BIAS,
            FieldSpec("out_features", (SLOT_OUT,), default=0, minimum=0),
            FieldSpec("partition", (SLOT_KH, SLOT_KW), default=0, kind="pair", minimum=0)),
    doc="multi-head attention as timm/DeiT write it, from explicit matmuls: "
        "qkv = Linear(D, 3*heads*head_dim); q *= head_dim**-0.5; softmax(q @ k^T) @ v; "
        "proj = Linear(heads*head_dim, out_features). head_dim 0 = D / heads; out_features "
        "0 = D. Two inputs [x, kv]: q from x, k and v from kv (cross or reduced attention). "
        "partition [ph, pw] > 0: MobileViT's unfolding, the grid's tokens split into ph*pw "
        "sequences (one per position in a ph x pw patch) that attend within themselves",
))
register(OpSpec(
    "window_attention", OP_WINDOW_ATTENTION,
    fields=(_HEADS, _HEAD_DIM,
            FieldSpec("window", (SLOT_KH, SLOT_KW), kind="pair", minimum=1),
            FieldSpec("shift", (SLOT_SH, SLOT_SW), default=0, kind="pair", minimum=0),
            _QKV_BIAS, _PROJ_BIAS,
            FieldSpec("rel_pos_bias", (SLOT_DH,), default=True, kind="bool")),
    doc="Swin's (shifted) window attention as torchvision's shifted_window_attention: the "
        "grid padded to whole windows, a shift set to 0 where the window covers the padded "
        "grid, attention within each window plus the relative position bias (a table of "
        "(2Wh-1)(2Ww-1) x heads parameters) and, when shifted, the mask",
))
register(OpSpec(
    "matmul", OP_MATMUL, n_inputs="2",
    fields=(FieldSpec("transpose_b", (SLOT_BIAS,), default=False, kind="bool"),),
    doc="torch.matmul(a, b) of two token values (N_a, K) @ (K, M), or a @ b.transpose(-2, "
        "-1) with transpose_b: (N_a, K) @ (N_b, K)^T; the output keeps a's grid",
))
register(OpSpec(
    "param", OP_PARAM,
    fields=(FieldSpec("shape", (SLOT_AUX,), default="full", kind="enum",
                      options=("full", "channels", "scalar")),),
    doc="a learned tensor shaped after its input (which it does not read): 'full' the "
        "input's shape (a positional embedding), 'channels' one per channel or feature "
        "(layer scale), 'scalar' one value; combine it with add or mul",
))
register(OpSpec(
    "upsample", OP_UPSAMPLE,
    fields=(FieldSpec("mode", (SLOT_AUX,), default="nearest", kind="enum",
                      options=("nearest", "bilinear")),
            FieldSpec("scale", (SLOT_SH, SLOT_SW), default=0, kind="pair", minimum=0),
            FieldSpec("size", (SLOT_KH, SLOT_KW), default=0, kind="pair", minimum=0),
            FieldSpec("align_corners", (), default=False, kind="bool", export_only=True)),
    doc="torch.nn.Upsample on a map: an integer scale factor or an output size (exactly "
        "one of the two > 0)",
))
