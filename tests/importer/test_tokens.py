"""Hand-written transformer models import with PyTorch's counts: params from the model,
MACs from FlopCounterMode with attention forced to counted matmuls (SDPA's math kernel, no
nn.MultiheadAttention fast path), and the same counts as a hand-written space."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_models import BATCH, assert_same_counts, torch_macs  # tests/importer on sys.path
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from nascost.importer import ImportFailed, from_torch
from nascost.reference import count
from nascost.space.builder import SpaceBuilder


def counted_macs(model: nn.Module, x: torch.Tensor) -> int:
    was = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            return torch_macs(model, x)
    finally:
        torch.backends.mha.set_fastpath_enabled(was)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class TinyViT(nn.Module):
    """Patches to tokens, a pre-norm block with nn.MultiheadAttention and a GELU MLP, a
    LayerNorm, the mean over the tokens, a head."""

    def __init__(self, dim: int = 32, heads: int = 4, bias: bool = True):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True)
        self.ln2 = nn.LayerNorm(dim, bias=False)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(0.1),
                                 nn.Linear(2 * dim, dim))
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        y = self.ln1(x)
        out, _ = self.attn(y, y, y)
        x = x + out
        x = x + self.mlp(self.ln2(x))
        return self.head(self.norm(x).mean(1))


def tiny_vit_by_hand(dim: int = 32, heads: int = 4, bias: bool = True):
    b = SpaceBuilder("tiny-vit-by-hand")
    b.input(3, 16, 16)
    b.conv2d("patch", dim, 4, stride=4)
    x = b.layer("to_tokens", "tokens")
    b.layer("layernorm", "ln1")
    b.layer("attention", "attn", heads=heads, qkv_bias=bias, proj_bias=bias)
    x = b.op("add", "res1", input=[x, "attn"])
    b.layer("layernorm", "ln2", bias=False)
    b.linear("fc1", 2 * dim)
    b.op("gelu", "act")
    b.linear("fc2", dim)
    b.op("add", "res2", input=[x, "fc2"])
    b.layer("layernorm", "norm", affine=False)
    b.layer("mean", "mean")
    b.linear("head", 10)
    return b.build()


@pytest.mark.parametrize("bias", [True, False])
def test_tiny_vit_matches_pytorch_and_a_hand_written_space(bias):
    model = TinyViT(bias=bias).eval()
    x = torch.randn(BATCH, 3, 16, 16)
    space = from_torch(model, x)
    assert_same_counts(space, tiny_vit_by_hand(bias=bias))
    c = count(space, [], batch=BATCH)
    assert c["params"] == n_params(model)
    assert c["macs"] == counted_macs(model, x)


class FunctionalLayerNorm(nn.Module):
    """F.layer_norm with the weight and bias as parameters, with the weight only, with none."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 2, 2)
        self.w = nn.Parameter(torch.ones(8))
        self.b = nn.Parameter(torch.zeros(8))
        self.w2 = nn.Parameter(torch.ones(8))

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        t = F.layer_norm(t, (8,), self.w, self.b)
        t = F.layer_norm(t, (8,), self.w2)
        return F.layer_norm(t, (8,))


def test_functional_layer_norm_matches_pytorch():
    b = SpaceBuilder("functional-layer-norm-by-hand")
    b.input(3, 8, 8)
    b.conv2d("patch", 8, 2, stride=2)
    b.layer("to_tokens", "t")
    b.layer("layernorm", "ln1")
    b.layer("layernorm", "ln2", bias=False)
    b.layer("layernorm", "ln3", affine=False)
    model = FunctionalLayerNorm().eval()
    x = torch.randn(BATCH, 3, 8, 8)
    space = from_torch(model, x)
    assert_same_counts(space, b.build())
    assert count(space, [], batch=BATCH)["params"] == n_params(model)


class ExportHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(48, 6)
        self.ln = nn.LayerNorm(6)

    def forward(self, x):
        return F.softmax(self.ln(self.fc(x.flatten(1))), dim=-1)


def test_layer_norm_and_softmax_through_torch_export():
    x = torch.randn(BATCH, 3, 4, 4)
    via_export = from_torch(ExportHead().eval(), x, tracer="export")
    assert via_export.spec["description"].endswith("(export)")
    assert_same_counts(via_export, from_torch(ExportHead().eval(), x, tracer="fx"))
    ops = [layer["op"] for layer in via_export.spec["layers"]]
    assert ops == ["flatten", "linear", "layernorm", "softmax"]


class TorchvisionViT(nn.Module):
    """torchvision's VisionTransformer layout in small: the class token a bare nn.Parameter
    expanded and concatenated, the positional embedding added, nn.MultiheadAttention with
    need_weights=False, a layer scale, x[:, 0]."""

    def __init__(self, dim: int = 16, heads: int = 2):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, 4, 4)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, 17, dim))
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.gamma = nn.Parameter(torch.ones(dim))
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        n = x.shape[0]
        x = self.conv_proj(x)
        x = x.reshape(n, x.shape[1], 16).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + self.gamma * y
        return self.head(self.ln(x)[:, 0])


