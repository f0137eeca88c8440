"""torchvision's classification models as one-candidate spaces, under their torchvision names.

Each is its family space (``families_*.py``) built with every knob fixed to the values of the
family's named candidate of that name: the knobs fold into literals, so the space has no
genes, and its layers are, one for one, those of ``load_builtin(family).named(name)`` (a test
checks it). The two cannot drift apart: one function builds both.

| family | torchvision names (knobs fixed) |
|---|---|
| ``resnet`` | resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, |
| | resnext101_32x8d, resnext101_64x4d, wide_resnet50_2, wide_resnet101_2 |
| ``mobilenet-v2`` | mobilenet_v2 (width 1.0) |
| ``mobilenet-v3-large`` / ``-small`` | mobilenet_v3_large, mobilenet_v3_small (width 1.0) |
| ``efficientnet`` | efficientnet_b0 .. efficientnet_b7 (width, depth, resolution) |
| ``mnasnet`` | mnasnet0_5, mnasnet0_75, mnasnet1_0, mnasnet1_3 (alpha) |
| ``shufflenet-v2`` | shufflenet_v2_x0_5 .. shufflenet_v2_x2_0 (width) |
| ``regnetx`` | regnet_x_400mf .. regnet_x_32gf (arch) |

All take 224 x 224 inputs except EfficientNet, whose one-candidate spaces take the paper's
resolution of each model (B1 240, B2 260, B3 300, B4 380, B5 456, B6 528, B7 600; torchvision
evaluates B2 at 288 and computed its published GFLOPS there, see tests). 1000 classes;
dropout and stochastic depth cost nothing and are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from nascost.space.space import Space
from nascost.spaces import (
    families_efficientnet,
    families_mnasnet,
    families_mobilenet,
    families_regnet,
    families_resnet,
    families_shufflenet,
)

# torchvision name -> (family space name, family build function, the family's NAMED table)
FAMILY_OF: dict[str, tuple[str, Callable[..., Space], dict]] = {}


def _register(family: str, build: Callable[..., Space], named: dict, names) -> None:
    for n in names:
        FAMILY_OF[n] = (family, build, named)


_register("resnet", families_resnet.build, families_resnet.NAMED,
          ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
           "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"))
_register("mobilenet-v2", families_mobilenet.build_v2, families_mobilenet.V2_NAMED,
          ("mobilenet_v2",))
_register("mobilenet-v3-large", families_mobilenet.build_v3_large,
          families_mobilenet.V3_NAMED["mobilenet-v3-large"], ("mobilenet_v3_large",))
_register("mobilenet-v3-small", families_mobilenet.build_v3_small,
          families_mobilenet.V3_NAMED["mobilenet-v3-small"], ("mobilenet_v3_small",))
_register("efficientnet", families_efficientnet.build, families_efficientnet.NAMED,
          tuple(families_efficientnet.MODELS))
_register("mnasnet", families_mnasnet.build, families_mnasnet.NAMED,
          ("mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"))
_register("shufflenet-v2", families_shufflenet.build, families_shufflenet.NAMED,
          ("shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
           "shufflenet_v2_x2_0"))
_register("regnetx", families_regnet.build, families_regnet.NAMED,
          tuple(families_regnet.NAMED))


def build(name: str) -> Space:
    """The one-candidate space of torchvision model ``name``."""
    family, build_family, named = FAMILY_OF[name]
    values = named[name]
    res = values.get("resolution", 224)
    return build_family(fixed=values, name=name, description=(
        f"torchvision {name} ({res}x{res}, 1000 classes): the '{family}' space with every "
        f"gene fixed to its named candidate {name!r}"))


SPACES = {name: partial(build, name) for name in FAMILY_OF}