def test_torchvision_style_vit_with_bare_parameters():
    b = SpaceBuilder("torchvision-vit-by-hand")
    b.input(3, 16, 16)
    b.conv2d("conv_proj", 16, 4, stride=4)
    b.layer("to_tokens", "t")
    b.layer("class_token", "cls")
    b.layer("param", "pos", shape="full")
    x = b.op("add", "embedded", input=["cls", "pos"])
    b.layer("layernorm", "ln_1")
    y = b.layer("attention", "attn", heads=2)
    b.layer("param", "gamma", y, shape="channels")
    b.op("mul", "scaled", input=["gamma", y])
    b.op("add", "res", input=[x, "scaled"])
    b.layer("layernorm", "ln")
    b.layer("token_select", "cls_out")
    b.linear("head", 10)
    model = TorchvisionViT().eval()
    x = torch.randn(BATCH, 3, 16, 16)
    space = from_torch(model, x)
    assert_same_counts(space, b.build())
    c = count(space, [], batch=BATCH)
    assert c["params"] == n_params(model)
    assert c["macs"] == counted_macs(model, x)


class TokensToMap(nn.Module):
    """Tokens back to a map (x.transpose(1, 2).reshape(B, D, H, W)), then a GroupNorm, an
    upsample, a conv; the class token picked with x[:, 0]; softmax of the logits."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 2, 2)
        self.ln = nn.LayerNorm(16)
        self.gn = nn.GroupNorm(4, 16)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = nn.Conv2d(16, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        p = self.patch(x)
        t = self.ln(p.reshape(p.shape[0], 16, 16).permute(0, 2, 1))  # torchvision's ViT
        b, n, d = t.shape
        m = t.transpose(1, 2).reshape(b, d, 4, 4)
        m = self.conv(self.up(self.gn(m)))
        t = m.flatten(2).transpose(1, 2)
        return self.softmax(self.fc(F.softmax(t, dim=-1)[:, 0]))


def tokens_to_map_by_hand():
    b = SpaceBuilder("tokens-to-map-by-hand")
    b.input(3, 8, 8)
    b.conv2d("patch", 16, 2, stride=2)
    b.layer("to_tokens", "t1")
    b.layer("layernorm", "ln")
    b.layer("to_map", "map", height=4, width=4)
    b.layer("groupnorm", "gn", groups=4)
    b.layer("upsample", "up", scale=2)
    b.conv2d("conv", 8, 3, padding=1)
    b.layer("to_tokens", "t2")
    b.op("softmax", "sm1")
    b.layer("token_select", "cls", index=0)
    b.linear("fc", 5)
    b.op("softmax", "sm2")
    return b.build()


def test_tokens_to_map_groupnorm_upsample_softmax_match_pytorch():
    model = TokensToMap().eval()
    x = torch.randn(BATCH, 3, 8, 8)
    space = from_torch(model, x)
    assert_same_counts(space, tokens_to_map_by_hand())
    c = count(space, [], batch=BATCH)
    assert c["params"] == n_params(model)
    assert c["macs"] == counted_macs(model, x)


class TimmAttention(nn.Module):
    """timm's Attention with F.scaled_dot_product_attention, in a pre-norm residual block."""

    def __init__(self, dim: int = 24, heads: int = 3, qkv_bias: bool = True, unbind: bool = True):
        super().__init__()
        self.heads, self.unbind = heads, unbind
        self.patch = nn.Conv2d(3, dim, 2, 2)
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, n, 3, self.heads, c // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0) if self.unbind else (qkv[0], qkv[1], qkv[2])
        y = F.scaled_dot_product_attention(q, k, v)
        y = y.transpose(1, 2).reshape(b, n, c)
        return x + self.proj(y)


@pytest.mark.parametrize("qkv_bias, unbind", [(True, True), (False, False)])
def test_scaled_dot_product_attention_as_timm_writes_it(qkv_bias, unbind):
    b = SpaceBuilder("timm-attention-by-hand")
    b.input(3, 8, 8)
    b.conv2d("patch", 24, 2, stride=2)
    x = b.layer("to_tokens", "t")
    b.layer("layernorm", "norm")
    b.layer("attention", "attn", heads=3, qkv_bias=qkv_bias, proj=False)
    b.linear("proj", 24)
    b.op("add", "res", input=[x, "proj"])
    model = TimmAttention(qkv_bias=qkv_bias, unbind=unbind).eval()
    x = torch.randn(BATCH, 3, 8, 8)
    space = from_torch(model, x)
    assert_same_counts(space, b.build())
    c = count(space, [], batch=BATCH)
    assert c["params"] == n_params(model)
    assert c["macs"] == counted_macs(model, x)
    assert "qkv" not in [layer["name"] for layer in space.spec["layers"]]  # taken into attn


class SDPA(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(16, 48)

    def forward(self, x):
        t = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        return F.scaled_dot_product_attention(q, k, v)


class CrossMHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x):
        t = x.flatten(2).transpose(1, 2)
        return self.attn(t, t.relu(), t)[0]


class LayerNormOnMap(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(4)

    def forward(self, x):
        return self.ln(x)


@pytest.mark.parametrize("model, where, what", [
    (SDPA(), "module <top>", "chunk"),
    (CrossMHA(), "module attn", "separate key or value"),
    (LayerNormOnMap(), "module ln", "LayerNorm over the last dimension (W)"),
])
def test_what_has_no_token_op_fails_naming_it(model, where, what):
    with pytest.raises(ImportFailed) as e:
        from_torch(model, torch.zeros(1, 16, 4, 4))
    assert where in str(e.value) and what in str(e.value)
